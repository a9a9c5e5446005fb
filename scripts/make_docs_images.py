"""Make the README's pictures: docs/preview.png and docs/dither-space.png.

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


def preview_sheet() -> Image.Image:
    cat = dict(photos())["chelsea"][20:300, 80:360]  # the cat's face
    return contact_sheet(cat, "pico-8", ["rgb", "oklab"],
                         ["none", "floyd-steinberg", "atkinson", "bayer4", "blue-noise"], tile=140)


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
    dither_space_strip().save(ROOT / "docs" / "dither-space.png", optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
