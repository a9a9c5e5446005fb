"""Make the README's pictures: docs/preview.png, docs/dither-modes.png, docs/dither-clamp.png
and docs/dither-space.png.

    pip install scikit-image   # the photograph (as in benchmarks/)
    python scripts/make_docs_images.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from photos import photos  # noqa: E402

from palcli import remap  # noqa: E402
from palcli.preview import BACKGROUND, TEXT, _font, contact_sheet  # noqa: E402


def _cat() -> np.ndarray:
    return dict(photos())["chelsea"][20:300, 80:360]  # the cat's face


def preview_sheet() -> Image.Image:
    return contact_sheet(_cat(), "pico-8", ["rgb", "oklab"],
                         ["none", "floyd-steinberg", "atkinson", "bayer4", "blue-noise"], tile=140)


def _stack(sheets: list[tuple[str, Image.Image]]) -> Image.Image:
    """Contact sheets one above the other, each under a caption line."""
    width = max(s.width for _, s in sheets)
    out = Image.new("RGB", (width, sum(s.height + 20 for _, s in sheets)), BACKGROUND)
    draw = ImageDraw.Draw(out)
    y = 0
    for caption, sheet in sheets:
        draw.text((8, y + 4), caption, fill=TEXT, font=_font())
        out.paste(sheet, (0, y + 20))
        y += sheet.height + 20
    return out


def dither_modes_sheet() -> Image.Image:
    """One photo under none, floyd-steinberg, pattern and bayer8, for two palettes."""
    modes = ["none", "floyd-steinberg", "pattern", "bayer8"]
    return _stack([(f"palette {pal}", contact_sheet(_cat(), pal, ["rgb"], modes, tile=180))
                   for pal in ("pico-8", "nes")])


def dither_clamp_sheet() -> Image.Image:
    """A palette far from the photo: diffusion without and with --dither-clamp."""
    sheets = []
    for clamp in (None, 0.1):
        caption = "gameboy, " + ("no clamp" if clamp is None else f"--dither-clamp {clamp}")
        sheets.append((caption, contact_sheet(_cat(), "gameboy", ["rgb"],
                                              ["floyd-steinberg", "sierra"], tile=180,
                                              dither_clamp=clamp)))
    return _stack(sheets)


def dither_space_strip() -> Image.Image:
    """A grey ramp in black and white: as is, diffused in sRGB values, diffused in linear light."""
    row = np.rint(np.linspace(0, 255, 512)).astype(np.uint8)
    ramp = np.ascontiguousarray(np.repeat(row[None, :, None], 40, 0).repeat(3, 2))
    bands = [("input", ramp)] + [(f"floyd-steinberg, --dither-space {space}",
                                  remap(ramp, "1bit", dither="floyd-steinberg", dither_space=space))
                                 for space in ("srgb", "linear")]
    out = Image.new("RGB", (512 + 16, 8 + 3 * (40 + 28)), BACKGROUND)
    draw = ImageDraw.Draw(out)
    for i, (caption, pixels) in enumerate(bands):
        y = 8 + i * (40 + 28)
        draw.text((8, y), caption, fill=TEXT, font=_font())
        out.paste(Image.fromarray(pixels), (8, y + 20))
    return out


def main() -> int:
    (ROOT / "docs").mkdir(exist_ok=True)
    preview_sheet().save(ROOT / "docs" / "preview.png", optimize=True)
    dither_modes_sheet().save(ROOT / "docs" / "dither-modes.png", optimize=True)
    dither_clamp_sheet().save(ROOT / "docs" / "dither-clamp.png", optimize=True)
    dither_space_strip().save(ROOT / "docs" / "dither-space.png", optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
