"""Dither quality beside Pillow and ImageMagick, measured in the same run on real photos.

    pip install scikit-image        # the photos (fetched on first use if not bundled), CIEDE2000
    apt-get install imagemagick     # ImageMagick's -remap, the peer
    python benchmarks/bench_quality.py [--photos astronaut,chelsea] [--palettes pico-8,nes]

For every photo x palette, every palcli dither mode (default settings: error accumulated in
linear light) and, in the same run, Pillow's Floyd-Steinberg (Image.quantize(palette=...)) and
ImageMagick's `-remap` with `-dither FloydSteinberg` and `-dither Riemersma`, two numbers:

- low-pass error: original and output are blurred with a Gaussian of sigma 1.5 px in linear
  light, converted to CIELAB (D65), and compared by the mean CIEDE2000: how far the colour seen
  from a distance is from the photo's;
- pixel error: the mean CIEDE2000 of the unblurred pixels: how noisy the output is up close.

Then the frame-to-frame stability of each mode on an animation this script makes (a sprite
moving over a still photo): the pixels outside the sprite, in either of two consecutive frames,
whose palette index changes between them, summed over the frames. The targets are checked at the
end. The photos are never written into the repository: they come from scikit-image.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

os.environ.setdefault("PALCLI_CACHE_DIR", tempfile.mkdtemp(prefix="palcli-bench-"))

from palcli import load_palette, quantize  # noqa: E402
from palcli.dither import DIFFUSION, DITHERS  # noqa: E402

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
PALETTES = ("pico-8", "nes", "gameboy", "c64", "xterm-256")
SIGMA = 1.5  # pixels: the blur of the low-pass error
FRAMES = 8
PEERS = ("pillow floyd-steinberg", "magick FloydSteinberg", "magick Riemersma")
ORDERED_TARGET = {"pattern": 1.5, "bayer2": 2.5, "bayer4": 2.5, "bayer8": 2.5, "bayer16": 2.5,
                  "blue-noise": 2.5}
REFERENCE = "floyd-steinberg"  # linear light, palcli's default


def load_photo(name: str) -> np.ndarray:
    """A scikit-image photo as (H, W, 3) uint8 (skimage.data fetches those it does not ship)."""
    from skimage import data

    img = np.asarray(getattr(data, name)())
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, 2)
    return np.ascontiguousarray(img[..., :3].astype(np.uint8))


# -- the two errors ----------------------------------------------------------------------------

def _linear(img8: np.ndarray) -> np.ndarray:
    c = img8.astype(np.float64) / 255  # IEC 61966-2-1 decoding
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab_of_linear(lin: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    lin = np.clip(lin, 0, 1)
    srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return rgb2lab(srgb, illuminant="D65")


def lowpass_lab(img8: np.ndarray) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return _lab_of_linear(gaussian_filter(_linear(img8), sigma=(SIGMA, SIGMA, 0), mode="reflect"))


def mean_de2000(lab_a: np.ndarray, lab_b: np.ndarray) -> float:
    from skimage.color import deltaE_ciede2000

    return float(deltaE_ciede2000(lab_a, lab_b).mean())


class Reference:
    """The photo's own Lab values, blurred and not, computed once."""

    def __init__(self, img8: np.ndarray):
        self.lowpass = lowpass_lab(img8)
        self.pixels = _lab_of_linear(_linear(img8))

    def errors(self, out8: np.ndarray) -> tuple[float, float]:
        return (mean_de2000(self.lowpass, lowpass_lab(out8)),
                mean_de2000(self.pixels, _lab_of_linear(_linear(out8))))


# -- the peers ---------------------------------------------------------------------------------

def magick_command() -> list[str]:
    """ImageMagick's command line tool: `magick` (7) or `convert` (6), checked to be the real one."""
    for name in ("magick", "convert"):
        path = shutil.which(name)
        if path is None:
            continue
        out = subprocess.run([path, "-version"], capture_output=True, text=True).stdout
        if out.startswith("Version: ImageMagick"):
            return [path]
    raise SystemExit("bench_quality needs ImageMagick: apt-get install -y imagemagick")


