"""palcli convert as a user runs it: real subprocesses, exact stderr lines and exit codes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reference import nearest
from runs import palcli

DATA = Path(__file__).parent / "data" / "images"
CORNERS = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255],
                    [255, 255, 0], [255, 0, 255], [0, 255, 255], [255, 255, 255]], np.uint8)
PALETTE = ",".join("#%02x%02x%02x" % tuple(c) for c in CORNERS)
BAD = {  # fixture -> the reason its error line gives
    "huge-dimensions.png": "100000x100000 = 10000000000 pixels is over the limit of 89478485 "
                           "(--max-pixels)",
    "not-an-image.png": "not an image file Pillow can read",
    "truncated-jpeg.jpg": "cannot read image: image file is truncated (138 bytes not processed)",
    "truncated.png": "cannot read image: image file is truncated",
}


@pytest.fixture(autouse=True, scope="module")
def cube_built():
    """The tests below pin stderr exactly: build their cube first, so that no run here has to
    say it is building one."""
    from palcli.cube import get_cube

    get_cube(PALETTE, "rgb")




def photo(seed, h=24, w=32):
    """A small smooth-ish RGB image with every kind of colour."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx + yy) * 4 % 256], -1)
    return (img + rng.integers(-20, 21, img.shape)).clip(0, 255).astype(np.uint8)


@pytest.fixture
def batch(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for i in range(6):
        Image.fromarray(photo(i)).save(src / ("sub" if i % 2 else "") / f"p{i}.png")
    Image.fromarray(photo(9)).save(src / "q.jpg", quality=90)
    return src


def test_directory_to_indexed_pngs_exactly(batch, tmp_path):
    out = tmp_path / "out"
    r = palcli("convert", batch, out, "-p", PALETTE)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == ["p0.png", "p2.png", "p4.png", "q.png", "sub/p1.png", "sub/p3.png",
                       "sub/p5.png"]
    for i in range(6):
        im = Image.open(out / ("sub" if i % 2 else "") / f"p{i}.png")
        assert im.mode == "P" and im.getpalette() == CORNERS.ravel().tolist()
        expected, _ = nearest(photo(i).reshape(-1, 3), CORNERS, "rgb")
        assert np.array_equal(np.asarray(im).ravel(), expected)


def test_serial_and_pool_write_identical_bytes(batch, tmp_path):
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        r = palcli("convert", batch, DATA, out, "-p", PALETTE, "-j", jobs, "-q")
        assert r.returncode == 1  # the bad fixtures
        outputs[jobs] = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*")
                         if p.is_file()}
    fixtures = [p for p in DATA.iterdir() if p.suffix != ".py"]
    assert len(outputs["1"]) == 7 + len(fixtures) - len(BAD)
    assert outputs["1"] == outputs["2"]


