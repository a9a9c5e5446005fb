"""The preview contact sheet: layout, tiles identical to remap, captions, the command."""

import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from palcli import load_palette, remap
from palcli.cli import cli
from palcli.dither import DITHERS
from palcli.metrics import METRICS
from palcli.preview import CAPTION, GAP, contact_sheet


def _img(h=30, w=40):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) % 256], -1).astype(np.uint8)


def _tile(sheet, row, col, h, w):
    x, y = GAP + col * (w + GAP), GAP + row * (h + CAPTION + GAP)
    return np.asarray(sheet)[y:y + h, x:x + w]


def test_rows_are_metrics_columns_are_original_then_dithers():
    img = _img()
    metrics, dithers = ["rgb", "oklab"], ["none", "floyd-steinberg", "bayer4"]
    sheet = contact_sheet(img, "pico-8", metrics, dithers)
    assert sheet.mode == "RGB"
    assert sheet.size == (GAP + 4 * (40 + GAP), GAP + 2 * (30 + CAPTION + GAP))
    pal = load_palette("pico-8")
    for row, metric in enumerate(metrics):
        assert np.array_equal(_tile(sheet, row, 0, 30, 40), img)
        for col, dither in enumerate(dithers, start=1):
            assert np.array_equal(_tile(sheet, row, col, 30, 40),
                                  remap(img, pal, metric=metric, dither=dither)), (metric, dither)


def test_defaults_show_every_metric_and_dither():
    sheet = contact_sheet(_img(8, 8), "1bit", tile=16)
    assert sheet.size == (GAP + (1 + len(DITHERS)) * (8 + GAP),
                          GAP + len(METRICS) * (8 + CAPTION + GAP))


def test_captions_are_drawn_under_tiles():
    sheet = np.asarray(contact_sheet(_img(), "pico-8", ["rgb"], ["none"]))
    strip = sheet[GAP + 30:GAP + 30 + CAPTION, GAP:GAP + 40]
    assert (strip > 128).any(), "no caption text under the original"


def test_large_images_are_shrunk_before_mapping_small_ones_never_grown():
    big = np.zeros((300, 600, 3), np.uint8)
    sheet = contact_sheet(big, "1bit", ["rgb"], ["bayer2"], tile=64)
    assert sheet.size == (GAP + 2 * (64 + GAP), GAP + 32 + CAPTION + GAP)
    small = contact_sheet(_img(10, 12), "1bit", ["rgb"], ["none"], tile=64)
    assert small.size == (GAP + 2 * (12 + GAP), GAP + 10 + CAPTION + GAP)


def test_opaque_alpha_changes_nothing_and_output_is_deterministic():
    img = _img()
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    a = contact_sheet(img, "gameboy", ["rgb"], ["atkinson", "blue-noise"])
    b = contact_sheet(rgba, "gameboy", ["rgb"], ["atkinson", "blue-noise"])
    assert a.tobytes() == b.tobytes()
    assert contact_sheet(img, "gameboy", ["rgb"], ["atkinson"]).tobytes() == \
        contact_sheet(img, "gameboy", ["rgb"], ["atkinson"]).tobytes()


def test_transparent_pixels_show_the_checkerboard_in_every_tile():
    # 80% transparent pixels hide colours that must not show in any tile; the threshold decides
    # what is transparent, as it does in convert.
    img = np.zeros((32, 48, 4), np.uint8)
    img[..., 0] = 255  # pure red under the transparency: not in the Game Boy's greens
    img[..., 3] = 51
    img[:, :8, 3] = 255  # an opaque strip on the left
    sheet = np.asarray(contact_sheet(img, "gameboy", ["rgb"], ["none", "bayer4"], tile=48))
    greys = {(204, 204, 204), (153, 153, 153)}
    for col in range(3):  # the original, then each dither
        x = GAP + col * (48 + GAP)
        tile = sheet[GAP:GAP + 32, x:x + 48]
        hidden = {tuple(p) for p in tile[:, 8:].reshape(-1, 3)}
        if col == 0:  # the original is drawn over the board by its alpha: reddish greys
            assert all(p[0] > p[1] for p in hidden)
        else:
            assert hidden == greys, col
            assert {tuple(p) for p in tile[:, :8].reshape(-1, 3)}.isdisjoint(greys)
    # alpha 51 is above a threshold of 40: then nothing is transparent
    opaque = np.asarray(contact_sheet(img, "gameboy", ["rgb"], ["none"], tile=48,
                                      alpha_threshold=40))
    tile = opaque[GAP:GAP + 32, GAP + 48 + GAP:GAP + 2 * 48 + GAP]
    assert {tuple(p) for p in tile.reshape(-1, 3)}.isdisjoint(greys)


