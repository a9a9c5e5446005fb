"""Hostile files, signals, dead parents and shared directories: each attack reproduced on a tiny
scale with real subprocesses, real signals, special files and resource limits.

Hangs are asserted with timeouts, memory with the peak resident size of the processes
(resource.getrusage of the children) or an address-space limit.
"""

import ctypes
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from palcli import load_palette
from runs import ENTRY, palcli

PALETTE = "#000000,#ff0000,#00ff00,#0000ff,#ffff00,#ff00ff,#00ffff,#ffffff"
EXIT_WITHIN = 2.0  # seconds from a signal to exit (a second, with room for a loaded machine)


@pytest.fixture(autouse=True, scope="module")
def cubes_built():
    from palcli.cube import get_cube

    for pal in (PALETTE, "pico-8"):
        get_cube(pal, "rgb")




def start(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-c", ENTRY, *map(str, args)],
                            stdout=kw.pop("stdout", subprocess.PIPE),
                            stderr=kw.pop("stderr", subprocess.PIPE),
                            env=None if env is None else {**os.environ, **env}, **kw)


def small_image(path, seed=0, size=(24, 32)):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
                    ).save(path)
    return path


def children(pid):
    """Pids whose parent is pid."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, timeout=60.0, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def drop_dac_override():
    """In the child: give up root's power to ignore file permissions (as an ordinary user)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP; harmless when not root


@pytest.fixture(scope="module")
def big_batch(tmp_path_factory):
    """60 noisy 0.5 MP JPEGs: slow enough to interrupt mid-batch."""
    src = tmp_path_factory.mktemp("batch")
    noise = np.random.default_rng(0).integers(0, 256, (500, 1000, 3), dtype=np.uint8)
    Image.fromarray(noise).save(src / "n00.jpg", quality=80)
    data = (src / "n00.jpg").read_bytes()
    for i in range(1, 60):
        (src / f"n{i:02d}.jpg").write_bytes(data)
    return src


# -- hangs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["sigkill", "int-int-term"])
def test_workers_exit_within_a_second_of_their_parents_death(big_batch, tmp_path, how):
    out = tmp_path / "out"
    proc = start("convert", big_batch, out, "-p", PALETTE, "-j", "2")
    assert wait_for(lambda: len(children(proc.pid)) >= 2 and any(out.glob("*.png")))
    workers = children(proc.pid)
    if how == "sigkill":
        proc.kill()
    else:
        for sig in (signal.SIGINT, signal.SIGINT, signal.SIGTERM):
            proc.send_signal(sig)
            time.sleep(0.005)
    proc.wait(timeout=30)
    t0 = time.monotonic()
    assert wait_for(lambda: not any(alive(w) for w in workers), timeout=10)
    assert time.monotonic() - t0 < EXIT_WITHIN


