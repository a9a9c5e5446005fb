"""The cube cache: location, key, file format, verification, atomic and concurrent writes,
unwritable directories, info/clear and the `palcli cache` commands.

These tests swap the cube builder for a cheap deterministic fake: what is checked here is that
the bytes a builder produced come back intact, never a wrong or partial cube.
"""

import errno
import functools
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from palcli import Palette, cache
from palcli import cube as cubes
from palcli.errors import PalcliWarning

PAL = Palette("four", np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]], np.uint8))
BIG = Palette("big", np.stack([np.arange(300) % 256, np.arange(300) // 2, np.zeros(300)], 1))


def fake_cube(colors, metric):
    """A cube that depends on the palette and the metric, cheap to make, no two pages alike."""
    return _fake_cube(len(colors), metric)


@functools.lru_cache(maxsize=8)
def _fake_cube(k, metric):
    cell = np.arange(256 ** 3, dtype=np.uint32).reshape(256, 256, 256)
    cell *= np.uint32(2654435761)  # wraps: a cheap scramble
    cell >>= 16  # high bits: they depend on every lower bit of the cell index
    cell += sum(map(ord, metric))
    cube = (cell % k).astype(np.uint8 if k <= 256 else np.uint16)
    cube.setflags(write=False)
    return cube


@pytest.fixture
def builds(cache_dir, monkeypatch):
    """The fake builder in a fresh cache dir and memo; records (palette size, metric) per build."""
    calls = []

    def build(colors, metric):
        calls.append((len(colors), metric))
        return fake_cube(colors, metric)

    monkeypatch.setattr(cubes, "build_cube", build)
    monkeypatch.setattr(cubes, "_memo", {})
    monkeypatch.setattr(cubes, "_warned", set())
    return calls


def cube_file(palette=PAL, metric="rgb"):
    return cache.cache_dir() / f"{cubes.cube_key(palette, metric)}.cube"


def test_cache_dir_is_read_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("PALCLI_CACHE_DIR", str(tmp_path / "a"))
    assert cache.cache_dir() == tmp_path / "a"
    monkeypatch.setenv("PALCLI_CACHE_DIR", str(tmp_path / "b"))
    assert cache.cache_dir() == tmp_path / "b"


def test_cache_dir_defaults_to_platform_user_cache(monkeypatch):
    import platformdirs

    monkeypatch.delenv("PALCLI_CACHE_DIR")
    assert str(cache.cache_dir()) == platformdirs.user_cache_dir("palcli")


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_CACHE_HOME is the Linux convention")
def test_default_dir_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv("PALCLI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a"))
    assert cache.cache_dir() == tmp_path / "a" / "palcli"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "b"))
    assert cache.cache_dir() == tmp_path / "b" / "palcli"


def test_key_depends_on_colours_in_order_and_metric_not_name():
    reordered = Palette("four", PAL.colors[::-1])
    renamed = Palette("other name", PAL.colors)
    assert cubes.cube_key(PAL, "rgb") == cubes.cube_key(renamed, "rgb")
    assert cubes.cube_key(PAL, "rgb") != cubes.cube_key(reordered, "rgb")
    assert cubes.cube_key(PAL, "rgb") != cubes.cube_key(PAL, "oklab")
    with pytest.raises(ValueError, match="metric"):
        cubes.get_cube(PAL, "nope")


def test_built_once_written_then_mapped_from_file(builds):
    first = cubes.get_cube(PAL, "rgb").array
    assert builds == [(4, "rgb")]
    assert cubes.get_cube(PAL, "rgb").array is first  # memo: one mapping per process
    path = cube_file()
    raw = path.read_bytes()
    assert len(raw) == cache.HEADER_SIZE + 256 ** 3
    assert raw.startswith(cache.MAGIC)
    # The payload sits at a page-aligned offset, so anyone can np.memmap it.
    mm = np.memmap(path, np.uint8, "r", offset=cache.HEADER_SIZE, shape=(256, 256, 256))
    np.testing.assert_array_equal(mm, fake_cube(PAL.colors, "rgb"))

    cubes._memo.clear()  # as a new process would
    again = cubes.get_cube(PAL, "rgb").array
    assert builds == [(4, "rgb")]
    assert again is not first and not again.flags.writeable
    assert again.shape == (256, 256, 256) and again.dtype == np.uint8
    np.testing.assert_array_equal(again, first)


