"""palcli.check.check_image: converted outputs pass, one changed pixel fails, exact counts."""

import os
import pickle
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from palcli import Palette, load_palette
from palcli.check import CheckResult, OffColor, check_image
from palcli.cli import cli
from palcli.errors import ImageError
from palcli.metrics import METRICS

sys.path.insert(0, os.path.dirname(__file__))
import reference  # noqa: E402

PICO = load_palette("pico-8")


def photo_like(h=60, w=80, seed=0):
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    base = np.stack([255 * x, 255 * y, 200 * (1 - x * y)], -1)
    noise = np.random.default_rng(seed).normal(0, 10, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def converted(tmp_path, pixels, *args, name="out.png"):
    Image.fromarray(pixels).save(tmp_path / "in.png")
    result = CliRunner().invoke(cli, ["convert", str(tmp_path / "in.png"), str(tmp_path / name),
                                      "-p", "pico-8", "-q", *args])
    assert result.exit_code == 0, result.output
    return tmp_path / name


@pytest.mark.parametrize("args", [(), ("-d", "floyd-steinberg"), ("-d", "bayer4", "-m", "oklab")],
                         ids=["none", "floyd-steinberg", "bayer4-oklab"])
def test_a_converted_output_passes_without_a_pixel_scan(tmp_path, args):
    out = converted(tmp_path, photo_like(), *args)
    result = check_image(out, PICO)
    assert result == CheckResult(str(out), 60 * 80, 0, (), scanned=False)
    assert result.ok


@pytest.mark.parametrize("fmt", ["gif", "bmp", "tiff", "webp"])
def test_converted_outputs_of_other_formats_pass_after_a_scan(tmp_path, fmt):
    out = converted(tmp_path, photo_like(), "-f", fmt, name=f"out.{fmt}")
    result = check_image(out, PICO)
    assert result.ok and result.scanned and result.pixels == 60 * 80


def test_converted_output_with_transparency_passes(tmp_path):
    rgba = np.dstack([photo_like(), np.full((60, 80), 255, np.uint8)])
    rgba[:20, :, 3] = 0
    out = converted(tmp_path, rgba)
    with Image.open(out) as im:  # the transparent entry (black, alpha 0) follows the 16 colours
        assert im.mode == "P" and len(im.getpalette()) == 17 * 3
    assert check_image(out, PICO).ok


def test_one_changed_pixel_fails_with_exact_count_and_colours(tmp_path):
    out = converted(tmp_path, photo_like(), "--rgb")
    pixels = np.asarray(Image.open(out).convert("RGB")).copy()
    pixels[7, 9] = (1, 2, 3)
    Image.fromarray(pixels).save(tmp_path / "changed.png")
    result = check_image(tmp_path / "changed.png", PICO)
    assert result.off_pixels == 1 and not result.ok
    assert result.off_colors == (OffColor((1, 2, 3), 1, (0, 0, 0), 0),)
    assert result.summary() == "1 pixel off the palette: #010203 x1 (nearest #000000)"


def test_one_changed_entry_of_an_indexed_image_counts_the_pixels_that_use_it(tmp_path):
    out = converted(tmp_path, photo_like())
    with Image.open(out) as im:
        indices = np.asarray(im)
        table = im.getpalette()
        table[3 * 8:3 * 9] = [255, 0, 80]  # entry 8, PICO-8's red #ff004d, moved a little
        im.putpalette(table)
        im.save(tmp_path / "changed.png")
    result = check_image(tmp_path / "changed.png", PICO, metric="rgb")
    used = int((indices == 8).sum())
    assert used > 0 and result.scanned
    assert result.off_pixels == used
    assert result.off_colors == (OffColor((255, 0, 80), used, (255, 0, 77), 8),)


def test_an_unused_off_palette_entry_is_no_offence(tmp_path):
    indices = np.zeros((4, 4), np.uint8)
    im = Image.frombytes("P", (4, 4), indices.tobytes())
    im.putpalette([0, 0, 0, 9, 9, 9])  # entry 1 is off the palette but no pixel uses it
    im.save(tmp_path / "p.png")
    result = check_image(tmp_path / "p.png", PICO)
    assert result.ok and result.scanned


def test_top_three_off_colours_by_count_then_colour_value(tmp_path):
    px = np.zeros((1, 10, 3), np.uint8)  # black is a PICO-8 colour
    px[0, 0:3] = (9, 9, 9)
    px[0, 3:6] = (200, 10, 10)
    px[0, 6:8] = (5, 5, 5)
    px[0, 8:10] = (4, 4, 4)
    Image.fromarray(px).save(tmp_path / "p.png")
    result = check_image(tmp_path / "p.png", PICO)
    assert result.off_pixels == 10
    assert [(c.color, c.count) for c in result.off_colors] == [((9, 9, 9), 3), ((200, 10, 10), 3),
                                                               ((4, 4, 4), 2)]
    assert result.summary() == ("10 pixels off the palette: #090909 x3 (nearest #000000), #c80a0a x3 "
                                "(nearest #ff004d), #040404 x2 (nearest #000000)")  # 55² + 10² + 67² = 7614


@pytest.mark.parametrize("metric", list(METRICS))
def test_nearest_colours_follow_the_metric(tmp_path, metric):
    rng = np.random.default_rng(11)
    px = rng.integers(0, 256, (1, 3, 3), dtype=np.uint8)
    Image.fromarray(px).save(tmp_path / "p.png")
    result = check_image(tmp_path / "p.png", PICO, metric=metric)
    want, _ = reference.nearest(np.array([c.color for c in result.off_colors], np.uint8),
                                PICO.colors, metric)
    assert [c.index for c in result.off_colors] == want.tolist()
    assert [c.nearest for c in result.off_colors] == [tuple(PICO.colors[i].tolist()) for i in want]


def test_transparent_pixels_are_ignored_below_the_threshold(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0] = (7, 7, 7, 127)
    Image.fromarray(rgba).save(tmp_path / "p.png")
    assert check_image(tmp_path / "p.png", PICO, alpha_threshold=128).ok
    result = check_image(tmp_path / "p.png", PICO, alpha_threshold=127)
    assert result.off_pixels == 1 and result.off_colors[0].color == (7, 7, 7)


def test_transparent_entries_of_an_indexed_png_are_ignored(tmp_path):
    im = Image.frombytes("P", (2, 1), bytes([0, 1]))
    im.putpalette([0, 0, 0, 9, 9, 9])
    im.save(tmp_path / "p.png", transparency=bytes([255, 100]))
    assert check_image(tmp_path / "p.png", PICO).ok
    result = check_image(tmp_path / "p.png", PICO, alpha_threshold=100)
    assert result.off_pixels == 1 and result.scanned


def test_every_frame_of_an_animation_is_checked(tmp_path):
    frames = [Image.new("RGB", (4, 4), (0, 0, 0)), Image.new("RGB", (4, 4), (0, 0, 0))]
    frames[1].putpixel((1, 1), (17, 17, 17))
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=50)
    result = check_image(tmp_path / "a.gif", PICO)
    assert result.pixels == 32 and result.off_pixels == 1