class Peers:
    def __init__(self, colors: np.ndarray, workdir: str):
        self.colors = colors
        self.magick = magick_command()
        self.dir = workdir
        self.map_png = os.path.join(workdir, "palette.png")
        Image.fromarray(colors[None, :, :], "RGB").save(self.map_png)
        self.pil_pal = Image.new("P", (1, 1))
        self.pil_pal.putpalette(colors.reshape(-1).tolist())

    def run(self, peer: str, img8: np.ndarray) -> np.ndarray:
        if peer == "pillow floyd-steinberg":
            im = Image.fromarray(img8).quantize(palette=self.pil_pal,
                                                dither=Image.Dither.FLOYDSTEINBERG)
            return np.asarray(im.convert("RGB"))
        src, dst = os.path.join(self.dir, "in.png"), os.path.join(self.dir, "out.png")
        Image.fromarray(img8).save(src)
        method = peer.split()[1]
        subprocess.run(self.magick + [src, "-dither", method, "-remap", self.map_png,
                                      "PNG24:" + dst], check=True, capture_output=True)
        with Image.open(dst) as im:
            return np.asarray(im.convert("RGB"))

    def indices(self, out8: np.ndarray) -> np.ndarray:
        """Palette indices of an output made of palette colours (first index of a duplicate)."""
        key = lambda c: (c[..., 0].astype(np.int64) << 16) | (c[..., 1].astype(np.int64) << 8) \
            | c[..., 2]  # noqa: E731
        keys = key(self.colors)
        order = np.argsort(keys, kind="stable")
        pos = np.searchsorted(keys[order], key(out8))
        pos = np.minimum(pos, len(keys) - 1)
        if not np.array_equal(keys[order][pos], key(out8)):
            raise RuntimeError("a peer wrote colours outside the palette")
        return order[pos]


# -- the runs ----------------------------------------------------------------------------------

CLAMP = 0.1  # the --dither-clamp row


def modes() -> list[tuple[str, str]]:
    """(label, kind): every palcli mode at its defaults, sRGB and clamped Floyd-Steinberg, then
    the peers."""
    rows = [(d, "palcli") for d in DITHERS]
    rows[2:2] = [("floyd-steinberg srgb", "palcli"), (f"floyd-steinberg clamp {CLAMP}", "palcli")]
    return rows + [(p, "peer") for p in PEERS]


def render(label: str, kind: str, img8: np.ndarray, pal, peers: Peers) -> np.ndarray:
    """The output's palette indices."""
    if kind == "peer":
        return peers.indices(peers.run(label, img8))
    dither, _, option = label.partition(" ")
    if option.startswith("clamp"):
        return quantize(img8, pal, dither=dither, dither_clamp=float(option.split()[1]))
    return quantize(img8, pal, dither=dither, dither_space=option or None)


def animation(photo: np.ndarray, frames: int = FRAMES):
    """(frames, sprite masks): a 32 px disc with a colour ramp, moving 5 px right and 3 px down
    each frame over a still photo."""
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:32, 0:32]
    disc = (yy - 15.5) ** 2 + (xx - 15.5) ** 2 < 15.5 ** 2
    sprite = np.stack([xx * 8, 255 - yy * 8, np.full_like(xx, 200)], -1).astype(np.uint8)
    out, masks = [], []
    for f in range(frames):
        y0, x0 = h // 4 + 3 * f, w // 4 + 5 * f
        frame = photo.copy()
        mask = np.zeros((h, w), bool)
        mask[y0:y0 + 32, x0:x0 + 32] = disc
        frame[mask] = sprite[disc]
        out.append(frame)
        masks.append(mask)
    return out, masks