def test_a_fifo_named_like_an_image_in_a_tree_is_refused_not_waited_on(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    small_image(src / "a.png")
    os.mkfifo(src / "b.png")
    r = palcli("convert", src, tmp_path / "out", "-p", PALETTE, timeout=60)
    assert r.returncode == 1
    assert r.stderr.decode() == f"palcli: error: {src / 'b.png'}: not a regular file\n"
    assert (tmp_path / "out" / "a.png").exists()


def test_a_fifo_as_the_single_input_is_refused(tmp_path):
    os.mkfifo(tmp_path / "in.png")
    r = palcli("convert", tmp_path / "in.png", tmp_path / "o.png", "-p", PALETTE, timeout=60)
    assert (r.returncode, r.stderr.decode()) == (
        1, f"palcli: error: {tmp_path / 'in.png'}: not a regular file\n")


@pytest.mark.parametrize("link", [False, True], ids=["fifo", "symlink-to-fifo"])
def test_a_fifo_at_a_cubes_path_blocks_nothing(tmp_path, link):
    from palcli import cube as cubes

    cache = tmp_path / "cache"
    cache.mkdir()
    key = cubes.cube_key(load_palette(PALETTE), "rgb")
    target = cache / f"{key}.cube"
    if link:
        os.mkfifo(tmp_path / "fifo")
        target.symlink_to(tmp_path / "fifo")
    else:
        os.mkfifo(target)
    env = {"PALCLI_CACHE_DIR": str(cache)}
    info = palcli("cache", "info", env=env, timeout=30)
    assert info.returncode == 0 and "damaged" in info.stdout.decode()
    small_image(tmp_path / "a.png")
    r = palcli("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", PALETTE, env=env,
               timeout=60)
    assert r.returncode == 0, r.stderr
    assert stat.S_ISREG(target.lstat().st_mode)  # replaced by a real cube


# -- signals --------------------------------------------------------------------------------------

def _interrupt_mid_batch(batch, tmp_path, args, sig):
    out = tmp_path / "out"
    proc = start("convert", batch, out, "-p", PALETTE, *args)
    assert wait_for(lambda: any(out.glob("*.png")), timeout=120)
    time.sleep(0.05)
    before = {p.name for p in out.glob("*.png")}
    t0 = time.monotonic()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    took = time.monotonic() - t0
    return proc, stdout, stderr.decode(), took, before, out


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2", "4"])
@pytest.mark.parametrize("dither", ["none", "floyd-steinberg", "atkinson", "bayer8"])
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_every_mode_exits_within_a_second_of_a_signal(big_batch, tmp_path, jobs, dither, sig,
                                                      code):
    proc, stdout, stderr, took, before, out = _interrupt_mid_batch(
        big_batch, tmp_path, ["-j", jobs, "-d", dither], sig)
    assert proc.returncode == code, stderr
    assert took < EXIT_WITHIN, f"exit took {took:.2f} s"
    assert stdout == b"" and "Traceback" not in stderr and "SystemError" not in stderr
    assert stderr.splitlines()[-1] == ("palcli: interrupted" if code == 130
                                       else "palcli: terminated")
    names = {p.name for p in out.iterdir()}
    assert all(n.endswith(".png") for n in names), names  # no temp file left
    # No output is started after the signal: at most the ones in the workers' hands finish.
    assert len(names - before) <= int(jobs)


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_cube_build_stops_within_a_second(tmp_path, sig, code):
    env = {"PALCLI_CACHE_DIR": str(tmp_path / "cache")}
    palette = ",".join("#%06x" % (i * 0x10307 % 0xFFFFFF) for i in range(256))  # ~10 s
    warm = palcli("cache", "build", "#000,#fff", "-m", "ciede2000", env=env, timeout=600)
    assert warm.returncode == 0  # compiled: what is timed below is the build itself
    proc = start("cache", "build", palette, "-m", "ciede2000", env=env)
    assert wait_for(lambda: proc.poll() is None and "building" in _peek(proc), timeout=120)
    time.sleep(0.5)
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < EXIT_WITHIN
    assert proc.returncode == code and b"built" not in out  # stopped mid-build
    assert err.decode().splitlines()[-1] in ("palcli: interrupted", "palcli: terminated")
    assert len(list((tmp_path / "cache").iterdir())) == 1  # the warm-up's cube, no temp file


def _peek(proc):
    """What proc has written to stderr so far (without blocking)."""
    import fcntl

    fd = proc.stderr.fileno()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    try:
        chunk = proc.stderr.read() or b""
    except (BlockingIOError, TypeError):
        chunk = b""
    proc._peeked = getattr(proc, "_peeked", b"") + chunk
    return proc._peeked.decode(errors="replace")


@pytest.fixture(scope="module")
def interpreter_start():
    """Seconds the interpreter itself needs before any of palcli's code runs (its own site
    import answers a Ctrl-C with a traceback, before palcli could do anything)."""
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.monotonic() - t0)
    return max(times)