@pytest.mark.parametrize("kwargs, match", [
    ({"metrics": ["lab"]}, "metric must be one of"),
    ({"dithers": ["floyd"]}, "dither must be one of"),
    ({"dithers": []}, "dithers must name at least one"),
    ({"tile": 4}, "tile must be an integer of at least 16"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        contact_sheet(_img(), "pico-8", **kwargs)


def test_bad_image():
    with pytest.raises(ValueError, match=r"img must have shape \(H, W, 3\) or \(H, W, 4\); got \(4, 4\)"):
        contact_sheet(np.zeros((4, 4), np.uint8), "pico-8")


def test_command_writes_the_sheet(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(_img()).save(src)
    out = tmp_path / "sheet.png"
    result = CliRunner().invoke(cli, ["preview", str(src), "-p", "pico-8", "-o", str(out),
                                      "-m", "rgb", "-m", "cie76", "-d", "none", "-d", "sierra"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    with Image.open(out) as im:
        want = contact_sheet(_img(), "pico-8", ["rgb", "cie76"], ["none", "sierra"])
        assert im.size == want.size
        assert np.array_equal(np.asarray(im.convert("RGB")), np.asarray(want))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".palcli")] == []


def test_command_to_stdout(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(_img()).save(src)
    result = CliRunner().invoke(cli, ["preview", str(src), "-p", "1bit", "-o", "-", "-d", "bayer8",
                                      "-m", "rgb"])
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(b"\x89PNG")


def test_command_errors_are_one_line(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(_img()).save(src)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    runner = CliRunner()
    r = runner.invoke(cli, ["preview", str(src), "-p", "no-such-palette",
                            "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 2 and r.output.startswith("palcli: error: no-such-palette")
    r = runner.invoke(cli, ["preview", str(bad), "-p", "1bit", "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 2 and r.output.startswith("palcli: error: ")
    assert len(r.output.strip().splitlines()) == 1
    r = runner.invoke(cli, ["preview", str(src), "-p", "1bit", "-o", str(tmp_path / "no" / "o.png"),
                            "-m", "rgb", "-d", "none"])
    assert r.exit_code == 2 and "cannot write there" in r.output
    r = runner.invoke(cli, ["preview", str(src), "-p", "1bit", "-o", "x.png", "-d", "bayer3"])
    assert r.exit_code == 2 and "bayer3" in r.output
    assert not (tmp_path / "o.png").exists()


def test_a_cube_only_numba_builds_is_built_ahead_by_another_process(cache_dir, monkeypatch):
    from palcli import cube as cubes
    from palcli.palette import load_palette

    monkeypatch.setattr(cubes, "_memo", {})
    pal = load_palette("#000000,#ffffff,#ff0000")
    with cubes.built_ahead(pal, ["rgb", "ciede2000", "oklab"]):
        helpers = dict(cubes._ahead)
        # numpy builds rgb and oklab in no time: only ciede2000 goes to a helper
        assert list(helpers) == [cubes.cube_key(pal, "ciede2000")]
        helper = next(iter(helpers.values()))
        assert helper.pid != os.getpid()
        got = cubes.cube_for(pal, "ciede2000")  # waits for the helper, then maps its file
        assert not helper.is_alive() and helper.exitcode == 0
        assert got.path is not None and got.path.parent == cache_dir
    np.testing.assert_array_equal(got.array, cubes.build_cube(pal.colors, "ciede2000"))
    assert cubes._ahead == {}


def test_helpers_still_building_are_stopped_with_the_block(cache_dir, monkeypatch):
    from palcli import cube as cubes
    from palcli.palette import load_palette

    monkeypatch.setattr(cubes, "_memo", {})
    pal = load_palette("#000000,#ffffff,#ff0000,#00ff00")
    with cubes.built_ahead(pal, ["ciede2000"]):
        helper = next(iter(cubes._ahead.values()))
    assert not helper.is_alive() and cubes._ahead == {}
    assert not [p for p in cache_dir.glob("*") if p.name.endswith(".tmp")]


@pytest.mark.slow
@pytest.mark.parametrize("delay", [2.5, 4.0])
def test_ctrl_c_during_a_cold_preview_stops_its_helpers_without_a_traceback(tmp_path, delay):
    # On empty caches the ciede2000 cube and the plan table are made by helper processes while
    # numba compiles: Ctrl-C ends the sheet with 130, the helpers with it, and no traceback.
    import signal
    import subprocess
    import sys
    import time

    from runs import ENTRY

    photo = tmp_path / "photo.png"
    y, x = np.mgrid[0:400, 0:400]
    Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8)).save(photo)
    env = {**os.environ, "PALCLI_CACHE_DIR": str(tmp_path / "cache"),
           "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = subprocess.Popen([sys.executable, "-c", ENTRY, "preview", str(photo), "-p", "pico-8",
                             "-o", str(tmp_path / "sheet.png")], stderr=subprocess.PIPE,
                            text=True, env=env)
    time.sleep(delay)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                              text=True).stdout.split()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.splitlines()[-1] == "palcli: interrupted", err
    assert children, "no helper process was running"
    time.sleep(0.5)
    assert all(not os.path.exists(f"/proc/{pid}") for pid in children)
    assert not (tmp_path / "sheet.png").exists()
