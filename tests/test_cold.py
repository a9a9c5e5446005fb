"""A first run on a new machine: it says when it compiles, once, and compiles only what it needs."""

import os
import subprocess
import sys

import numpy as np
from PIL import Image

from runs import ENTRY

NOTE = "palcli: compiling kernels (first run on this machine)..."


def run(tmp_path, *args, numba_cache):
    env = {**os.environ, "PALCLI_CACHE_DIR": str(tmp_path / "cache"),
           "NUMBA_CACHE_DIR": str(numba_cache)}
    return subprocess.run([sys.executable, "-c", ENTRY, *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=900)


def test_the_first_run_says_it_compiles_and_the_second_does_not(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png")
    numba_cache = tmp_path / "numba"
    args = ("convert", tmp_path / "a.png", tmp_path / "o.png", "-p", "pico-8",
            "-d", "floyd-steinberg")
    first = run(tmp_path, *args, numba_cache=numba_cache)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines().count(NOTE) == 1
    assert first.stderr.splitlines()[0] in (NOTE, "palcli: building the pico-8 cube (rgb)...")
    second = run(tmp_path, *args, numba_cache=numba_cache)
    assert (second.returncode, second.stderr) == (0, "")
    quiet = run(tmp_path / "q", *args, "-q", numba_cache=tmp_path / "numba2")
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_numbas_cache_lives_beside_the_cubes_unless_told_otherwise(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PALCLI_CACHE_DIR"] = str(tmp_path / "cache")
    r = subprocess.run([sys.executable, "-c", ENTRY, "convert", tmp_path / "a.png",
                        tmp_path / "o.png", "-p", "pico-8", "-d", "bayer4"], env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert list((tmp_path / "cache" / "numba").rglob("*.nbi"))


def test_the_readme_main_command_compiles_nothing(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ("import sys\n" + ENTRY.replace("main()", "") +
            "\ntry:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "print('numba' in sys.modules, code)")
    r = subprocess.run([sys.executable, "-c", code, "convert", os.path.join(root, "examples"),
                        tmp_path / "out", "--palette", "pico-8"], capture_output=True, text=True,
                       env={**os.environ, "PALCLI_CACHE_DIR": str(tmp_path / "cache"),
                            "NUMBA_CACHE_DIR": str(tmp_path / "numba")}, timeout=300)
    assert r.stdout.split() == ["False", "0"], r.stderr