@pytest.mark.parametrize("after", [0.0, 0.02, 0.05, 0.08, 0.12, 0.16, 0.2, 0.3, 0.4])
def test_ctrl_c_at_any_moment_of_start_up_gives_no_traceback(tmp_path, after,
                                                              interpreter_start):
    small_image(tmp_path / "a.png")
    proc = start("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", PALETTE)
    time.sleep(1.5 * interpreter_start + after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert "Traceback" not in err and "Aborted!" not in err, err
    assert proc.returncode in (0, 130), (proc.returncode, err)
    if proc.returncode == 130:
        assert err.splitlines()[-1] == "palcli: interrupted"


def test_cache_build_answers_ctrl_c_with_130(tmp_path):
    env = {"PALCLI_CACHE_DIR": str(tmp_path / "cache")}
    proc = start("cache", "build", "pico-8", "-m", "ciede2000", env=env)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode().splitlines()[-1] == "palcli: interrupted"


# -- memory ---------------------------------------------------------------------------------------

UNDER = textwrap.dedent(f"""
    import resource, subprocess, sys
    limit = int(sys.argv[1])
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    stdin = open(sys.argv[2], "rb") if sys.argv[2] != "-" else None
    r = subprocess.run([sys.executable, "-c", {ENTRY!r}, *sys.argv[3:]], preexec_fn=cap,
                       stdin=stdin)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    sys.exit(r.returncode)
""")


def bounded(limit, *args, stdin="-"):
    """palcli under an address-space limit: (exit code, stderr, peak resident bytes)."""
    r = subprocess.run([sys.executable, "-c", UNDER, str(limit), str(stdin), *map(str, args)],
                       capture_output=True, timeout=300)
    return r.returncode, r.stderr.decode(), int(r.stdout.split()[-1])


def test_a_gif_of_many_tiny_frames_on_a_big_screen_is_capped_by_max_pixels(tmp_path):
    # Written by hand, as an attacker would: a 1000x1000 screen, a two-colour table, then
    # 1,200 one-pixel frames (image descriptor and the smallest LZW stream), 30 KB in all.
    frame = (b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 10 ms
             b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00")
    data = (b"GIF89a" + (1000).to_bytes(2, "little") * 2 + b"\x80\x00\x00"
            + b"\x00\x00\x00\xff\xff\xff" + frame * 1200 + b"\x3b")
    (tmp_path / "many.gif").write_bytes(data)
    with Image.open(tmp_path / "many.gif") as im:
        assert im.n_frames == 1200 and im.size == (1000, 1000)
    assert len(data) < 30_000
    code, err, peak = bounded(1 << 30, "convert", tmp_path / "many.gif", tmp_path / "o.png",
                              "-p", PALETTE, "--max-pixels", "1000000")
    assert code == 1
    assert err == (f"palcli: error: {tmp_path / 'many.gif'}: 1200 frames of 1000x1000 = "
                   f"1200000000 pixels is over the limit of 1000000 (--max-pixels)\n")
    assert peak < 300 << 20


def test_frames_are_read_one_at_a_time(tmp_path):
    corners = load_palette(PALETTE).colors
    frames = [Image.fromarray(np.full((1000, 1000, 3), corners[i], np.uint8)) for i in range(6)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    code, err, peak = bounded(2 << 30, "convert", tmp_path / "anim.png", tmp_path / "o.png",
                              "-p", PALETTE)
    assert code == 0, err
    # 6 RGBA frames held at once would be 24 MB; one at a time plus their indices stays small.
    with Image.open(tmp_path / "o.png") as im:
        assert im.n_frames == 6
    assert peak < 200 << 20, peak


def test_standard_input_is_read_up_to_a_cap_and_stays_interruptible(tmp_path):
    code, err, peak = bounded(1 << 30, "convert", "-", tmp_path / "o.png", "-p", PALETTE,
                              "--max-pixels", "100000", stdin="/dev/zero")
    assert code == 1
    assert err.startswith("palcli: error: -: more than 17577216 bytes on standard input")
    assert peak < 200 << 20
    proc = subprocess.Popen([sys.executable, "-c", ENTRY, "convert", "-", tmp_path / "p.png",
                             "-p", PALETTE], stdin=open("/dev/zero", "rb"),
                            stderr=subprocess.PIPE)
    time.sleep(1.0)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < EXIT_WITHIN
    assert proc.returncode in (143, 1), err


def test_a_huge_palette_image_is_refused_with_palcli_s_message(tmp_path):
    im = Image.new("P", (10000, 10000))
    im.putpalette([0, 0, 0, 255, 255, 255])
    im.save(tmp_path / "huge.png")
    code, err, peak = bounded(1 << 30, "palette", "show", tmp_path / "huge.png")
    assert code == 2
    assert err == (f"palcli: error: {tmp_path / 'huge.png'}: the image is over Pillow's limit "
                   f"of 89478485 pixels\n")
    assert "DecompressionBomb" not in err and peak < 300 << 20


# -- data loss and security -------------------------------------------------------------------------

def test_cache_clear_deletes_only_palcli_s_own_files(tmp_path):
    cache = tmp_path / "shared"
    env = {"PALCLI_CACHE_DIR": str(cache)}
    assert palcli("cache", "build", "gameboy", env=env).returncode == 0
    lut = cache / "film-look.cube"
    lut.write_text("TITLE \"film\"\nLUT_3D_SIZE 2\n")
    other_tmp = cache / "session.tmp"
    other_tmp.write_bytes(b"someone else's")
    named_like_ours = cache / ("f" * 32 + ".cube")
    named_like_ours.write_bytes(b"not a palcli cube")
    r = palcli("cache", "clear", env=env)
    assert r.returncode == 0
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [lut.name, other_tmp.name, named_like_ours.name])


def test_dev_full_as_output_is_written_through_not_replaced(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    small_image(tmp_path / "a.png")
    r = palcli("convert", tmp_path / "a.png", "/dev/full", "-p", PALETTE, "-f", "png")
    assert r.returncode == 1
    assert r.stderr.decode() == (f"palcli: error: {tmp_path / 'a.png'}: cannot write "
                                 f"/dev/full: No space left on device\n")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_fifo_output_is_written_through(tmp_path):
    small_image(tmp_path / "a.png")
    os.mkfifo(tmp_path / "out.png")
    reader = subprocess.Popen(["cat", str(tmp_path / "out.png")], stdout=subprocess.PIPE)
    time.sleep(0.2)
    r = palcli("convert", tmp_path / "a.png", tmp_path / "out.png", "-p", PALETTE)
    data, _ = reader.communicate(timeout=30)
    assert r.returncode == 0, r.stderr
    assert data.startswith(b"\x89PNG") and stat.S_ISFIFO((tmp_path / "out.png").lstat().st_mode)
    alone = palcli("convert", tmp_path / "a.png", tmp_path / "out.png", "-p", PALETTE)
    assert alone.returncode == 1 and b"a FIFO with no reader" in alone.stderr


def test_a_symlink_to_standard_output_is_written_through(tmp_path):
    small_image(tmp_path / "a.png")
    (tmp_path / "o.png").symlink_to("/proc/self/fd/1")
    r = palcli("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", PALETTE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"\x89PNG")
    assert (tmp_path / "o.png").is_symlink()


def test_temp_names_are_unpredictable_and_never_follow_a_planted_symlink(tmp_path):
    from palcli import atomic

    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    victim.chmod(0o600)
    names = {atomic.temp_name(tmp_path / "o.png") for _ in range(50)}
    assert len(names) == 50
    # Plant a symlink at every name the next write could pick: impossible to hit, and even a
    # hit is refused (O_EXCL | O_NOFOLLOW) rather than written through.
    tmp = atomic.temp_name(tmp_path / "o.png")
    Path(tmp).symlink_to(victim)
    fd_flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with pytest.raises(FileExistsError):
        os.open(tmp, fd_flags, 0o600)
    small_image(tmp_path / "a.png")
    assert palcli("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", PALETTE).returncode == 0
    assert victim.read_bytes() == b"precious" and stat.S_IMODE(victim.stat().st_mode) == 0o600


def test_output_names_of_255_bytes_still_work(tmp_path):
    small_image(tmp_path / "a.png")
    name = "x" * 251 + ".png"
    r = palcli("convert", tmp_path / "a.png", tmp_path / name, "-p", PALETTE)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / name).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_report_may_not_destroy_an_input_or_an_output(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    image = small_image(src / "shapes.png")
    before = image.read_bytes()
    r = palcli("convert", src, tmp_path / "out", "-p", PALETTE, "--report", image)
    assert r.returncode == 2
    assert r.stderr.decode() == (f"palcli: error: --report {image} is an input of this run; "
                                 f"choose another file\n")
    assert image.read_bytes() == before
    r = palcli("convert", src, tmp_path / "out", "-p", PALETTE,
               "--report", tmp_path / "out" / "shapes.png")
    assert r.returncode == 2 and b"is an output of this run" in r.stderr


def test_a_poisoned_cube_with_a_valid_checksum_is_rebuilt(tmp_path):
    from palcli import cache as cache_mod

    cache_dir = tmp_path / "cache"
    env = {"PALCLI_CACHE_DIR": str(cache_dir)}
    assert palcli("cache", "build", PALETTE, env=env).returncode == 0
    path = next(cache_dir.glob("*.cube"))
    data = bytearray(path.read_bytes())
    header = json.loads(data[len(cache_mod.MAGIC) + 4:].split(b"\0", 1)[0])
    payload = np.frombuffer(data, np.uint8, offset=cache_mod.HEADER_SIZE).copy()
    payload[::4096] = 200  # indices the 8-colour palette does not have
    header["checksum"] = cache_mod._checksum(memoryview(payload))
    poisoned = cache_mod._make_header(payload.reshape(256, 256, 256), key=header["key"],
                                      palette=header["palette"], metric="rgb", colors=8)
    path.write_bytes(poisoned + payload.tobytes())
    small_image(tmp_path / "a.png")
    first = palcli("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", PALETTE, env=env)
    assert first.returncode == 0
    assert first.stderr.decode().startswith(f"palcli: warning: the cube cache file {path} was "
                                            f"damaged")
    for extra in ([], ["--rgb"]):
        r = palcli("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", PALETTE, *extra,
                   env=env)
        assert (r.returncode, r.stderr) == (0, b"")
        with Image.open(tmp_path / "o.png") as im:
            im.load()
            assert {tuple(c) for c in np.asarray(im.convert("RGB")).reshape(-1, 3).tolist()} \
                <= {tuple(c) for c in load_palette(PALETTE).colors.tolist()}


# -- silent omissions and tracebacks ---------------------------------------------------------------

def test_an_unreadable_subdirectory_is_an_error_record(tmp_path):
    src = tmp_path / "in"
    (src / "locked").mkdir(parents=True)
    small_image(src / "a.png")
    small_image(src / "locked" / "b.png")
    (src / "locked").chmod(0)
    try:
        r = palcli("convert", src, tmp_path / "out", "-p", PALETTE, "--report",
                   tmp_path / "r.jsonl", preexec_fn=drop_dac_override)
    finally:
        (src / "locked").chmod(0o755)
    assert r.returncode == 1
    assert r.stderr.decode() == (f"palcli: error: {src / 'locked'}: cannot read the directory: "
                                 f"permission denied\n")
    records = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sorted((x["input"], x["status"]) for x in records) == [
        (str(src / "a.png"), "ok"), (str(src / "locked"), "error")]


@pytest.mark.parametrize("name, text, words", [
    ("long.gpl", "GIMP Palette\n" + "9" * 5000 + " 0 0\n", "expected 'R G B [name]'"),
    ("super.gpl", "GIMP Palette\n1\u00b2 0 0\n", "expected 'R G B [name]'"),
    ("arabic.gpl", "GIMP Palette\n\u0663 0 0\n", "expected 'R G B [name]'"),
    ("fullwidth.gpl", "GIMP Palette\n\uff11\uff12 0 0\n", "expected 'R G B [name]'"),
    ("deep.json", "[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
    ("long.json", "[[" + "9" * 5000 + ", 0, 0]]", "not valid JSON"),
    ("count.pal", "JASC-PAL\n0100\n" + "9" * 5000 + "\n0 0 0\n", "expected the number of "
                                                                   "colours"),
])
def test_malicious_palette_files_are_refused_in_one_line(tmp_path, name, text, words):
    (tmp_path / name).write_text(text, encoding="utf-8")
    r = palcli("palette", "show", tmp_path / name)
    assert r.returncode == 2
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"palcli: error: {tmp_path / name}")
    assert words in lines[0] and "Traceback" not in r.stderr.decode()


@pytest.fixture
def deep_tree(tmp_path):
    """in/d/d/.../d/a.png, 1,100 directories deep; removed deepest first afterwards (a
    recursive rmtree, pytest's own included, cannot)."""
    chain = [tmp_path / "in"]
    chain[0].mkdir()
    for _ in range(1100):
        chain.append(chain[-1] / "d")
        chain[-1].mkdir()
    small_image(chain[-1] / "a.png")
    yield chain[0]
    (chain[-1] / "a.png").unlink()
    for d in reversed(chain):
        d.rmdir()


def test_an_input_tree_1100_levels_deep(tmp_path, deep_tree):
    r = palcli("convert", deep_tree, tmp_path / "out", "-p", PALETTE, "--dry-run")
    assert r.returncode == 0, r.stderr[-500:]
    assert r.stdout.decode().count(" -> ") == 1


def _limit_file_size(limit):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # Python ignores SIGXFSZ
    return apply


def test_a_full_disk_for_the_report_does_not_abort_the_batch(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        small_image(src / f"{i}.png", seed=i, size=(8, 8))
    r = palcli("convert", src, tmp_path / "out", "-p", PALETTE, "--report",
               tmp_path / "r.jsonl", "-j", "1", preexec_fn=_limit_file_size(300))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr.decode()
    assert r.stderr.decode().count("cannot write the report: File too large") == 1
    assert len(list((tmp_path / "out").glob("*.png"))) == 6  # every image still converted


def test_full_disks_leave_only_whole_outputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        small_image(src / f"{i}.png", seed=i, size=(64, 64) if i % 2 else (4, 4))
    r = palcli("convert", src, tmp_path / "out", "-p", PALETTE, "-d", "floyd-steinberg",
               preexec_fn=_limit_file_size(1500))
    assert r.returncode == 1 and "Traceback" not in r.stderr.decode()
    for p in (tmp_path / "out").iterdir():
        assert p.suffix == ".png"
        with Image.open(p) as im:
            im.load()


def test_cache_clear_with_a_directory_named_like_a_cube_and_a_read_only_dir(tmp_path):
    cache = tmp_path / "cache"
    env = {"PALCLI_CACHE_DIR": str(cache)}
    assert palcli("cache", "build", "gameboy", env=env).returncode == 0
    (cache / ("e" * 32 + ".cube")).mkdir()
    cache.chmod(0o555)
    try:
        r = palcli("cache", "clear", env=env, preexec_fn=drop_dac_override)
    finally:
        cache.chmod(0o755)
    assert r.returncode == 1 and "Traceback" not in r.stderr.decode()
    assert r.stderr.decode().startswith(f"palcli: error: cannot remove {cache}/")
    r = palcli("cache", "clear", env=env)
    assert r.returncode == 0 and (cache / ("e" * 32 + ".cube")).is_dir()


def test_output_to_a_closed_stdout(tmp_path):
    small_image(tmp_path / "a.png")
    r = subprocess.run(f"{sys.executable} -c \"{ENTRY}\" convert {tmp_path / 'a.png'} - "
                       f"-p '{PALETTE}' >&-", shell=True, capture_output=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr.decode()
    assert r.stderr.decode().endswith("cannot write -: standard output is closed\n")


def test_report_to_a_pipe_closed_early(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(40):
        small_image(src / f"{i:02d}.png", seed=i, size=(8, 8))
    r = subprocess.run(f"{sys.executable} -c \"{ENTRY}\" convert {src} {tmp_path / 'out'} "
                       f"-p '{PALETTE}' -j 1 --report - | head -1; echo \"status ${{PIPESTATUS[0]}}\"",
                       shell=True, executable="/bin/bash", capture_output=True, timeout=60)
    out = r.stdout.decode().splitlines()
    assert json.loads(out[0])["status"] == "ok" and out[-1] == "status 0"
    assert r.stderr == b""
    assert len(list((tmp_path / "out").glob("*.png"))) == 40


def test_newlines_and_escapes_in_names_cannot_forge_lines(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    evil = src / "x.png\npalcli: error: other.png: forged\x1b[2J.png"
    evil.write_bytes(b"not an image")
    r = palcli("convert", src, tmp_path / "out", "-p", PALETTE)
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and "\\npalcli: error: other.png: forged\\x1b[2J" in lines[0]
    (tmp_path / "evil.gpl").write_text("GIMP Palette\nName: a\x1b[31mred\n0 0 0\n")
    show = palcli("palette", "show", tmp_path / "evil.gpl").stdout.decode()
    assert "\x1b" not in show and "a\\x1b[31mred" in show


def test_a_cube_truncated_mid_run_names_the_cache_file(tmp_path, big_batch):
    cache = tmp_path / "cache"
    env = {"PALCLI_CACHE_DIR": str(cache)}
    assert palcli("cache", "build", PALETTE, env=env).returncode == 0
    path = next(cache.glob("*.cube"))
    out = tmp_path / "out"
    proc = start("convert", big_batch, out, "-p", PALETTE, "-j", "2", env=env)
    assert wait_for(lambda: any(out.glob("*.png")), timeout=120)
    os.truncate(path, 4096)  # in place, as a careless clean-up would
    _, err = proc.communicate(timeout=120)
    err = err.decode()
    assert proc.returncode == 1 and "Traceback" not in err
    assert f"worker process died of a bus error (SIGBUS): {path} shrank" in err


def test_leftovers_of_a_killed_run_are_removed_later(tmp_path):
    from palcli import atomic

    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = Path(atomic.temp_name(out / "a.png", pid=dead.pid))
    young = Path(atomic.temp_name(out / "b.png", pid=dead.pid))
    running = Path(atomic.temp_name(out / "c.png", pid=os.getpid()))
    for p in (stale, young, running):
        p.write_bytes(b"half")
    old = time.time() - 7200
    for p in (stale, running):
        os.utime(p, (old, old))
    small_image(tmp_path / "a.png")
    assert palcli("convert", tmp_path / "a.png", out / "a.png", "-p", PALETTE).returncode == 0
    assert not stale.exists() and young.exists() and running.exists()