def test_uint16_cube_round_trips(builds):
    cubes.get_cube(BIG, "rgb").array
    cubes._memo.clear()
    mapped = cubes.get_cube(BIG, "rgb").array
    assert mapped.dtype == np.uint16 and len(builds) == 1
    assert cube_file(BIG).stat().st_size == cache.HEADER_SIZE + 2 * 256 ** 3
    np.testing.assert_array_equal(mapped, fake_cube(BIG.colors, "rgb"))


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:-1])


def _flip_payload_byte(path):
    with open(path, "r+b") as f:
        f.seek(cache.HEADER_SIZE + 123_457)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 1]))


def _swap(path, a, b, n):
    with open(path, "r+b") as f:
        f.seek(cache.HEADER_SIZE + a)
        x = f.read(n)
        f.seek(cache.HEADER_SIZE + b)
        y = f.read(n)
        assert x != y
        f.seek(cache.HEADER_SIZE + a)
        f.write(y)
        f.seek(cache.HEADER_SIZE + b)
        f.write(x)


def _swap_two_pages(path):
    _swap(path, 4096 * 10, 4096 * 11, 4096)


def _swap_two_words(path):
    _swap(path, 4096 * 7 + 8, 4096 * 7 + 16, 8)


def _foreign(path):
    path.write_bytes(os.urandom(cache.HEADER_SIZE + 256 ** 3))


def _empty(path):
    path.write_bytes(b"")


def _header_only(path):
    path.write_bytes(path.read_bytes()[:cache.HEADER_SIZE])


def _other_palettes_cube(path):
    # A complete, valid file, but for another palette, under this palette's name.
    other = Palette("two", np.array([[1, 2, 3], [4, 5, 6]], np.uint8))
    cubes.get_cube(other, "rgb").array
    os.replace(cube_file(other), path)


def _older_format(path):
    data = bytearray(path.read_bytes())
    n = int.from_bytes(data[len(cache.MAGIC):len(cache.MAGIC) + 4], "little")
    start = len(cache.MAGIC) + 4
    header = json.loads(data[start:start + n])
    header["format"] = cache.FORMAT_VERSION - 1
    body = json.dumps(header).encode()
    data[len(cache.MAGIC):cache.HEADER_SIZE] = (len(body).to_bytes(4, "little") + body).ljust(
        cache.HEADER_SIZE - len(cache.MAGIC), b"\0")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _flip_payload_byte, _swap_two_pages,
                                    _swap_two_words, _foreign, _empty,
                                    _header_only, _other_palettes_cube, _older_format])
def test_damaged_file_is_rebuilt_never_used(builds, damage):
    expected = fake_cube(PAL.colors, "rgb")
    cubes.get_cube(PAL, "rgb").array
    path = cube_file()
    damage(path)
    cubes._memo.clear()
    n = len(builds)
    cube = cubes.get_cube(PAL, "rgb").array
    assert len(builds) == n + 1  # rebuilt
    np.testing.assert_array_equal(cube, expected)
    cubes._memo.clear()
    np.testing.assert_array_equal(cubes.get_cube(PAL, "rgb").array, expected)
    assert len(builds) == n + 1  # and the rebuilt file is good again


def test_directory_made_on_demand(builds, cache_dir):
    assert not cache_dir.exists()
    cubes.get_cube(PAL, "rgb").array
    assert cube_file().is_file()
    assert [p.name for p in cache_dir.iterdir()] == [cube_file().name]  # no temp files left


def test_unwritable_dir_gives_in_memory_cube_and_one_warning(builds, cache_dir):
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    cache_dir.write_text("a file where the cache dir should be")  # mkdir fails even for root
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = cubes.get_cube(PAL, "rgb").array
        b = cubes.get_cube(PAL, "oklab").array
        assert cubes.get_cube(PAL, "rgb").array is a
    np.testing.assert_array_equal(a, fake_cube(PAL.colors, "rgb"))
    np.testing.assert_array_equal(b, fake_cube(PAL.colors, "oklab"))
    assert not a.flags.writeable
    msgs = [str(w.message) for w in caught if issubclass(w.category, PalcliWarning)]
    assert len(msgs) == 1 and str(cache_dir) in msgs[0]
    assert builds == [(4, "rgb"), (4, "oklab")]


def test_full_disk_leaves_no_temp_file(builds, cache_dir, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.os, "replace", full)
    with pytest.warns(PalcliWarning, match="No space left") as caught:
        cube = cubes.get_cube(PAL, "rgb").array
    assert str(cache_dir) in str(caught[0].message)
    np.testing.assert_array_equal(cube, fake_cube(PAL.colors, "rgb"))
    assert list(cache_dir.iterdir()) == []


