"""palcli check against palcli convert over the same 1 MP photos, whole processes, in one run.

    pip install scikit-image        # benchmarks/photos.py takes its real photographs from it
    python benchmarks/bench_check.py [--images 48] [--repeat 3]

A directory of JPEGs of 1 MP made from real photos is converted to PICO-8 (`palcli convert -j 2`,
timed); then `palcli check -j 2` is timed over the converted outputs (what a CI job checks:
indexed PNGs, which pass on their colour table alone), over the same outputs with one pixel
changed in each (every image decoded, every one failing) and over the original JPEGs (every
pixel read and compared). Wall and CPU times (the children's user + system), best of --repeat.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photos import jpeg_batch  # noqa: E402

PALETTE = "pico-8"


def palcli_cmd(*args) -> list[str]:
    exe = Path(sys.executable).parent / "palcli"
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "palcli.cli", *args]


def timed(cmd, ok=(0,)) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {code}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(cmd, repeat: int, ok=(0,)) -> tuple[float, float]:
    runs = [timed(cmd, ok) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    try:
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"({os.cpu_count()} cores)")
        src, out, touched = work / "photos", work / "out", work / "touched"
        jpeg_batch(src, args.images)
        convert = palcli_cmd("convert", str(src), str(out), "-p", PALETTE, "-j", "2", "-q")
        timed(convert)  # the cube into the cache
        shutil.rmtree(out)
        runs = {"convert the photos": best(convert, args.repeat)}
        shutil.copytree(out, touched)
        for p in touched.iterdir():
            px = np.asarray(Image.open(p).convert("RGB")).copy()
            px[0, 0] = (1, 2, 3)
            Image.fromarray(px).save(p)
        check = palcli_cmd("check", "-p", PALETTE, "-j", "2", "-q")
        runs["check the outputs"] = best(check + [str(out)], args.repeat)
        runs["check, 1 pixel changed"] = best(check + [str(touched)], args.repeat, ok=(1,))
        runs["check the JPEGs"] = best(check + [str(src)], args.repeat, ok=(1,))
        print(f"{args.images} photos of 1 MP, palette {PALETTE}, -j 2, whole processes, best of "
              f"{args.repeat}:")
        for label, (wall, cpu) in runs.items():
            print(f"  {label:24s} {wall:7.3f} s wall  {cpu:7.3f} s CPU")
        conv, chk = runs["convert the photos"], runs["check the outputs"]
        print(f"  convert / check of its outputs: {conv[0] / chk[0]:.1f}x wall, "
              f"{conv[1] / chk[1]:.1f}x CPU (target >= 3)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
