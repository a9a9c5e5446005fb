"""Defects found on real files and in real users' hands, one test each, named for the defect.

Each runs palcli as a user would: a subprocess, exact lines on stderr, exit codes, and every
output decoded whole with Pillow.
"""

import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from palcli import load_palette
from runs import ENTRY, palcli

ROOT = Path(__file__).resolve().parent.parent
PICO = {tuple(c) for c in load_palette("pico-8").colors.tolist()}


@pytest.fixture(autouse=True, scope="module")
def pico_cube():
    from palcli.cube import get_cube

    get_cube("pico-8", "rgb")  # no run below has to say it builds one




def frames_of(path):
    """Every frame of an output, decoded whole, as RGBA arrays."""
    with Image.open(path) as im:
        out = []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            im.load()
            out.append(np.asarray(im.convert("RGBA")))
        return out


def visible_colours(rgba):
    px = rgba.reshape(-1, 4)
    return {tuple(c) for c in px[px[:, 3] > 0][:, :3].tolist()}


def photo(h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def gif_with_screen(frames, screen):
    """A GIF of the given frames whose logical screen says `screen` (w, h), as odd encoders
    write them: the frames then reach beyond the canvas."""
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0,
                   optimize=False, disposal=1)
    data = bytearray(buf.getvalue())
    data[6:10] = screen[0].to_bytes(2, "little") + screen[1].to_bytes(2, "little")
    return bytes(data)


def _descriptors(data: bytes):
    """Offsets of the width field of every image descriptor in a GIF made by Pillow."""
    return [m.start() + 5 for m in re.finditer(rb",\x00\x00\x00\x00", data)]


# -- wrong or dangerous output --------------------------------------------------------------------

def test_frames_beyond_the_canvas_are_clipped_to_it_and_the_output_decodes(tmp_path):
    frames = [Image.fromarray(photo(6, 6, s)) for s in range(3)]
    (tmp_path / "a.gif").write_bytes(gif_with_screen(frames, (4, 4)))
    for fmt in ("png", "gif", "webp"):
        out = tmp_path / f"out.{fmt}"
        r = palcli("convert", tmp_path / "a.gif", out, "-p", "pico-8")
        assert (r.returncode, r.stderr) == (0, b"")
        decoded = frames_of(out)
        assert len(decoded) == 3 and all(f.shape == (4, 4, 4) for f in decoded), fmt
        assert set().union(*map(visible_colours, decoded)) <= PICO


@pytest.mark.parametrize("huge", [0, 1], ids=["first-frame", "second-frame"])
def test_a_frame_reaching_far_beyond_a_small_screen_is_refused_in_bounded_memory(tmp_path, huge):
    frames = [Image.fromarray(photo(2, 2, s)) for s in range(2)]
    data = bytearray(gif_with_screen(frames, (2, 2)))
    at = _descriptors(bytes(data))[huge]
    data[at:at + 4] = (60000).to_bytes(2, "little") * 2  # extents of 3.6 gigapixels
    (tmp_path / "bomb.gif").write_bytes(bytes(data))
    code = (f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({2 << 30}, {2 << 30}))\n"
            + ENTRY)
    r = subprocess.run([sys.executable, "-c", code, "convert", tmp_path / "bomb.gif",
                        tmp_path / "o.png", "-p", "pico-8"], capture_output=True, timeout=120)
    assert r.returncode == 1
    line = r.stderr.decode().strip()
    assert line.startswith(f"palcli: error: {tmp_path / 'bomb.gif'}: ")
    assert "is over the limit of 89478485 (--max-pixels)" in line and "\n" not in line
    assert not (tmp_path / "o.png").exists()


