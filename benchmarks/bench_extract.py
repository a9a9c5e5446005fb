"""palcli palette extract against the quantizers users reach for, all measured in this one run.

    pip install scikit-image        # benchmarks/photos.py takes its real photographs from it
    apt-get install pngquant imagemagick
    python benchmarks/bench_extract.py [--sizes 8 16 32 64] [--photos 8] [--repeat 5]

Quality: for each of scikit-image's colour photos (at their own sizes) and each N, every
method makes an N-colour palette and the photo is mapped onto it without dithering, each pixel
to its nearest palette colour under CIEDE2000 (palcli's exact nearest, the same mapping for
every palette, the one that gives each palette its least error); the score is the mean
CIEDE2000 between photo and mapped photo. Methods:
  palcli      palcli.extract.extract_palette(photo, N, metric="ciede2000")
  pngquant    `pngquant N` (Debian's), its PNG's palette read back
  mediancut, maxcoverage, octree   Pillow's Image.quantize(N, method=...)
  magick      ImageMagick `convert +dither -colors N`, the output's colours read back
A second table does the same with palcli's default metric, oklab (extraction and mapping),
against pngquant, with both CIEDE2000 and the OKLab distance (x100) as scores.
Speed: one 1 MP photo, N = 16, whole processes, best of --repeat: `palcli palette extract` (default
metric, and --metric ciede2000) against `pngquant 16`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photos import photo_at, photos  # noqa: E402
from timing import best_of  # noqa: E402

from palcli.extract import HistogramBuilder, extract_palette  # noqa: E402
from palcli.nearest import distance, nearest, to_space  # noqa: E402

PEERS = ("pngquant", "mediancut", "maxcoverage", "octree", "magick")
PILLOW_METHODS = {"mediancut": Image.Quantize.MEDIANCUT, "maxcoverage": Image.Quantize.MAXCOVERAGE,
                  "octree": Image.Quantize.FASTOCTREE}


def magick() -> list[str]:
    exe = shutil.which("magick")
    if exe:
        return [exe, "convert"]
    exe = shutil.which("convert")
    if exe is None:
        raise SystemExit("ImageMagick is needed for the comparison: apt-get install imagemagick")
    return [exe]


def palcli_cmd(*args) -> list[str]:
    exe = Path(sys.executable).parent / "palcli"
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "palcli.cli", *args]


def run(cmd) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pngquant_palette(src: Path, n: int, work: Path) -> np.ndarray:
    out = work / "pngquant.png"
    run(["pngquant", str(n), "--force", "--output", str(out), str(src)])
    with Image.open(out) as im:
        return np.array(im.getpalette("RGB"), np.uint8).reshape(-1, 3)


def magick_palette(src: Path, n: int, work: Path) -> np.ndarray:
    out = work / "magick.png"
    run(magick() + [str(src), "+dither", "-colors", str(n), str(out)])
    with Image.open(out) as im:
        return np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)


def pillow_palette(img: np.ndarray, n: int, method) -> np.ndarray:
    q = Image.fromarray(img).quantize(n, method=method, dither=Image.Dither.NONE)
    return np.unique(np.array(q.getpalette("RGB"), np.uint8).reshape(-1, 3)[:n], axis=0)


class Scorer:
    """Mean distances of a photo mapped onto a palette, over its distinct colours."""

    def __init__(self, img: np.ndarray):
        b = HistogramBuilder()
        b.add(img)
        hist = b.result()
        self.colors, self.weights = hist.colors, hist.counts / hist.counts.sum()
        self.lab = to_space(self.colors, "ciede2000")
        self.oklab = to_space(self.colors, "oklab")

    def score(self, palette: np.ndarray, metric: str) -> tuple[float, float]:
        """(mean CIEDE2000, mean OKLab distance x 100) when each pixel takes its nearest
        palette colour under metric."""
        points = self.lab if metric == "ciede2000" else self.oklab
        index, _ = nearest(points, to_space(palette, metric), metric)
        lab_pal, ok_pal = to_space(palette, "ciede2000"), to_space(palette, "oklab")
        de00 = distance(self.lab, lab_pal[index], "ciede2000")
        dok = np.sqrt(((self.oklab - ok_pal[index]) ** 2).sum(1))
        return float(self.weights @ de00), float(self.weights @ dok) * 100


def quality(pictures, sizes, work: Path) -> None:
    print("mean CIEDE2000 of the photo mapped (no dither, nearest under ciede2000) onto each "
          "N-colour palette; lower is better")
    header = f"  {'photo':18s} {'N':>3s} {'palcli':>8s}" + "".join(f" {p:>11s}" for p in PEERS)
    print(header)
    wins = {"pngquant": 0, "others": 0}
    cells = 0
    gaps = []
    oklab_rows = []
    for name, img in pictures:
        src = work / f"{name}.png"
        Image.fromarray(img).save(src)
        scorer = Scorer(img)
        for n in sizes:
            ours = scorer.score(extract_palette(img, n, metric="ciede2000").colors, "ciede2000")[0]
            pq = pngquant_palette(src, n, work)
            peers = {"pngquant": scorer.score(pq, "ciede2000")[0],
                     "magick": scorer.score(magick_palette(src, n, work), "ciede2000")[0]}
            for peer, method in PILLOW_METHODS.items():
                peers[peer] = scorer.score(pillow_palette(img, n, method), "ciede2000")[0]
            cells += 1
            wins["pngquant"] += ours <= peers["pngquant"]
            wins["others"] += all(ours < peers[p] for p in PEERS if p != "pngquant")
            gaps.append(ours / peers["pngquant"])
            print(f"  {name:18s} {n:3d} {ours:8.3f}" + "".join(f" {peers[p]:11.3f}" for p in PEERS),
                  flush=True)
            default = scorer.score(extract_palette(img, n).colors, "oklab")
            oklab_rows.append((name, n, default, scorer.score(pq, "oklab")))
    print(f"  palcli at or below pngquant: {wins['pngquant']}/{cells} (target {cells}/{cells}); "
          f"below every other peer: {wins['others']}/{cells} (target {cells}/{cells}); "
          f"palcli / pngquant mean {np.mean(gaps):.3f}, worst {max(gaps):.3f}")
    print()
    print("default metric oklab (extraction and mapping): mean CIEDE2000 and mean OKLab "
          "distance x100, palcli vs pngquant")
    print(f"  {'photo':18s} {'N':>3s} {'palcli dE00':>12s} {'pngquant':>9s} "
          f"{'palcli dOK':>11s} {'pngquant':>9s}")
    ok_wins = de_wins = 0
    for name, n, (de, ok), (pde, pok) in oklab_rows:
        ok_wins += ok <= pok
        de_wins += de <= pde
        print(f"  {name:18s} {n:3d} {de:12.3f} {pde:9.3f} {ok:11.3f} {pok:9.3f}")
    print(f"  palcli at or below pngquant: OKLab distance {ok_wins}/{len(oklab_rows)}, "
          f"CIEDE2000 {de_wins}/{len(oklab_rows)}")


def speed(work: Path, repeat: int) -> None:
    name, img = photo_at(1.0, 0)
    src = work / "one.png"
    Image.fromarray(img).save(src)
    h, w = img.shape[:2]
    run(palcli_cmd("palette", "extract", str(src), "-n", "16", "-o", str(work / "warm.gpl")))
    run(palcli_cmd("palette", "extract", str(src), "-n", "16", "-m", "ciede2000",
                   "-o", str(work / "warm.gpl")))  # compiled kernels cached before timing
    times = {
        "palcli (oklab)": best_of(lambda: run(palcli_cmd(
            "palette", "extract", str(src), "-n", "16", "-o", str(work / "p.gpl"))), repeat),
        "palcli -m ciede2000": best_of(lambda: run(palcli_cmd(
            "palette", "extract", str(src), "-n", "16", "-m", "ciede2000",
            "-o", str(work / "p.gpl"))), repeat),
        "pngquant 16": best_of(lambda: run(["pngquant", "16", "--force", "--output",
                                            str(work / "q.png"), str(src)]), repeat),
    }
    print(f"extraction time, one {w}x{h} photo ({name}), N = 16, whole process, "
          f"best of {repeat}:")
    for label, secs in times.items():
        print(f"  {label:22s} {secs:7.3f} s")
    ratio = times["palcli (oklab)"] / times["pngquant 16"]
    print(f"  palcli / pngquant time {ratio:.2f} (target <= 2); with -m ciede2000 "
          f"{times['palcli -m ciede2000'] / times['pngquant 16']:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--photos", type=int, default=8, help="how many of the photos")
    ap.add_argument("--repeat", type=int, default=5, help="best of N for the timings")
    args = ap.parse_args()
    if shutil.which("pngquant") is None:
        raise SystemExit("pngquant is needed for the comparison: apt-get install pngquant")
    magick()
    work = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    try:
        t = time.perf_counter()
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"({os.cpu_count()} cores)")
        quality(photos()[:args.photos], args.sizes, work)
        print()
        speed(work, args.repeat)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              f"run took {time.perf_counter() - t:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