def test_an_image_with_a_colour_profile_is_read_as_convert_reads_it(tmp_path):
    from PIL import ImageCms

    out = converted(tmp_path, photo_like())
    with Image.open(out) as im:
        profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        im.save(tmp_path / "tagged.png", icc_profile=profile)
    # With a profile the table alone cannot decide (convert reads the colours through it).
    result = check_image(tmp_path / "tagged.png", PICO)
    assert result.scanned and result.ok


def test_unreadable_file_is_an_image_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    with pytest.raises(ImageError, match="bad.png: "):
        check_image(tmp_path / "bad.png", PICO)
    with pytest.raises(ImageError, match="no such file"):
        check_image(tmp_path / "missing.png", PICO)


def test_over_max_pixels_is_refused_even_without_a_scan(tmp_path):
    out = converted(tmp_path, photo_like())
    with pytest.raises(ImageError, match="80x60 = 4800 pixels is over the limit of 4799"):
        check_image(out, PICO, max_pixels=4799)


def test_result_is_small_and_picklable(tmp_path):
    px = np.full((3, 3, 3), 200, np.uint8)
    Image.fromarray(px).save(tmp_path / "p.png")
    result = check_image(tmp_path / "p.png", Palette("bw", np.array([[0, 0, 0], [255, 255, 255]], np.uint8)))
    assert pickle.loads(pickle.dumps(result)) == result
    assert result.off_colors == (OffColor((200, 200, 200), 9, (255, 255, 255), 1),)


def test_bad_threshold_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="alpha_threshold must be an int in 0..255; got 256"):
        check_image(tmp_path / "x.png", PICO, alpha_threshold=256)


# --- the command -----------------------------------------------------------------------------

def check_cli(*args, input=None):
    return CliRunner().invoke(cli, ["check", *map(str, args)], input=input)


