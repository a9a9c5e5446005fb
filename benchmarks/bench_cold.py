"""The first run on a new machine against the next one: three commands, cold and warm, this run.

    pip install scikit-image        # benchmarks/photos.py takes its real photographs from it
    python benchmarks/bench_cold.py [--warm-repeat 5] [--compiles [-v]]

For each command, whole processes of the installed entry point, timed from start to exit:
  readme    palcli convert examples/ out/ -p pico-8          (the README's main command)
  fs-oklab  palcli convert photo.jpg out.png -p pico-8 -d floyd-steinberg -m oklab (1 MP)
  preview   palcli preview photo.png -p pico-8 -o sheet.png  (every metric x every dither)
cold: NUMBA_CACHE_DIR and PALCLI_CACHE_DIR are new empty directories (numba compiles, cubes are
built); warm: the same command again with those caches filled (best of --warm-repeat).
Python's own bytecode is warm in both, as after `pip install`. Beside each wall time, the CPU
seconds (user + system) of the process and its workers: on a busy machine the wall times grow,
the CPU times much less.

--compiles also runs each command cold under benchmarks/compiles.py and lists the numba
functions it compiled: specialisations, seconds (nested compiles excluded), and cache loads.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compiles  # noqa: E402
from photos import photo_at  # noqa: E402

# name -> (arguments, cold/warm ratio target or None, cold seconds target or None)
COMMANDS = {
    "readme": (["convert", "{examples}", "{out}/readme", "-p", "pico-8"], 6.0, None),
    "fs-oklab": (["convert", "{work}/photo.jpg", "{out}/photo.png", "-p", "pico-8",
                  "-d", "floyd-steinberg", "-m", "oklab"], 10.0, None),
    "preview": (["preview", "{work}/photo.png", "-p", "pico-8", "-o", "{out}/sheet.png"], None,
                15.0),
}


def palcli_cmd(*args) -> list[str]:
    # The entry point installed beside this Python, as a venv has it (not a shell shim on PATH).
    exe = Path(sys.executable).parent / "palcli"
    if not exe.exists():
        exe = shutil.which("palcli")
    return [str(exe), *args] if exe else [sys.executable, "-m", "palcli.cli", *args]


def run(cmd: list[str], caches: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process (CPU: user + system, its children included)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(caches / "numba"),
               PALCLI_CACHE_DIR=str(caches / "palcli"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    t = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)}: exit {done.returncode}\n{done.stderr.decode()}")
    return t, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warm-repeat", type=int, default=5, help="best of N warm runs")
    ap.add_argument("--compiles", action="store_true", help="also list what each cold run compiles")
    ap.add_argument("-v", "--verbose", action="store_true", help="with --compiles: signatures")
    ap.add_argument("--only", choices=list(COMMANDS), action="append", help="run only these")
    args = ap.parse_args()

    import palcli

    compileall.compile_dir(os.path.dirname(palcli.__file__), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    try:
        name, rgb = photo_at(1.0, 0)
        Image.fromarray(rgb).save(work / "photo.jpg", quality=90)
        Image.fromarray(rgb).save(work / "photo.png")
        examples = work / "examples"
        shutil.copytree(HERE.parent / "examples", examples,
                        ignore=shutil.ignore_patterns("*.py"))
        fill = {"work": work, "examples": examples, "out": work / "out"}
        (work / "out").mkdir()
        print(f"cold and warm whole-process runs, {os.cpu_count()} cores, {load()}; photo: "
              f"{name} {rgb.shape[1]}x{rgb.shape[0]}")
        rows = []
        for i, (cmd_name, (argv, ratio_target, cold_target)) in enumerate(COMMANDS.items()):
            if args.only and cmd_name not in args.only:
                continue
            argv = [a.format(**fill) for a in argv]
            caches = work / f"caches{i}"
            cold, cold_cpu = run(palcli_cmd(*argv), caches)
            warm, warm_cpu = min(run(palcli_cmd(*argv), caches) for _ in range(args.warm_repeat))
            rows.append((cmd_name, cold, warm, ratio_target, cold_target))
            print(f"  {cmd_name:9s} cold {cold:7.2f} s  warm {warm:6.3f} s  "
                  f"cold/warm {cold / warm:6.1f}x   CPU: cold {cold_cpu:6.2f} s, warm "
                  f"{warm_cpu:5.2f} s   ({load()})", flush=True)
        print("targets:")
        for cmd_name, cold, warm, ratio_target, cold_target in rows:
            if ratio_target:
                ok = "met" if cold / warm <= ratio_target else "MISSED"
                print(f"  {cmd_name:9s} cold/warm {cold / warm:6.1f}x  (target <= "
                      f"{ratio_target:g}x) {ok}")
            if cold_target:
                ok = "met" if cold <= cold_target else "MISSED"
                print(f"  {cmd_name:9s} cold {cold:6.2f} s  (target <= {cold_target:g} s on 2 "
                      f"cores) {ok}")
        if args.compiles:
            print("compiled by each cold run (benchmarks/compiles.py):")
            for i, (cmd_name, (argv, _, _)) in enumerate(COMMANDS.items()):
                if args.only and cmd_name not in args.only:
                    continue
                argv = [a.format(**fill) for a in argv]
                logs = work / f"log{i}"
                t, _ = run([sys.executable, str(HERE / "compiles.py"), str(logs), *argv],
                           work / f"listed{i}")
                print(f"{cmd_name} ({t:.1f} s): palcli {' '.join(argv)}".replace(str(work), "."))
                for line in compiles.format_summary(compiles.summarize(logs), args.verbose):
                    print("  " + line)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
