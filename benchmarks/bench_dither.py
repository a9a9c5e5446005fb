"""Dithering speed beside Pillow's Floyd-Steinberg, measured in the same run on a real photo.

    python benchmarks/bench_dither.py [--repeat N] [--megapixels MP] [--cpu-time]

Mpx/s of palcli.quantize(img, palette, dither=MODE) for every mode on one ~4 MP photograph
(cube cached and mapped, kernels compiled: a worker's steady state), and the ratio to Pillow's
Image.quantize(palette=..., dither=Image.Dither.FLOYDSTEINBERG) on the same image and palette.
Also: the one-off costs per palette (the cube's two-level copy the kernels read, the ordered
modes' mixing-plan table), and the speed targets, checked at the end.

--cpu-time: one thread, timed in the process's CPU seconds (the kernels run on a pool thread,
not the caller's, whose own CPU time would miss them), for a machine that others keep busy
(wall-clock rates of the threaded kernels then fall far more than single-threaded Pillow's).
Rates are per core; the targets are checked against twice them (bands and rows split evenly
over two idle cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from photos import photo_at  # noqa: E402
from timing import best_of  # noqa: E402

os.environ.setdefault("PALCLI_CACHE_DIR", tempfile.mkdtemp(prefix="palcli-bench-"))

from palcli import load_palette, quantize  # noqa: E402
from palcli import dither as dither_mod  # noqa: E402
from palcli.cube import get_cube  # noqa: E402
from palcli.dither import DIFFUSION, DITHERS, ORDERED  # noqa: E402



def pillow_fs(img: np.ndarray, colors: np.ndarray):
    pal_img = Image.new("P", (1, 1))
    pal_img.putpalette(colors.reshape(-1).tolist())
    im = Image.fromarray(img)
    return lambda: im.quantize(palette=pal_img, dither=Image.Dither.FLOYDSTEINBERG)


# Targets, each checked at the end of a run (2 cores): pattern's rate, linear Floyd-Steinberg's
# ratio to Pillow's (single-threaded) Floyd-Steinberg, and the rate of bayer*/blue-noise.
PATTERN_MPX = 40.0
LINEAR_FS_RATIO = 1.5
ORDERED_MPX = 300.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--megapixels", type=float, default=4.0)
    ap.add_argument("--cpu-time", action="store_true")
    args = ap.parse_args()
    clock, cores = time.perf_counter, 1
    if args.cpu_time:
        import numba

        numba.set_num_threads(1)
        clock, cores = time.process_time, 2
    name, img = photo_at(args.megapixels)
    mpx = img.shape[0] * img.shape[1] / 1e6
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"photo: {name} {img.shape[1]}x{img.shape[0]} ({mpx:.1f} MP); best of {args.repeat}; "
          f"{os.cpu_count()} cores; load average {load}"
          + ("; one thread, CPU time: rates per core" if args.cpu_time else ""))
    worst = {"pattern": float("inf"), "fs": float("inf"), "ordered": float("inf")}
    for pal_name in ("pico-8", "nes"):
        pal = load_palette(pal_name)
        cube = get_cube(pal, "rgb").array
        t0 = time.perf_counter()
        dither_mod._blocks(cube, len(pal))
        blocks = time.perf_counter() - t0
        t0 = time.perf_counter()
        quantize(img[:64, :64], pal, dither="bayer8")  # plan table, outside the timing
        plans = time.perf_counter() - t0
        quantize(img[:64, :64], pal, dither="floyd-steinberg")  # compile outside the timing
        pil = best_of(pillow_fs(img, pal.colors), args.repeat, clock)
        pil_rate = mpx / pil
        print(f"\npalette {pal_name} ({len(pal)} colours); built once per palette: two-level "
              f"cube copy {blocks * 1e3:.0f} ms, ordered modes' plan table {plans * 1e3:.0f} ms")
        print(f"  {'Pillow floyd-steinberg':34s} {pil_rate:7.1f} Mpx/s   1.00x")
        # Every mode at its defaults (linear light), then sRGB diffusion and no serpentine.
        rows = [(d, "linear", True) for d in list(DITHERS)[1:]]
        rows[1:1] = [("floyd-steinberg", "srgb", True), ("floyd-steinberg", "srgb", False)]
        rows += [(d, "srgb", True) for d in DIFFUSION[1:]]
        for dither, space, serpentine in rows:
            quantize(img[:64, :64], pal, dither=dither, dither_space=space)
            t = best_of(lambda: quantize(img, pal, dither=dither, dither_space=space,
                                         serpentine=serpentine), args.repeat, clock)
            rate = mpx / t
            label = f"{dither} {space}" + ("" if serpentine else " no-serpentine")
            print(f"  {label:34s} {rate:7.1f} Mpx/s {rate / pil_rate:6.2f}x")
            if dither == "pattern":
                worst["pattern"] = min(worst["pattern"], rate)
            elif dither == "floyd-steinberg" and space == "linear":
                worst["fs"] = min(worst["fs"], rate / pil_rate)
            elif dither in ORDERED and space == "linear":
                worst["ordered"] = min(worst["ordered"], rate)
    print("\ntargets (slowest palette" + (", 2 cores estimated as twice one)" if cores > 1
                                        else ")"))
    for what, got, want, unit in (
            ("pattern", cores * worst["pattern"], PATTERN_MPX, " Mpx/s"),
            ("floyd-steinberg linear / Pillow", cores * worst["fs"], LINEAR_FS_RATIO, "x"),
            ("bayer*, blue-noise", cores * worst["ordered"], ORDERED_MPX, " Mpx/s")):
        print(f"  {'met   ' if got >= want else 'MISSED'} {what}: {got:.2f}{unit}, "
              f"target {want:.2f}{unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