def test_animations_mixing_transparency_rgba_and_rgb_frames_stay_one_animation(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = photo(8, 8, 1)
    rgba[:4, ..., 3] = 255  # top half opaque, bottom half transparent
    p = Image.fromarray(photo(8, 8, 2)).quantize(16)
    p.info["transparency"] = 0
    frames = [Image.fromarray(rgba, "RGBA"), Image.fromarray(photo(8, 8, 3)), p]
    frames[0].save(tmp_path / "mix.png", save_all=True, append_images=frames[1:], duration=40,
                   disposal=[1, 2, 0], blend=[0, 1, 0])
    for fmt in ("png", "gif", "webp"):
        out = tmp_path / f"out.{fmt}"
        r = palcli("convert", tmp_path / "mix.png", out, "-p", "pico-8")
        assert (r.returncode, r.stderr) == (0, b""), fmt
        decoded = frames_of(out)
        assert len(decoded) == 3, fmt
        assert (decoded[0][4:, :, 3] == 0).all() and (decoded[0][:4, :, 3] == 255).all(), fmt
        assert set().union(*map(visible_colours, decoded)) <= PICO


WRITES = "palcli writes .png, .apng, .gif, .webp, .bmp, .dib, .tiff, .tif"


@pytest.mark.parametrize("args, words", [
    (["out.jpg"], f".jpg is a lossy format, which cannot hold palette colours exactly; {WRITES}"),
    (["out.jpg", "-f", "gif"], f".jpg is a lossy format, which cannot hold palette colours "
                               f"exactly; {WRITES}"),
    (["out.gif", "-f", "png"], "the suffix .gif is not the output format's (png: .png, .apng)"),
    (["out.xyz"], f".xyz is not a format palcli writes; {WRITES}"),
])
def test_an_output_suffix_palcli_cannot_write_is_a_usage_error(tmp_path, args, words):
    Image.fromarray(photo()).save(tmp_path / "a.png")
    out, *rest = args
    r = palcli("convert", tmp_path / "a.png", tmp_path / out, "-p", "pico-8", *rest)
    assert (r.returncode, r.stderr.decode()) == (2, f"palcli: error: {tmp_path / out}: {words}\n")
    assert not (tmp_path / out).exists()


def test_preview_to_a_jpg_is_a_usage_error(tmp_path):
    Image.fromarray(photo()).save(tmp_path / "a.png")
    r = palcli("preview", tmp_path / "a.png", "-p", "pico-8", "-o", tmp_path / "p.jpg")
    assert r.returncode == 2
    assert r.stderr.decode().startswith(f"palcli: error: {tmp_path / 'p.jpg'}: the preview "
                                        f"sheet is a PNG")
    assert not (tmp_path / "p.jpg").exists()


def test_rgb_keeps_alpha_levels_as_they_were(tmp_path):
    img = np.dstack([photo(), np.tile(np.arange(0, 256, 8, dtype=np.uint8), (24, 1))])
    Image.fromarray(img, "RGBA").save(tmp_path / "a.png")
    r = palcli("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", "pico-8", "--rgb")
    assert (r.returncode, r.stderr) == (0, b"")
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(im)[..., 3], img[..., 3])


# -- mistakes users make --------------------------------------------------------------------------

def test_report_into_a_directory_that_does_not_exist_yet(tmp_path):
    Image.fromarray(photo()).save(tmp_path / "a.png")
    report = tmp_path / "build" / "deep" / "r.jsonl"
    r = palcli("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", "pico-8",
               "--report", report)
    assert r.returncode == 0, r.stderr
    assert json.loads(report.read_text())["status"] == "ok"


