"""palcli palette extract and palcli.extract: histogram, clustering, refinement, determinism."""

import os
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from palcli import Palette, load_palette, quantize
from palcli.cli import cli
from palcli.errors import UsageError
from palcli.extract import HistogramBuilder, extract_palette, read_histogram
from palcli.inputs import image_files
from palcli.metrics import METRICS

sys.path.insert(0, os.path.dirname(__file__))
import reference  # noqa: E402


def photo_like(h=96, w=128, seed=0):
    """Smooth colour gradients with sensor-like noise: many distinct colours, no flat areas."""
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    base = np.stack([200 * x + 30 * np.sin(6 * y), 160 * y + 60 * x * y, 220 - 180 * x * y], -1)
    noise = np.random.default_rng(seed).normal(0, 6, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def clusters(centres, per=400, spread=5, seed=1):
    """A 20-row image of `per` pixels around each centre (Gaussian, clipped)."""
    rng = np.random.default_rng(seed)
    px = np.concatenate([rng.normal(c, spread, (per, 3)) for c in centres])
    return np.clip(np.rint(px), 0, 255).astype(np.uint8).reshape(20, -1, 3)


def run(*args):
    return CliRunner().invoke(cli, ["palette", "extract", *map(str, args)])


# --- the histogram ---------------------------------------------------------------------------

def test_histogram_counts_every_visible_pixel_of_every_image():
    a = photo_like(seed=1)
    b = np.dstack([photo_like(seed=2), np.full((96, 128), 255, np.uint8)])
    b[:10, :, 3] = 127  # below the threshold: transparent, ignored
    b[10:20, :, 3] = 128  # at the threshold: visible
    builder = HistogramBuilder(alpha_threshold=128)
    builder.add(a)
    builder.add(b)
    hist = builder.result()
    pooled = np.concatenate([a.reshape(-1, 3), b[10:, :, :3].reshape(-1, 3)])
    want, counts = np.unique(pooled, axis=0, return_counts=True)
    assert np.array_equal(hist.colors, want) and np.array_equal(hist.counts, counts)
    assert hist.pixels == 96 * 128 + 86 * 128


def test_histogram_merges_as_it_goes_with_the_same_result(monkeypatch):
    images = [photo_like(24, 32, seed=s) for s in range(12)]
    whole = HistogramBuilder()
    for im in images:
        whole.add(im)
    merged = HistogramBuilder()
    for im in images:
        merged.add(im)
        merged._merge()  # merge after every image, as a long run does
    a, b = whole.result(), merged.result()
    assert np.array_equal(a.colors, b.colors) and np.array_equal(a.counts, b.counts)


def test_histogram_of_rgbx_ignores_the_fourth_byte():
    px = np.zeros((1, 2, 4), np.uint8)
    px[0, 0] = (1, 2, 3, 0)
    px[0, 1] = (1, 2, 3, 255)
    builder = HistogramBuilder()
    builder.add(px, alpha=False)
    assert builder.result().counts.tolist() == [2]


# --- extraction ------------------------------------------------------------------------------

def test_an_image_of_exactly_k_colours_gives_those_k_colours_back():
    colors = np.random.default_rng(3).integers(0, 256, (12, 3), dtype=np.uint8)
    img = colors[np.random.default_rng(4).integers(0, 12, (40, 50))]
    for n in (12, 20):
        pal = extract_palette(img, n)
        assert len(pal) == 12
        assert {tuple(c) for c in pal.colors.tolist()} == {tuple(c) for c in colors.tolist()}


@pytest.mark.parametrize("metric", list(METRICS))
def test_well_separated_clusters_are_found_under_every_metric(metric):
    centres = np.array([[20, 20, 20], [230, 230, 230], [200, 40, 40], [40, 180, 60],
                        [50, 60, 200], [220, 200, 40]], float)
    pal = extract_palette(clusters(centres), 6, metric=metric)
    assert len(pal) == 6
    # each centre has an extracted colour within a few units, each colour a centre
    d = np.abs(pal.colors[:, None, :].astype(int) - centres[None].astype(int)).max(-1)
    assert (d.min(0) <= 4).all() and (d.min(1) <= 4).all()


@pytest.mark.parametrize("metric", ["oklab", "rgb", "redmean"])
def test_refined_palette_is_a_fixed_point_of_the_exact_mapping(metric):
    # After refinement each colour sits where its own pixels (as palcli maps them) pull it: no
    # colour moves by more than rounding when recomputed from palcli's own mapping.
    img = photo_like()
    pal = extract_palette(img, 8, metric=metric)
    idx = quantize(img, pal, metric).reshape(-1)
    px = img.reshape(-1, 3)
    assert len(np.unique(idx)) == 8  # every colour is used
    for i in range(8):
        mean = px[idx == i].mean(0)
        assert np.abs(mean - pal.colors[i]).max() < 12


def test_extraction_beats_a_uniform_grid_and_pillow_median_cut():
    img = photo_like(seed=5)
    pal = extract_palette(img, 16, metric="oklab")

    def mean_error(colors):
        px = img.reshape(-1, 3)
        _, d = reference.nearest(px, colors, "oklab")
        return d.mean()

    cut = Image.fromarray(img).quantize(16, method=Image.Quantize.MEDIANCUT)
    cut_colors = np.array(cut.getpalette()[:48], np.uint8).reshape(16, 3)
    assert mean_error(pal.colors) < mean_error(cut_colors)


def test_include_colours_come_first_as_given_and_count_in_n():
    img = photo_like()
    fixed = Palette("bw", np.array([[0, 0, 0], [255, 255, 255]], np.uint8), ("black", None))
    pal = extract_palette(img, 6, include=fixed)
    assert len(pal) == 6
    assert pal.colors[:2].tolist() == [[0, 0, 0], [255, 255, 255]]
    assert pal.names == ("black", None, "extract 1", "extract 2", "extract 3", "extract 4")
    assert len({tuple(c) for c in pal.colors.tolist()}) == 6


def test_include_equal_to_n_returns_the_include_palette():
    pal = extract_palette(photo_like(), 2, include="#000,#fff")
    assert pal.hex() == ["#000000", "#ffffff"]


def test_include_more_than_n_is_a_usage_error():
    with pytest.raises(UsageError, match="2 colours cannot hold the 16 colours to include"):
        extract_palette(photo_like(), 2, include="pico-8")


def test_extracted_colours_run_dark_to_light_and_are_named():
    pal = extract_palette(photo_like(), 8)
    lightness = reference.oklab(pal.colors)[:, 0]
    assert np.all(np.diff(lightness) >= 0)
    assert pal.names == tuple(f"extract {i}" for i in range(1, 9))


def test_same_input_and_seed_same_palette_other_seed_still_valid():
    img = photo_like()
    a, b = extract_palette(img, 16, seed=3), extract_palette(img, 16, seed=3)
    assert np.array_equal(a.colors, b.colors)
    assert len(extract_palette(img, 16, seed=4)) == 16


def test_fully_transparent_input_is_a_usage_error():
    with pytest.raises(UsageError, match="no visible pixels"):
        extract_palette(np.zeros((4, 4, 4), np.uint8), 3)


@pytest.mark.parametrize("n, seed, words", [(0, 0, "n must be an int in 1..65536"),
                                            (3, -1, "seed must be an int >= 0; got -1")])
def test_bad_arguments_name_the_argument(n, seed, words):
    with pytest.raises(ValueError, match=words):
        extract_palette(photo_like(8, 8), n, seed=seed)


# --- the command -----------------------------------------------------------------------------

@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    Image.fromarray(photo_like(seed=1)).save(d / "a.png")
    Image.fromarray(photo_like(seed=2)).save(d / "sub" / "b.jpg", quality=95)
    (d / "notes.txt").write_text("not an image")
    return d


def test_extract_writes_the_same_bytes_every_run(tmp_path, photos):
    for name in ("one.gpl", "two.gpl"):
        result = run(photos, "-n", 12, "-o", tmp_path / name, "--seed", 7)
        assert result.exit_code == 0, result.output
    one = (tmp_path / "one.gpl").read_bytes()
    assert one.replace(b"Name: one", b"Name: two") == (tmp_path / "two.gpl").read_bytes()
    lines = one.decode().splitlines()
    assert lines[:2] == ["GIMP Palette", "Name: one"]
    assert lines[4].endswith("\textract 1") and lines[-1].endswith("\textract 12")


def test_a_directory_is_walked_as_convert_walks_it(tmp_path, photos):
    assert image_files([photos]) == ([str(photos / "a.png"), str(photos / "sub" / "b.jpg")], [])
    assert run(photos, "-n", 8, "-o", tmp_path / "dir.hex").exit_code == 0
    assert run(photos / "a.png", photos / "sub" / "b.jpg", "-n", 8,
               "-o", tmp_path / "files.hex").exit_code == 0
    assert (tmp_path / "dir.hex").read_bytes() == (tmp_path / "files.hex").read_bytes()


def test_extract_from_a_directory_equals_the_library_on_its_histogram(tmp_path, photos):
    assert run(photos, "-n", 10, "-o", tmp_path / "p.json", "-m", "rgb").exit_code == 0
    hist = read_histogram([photos / "a.png", photos / "sub" / "b.jpg"])
    want = extract_palette(hist, 10, metric="rgb")
    assert np.array_equal(load_palette(tmp_path / "p.json").colors, want.colors)


def test_include_colours_are_present_in_the_file(tmp_path, photos):
    result = run(photos / "a.png", "-n", 5, "-o", tmp_path / "p.gpl", "--include", "#000,#ff0000")
    assert result.exit_code == 0, result.output
    pal = load_palette(tmp_path / "p.gpl")
    assert len(pal) == 5 and pal.hex()[:2] == ["#000000", "#ff0000"]


def test_extract_to_stdout_writes_gpl(photos):
    result = run(photos / "a.png", "-n", 3, "-o", "-")
    assert result.exit_code == 0
    assert result.stdout.startswith("GIMP Palette\nName: extract\n")
    assert len(result.stdout.splitlines()) == 4 + 3


def test_transparent_pixels_are_ignored(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:5] = (255, 0, 0, 255)
    rgba[5:] = (0, 0, 255, 10)  # hidden blue
    Image.fromarray(rgba).save(tmp_path / "sprite.png")
    assert run(tmp_path / "sprite.png", "-n", 4, "-o", tmp_path / "p.hex").exit_code == 0
    assert (tmp_path / "p.hex").read_text() == "ff0000\n"


@pytest.mark.parametrize("args, message", [
    (("missing.png", "-n", 3, "-o", "p.gpl"), "palcli: error: missing.png: no such file or directory\n"),
    (("{a}", "-n", 3, "-o", "p.ase"), "palcli: error: p.ase: cannot write palette format '.ase'"),
    (("{a}", "-n", 3, "-o", "p.gpl", "--include", "pico-8"),
     "palcli: error: 3 colours cannot hold the 16 colours to include\n"),
    (("{a}", "-n", 3, "-o", "p.gpl", "--include", "nosuch"), "palcli: error: nosuch: no such palette"),
    (("{d}/sub/..", "-n", 3, "-o", "p.gpl", "--include", "#000"), None),
])
def test_errors_are_one_line_exit_2_and_write_nothing(tmp_path, photos, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    args = [str(a).format(a=photos / "a.png", d=photos) for a in args]
    result = run(*args)
    if message is None:  # a control: the same command line shape succeeds
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2 and result.stderr.startswith(message)
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "p.gpl").exists()


def test_unreadable_image_is_one_error_line(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = run(tmp_path / "broken.png", "-n", 3, "-o", tmp_path / "p.gpl")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"palcli: error: {tmp_path / 'broken.png'}: ")
    assert "Traceback" not in result.output and not (tmp_path / "p.gpl").exists()


def test_an_empty_directory_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run(tmp_path / "empty", "-n", 3, "-o", tmp_path / "p.gpl")
    assert result.exit_code == 2 and "no images found under" in result.stderr


def test_standard_input_is_refused_by_extract(photos):
    result = run("-", "-n", 3, "-o", "-")
    assert result.exit_code == 2
    assert result.stderr == ("palcli: error: this command reads image files and directories, "
                             "not standard input\n")


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    result = run(tmp_path / "pipe.png", "-n", 3, "-o", tmp_path / "p.gpl")
    assert result.exit_code == 2
    assert result.stderr == f"palcli: error: {tmp_path / 'pipe.png'}: not a regular file\n"