def changed_outside(indices: list[np.ndarray], masks: list[np.ndarray]) -> int:
    return sum(int(((a != b) & ~(ma | mb)).sum())
               for a, b, ma, mb in zip(indices, indices[1:], masks, masks[1:]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=",".join(PHOTOS))
    ap.add_argument("--palettes", default=",".join(PALETTES))
    args = ap.parse_args()
    photo_names, palette_names = args.photos.split(","), args.palettes.split(",")
    photos = {n: load_photo(n) for n in photo_names}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"photos: {', '.join(f'{n} {p.shape[1]}x{p.shape[0]}' for n, p in photos.items())}; "
          f"low-pass sigma {SIGMA} px in linear light; load average {load}")
    print("each cell: low-pass error / pixel error (mean CIEDE2000); x: low-pass error over "
          f"palcli {REFERENCE}'s (linear light)")
    rows = modes()
    lowpass: dict[tuple[str, str, str], float] = {}
    changed: dict[tuple[str, str], int] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="palcli-quality-") as work:
        for pal_name in palette_names:
            pal = load_palette(pal_name)
            peers = Peers(pal.colors, work)
            print(f"\n{pal_name} ({len(pal)} colours)")
            print(f"  {'mode':24s}" + "".join(f"{n:>22s}" for n in photo_names))
            cells: dict[str, list[str]] = {label: [] for label, _ in rows}
            for name, img in photos.items():
                ref = Reference(img)
                for label, kind in rows:
                    out = pal.colors[render(label, kind, img, pal, peers)]
                    lp, px = ref.errors(out)
                    lowpass[pal_name, name, label] = lp
                    cells[label].append((lp, px))
            for label, _ in rows:
                text = ""
                for name, (lp, px) in zip(photo_names, cells[label]):
                    ratio = lp / lowpass[pal_name, name, REFERENCE]
                    text += f"{lp:7.2f} /{px:6.2f} {ratio:5.2f}x"
                print(f"  {label:24s}{text}")
            frames, masks = animation(photos[photo_names[0]])
            for label, kind in rows:
                changed[pal_name, label] = changed_outside(
                    [render(label, kind, f, pal, peers) for f in frames], masks)
    print(f"\nstability: pixels outside the sprite whose index changed, {FRAMES} frames over "
          f"{photo_names[0]}")
    print(f"  {'mode':24s}" + "".join(f"{p:>11s}" for p in palette_names))
    for label, _ in rows:
        print(f"  {label:24s}" + "".join(f"{changed[p, label]:11d}" for p in palette_names))
    ok = report_targets(lowpass, changed, photo_names, palette_names)
    print(f"\n{time.perf_counter() - t0:.0f} s")
    return 0 if ok else 1


def report_targets(lowpass, changed, photo_names, palette_names) -> bool:
    cases = [(p, n) for p in palette_names for n in photo_names]
    print("\ntargets")
    ok = True

    def line(what: str, values: dict, limit: float, fmt="{:.2f}x") -> None:
        nonlocal ok
        where = max(values, key=values.get)
        over = sum(v > limit for v in values.values())
        ok &= over == 0
        print(f"  {'met   ' if over == 0 else 'MISSED'} {what}: worst " + fmt.format(values[where])
              + f" ({where[1]}, {where[0]}), limit " + fmt.format(limit)
              + f"; {over} of {len(values)} cases over")

    for mode, limit in ORDERED_TARGET.items():
        line(f"{mode} low-pass error / linear floyd-steinberg's",
             {c: lowpass[c + (mode,)] / lowpass[c + (REFERENCE,)] for c in cases}, limit)
    for mode in DIFFUSION:
        line(f"{mode} (linear) low-pass error - Pillow floyd-steinberg's",
             {c: lowpass[c + (mode,)] - lowpass[c + (PEERS[0],)] for c in cases}, 0.0, "{:+.2f}")
    for mode in ORDERED_TARGET:
        total = sum(changed[p, mode] for p in palette_names)
        print(f"  {'met   ' if total == 0 else 'MISSED'} {mode}: {total} pixels outside the "
              "sprite changed")
        ok &= total == 0
    return ok


if __name__ == "__main__":
    sys.exit(main())