def test_bad_inputs_are_one_line_each_and_the_rest_converts(tmp_path):
    out = tmp_path / "out"
    r = palcli("convert", DATA, out, "-p", PALETTE, "-j", "2", "--report", tmp_path / "r.jsonl")
    assert r.returncode == 1
    lines = r.stderr.decode().splitlines()
    errors = sorted(x for x in lines if x.startswith("palcli: error:"))
    assert errors == [f"palcli: error: {DATA / name}: {reason}" for name, reason in
                      sorted(BAD.items())]
    assert "Traceback" not in r.stderr.decode()
    records = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert all(list(rec) == ["input", "output", "status", "error", "pixels", "seconds"]
               for rec in records)
    by_name = {Path(rec["input"]).name: rec for rec in records}
    assert {n for n, rec in by_name.items() if rec["status"] == "error"} == set(BAD)
    assert by_name["rgb16.png"]["status"] == "ok" and by_name["rgb16.png"]["pixels"] == 32
    assert by_name["animated-gif.gif"]["pixels"] == 3 * 64
    for name in BAD:
        assert by_name[name]["error"] == BAD[name] and not (out / name).exists()
    # The odd inputs came out right: EXIF rotation, ICC conversion, transparency.
    rotated = Image.open(out / "exif-orientation-6.png")
    assert rotated.size == (4, 8)
    swapped = np.asarray(Image.open(out / "icc-swapped-rb.png").convert("RGB"))
    yy, xx = np.mgrid[0:4, 0:8]
    assert np.array_equal(swapped, CORNERS[((yy // 2) * 4 + xx // 2) % 8][..., ::-1])
    tr = Image.open(out / "palette-transparency.png")
    assert tr.info["transparency"] == 8 and len(tr.getpalette()) == 27
    assert Image.open(out / "animated-gif.png").n_frames == 3


def test_missing_input_is_exit_2_and_nothing_written(batch, tmp_path):
    out = tmp_path / "out"
    r = palcli("convert", batch, tmp_path / "nope.jpg", out, "-p", PALETTE)
    assert r.returncode == 2
    assert r.stderr.decode() == f"palcli: error: {tmp_path / 'nope.jpg'}: no such file or " \
                                f"directory\n"
    assert not out.exists()


def test_bad_palette_is_exit_2(batch, tmp_path):
    r = palcli("convert", batch, tmp_path / "out", "-p", "no-such-palette")
    assert r.returncode == 2
    assert r.stderr.decode().startswith("palcli: error: no-such-palette")
    assert len(r.stderr.decode().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_stdin_to_stdout_is_the_file_conversion(batch, tmp_path):
    src = batch / "p0.png"
    r = palcli("convert", "-", "-", "-p", PALETTE, stdin=src.read_bytes())
    assert r.returncode == 0 and r.stderr == b""
    assert palcli("convert", src, tmp_path / "o.png", "-p", PALETTE).returncode == 0
    assert r.stdout == (tmp_path / "o.png").read_bytes()
    bad = palcli("convert", "-", "-", "-p", PALETTE, stdin=b"not an image")
    assert (bad.returncode, bad.stdout) == (1, b"")
    assert bad.stderr == b"palcli: error: -: not an image file Pillow can read\n"


def test_report_to_stdout_and_dry_run(batch, tmp_path):
    out = tmp_path / "out"
    r = palcli("convert", batch, out, "-p", PALETTE, "--dry-run")
    assert r.returncode == 0 and r.stderr == b"" and not out.exists()
    assert r.stdout.decode().splitlines()[0] == f"{batch / 'p0.png'} -> {out / 'p0.png'}"
    assert len(r.stdout.decode().splitlines()) == 7
    r = palcli("convert", batch, out, "-p", PALETTE, "--report", "-")
    records = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert r.returncode == 0 and len(records) == 7
    assert {rec["status"] for rec in records} == {"ok"}
    assert records[0]["pixels"] == 24 * 32 and records[0]["error"] is None
    r = palcli("convert", batch, out, "-p", PALETTE, "--report", "-", "--skip-existing")
    assert r.returncode == 0
    assert {json.loads(x)["status"] for x in r.stdout.decode().splitlines()} == {"skipped"}


def test_conflicting_outputs_and_fail_fast(batch, tmp_path):
    shutil.copy(batch / "p0.png", batch / "q.png")  # q.jpg and q.png -> out/q.png
    out = tmp_path / "out"
    r = palcli("convert", batch, out, "-p", PALETTE)
    assert r.returncode == 1
    assert r.stderr.decode() == (f"palcli: error: {batch / 'q.png'}: {out / 'q.png'} is also the "
                                 f"output of {batch / 'q.jpg'} (--keep-suffix names this output "
                                 f"q.png.png)\n")
    assert np.asarray(Image.open(out / "q.png")).shape == (24, 32)  # from q.jpg, untouched
    (batch / "p2.png").write_bytes(b"broken")
    r = palcli("convert", batch, tmp_path / "ff", "-p", PALETTE, "-j", "1", "--fail-fast",
               "--report", "-")
    statuses = [(Path(x["input"]).name, x["status"]) for x in map(json.loads,
                                                                  r.stdout.decode().splitlines())]
    assert r.returncode == 1
    assert statuses[:4] == [("q.png", "error"), ("p0.png", "ok"), ("p2.png", "error"),
                            ("p4.png", "skipped")]
    assert not (tmp_path / "ff" / "p4.png").exists()


def test_256_colour_palette_with_transparency_says_rgba_once(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        shutil.copy(DATA / "la.png", src / f"la{i}.png")
    pal = tmp_path / "greys.hex"
    pal.write_text("".join("%06x\n" % (i * 65793) for i in range(256)))  # 256 greys
    r = palcli("convert", src, tmp_path / "out", "-p", pal, "-j", "2")
    assert r.returncode == 0
    assert r.stderr.decode() == ("palcli: warning: the palette has 256 colours, no room for a "
                                 "transparent entry: images with transparency are written as "
                                 "RGBA PNG\n")
    assert Image.open(tmp_path / "out" / "la0.png").mode == "RGBA"


def test_formats_and_rgb(batch, tmp_path):
    for fmt, mode in (("gif", "P"), ("webp", "RGB"), ("bmp", "P"), ("tiff", "P")):
        r = palcli("convert", batch / "p0.png", tmp_path / "o", "-p", PALETTE, "-f", fmt)
        assert r.returncode == 0, r.stderr
        im = Image.open(tmp_path / "o")
        assert im.format == fmt.upper() and im.mode == mode
    r = palcli("convert", batch / "p0.png", tmp_path / "o.png", "-p", PALETTE, "--rgb")
    im = Image.open(tmp_path / "o.png")
    expected, _ = nearest(photo(0).reshape(-1, 3), CORNERS, "rgb")
    assert im.mode == "RGB" and np.array_equal(np.asarray(im).reshape(-1, 3), CORNERS[expected])


def test_help_lists_every_option():
    r = palcli("convert", "--help")
    text = r.stdout.decode()
    for option in ("--palette", "--metric", "--dither", "--dither-strength", "--no-serpentine",
                   "--dither-space", "--jobs", "--format", "--rgb", "--alpha-threshold",
                   "--max-pixels", "--skip-existing", "--dry-run", "--quiet", "--report",
                   "--fail-fast"):
        assert option in text


def test_dithered_batch_is_the_same_serial_and_pooled(batch, tmp_path):
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"d{jobs}"
        r = palcli("convert", batch, out, "-p", PALETTE, "-d", "floyd-steinberg", "-j", jobs)
        assert (r.returncode, r.stderr) == (0, b"")
        outputs.append({p.name: p.read_bytes() for p in out.rglob("*.png")})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 7
    plain = palcli("convert", batch / "p0.png", tmp_path / "plain.png", "-p", PALETTE)
    assert plain.returncode == 0
    assert (tmp_path / "plain.png").read_bytes() != outputs[0]["p0.png"]  # it did dither


def test_over_256_colours_gives_exact_rgb(batch, tmp_path):
    colors = np.random.default_rng(7).integers(0, 256, (300, 3), dtype=np.uint8)
    pal = tmp_path / "big.hex"
    pal.write_text("".join("%02x%02x%02x\n" % tuple(c) for c in colors))
    r = palcli("convert", batch / "p0.png", tmp_path / "o.png", "-p", pal)
    assert (r.returncode, r.stderr) == (0, b"")
    im = Image.open(tmp_path / "o.png")
    expected, _ = nearest(photo(0).reshape(-1, 3), colors, "rgb")
    assert im.mode == "RGB" and np.array_equal(np.asarray(im).reshape(-1, 3), colors[expected])
    r = palcli("convert", batch / "p0.png", tmp_path / "o.gif", "-p", pal)
    assert r.returncode == 2
    assert r.stderr == b"palcli: error: GIF holds at most 256 colours; the palette has 300\n"


def test_one_image_imports_nothing_it_does_not_need(batch, tmp_path):
    assert palcli("convert", batch / "p0.png", tmp_path / "warm.png", "-p", PALETTE
                  ).returncode == 0  # the cube is in the cache now, as it is after one use
    code = ("import sys; from palcli.cli import main\n"
            f"sys.argv = ['palcli', 'convert', {str(batch / 'q.jpg')!r}, "
            f"{str(tmp_path / 'q.png')!r}, '-p', {PALETTE!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "heavy = {'numba', 'tqdm', 'multiprocessing', 'PIL.PdfImagePlugin'}\n"
            "heavy &= set(sys.modules)\n"
            "assert not heavy, heavy\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    assert (tmp_path / "q.png").exists()


def test_cold_cache_pool_with_a_parallel_dither(batch, tmp_path, cache_dir):
    # The parent builds the cube (starting numba's OpenMP threads), so workers must not be forked
    # from it: a forked child using OpenMP would abort.
    r = palcli("convert", batch, tmp_path / "out", "-p", PALETTE, "-d", "bayer4", "-j", "2")
    assert (r.returncode, r.stderr) == (0, b"")  # the note that it built the cube aside
    assert len(list((tmp_path / "out").rglob("*.png"))) == 7


def test_an_unwritable_output_is_an_error_record(batch, tmp_path):
    out = tmp_path / "out"
    (out / "p0.png").mkdir(parents=True)  # a directory where the output file should go
    r = palcli("convert", batch, out, "-p", PALETTE, "-j", "2")
    assert r.returncode == 1
    assert r.stderr.decode() == (f"palcli: error: {batch / 'p0.png'}: cannot write "
                                 f"{out / 'p0.png'}: Is a directory\n")
    assert len(list(out.rglob("*.png"))) == 7  # the six others, and the directory
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
