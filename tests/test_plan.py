"""Planning: which files are read, where each output goes, what is skipped or refused."""

import os
import time

import pytest

from palcli.errors import PalcliWarning, UsageError
from palcli.plan import Task, make_plan


def touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("in/a.jpg", "in/B.PNG", "in/sub/c.webp", "in/sub/deep/d.TIFF", "in/notes.txt",
                 "in/script.py"):
        touch(tmp_path / name)
    return tmp_path


def test_directory_is_searched_recursively_and_mirrored(tree):
    plan = make_plan(["in"], "out")
    assert plan.tasks == [
        Task("in/B.PNG", "out/B.png", "png"),
        Task("in/a.jpg", "out/a.png", "png"),
        Task(os.path.join("in", "sub/c.webp"), os.path.join("out", "sub/c.png"), "png"),
        Task(os.path.join("in", "sub/deep/d.TIFF"), os.path.join("out", "sub/deep/d.png"), "png"),
    ]
    assert not plan.skipped and not plan.conflicts


def test_paths_are_joined_as_the_user_gave_them(tree):
    plan = make_plan(["in/"], "out/", "gif")
    assert plan.tasks[0] == Task("in/B.PNG", "out/B.gif", "gif")


def test_format_same_keeps_lossless_palette_formats(tree):
    plan = make_plan(["in"], "out", "same")
    assert [(t.output, t.format) for t in plan.tasks] == [
        ("out/B.PNG", "png"), ("out/a.png", "png"), ("out/sub/c.webp", "webp"),
        ("out/sub/deep/d.TIFF", "tiff")]


def test_output_dir_inside_the_input_dir_is_never_read(tree):
    touch(tree / "in/out/old.png")
    plan = make_plan(["in"], "in/out")
    assert all(not t.input.startswith("in/out") for t in plan.tasks)
    assert len(plan.tasks) == 4


def test_output_dir_equal_to_input_dir_is_refused(tree):
    with pytest.raises(UsageError, match="the output directory is also an input directory"):
        make_plan(["in"], "in")


def test_two_inputs_with_one_output_conflict(tree):
    touch(tree / "in/a.png")
    plan = make_plan(["in"], "out")
    assert [t.input for t in plan.tasks] == ["in/B.PNG", "in/a.jpg", "in/sub/c.webp",
                                             "in/sub/deep/d.TIFF"]
    assert plan.conflicts == [(Task("in/a.png", "out/a.png", "png"),
                               "out/a.png is also the output of in/a.jpg (--keep-suffix names "
                               "this output a.png.png)")]


def test_several_inputs_go_into_the_output_directory(tree):
    touch(tree / "x.jpg")
    plan = make_plan(["x.jpg", "in/sub"], "out")
    assert [t.output for t in plan.tasks] == ["out/x.png", "out/c.png", "out/deep/d.png"]


def test_single_file_output_is_a_file_and_its_suffix_picks_the_format(tree):
    assert make_plan(["in/a.jpg"], "o.gif").tasks == [Task("in/a.jpg", "o.gif", "gif")]
    assert make_plan(["in/a.jpg"], "o.TIF").tasks == [Task("in/a.jpg", "o.TIF", "tiff")]
    assert make_plan(["in/a.jpg"], "o").tasks == [Task("in/a.jpg", "o", "png")]
    assert make_plan(["in/a.jpg"], "o", "gif").tasks == [Task("in/a.jpg", "o", "gif")]
    assert make_plan(["in/B.PNG"], "o.png", "same").tasks == [Task("in/B.PNG", "o.png", "same")]
    (tree / "dir").mkdir()
    assert make_plan(["in/a.jpg"], "dir").tasks == [Task("in/a.jpg", "dir/a.png", "png")]
    assert make_plan(["in/a.jpg"], "new/").tasks == [Task("in/a.jpg", "new/a.png", "png")]


def test_stdin_and_stdout(tree):
    assert make_plan(["-"], "-").tasks == [Task("-", "-", "png")]
    assert make_plan(["-"], "o.png", "same").tasks == [Task("-", "o.png", "same")]
    assert make_plan(["in/a.jpg"], "-", "webp").tasks == [Task("in/a.jpg", "-", "webp")]
    with pytest.raises(UsageError, match="'-' \\(standard input\\) must be the only INPUT"):
        make_plan(["-", "in/a.jpg"], "out")
    with pytest.raises(UsageError, match="OUTPUT '-' \\(standard output\\) takes exactly one"):
        make_plan(["in"], "-")
    with pytest.raises(UsageError, match="give OUTPUT a file name"):
        make_plan(["-"], "out/")


def test_missing_input_is_a_usage_error(tree):
    with pytest.raises(UsageError, match="^nope.jpg: no such file or directory$"):
        make_plan(["in", "nope.jpg"], "out")


def test_output_that_is_a_file_cannot_take_a_directory(tree):
    touch(tree / "file.png")
    with pytest.raises(UsageError, match="file.png: not a directory"):
        make_plan(["in"], "file.png")


def test_output_over_its_own_input_is_refused(tree):
    plan = make_plan(["in/B.PNG"], "in/B.PNG")
    assert plan.conflicts == [(Task("in/B.PNG", "in/B.PNG", "png"),
                               "in/B.PNG would overwrite the input itself")]


def test_skip_existing_leaves_newer_outputs_alone(tree):
    old = time.time() - 100
    os.utime(tree / "in/a.jpg", (old, old))
    touch(tree / "out/a.png")  # newer than its input
    touch(tree / "out/B.png")
    os.utime(tree / "out/B.png", (old - 100, old - 100))  # older than its input
    plan = make_plan(["in"], "out", skip_existing=True)
    assert [t.input for t in plan.skipped] == ["in/a.jpg"]
    assert "in/B.PNG" in [t.input for t in plan.tasks]
    assert len(make_plan(["in"], "out").tasks) == 4


def test_empty_directory_warns_when_other_inputs_have_images(tree):
    (tree / "empty").mkdir()
    with pytest.warns(PalcliWarning, match="empty: no image files found"):
        plan = make_plan(["empty", "in"], "out")
    assert len(plan) == 4


def test_common_suffixes_are_pillows():
    from palcli.plan import COMMON_SUFFIXES, image_suffixes

    assert COMMON_SUFFIXES <= image_suffixes()
    assert {".tif", ".tiff", ".webp", ".ppm"} <= image_suffixes()
