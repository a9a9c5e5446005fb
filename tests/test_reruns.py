"""Reruns that notice new settings, a bounded cube cache, and --version."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from runs import palcli


@pytest.fixture
def art(tmp_path):
    src = tmp_path / "art"
    src.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(src / f"{i}.png")
    pal = tmp_path / "game.gpl"
    pal.write_text("GIMP Palette\nName: game\n0 0 0\n255 255 255\n255 0 0\n0 0 255\n")
    return src, pal


def statuses(report):
    return [(json.loads(line)["status"], json.loads(line).get("redone"))
            for line in report.read_text().splitlines()]


@pytest.mark.parametrize("fmt", ["png", "gif", "webp", "tiff"])
def test_skip_existing_redoes_outputs_after_a_settings_change_and_skips_otherwise(art, tmp_path,
                                                                                  fmt):
    src, pal = art
    out, report = tmp_path / "out", tmp_path / "r.jsonl"
    base = ["convert", src, out, "-p", pal, "-f", fmt, "--skip-existing", "--report", report]
    assert palcli(*base).returncode == 0
    assert statuses(report) == [("ok", None)] * 3
    assert palcli(*base).returncode == 0
    assert statuses(report) == [("skipped", None)] * 3
    changed = "the output was made with other settings"
    for extra in (["-m", "oklab"], ["-d", "bayer4"], ["-d", "bayer4", "--dither-strength", "0.5"]):
        assert palcli(*base, *extra).returncode == 0
        assert statuses(report) == [("ok", changed)] * 3, extra
        assert palcli(*base, *extra).returncode == 0
        assert statuses(report) == [("skipped", None)] * 3, extra
    time.sleep(0.01)
    pal.write_text(pal.read_text().replace("255 0 0", "250 0 0"))  # one colour edited
    assert palcli(*base, "-d", "bayer4", "--dither-strength", "0.5").returncode == 0
    assert statuses(report) == [("ok", changed)] * 3
    os.utime(src / "1.png")  # a touched input
    assert palcli(*base, "-d", "bayer4", "--dither-strength", "0.5").returncode == 0
    assert sorted(statuses(report)) == sorted([("ok", "the input is newer than the output"),
                                               ("skipped", None), ("skipped", None)])


def test_the_same_settings_write_the_same_bytes(art, tmp_path):
    src, pal = art
    for run in ("a", "b"):
        assert palcli("convert", src, tmp_path / run, "-p", pal, "-d", "atkinson").returncode == 0
    for p in sorted((tmp_path / "a").iterdir()):
        assert p.read_bytes() == (tmp_path / "b" / p.name).read_bytes()


HOLD = """
import sys, time
from palcli.cube import get_cube
get_cube(sys.argv[1], "rgb")
print("holding", flush=True)
time.sleep(60)
"""


def test_the_cache_is_bounded_and_never_evicts_a_cube_in_use(tmp_path):
    cache = tmp_path / "cache"
    env = {"PALCLI_CACHE_DIR": str(cache), "PALCLI_CACHE_MAX": "40M"}  # two cubes and a half
    holder = subprocess.Popen([sys.executable, "-c", HOLD, "gameboy"], stdout=subprocess.PIPE,
                              env={**os.environ, **env}, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        for name in ("nes", "pico-8", "c64", "cga"):
            assert palcli("cache", "build", name, env=env).returncode == 0
            time.sleep(0.02)  # distinct modification times: the order of use
        info = palcli("cache", "info", env=env).stdout.decode()
        kept = {line.split()[0] for line in info.splitlines()[2:-1]}
        # gameboy is held open by another process: kept although least recently used.
        assert kept == {"gameboy", "cga"}, info
        assert info.splitlines()[-1] == "2 cubes, 32.0 MiB of 40.0 MiB (PALCLI_CACHE_MAX)"
        assert [p for p in cache.iterdir() if p.suffix != ".cube"] == []  # no partial files
    finally:
        holder.kill()
        holder.wait()
    assert palcli("cache", "build", "msx", env=env).returncode == 0
    info = palcli("cache", "info", env=env).stdout.decode()
    assert {line.split()[0] for line in info.splitlines()[2:-1]} == {"cga", "msx"}


def test_no_limit_and_clear_older_than(tmp_path):
    cache = tmp_path / "cache"
    env = {"PALCLI_CACHE_DIR": str(cache), "PALCLI_CACHE_MAX": "0"}
    for name in ("nes", "pico-8", "c64"):
        assert palcli("cache", "build", name, env=env).returncode == 0
    old = time.time() - 3 * 86400
    first = sorted(cache.glob("*.cube"))[0]
    os.utime(first, (old, old))
    assert palcli("cache", "info", env=env).stdout.decode().splitlines()[-1] == \
        "3 cubes, 48.0 MiB (no limit: PALCLI_CACHE_MAX=0)"
    r = palcli("cache", "clear", "--older-than", "2", env=env)
    assert r.stdout.decode().startswith("removed 1 cube unused for 2 days")
    assert not first.exists() and len(list(cache.glob("*.cube"))) == 2


def test_version_names_the_engines_and_the_cache(tmp_path):
    r = palcli("--version", env={"PALCLI_CACHE_DIR": str(tmp_path)})
    lines = r.stdout.decode().splitlines()
    assert r.returncode == 0 and lines[0].startswith("palcli ")
    assert lines[1].startswith("numpy ") and ", Pillow " in lines[1] and ", numba " in lines[1]
    assert lines[-1] == f"cache dir: {tmp_path}"
    assert "numba" not in subprocess.run(
        [sys.executable, "-c", "import sys\nfrom palcli.cli import cli\ntry:\n cli(['--version'])\n"
         "except SystemExit:\n pass\nprint(sorted(m for m in sys.modules if m.startswith('numba')))"],
        capture_output=True, text=True).stdout.split("\n")[-2]
