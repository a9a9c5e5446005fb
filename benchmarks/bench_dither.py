"""Dithering speed beside Pillow's Floyd-Steinberg, measured in the same run on a real photo.

    python benchmarks/bench_dither.py [--repeat N] [--megapixels MP]

Mpx/s of palcli.quantize(img, palette, dither=MODE) for every mode on one ~4 MP photograph
(cube cached and mapped, kernels compiled: a worker's steady state), and the ratio to Pillow's
Image.quantize(palette=..., dither=Image.Dither.FLOYDSTEINBERG) on the same image and palette.
Also: the one-off cost of the cube's two-level copy the kernels read, and Pillow's agreement.
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
from palcli.dither import DIFFUSION, DITHERS  # noqa: E402



def pillow_fs(img: np.ndarray, colors: np.ndarray):
    pal_img = Image.new("P", (1, 1))
    pal_img.putpalette(colors.reshape(-1).tolist())
    im = Image.fromarray(img)
    return lambda: im.quantize(palette=pal_img, dither=Image.Dither.FLOYDSTEINBERG)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--megapixels", type=float, default=4.0)
    args = ap.parse_args()
    name, img = photo_at(args.megapixels)
    mpx = img.shape[0] * img.shape[1] / 1e6
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"photo: {name} {img.shape[1]}x{img.shape[0]} ({mpx:.1f} MP); best of {args.repeat}; "
          f"{os.cpu_count()} cores; load average {load}")
    for pal_name in ("pico-8", "nes"):
        pal = load_palette(pal_name)
        cube = get_cube(pal, "rgb").array
        t0 = time.perf_counter()
        dither_mod._blocks(cube, len(pal))
        blocks = time.perf_counter() - t0
        quantize(img[:64, :64], pal, dither="floyd-steinberg")  # compile outside the timing
        pil = best_of(pillow_fs(img, pal.colors), args.repeat)
        pil_rate = mpx / pil
        print(f"\npalette {pal_name} ({len(pal)} colours); two-level cube copy built once in "
              f"{blocks * 1e3:.0f} ms")
        print(f"  {'Pillow floyd-steinberg':34s} {pil_rate:7.1f} Mpx/s   1.00x")
        rows = [(d, "srgb", True) for d in list(DITHERS)[1:]]
        rows[1:1] = [("floyd-steinberg", "srgb", False), ("floyd-steinberg", "linear", True)]
        rows += [(d, "linear", True) for d in DIFFUSION[1:]]
        for dither, space, serpentine in rows:
            quantize(img[:64, :64], pal, dither=dither, dither_space=space)
            t = best_of(lambda: quantize(img, pal, dither=dither, dither_space=space,
                                         serpentine=serpentine), args.repeat)
            label = f"{dither}" + ("" if dither not in DIFFUSION else f" {space}") + \
                ("" if serpentine else " no-serpentine")
            print(f"  {label:34s} {mpx / t:7.1f} Mpx/s {mpx / t / pil_rate:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