def _readme_block(lang):
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def _bin_dir(tmp_path):
    """A PATH entry whose `palcli` runs this checkout's palcli with this Python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / "palcli"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} -c \"{ENTRY}\" \"$@\"\n")
    exe.chmod(0o755)
    return str(bin_dir) + os.pathsep + os.environ["PATH"]


def test_readme_makefile_runs_as_written(tmp_path):
    (make_block,) = [b for b in _readme_block("make") if "palcli convert" in b]
    (tmp_path / "Makefile").write_text(make_block)
    (tmp_path / "art").mkdir()
    (tmp_path / "palettes").mkdir()
    shutil.copy(ROOT / "palettes" / "pico-8.gpl", tmp_path / "palettes" / "game.gpl")
    for i in range(3):
        Image.fromarray(photo(seed=i)).save(tmp_path / "art" / f"s{i}.png")
    env = {**os.environ, "PATH": _bin_dir(tmp_path)}
    target = make_block.split(":")[0].strip()
    first = subprocess.run(["make", target], cwd=tmp_path, env=env, capture_output=True,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    lines = [json.loads(x) for x in (tmp_path / "build" / "sprites.jsonl").read_text().splitlines()]
    assert [x["status"] for x in lines] == ["ok"] * 3
    again = subprocess.run(["make", "-B", target], cwd=tmp_path, env=env, capture_output=True,
                           timeout=300)
    assert again.returncode == 0
    lines = [json.loads(x) for x in (tmp_path / "build" / "sprites.jsonl").read_text().splitlines()]
    assert [x["status"] for x in lines] == ["skipped"] * 3
    # An edited palette is a newer prerequisite: make reruns the recipe, palcli redoes them all.
    time.sleep(0.01)
    game = tmp_path / "palettes" / "game.gpl"
    game.write_text(game.read_text().replace("255 241 232", "250 241 232"))
    edited = subprocess.run(["make", target], cwd=tmp_path, env=env, capture_output=True,
                            timeout=300)
    assert edited.returncode == 0
    lines = [json.loads(x) for x in (tmp_path / "build" / "sprites.jsonl").read_text().splitlines()]
    assert [(x["status"], x.get("redone")) for x in lines] == [
        ("ok", "the output was made with other settings")] * 3


def test_readme_ci_step_runs_as_written(tmp_path):
    (step,) = [b for b in _readme_block("yaml") if "palcli convert" in b]
    command = step.split("run:", 1)[1].strip()
    (tmp_path / "assets").mkdir()
    Image.fromarray(photo()).save(tmp_path / "assets" / "a.png")
    r = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, timeout=300,
                       env={**os.environ, "PATH": _bin_dir(tmp_path)})
    assert r.returncode == 0, r.stderr
    report = next(tmp_path.glob("*.jsonl"))
    assert json.loads(report.read_text())["status"] == "ok"
    bad = tmp_path / "assets" / "broken.png"
    bad.write_bytes(b"not a png")
    r = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, timeout=300,
                       env={**os.environ, "PATH": _bin_dir(tmp_path)})
    assert r.returncode == 1  # the step fails the build


def test_dry_run_exits_as_the_real_run_would(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo()).save(src / "a.png")
    Image.fromarray(photo()).save(src / "a.gif")
    dry = palcli("convert", src, tmp_path / "out", "-p", "pico-8", "--dry-run")
    real = palcli("convert", src, tmp_path / "out", "-p", "pico-8")
    assert dry.returncode == real.returncode == 1
    assert not (tmp_path / "out").exists() or dry.stdout
    assert dry.stderr.decode().splitlines()[0].startswith(f"palcli: error: {src / 'a.png'}: ")


def test_nothing_to_convert_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("no images here")
    for src in ("empty", "docs"):
        r = palcli("convert", tmp_path / src, tmp_path / "out", "-p", "pico-8")
        assert r.returncode == 2
        assert r.stderr.decode() == f"palcli: error: no images found under {tmp_path / src}\n"


def test_hidden_files_and_directories_are_skipped_unless_named(tmp_path):
    src = tmp_path / "in"
    (src / ".git" / "objects").mkdir(parents=True)
    Image.fromarray(photo()).save(src / "a.png")
    Image.fromarray(photo()).save(src / ".git" / "objects" / "b.png")
    Image.fromarray(photo()).save(src / ".hidden.png")
    r = palcli("convert", src, tmp_path / "out", "-p", "pico-8")
    assert r.returncode == 0
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["a.png"]
    r = palcli("convert", src / ".git", tmp_path / "out2", "-p", "pico-8")
    assert r.returncode == 0 and (tmp_path / "out2" / "objects" / "b.png").exists()
    r = palcli("convert", src / ".hidden.png", tmp_path / "h.png", "-p", "pico-8")
    assert r.returncode == 0 and (tmp_path / "h.png").exists()


def test_an_output_directory_inside_an_input_says_how_many_images_it_left_alone(tmp_path):
    src = tmp_path / "in"
    (src / "out").mkdir(parents=True)
    Image.fromarray(photo()).save(src / "a.png")
    for i in range(3):
        Image.fromarray(photo()).save(src / "out" / f"old{i}.png")
    r = palcli("convert", src, src / "out", "-p", "pico-8")
    assert r.returncode == 0
    assert r.stderr.decode() == (f"palcli: warning: 3 images under {src / 'out'} (the output "
                                 f"directory) were not converted\n")


def test_several_inputs_into_a_missing_file_name_are_a_usage_error(tmp_path):
    for n in "ab":
        Image.fromarray(photo()).save(tmp_path / f"{n}.png")
    r = palcli("convert", tmp_path / "a.png", tmp_path / "b.png", tmp_path / "out1.png",
               "-p", "pico-8")
    assert r.returncode == 2
    assert r.stderr.decode().startswith(f"palcli: error: {tmp_path / 'out1.png'}: several "
                                        f"inputs need an output directory")
    assert not (tmp_path / "out1.png").exists()


def test_a_missing_output_is_named_as_the_output(tmp_path):
    r = palcli("convert", tmp_path, "-p", "pico-8")
    assert r.returncode == 2
    assert r.stderr.decode().splitlines()[-1] == "Error: Missing argument 'OUTPUT'."


@pytest.mark.parametrize("spec, message", [
    ("#000,#ff00", "palcli: error: #000,#ff00: '#ff00' is not a hex colour ('#rgb' or "
                   "'#rrggbb')"),
    ("", "palcli: error: '': no palette given: a file, a built-in name (see 'palcli palette "
         "list') or inline hex colours '#000,#fff'"),
    ("pico8", "palcli: error: pico8: no such palette file or built-in palette; did you mean "
              "'pico-8'?"),
])
def test_palette_arguments_name_the_mistake(tmp_path, spec, message):
    Image.fromarray(photo()).save(tmp_path / "a.png")
    r = palcli("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", spec)
    assert (r.returncode, r.stderr.decode()) == (2, message + "\n")


def test_a_directory_as_palette_is_named(tmp_path):
    r = palcli("palette", "show", tmp_path)
    assert (r.returncode, r.stderr.decode()) == (
        2, f"palcli: error: {tmp_path}: is a directory, not a palette file\n")


def test_palette_convert_to_stdout_writes_gpl():
    r = palcli("palette", "convert", "nes", "-")
    assert r.returncode == 0
    assert r.stdout.decode().startswith("GIMP Palette\nName: nes\n")
    assert len(load_palette("nes")) == sum(
        1 for line in r.stdout.decode().splitlines()[4:] if line.strip())


def test_palette_from_a_photo_warns_about_its_many_colours(tmp_path):
    Image.fromarray(photo(40, 40)).save(tmp_path / "photo.png")
    r = palcli("palette", "convert", tmp_path / "photo.png", tmp_path / "x.gpl")
    assert r.returncode == 0
    n = len(load_palette(tmp_path / "x.gpl"))
    assert n > 256
    assert r.stderr.decode() == (f"palcli: warning: {tmp_path / 'photo.png'}: not an indexed "
                                 f"image; its {n} distinct colours became the palette\n")


def test_jobs_zero_means_every_core_and_workers_never_outnumber_tasks(tmp_path):
    for i in range(2):
        Image.fromarray(photo(seed=i)).save(tmp_path / f"{i}.png")
    env = {"PALCLI_DEBUG": "1"}
    for jobs, want in (("0", min(2, len(os.sched_getaffinity(0)))), ("8", 2), ("1", 1)):
        r = palcli("convert", tmp_path / "0.png", tmp_path / "1.png", tmp_path / f"o{jobs}",
                   "-p", "pico-8", "-j", jobs, env=env)
        assert r.returncode == 0, r.stderr
        assert f"palcli: 2 inputs on {want} process" in r.stderr.decode()


def _on_a_terminal(args, stream):
    """Run palcli with stdin or stdout on a pseudo-terminal; (exit code, stderr)."""
    leader, follower = pty.openpty()
    try:
        kw = {"stdin": follower} if stream == "stdin" else {"stdout": follower}
        proc = subprocess.Popen([sys.executable, "-c", ENTRY, *map(str, args)],
                                stderr=subprocess.PIPE, **kw)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, err.decode()
    finally:
        os.close(leader)
        os.close(follower)


def test_image_bytes_are_never_written_to_a_terminal(tmp_path):
    Image.fromarray(photo()).save(tmp_path / "a.png")
    code, err = _on_a_terminal(["convert", tmp_path / "a.png", "-", "-p", "pico-8"], "stdout")
    assert code == 2 and err.startswith("palcli: error: standard output is a terminal")


def test_stdin_on_a_terminal_is_refused_not_waited_for(tmp_path):
    code, err = _on_a_terminal(["convert", "-", tmp_path / "o.png", "-p", "pico-8"], "stdin")
    assert code == 2 and err.startswith("palcli: error: standard input is a terminal")


def test_warnings_are_written_through_the_progress_bar(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        Image.fromarray(photo(seed=i)).save(src / f"{i}.png")
    pages = [Image.fromarray(photo(seed=9)) for _ in range(2)]
    pages[0].save(src / "pages.tif", save_all=True, append_images=pages[1:])
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", ENTRY, "convert", src, tmp_path / "out",
                             "-p", "pico-8", "-j", "1"], stderr=follower,
                            stdout=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    screen = b"".join(chunks).decode()
    assert proc.returncode == 0
    warning = f"palcli: warning: {src / 'pages.tif'}: 2 frames in a TIFF file; converted the first"
    # tqdm clears the bar's line first: the warning starts a line of its own
    lines = re.split(r"\r\n|\r|\n", screen)
    assert any(line.strip("\x1b[A\x1b[K ") == warning for line in lines), screen


def test_same_stem_siblings_get_a_way_out(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo()).save(src / "ball.gif")
    Image.fromarray(photo()).save(src / "ball.webp", lossless=True)
    r = palcli("convert", src, tmp_path / "out", "-p", "pico-8")
    assert r.returncode == 1
    assert r.stderr.decode() == (
        f"palcli: error: {src / 'ball.webp'}: {tmp_path / 'out' / 'ball.png'} is also the "
        f"output of {src / 'ball.gif'} (-f same keeps each input's format; --keep-suffix names "
        f"this output ball.webp.png)\n")
    r = palcli("convert", src, tmp_path / "out2", "-p", "pico-8", "--keep-suffix")
    assert r.returncode == 0
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["ball.gif.png",
                                                                     "ball.webp.png"]


def test_rgb_bmp_holds_palettes_over_256_colours(tmp_path):
    Image.fromarray(photo()).save(tmp_path / "a.png")
    big = ",".join("#%06x" % (i * 4099) for i in range(300))
    r = palcli("convert", tmp_path / "a.png", tmp_path / "o.bmp", "-p", big)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "o.bmp") as im:
        assert im.mode == "RGB"
    gif = palcli("convert", tmp_path / "a.png", tmp_path / "o.gif", "-p", big)
    assert (gif.returncode, gif.stderr.decode()) == (
        2, "palcli: error: GIF holds at most 256 colours; the palette has 300\n")


@pytest.mark.parametrize("fmt", ["same", "tiff"])
def test_every_page_of_a_multi_page_tiff(tmp_path, fmt):
    pages = [Image.fromarray(photo(10 + 2 * i, 12, seed=i)) for i in range(3)]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:])
    out = tmp_path / "o.tif"
    r = palcli("convert", tmp_path / "pages.tif", out, "-p", "pico-8", "-f", fmt)
    assert (r.returncode, r.stderr) == (0, b"")
    decoded = frames_of(out)
    assert [f.shape[:2] for f in decoded] == [(10, 12), (12, 12), (14, 12)]
    assert set().union(*map(visible_colours, decoded)) <= PICO


def test_cache_info_lists_columns_build_says_what_it_did_and_verify_finds_damage(tmp_path):
    env = {"PALCLI_CACHE_DIR": str(tmp_path / "cache")}
    first = palcli("cache", "build", "gameboy", env=env)
    again = palcli("cache", "build", "gameboy", env=env)
    assert first.stdout.decode().startswith("gameboy (4 colours, rgb): built, ")
    assert again.stdout.decode().startswith("gameboy (4 colours, rgb): found in the cache, ")
    palcli("cache", "build", "nes", "-m", "oklab", env=env)
    info = palcli("cache", "info", env=env).stdout.decode().splitlines()
    assert info[1].split() == ["palette", "metric", "colours", "size", "state", "file"]
    assert [line.split()[:3] for line in info[2:4]] == [["gameboy", "rgb", "4"],
                                                        ["nes", "oklab", "55"]]
    assert info[1].index("metric") == info[2].index("rgb") == info[3].index("oklab")
    cube = next((tmp_path / "cache").glob("*.cube"))
    data = bytearray(cube.read_bytes())
    data[100_000] ^= 1  # one flipped bit deep in the payload
    cube.write_bytes(bytes(data))
    assert "damaged" not in palcli("cache", "info", env=env).stdout.decode()
    verified = palcli("cache", "info", "--verify", env=env).stdout.decode()
    assert verified.count("damaged, rebuilt on use") == 1 and cube.name in verified
