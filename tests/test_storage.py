"""INPUT and OUTPUT as fsspec URLs (file://, memory://): the same plan, bytes and report as local
paths; listing skips hidden names and the output; --skip-existing reads the filesystem's times;
a protocol palcli cannot use is one usage error. (s3:// on a real server: test_dask.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fsspec
import numpy as np
import pytest
from PIL import Image

from palcli import storage
from palcli.batch import convert_batch, make_settings
from palcli.dither import DitherParams
from palcli.palette import load_palette
from palcli.plan import make_plan

PALETTE = "#000000,#ff0000,#00ff00,#0000ff,#ffff00,#ff00ff,#00ffff,#ffffff"


def palcli(*args):
    return subprocess.run([sys.executable, "-m", "palcli", *map(str, args)], capture_output=True,
                          timeout=300)


def photo(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (12, 16, 3), dtype=np.uint8)


@pytest.fixture
def src(tmp_path) -> Path:
    """A tree: two photos, one in a sub-directory, and a broken file."""
    d = tmp_path / "src"
    (d / "sub").mkdir(parents=True)
    Image.fromarray(photo(0)).save(d / "a.png")
    Image.fromarray(photo(1)).save(d / "sub" / "b.jpg", quality=95)
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return d


def add_hidden(d: Path) -> None:
    """Images under hidden names, which a directory walk skips."""
    (d / ".cache").mkdir()
    Image.fromarray(photo(2)).save(d / ".hidden.png")
    Image.fromarray(photo(3)).save(d / ".cache" / "c.png")


def records(r) -> list[dict]:
    return [json.loads(line) for line in r.stdout.decode().splitlines()]


def tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", ["is", "not"])
def test_is_url(case):
    urls = ["s3://bucket/in/", "file:///tmp/x", "memory://a", "simplecache::s3://b/k.png",
            "gcs://b"]
    paths = ["photos/", "/tmp/a.png", "-", "a.png", "C:\\art\\a.png", "./s3://x", "1a://b"]
    for p in urls if case == "is" else paths:
        assert storage.is_url(p) is (case == "is"), p


def test_file_urls_give_the_bytes_and_report_of_local_paths(src, tmp_path):
    local = palcli("convert", src, tmp_path / "local", "-p", PALETTE, "-d", "atkinson", "-j", "2",
                   "--report", "-")
    add_hidden(src)
    url = palcli("convert", f"file://{src}/", f"file://{tmp_path}/url/", "-p", PALETTE, "-d",
                 "atkinson", "-j", "2", "--report", "-")
    assert local.returncode == url.returncode == 1  # broken.png
    assert tree(tmp_path / "url") == tree(tmp_path / "local")
    assert set(tree(tmp_path / "url")) == {"a.png", "sub/b.png"}  # no hidden name was read
    by_input = {x["input"]: (x["output"], x["status"]) for x in records(url)}
    assert by_input == {
        f"file://{src}/a.png": (f"file://{tmp_path}/url/a.png", "ok"),
        f"file://{src}/sub/b.jpg": (f"file://{tmp_path}/url/sub/b.png", "ok"),
        f"file://{src}/broken.png": (f"file://{tmp_path}/url/broken.png", "error"),
    }
    assert url.stderr.decode() == local.stderr.decode().replace(str(src), f"file://{src}")


def test_an_output_inside_the_input_is_never_read(src):
    first = make_plan([f"file://{src}"], f"file://{src}/out/")
    for task in first.tasks:  # as if converted
        Path(task.output.removeprefix("file://")).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo(5)).save(task.output.removeprefix("file://"))
    again = make_plan([f"file://{src}"], f"file://{src}/out/")
    assert [t.input for t in again.tasks] == [t.input for t in first.tasks]
    assert len(first.tasks) == 3


def test_skip_existing_compares_the_filesystems_modified_times(src, tmp_path):
    (src / "broken.png").unlink()
    out = f"file://{tmp_path}/out/"
    assert palcli("convert", f"file://{src}/", out, "-p", PALETTE).returncode == 0
    newer = os.stat(tmp_path / "out" / "a.png").st_mtime + 10
    os.utime(src / "a.png", (newer, newer))  # a.png changed after its output was written
    r = palcli("convert", f"file://{src}/", out, "-p", PALETTE, "--skip-existing", "--report", "-")
    assert r.returncode == 0
    assert {Path(x["input"]).name: x["status"] for x in records(r)} == {"a.png": "ok",
                                                                        "b.jpg": "skipped"}


def test_memory_urls_in_process_equal_a_local_run(src, tmp_path):
    settings = make_settings(load_palette(PALETTE), "oklab", DitherParams("floyd-steinberg"))
    convert_batch(make_plan([src], tmp_path / "local"), settings, jobs=1)
    add_hidden(src)
    fs = fsspec.filesystem("memory")
    for p in src.rglob("*"):
        if p.is_file():
            fs.pipe_file(f"/t-mem/in/{p.relative_to(src)}", p.read_bytes())
    results = []
    convert_batch(make_plan(["memory://t-mem/in"], "memory://t-mem/out/"), settings, jobs=1,
                  on_result=results.append)
    assert sorted((r.input, r.status) for r in results) == [
        ("memory://t-mem/in/a.png", "ok"), ("memory://t-mem/in/broken.png", "error"),
        ("memory://t-mem/in/sub/b.jpg", "ok")]
    got = {k.removeprefix("/t-mem/out/"): fs.cat_file(k) for k in fs.find("/t-mem/out")}
    assert got == tree(tmp_path / "local")


def test_a_url_that_cannot_be_read_is_one_error_record(tmp_path):
    fs = fsspec.filesystem("memory")
    fs.pipe_file("/t-gone/a.png", b"whatever")
    plan = make_plan(["memory://t-gone/a.png"], f"file://{tmp_path}/o.png")
    fs.rm("/t-gone/a.png")  # gone between planning and converting
    results = []
    settings = make_settings(load_palette(PALETTE), "rgb", DitherParams())
    report = convert_batch(plan, settings, jobs=1, on_result=results.append)
    assert report.exit_code() == 1
    assert [(r.status, r.error) for r in results] == [("error", "no such file")]
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("url, message", [
    ("nope://bucket/in/", "nope://bucket/in/: unknown protocol nope://"),
    (f"file:///no/such/dir/{os.getpid()}/", "file:///no/such/dir/{pid}/: no such file or "
                                            "directory"),
])
def test_an_unusable_url_is_one_usage_error(url, message, tmp_path):
    r = palcli("convert", url, tmp_path / "out", "-p", PALETTE)
    assert r.returncode == 2
    assert r.stderr.decode() == f"palcli: error: {message.format(pid=os.getpid())}\n"
    assert not (tmp_path / "out").exists()