CONCURRENT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from palcli import cube as cubes
    sys.path.insert(0, sys.argv[1])
    from test_cache import PAL, fake_cube

    def slow_build(colors, metric):
        time.sleep(0.5)  # both processes are building at once
        return fake_cube(colors, metric)

    cubes.build_cube = slow_build
    cube = cubes.get_cube(PAL, "rgb").array
    assert (cube == fake_cube(PAL.colors, "rgb")).all()
    print("ok")
""")


def test_two_concurrent_builders_both_succeed(builds, cache_dir):
    here = os.path.dirname(__file__)
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, here], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ))
             for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert out.strip() == "ok"
    assert [p.name for p in cache_dir.iterdir()] == [cube_file().name]
    cubes.get_cube(PAL, "rgb").array
    assert builds == []  # the file they left is verified and used


def test_info_lists_palette_metric_and_size_and_clear_removes_only_cubes(builds, cache_dir):
    cubes.get_cube(PAL, "rgb").array
    cubes.get_cube(BIG, "oklab").array
    (cache_dir / "notes.txt").write_text("not ours")
    (cache_dir / "film-look.cube").write_text("LUT_3D_SIZE 2\n")  # another tool's 3D LUT
    broken = "0" * 32 + ".cube"  # named like a cube, but not one of ours inside
    (cache_dir / broken).write_bytes(b"junk")
    info = cache.cache_info()
    left = f".{cubes.cube_key(PAL, 'oklab')}.cube.palcli-99999999-abcdefgh.tmp"
    (cache_dir / left).write_bytes(cache.MAGIC + b"left by a killed builder")
    (cache_dir / ".notes.txt.palcli-1-abcdefgh.tmp").write_bytes(cache.MAGIC)  # not a cube's
    assert info.dir == cache_dir
    got = {(c.palette, c.metric, c.colors, c.size, c.ok) for c in info.cubes}
    assert got == {("four", "rgb", 4, cache.HEADER_SIZE + 256 ** 3, True),
                   ("big", "oklab", 300, cache.HEADER_SIZE + 2 * 256 ** 3, True),
                   (None, None, None, 4, False)}
    assert info.size == 3 * 256 ** 3 + 2 * cache.HEADER_SIZE + 4

    freed, failed = cache.clear_cache()
    assert failed == []
    assert freed == info.size - 4 + len(cache.MAGIC + b"left by a killed builder")
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted(
        [".notes.txt.palcli-1-abcdefgh.tmp", broken, "film-look.cube", "notes.txt"])
    assert [c.path.name for c in cache.cache_info().cubes] == [broken]
    cubes.forget()
    cubes.get_cube(PAL, "rgb").array
    assert len(builds) == 3  # the memo was dropped too


def test_info_and_clear_on_missing_dir(builds, cache_dir):
    assert cache.cache_info().cubes == [] and cache.clear_cache() == (0, [])


# -- palcli cache ---------------------------------------------------------------------------------

def run(*args):
    from palcli.cli import cli

    return CliRunner().invoke(cli, ["cache", *args], catch_exceptions=False)


def test_cli_build_info_clear(builds, cache_dir):
    r = run("build", "#000000,#ffffff,#ff0000,#0000ff", "--metric", "redmean")
    assert r.exit_code == 0, r.output
    assert builds == [(4, "redmean")]
    assert str(cube_file(PAL, "redmean")) in r.output

    r = run("info")
    assert r.exit_code == 0
    assert str(cache_dir) in r.output
    line = [ln for ln in r.output.splitlines() if "redmean" in ln][0]
    assert line.split() == ["inline", "redmean", "4", "16.0", "MiB", "ok", cube_file(PAL, "redmean").name]

    r = run("clear")
    assert r.exit_code == 0 and "removed 1 cube" in r.output
    assert cache.cache_info().cubes == []


def test_cli_build_rejects_unknown_metric_and_palette(builds):
    r = run("build", "#000000,#ffffff", "--metric", "nope")
    assert r.exit_code == 2 and "nope" in r.output
    r = run("build", "no-such-palette")
    assert r.exit_code == 2 and "palcli: error: no-such-palette" in r.output
    assert builds == []


def test_cli_build_warns_once_on_unwritable_dir(builds, cache_dir):
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    cache_dir.write_text("not a directory")
    r = run("build", "#000000,#ffffff")
    assert r.exit_code == 0
    assert r.stderr.count("palcli: warning:") == 1 and str(cache_dir) in r.stderr
