"""The preview contact sheet: one image under several metrics and dither modes, side by side.

    sheet = contact_sheet(img, "pico-8", metrics=["rgb", "oklab"], dithers=["none", "bayer8"])
    sheet.save("sheet.png")

One row per metric; the row starts with the original, then one tile per dither mode, each
captioned. The image is shrunk to the tile size before it is mapped, so every dither pattern is
shown pixel for pixel, as it would be in a real conversion.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .dither import DITHERS, check_dither
from .metrics import METRICS, check_metric

BACKGROUND = (32, 32, 32)
TEXT = (230, 230, 230)
GAP = 8  # between tiles and around the sheet
CAPTION = 20  # caption strip under each tile
MIN_TILE = 16


def contact_sheet(img: np.ndarray, palette, metrics: Sequence[str] | None = None,
                  dithers: Sequence[str] | None = None, *, tile: int = 256,
                  dither_strength: float = 1.0, serpentine: bool = True,
                  dither_space: str | None = None, dither_clamp: float | None = None):
    """A Pillow RGB image: the original and img mapped onto palette under each metric (rows) and
    each dither mode (columns). metrics/dithers default to every registered one; tile is the
    longest side of each picture in pixels. Alpha is ignored. Reads and writes no files."""
    from PIL import Image, ImageDraw

    from .palette import load_palette
    from .quantize import remap

    metrics = _names(metrics, METRICS, check_metric, "metrics")
    dithers = _names(dithers, DITHERS, check_dither, "dithers")
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < MIN_TILE:
        raise ValueError(f"tile must be an integer of at least {MIN_TILE} pixels; got {tile!r}")
    pal = load_palette(palette)
    small = _shrink(img, int(tile))
    h, w = small.shape[:2]
    cols = 1 + len(dithers)
    sheet = Image.new("RGB", (GAP + cols * (w + GAP), GAP + len(metrics) * (h + CAPTION + GAP)),
                      BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font()
    for row, metric in enumerate(metrics):
        y = GAP + row * (h + CAPTION + GAP)
        cells = [("original", small)]
        cells += [(f"{metric} · {dither}",
                   remap(small, pal, metric=metric, dither=dither, dither_strength=dither_strength,
                         serpentine=serpentine, dither_space=dither_space,
                         dither_clamp=dither_clamp)) for dither in dithers]
        for col, (caption, pixels) in enumerate(cells):
            x = GAP + col * (w + GAP)
            sheet.paste(Image.fromarray(np.ascontiguousarray(pixels), "RGB"), (x, y))
            draw.text((x, y + h + 3), _fit(draw, caption, font, w), fill=TEXT, font=font)
    return sheet


def _names(names, registry, check, what: str) -> list[str]:
    if names is None:
        return list(registry)
    if isinstance(names, str):
        names = [names]
    names = list(dict.fromkeys(names))  # keep order, drop repeats
    if not names:
        raise ValueError(f"{what} must name at least one entry")
    for name in names:
        check(name)
    return names


def _shrink(img, tile: int) -> np.ndarray:
    """img as RGB, scaled down (never up) so its longest side is at most tile."""
    from PIL import Image

    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 \
            or img.shape[2] not in (3, 4) or 0 in img.shape[:2]:
        raise ValueError("img must be a non-empty (H, W, 3) or (H, W, 4) uint8 array, got "
                         f"{getattr(img, 'shape', type(img).__name__)} "
                         f"{getattr(img, 'dtype', '')}".rstrip())
    rgb = np.ascontiguousarray(img[..., :3])
    h, w = rgb.shape[:2]
    scale = tile / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb, "RGB").resize(size, Image.Resampling.LANCZOS))


def _font():
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=13)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _fit(draw, text: str, font, width: int) -> str:
    """text, shortened with an ellipsis until it fits in width pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"
