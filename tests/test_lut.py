"""palcli palette lut and palcli.lut: Hald CLUT and .cube files, checked with numpy and ffmpeg."""

import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from palcli import Palette, load_palette, remap
from palcli.cube import get_cube
from palcli.cli import cli
from palcli.lut import hald_clut, write_lut
from palcli.metrics import METRICS

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"  # CI installs Debian's ffmpeg; its absence fails
# Many values of every channel, so that any 8-bit rounding slip in a reader would show.
WIDE = Palette("wide", np.stack([np.arange(0, 256, 5), 255 - np.arange(0, 256, 5),
                                 np.arange(0, 256, 5) * 7 % 256], 1).astype(np.uint8))


def photo_like(h=120, w=160, seed=0):
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    base = np.stack([255 * x, 255 * y, 255 * (1 - x) * (1 - y) + 40 * np.sin(9 * x * y)], -1)
    noise = np.random.default_rng(seed).normal(0, 8, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def apply_hald(hald: np.ndarray, img: np.ndarray) -> np.ndarray:
    """Nearest sampling of a level-16 Hald CLUT: entry r + 256 g + 65536 b, row by row."""
    flat = hald.reshape(-1, 3)
    c = img.astype(np.int64)
    i = c[..., 0] + 256 * c[..., 1] + 65536 * c[..., 2]
    return flat[i]


METRIC_CASES = [pytest.param(m, marks=pytest.mark.slow) if m == "ciede2000" else m for m in METRICS]


@pytest.mark.parametrize("metric", METRIC_CASES)
def test_level_16_hald_clut_applied_with_numpy_is_palcli_mapping(metric):
    pal = load_palette("pico-8")
    hald = hald_clut(pal, metric)
    assert hald.shape == (4096, 4096, 3) and hald.dtype == np.uint8
    img = photo_like()
    assert np.array_equal(apply_hald(hald, img), remap(img, pal, metric))


def test_hald_clut_layout_red_fastest_then_green_then_blue():
    pal = load_palette("xterm-256")
    cube, hald = get_cube(pal, "rgb").array, hald_clut(pal, "rgb")
    for r, g, b in [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (17, 200, 93), (255, 255, 255)]:
        i = r + 256 * g + 65536 * b
        assert hald[i // 4096, i % 4096].tolist() == pal.colors[cube[r, g, b]].tolist()


@pytest.mark.parametrize("level", [2, 5, 8])
def test_lower_levels_sample_the_cube_at_the_nearest_8_bit_step(level):
    pal = load_palette("pico-8")
    hald = hald_clut(pal, "oklab", level)
    side, steps = level ** 3, level * level
    assert hald.shape == (side, side, 3)
    values = np.rint(np.arange(steps) * 255 / (steps - 1)).astype(int)
    cube = get_cube(pal, "oklab").array
    flat = hald.reshape(-1, 3)
    i = np.arange(steps ** 3)
    want = pal.colors[cube[values[i % steps], values[i // steps % steps], values[i // steps ** 2]]]
    assert np.array_equal(flat, want)


def test_command_writes_the_hald_clut_png(tmp_path):
    out = tmp_path / "pico.png"
    result = CliRunner().invoke(cli, ["palette", "lut", "pico-8", "-o", str(out), "-m", "oklab"])
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        assert im.mode == "RGB" and im.size == (4096, 4096)
        assert np.array_equal(np.asarray(im), hald_clut("pico-8", "oklab"))
    assert [p.name for p in tmp_path.iterdir()] == ["pico.png"]  # no temp file left


def parse_cube(text: str):
    lines = text.splitlines()
    size = int(next(line for line in lines if line.startswith("LUT_3D_SIZE")).split()[1])
    rows = np.array([line.split() for line in lines if line[:1].isdigit()], float)
    return lines, size, rows


def test_cube_file_holds_every_entry_for_truncating_and_rounding_readers(tmp_path):
    write_lut(WIDE, tmp_path / "wide.cube", metric="rgb", level=4)
    lines, size, rows = parse_cube((tmp_path / "wide.cube").read_text())
    assert lines[:4] == ['TITLE "wide (rgb, palcli)"', "LUT_3D_SIZE 16", "DOMAIN_MIN 0 0 0",
                         "DOMAIN_MAX 1 1 1"]
    assert size == 16 and rows.shape == (16 ** 3, 3) and rows.min() >= 0 and rows.max() <= 1
    want = hald_clut(WIDE, "rgb", 4).reshape(-1, 3)
    assert np.array_equal(np.floor(rows * 255 + 1e-9).astype(int), want)  # truncating reader
    assert np.array_equal(np.rint(rows * 255).astype(int), want)  # rounding reader


def test_unknown_lut_suffix_and_bad_level_are_usage_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["palette", "lut", "nes", "-o", str(tmp_path / "x.jpg")])
    assert result.exit_code == 2
    assert result.stderr == (f"palcli: error: {tmp_path / 'x.jpg'}: a LUT is written as .png "
                             f"(Hald CLUT) or .cube, not '.jpg'\n")
    result = runner.invoke(cli, ["palette", "lut", "nes", "-o", str(tmp_path / "x.png"), "--level", "17"])
    assert result.exit_code == 2 and "17 is not in the range 2<=x<=16" in result.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="level must be an int in 2..16; got 1"):
        hald_clut("nes", "rgb", 1)


# --- ffmpeg ----------------------------------------------------------------------------------

def ffmpeg(*args, stdout=True) -> bytes:
    done = subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", *map(str, args)],
                          capture_output=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A short clip ffmpeg makes itself (test pattern over a fractal, many colours), stored
    losslessly (FFV1), and its frames as ffmpeg decodes them to RGB."""
    path = tmp_path_factory.mktemp("clip") / "clip.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=0.5",
           "-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=10",
           "-filter_complex", "[0][1]blend=all_mode=average,format=rgb24", "-t", "0.5",
           "-c:v", "ffv1", path)
    raw = ffmpeg("-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 120, 160, 3)
    assert len(frames) == 5 and len(np.unique(frames.reshape(-1, 3), axis=0)) > 10000
    return path, frames


def test_ffmpeg_haldclut_with_nearest_interpolation_maps_exactly_as_palcli(tmp_path, clip):
    path, frames = clip
    assert CliRunner().invoke(cli, ["palette", "lut", "pico-8", "-m", "oklab",
                                    "-o", str(tmp_path / "pico.png")]).exit_code == 0
    raw = ffmpeg("-i", path, "-i", tmp_path / "pico.png",
                 "-filter_complex", "[0][1]haldclut=interp=nearest", "-f", "rawvideo",
                 "-pix_fmt", "rgb24", "-")
    out = np.frombuffer(raw, np.uint8).reshape(frames.shape)
    pal = load_palette("pico-8")
    packed = out.reshape(-1, 3) @ np.array([65536, 256, 1])
    assert np.isin(packed, pal.colors.astype(np.int64) @ np.array([65536, 256, 1])).all()
    assert np.array_equal(out, np.stack([remap(f, pal, "oklab") for f in frames]))


def test_ffmpeg_haldclut_keeps_every_8_bit_value(tmp_path, clip):
    path, frames = clip
    write_lut(WIDE, tmp_path / "wide.png", metric="rgb")
    raw = ffmpeg("-i", path, "-i", tmp_path / "wide.png",
                 "-filter_complex", "[0][1]haldclut=interp=nearest", "-f", "rawvideo",
                 "-pix_fmt", "rgb24", "-")
    out = np.frombuffer(raw, np.uint8).reshape(frames.shape)
    assert np.array_equal(out, np.stack([remap(f, WIDE, "rgb") for f in frames]))


def test_ffmpeg_lut3d_reads_the_cube_file_entry_for_entry(tmp_path, clip):
    # Level 8: 64 steps per channel, what most editors accept. ffmpeg's nearest interpolation
    # takes the entry at round(v * 63 / 255) per channel, and must read back its exact colour.
    path, frames = clip
    write_lut(WIDE, tmp_path / "wide.cube", metric="rgb", level=8)
    raw = ffmpeg("-i", path, "-vf", f"lut3d=file={tmp_path / 'wide.cube'}:interp=nearest",
                 "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    out = np.frombuffer(raw, np.uint8).reshape(frames.shape)
    step = np.rint(frames.astype(np.int64) * 63 / 255).astype(np.int64)
    entries = hald_clut(WIDE, "rgb", 8).reshape(-1, 3)
    assert np.array_equal(out, entries[step[..., 0] + 64 * step[..., 1] + 4096 * step[..., 2]])


@pytest.mark.slow
def test_ffmpeg_lut3d_with_a_level_16_cube_maps_exactly_as_palcli(tmp_path, clip):
    path, frames = clip
    write_lut("pico-8", tmp_path / "pico.cube", metric="oklab")  # 256 steps, 450 MB
    raw = ffmpeg("-i", path, "-vf", f"lut3d=file={tmp_path / 'pico.cube'}:interp=nearest",
                 "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    out = np.frombuffer(raw, np.uint8).reshape(frames.shape)
    pal = load_palette("pico-8")
    assert np.array_equal(out, np.stack([remap(f, pal, "oklab") for f in frames]))