@pytest.fixture
def assets(tmp_path):
    """A converted tree of three images, one of them then touched by hand."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for i, rel in enumerate(["a.png", "b.jpg", "sub/c.png"]):
        Image.fromarray(photo_like(seed=i)).save(src / rel)
    result = CliRunner().invoke(cli, ["convert", str(src), str(tmp_path / "out"), "-p", "pico-8", "-q"])
    assert result.exit_code == 0, result.output
    return tmp_path / "out"


def test_check_passes_a_converted_tree_silently(assets):
    for jobs in ("1", "2"):
        result = check_cli(assets, "-p", "pico-8", "-j", jobs)
        assert result.exit_code == 0 and result.output == ""


def test_check_names_each_offending_file_in_one_line_and_exits_1(assets):
    px = np.asarray(Image.open(assets / "b.png").convert("RGB")).copy()
    px[0, 0] = (1, 2, 3)
    px[0, 1] = (1, 2, 3)
    Image.fromarray(px).save(assets / "b.png")
    (assets / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    for jobs in ("1", "2"):
        result = check_cli(assets, "-p", "pico-8", "-j", jobs)
        assert result.exit_code == 1
        assert sorted(result.stderr.splitlines()) == [
            f"palcli: error: {assets / 'b.png'}: 2 pixels off the palette: #010203 x2 (nearest #000000)",
            f"palcli: error: {assets / 'sub' / 'broken.png'}: not an image file Pillow can read",
        ]
        assert result.stdout == ""


def test_check_report_has_convert_keys_and_statuses(assets, tmp_path):
    import json

    px = np.asarray(Image.open(assets / "a.png").convert("RGB")).copy()
    px[5, 5] = (250, 250, 250)
    Image.fromarray(px).save(assets / "a.png")
    result = check_cli(assets, "-p", "pico-8", "--report", tmp_path / "logs" / "check.jsonl")
    assert result.exit_code == 1
    lines = [json.loads(line) for line in (tmp_path / "logs" / "check.jsonl").read_text().splitlines()]
    by_input = {r["input"]: r for r in lines}
    assert set(by_input) == {str(assets / "a.png"), str(assets / "b.png"), str(assets / "sub" / "c.png")}
    assert all(set(r) == {"input", "output", "status", "error", "pixels", "seconds"} for r in lines)
    bad = by_input[str(assets / "a.png")]
    assert bad["status"] == "error" and bad["output"] is None and bad["pixels"] == 60 * 80
    assert bad["error"] == "1 pixel off the palette: #fafafa x1 (nearest #fff1e8)"
    assert [by_input[str(assets / n)]["status"] for n in ("b.png", "sub/c.png")] == ["ok", "ok"]


def test_check_report_may_not_be_an_input(assets):
    before = (assets / "a.png").read_bytes()
    result = check_cli(assets, "-p", "pico-8", "--report", assets / "a.png")
    assert result.exit_code == 2
    assert result.stderr == (f"palcli: error: --report {assets / 'a.png'} is an input of this run; "
                             f"choose another file\n")
    assert (assets / "a.png").read_bytes() == before


def test_check_reads_standard_input(assets):
    data = (assets / "a.png").read_bytes()
    result = check_cli("-", "-p", "pico-8", input=data)
    assert result.exit_code == 0, result.output
    result = check_cli("-", "-p", "1bit", input=data)
    assert result.exit_code == 1 and result.stderr.startswith("palcli: error: -: ")


@pytest.mark.parametrize("args, message", [
    (("missing.png", "-p", "pico-8"), "palcli: error: missing.png: no such file or directory\n"),
    (("{d}", "-p", "no-such-palette"), "palcli: error: no-such-palette: no such palette"),
    (("{e}", "-p", "pico-8"), "palcli: error: no images found under {e}\n"),
])
def test_check_usage_errors_exit_2(tmp_path, monkeypatch, assets, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    fill = {"d": assets, "e": tmp_path / "empty"}
    result = check_cli(*[str(a).format(**fill) for a in args])
    assert result.exit_code == 2
    assert result.stderr.endswith(message.format(**fill)) or result.stderr.startswith(message.format(**fill))


def test_pre_commit_hook_runs_palcli_check():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text()
    assert re.search(r"^- id: palcli-check$", text, re.M)
    assert re.search(r"^  entry: palcli check$", text, re.M)
    assert re.search(r"^  language: python$", text, re.M)
    assert re.search(r"^  files: .*png", text, re.M)


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.png")
    result = check_cli(tmp_path / "pipe.png", "-p", "pico-8")
    assert result.exit_code == 1
    assert result.stderr == f"palcli: error: {tmp_path / 'pipe.png'}: not a regular file\n"
