"""The preview contact sheet: one image under several metrics and dither modes, side by side.

    sheet = contact_sheet(img, "pico-8", metrics=["rgb", "oklab"], dithers=["none", "bayer8"])
    sheet.save("sheet.png")

One row per metric; the row starts with the original, then one tile per dither mode, each
captioned; transparent pixels show a checkerboard. The image is shrunk to the tile size before it is mapped, so every dither pattern is
shown pixel for pixel, as it would be in a real conversion.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._validate import check_choice, check_image
from .cube import cube_for
from .dither import DEFAULT_DITHER_SPACE, DITHERS, DitherParams
from .metrics import METRICS
from .palette import load_palette
from .mapping import map_indices

BACKGROUND = (32, 32, 32)
TEXT = (230, 230, 230)
GAP = 8  # between tiles and around the sheet
CAPTION = 20  # caption strip under each tile
MIN_TILE = 16
CHECKER = 8  # pixels per checkerboard square


def contact_sheet(img: np.ndarray, palette, metrics: Sequence[str] | None = None,
                  dithers: Sequence[str] | None = None, *, tile: int = 256,
                  dither_strength: float = 1.0, serpentine: bool = True,
                  dither_space: str | None = None, dither_clamp: float | None = None,
                  alpha_threshold: int = 128):
    """A Pillow RGB image: the original and img mapped onto palette under each metric (rows) and
    each dither mode (columns). metrics/dithers default to every registered one; tile is the
    longest side of each picture in pixels. Pixels with alpha below alpha_threshold are drawn
    as a checkerboard, as convert would make them transparent. Reads and writes no files."""
    img = check_image(img)
    if 0 in img.shape[:2]:
        raise ValueError(f"img must have at least one pixel; got shape {img.shape}")
    metrics = _names(metrics, METRICS, "metric", "metrics")
    space = DEFAULT_DITHER_SPACE if dither_space is None else dither_space
    params = [DitherParams(d, dither_strength, serpentine, space, dither_clamp)
              for d in _names(dithers, DITHERS, "dither", "dithers")]
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < MIN_TILE:
        raise ValueError(f"tile must be an integer of at least {MIN_TILE} pixels; got {tile!r}")
    if isinstance(alpha_threshold, bool) or not isinstance(alpha_threshold, (int, np.integer)) \
            or not 0 <= alpha_threshold <= 255:
        raise ValueError(f"alpha_threshold must be an integer in 0..255; got {alpha_threshold!r}")
    pal = load_palette(palette)
    ordered = any(DITHERS[p.mode].kind == "ordered" for p in params)
    if ordered:
        from .mixing import plans_ahead

        plans_ahead(pal.colors, space)  # the ordered columns' table, while the others draw
    try:
        return _draw(img, pal, metrics, params, int(tile), alpha_threshold)
    finally:
        if ordered:
            from .mixing import stop_ahead

            stop_ahead()


def _draw(img, pal, metrics, params, tile, alpha_threshold):
    from PIL import Image, ImageDraw

    small = _shrink(img, tile)
    rgb = np.ascontiguousarray(small[..., :3])
    h, w = rgb.shape[:2]
    board = _checkerboard(h, w)
    hidden = small[..., 3] < alpha_threshold if small.shape[2] == 4 else None
    tiles = {}
    # The ordered columns last: their table may still be on its way from plans_ahead's helper.
    for ordered in (False, True):
        for row, metric in enumerate(metrics):
            cube = cube_for(pal, metric).array
            for col, p in enumerate(params):
                if (DITHERS[p.mode].kind == "ordered") == ordered:
                    mapped = pal.colors[map_indices(rgb, cube, pal, p)]
                    if hidden is not None:
                        mapped[hidden] = board[hidden]
                    tiles[row, col] = mapped
    cols = 1 + len(params)
    sheet = Image.new("RGB", (GAP + cols * (w + GAP), GAP + len(metrics) * (h + CAPTION + GAP)),
                      BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font()
    for row, metric in enumerate(metrics):
        y = GAP + row * (h + CAPTION + GAP)
        cells = [("original", _over(small, board))]
        cells += [(f"{metric} · {p.mode}", tiles[row, col]) for col, p in enumerate(params)]
        for col, (caption, pixels) in enumerate(cells):
            x = GAP + col * (w + GAP)
            sheet.paste(Image.fromarray(np.ascontiguousarray(pixels), "RGB"), (x, y))
            draw.text((x, y + h + 3), _fit(draw, caption, font, w), fill=TEXT, font=font)
    return sheet


def _names(names, registry, what: str, plural: str) -> list[str]:
    if names is None:
        return list(registry)
    if isinstance(names, str):
        names = [names]
    names = list(dict.fromkeys(names))  # keep order, drop repeats
    if not names:
        raise ValueError(f"{plural} must name at least one entry")
    for name in names:
        check_choice(name, registry, what)
    return names


def _shrink(img: np.ndarray, tile: int) -> np.ndarray:
    """img, scaled down (never up) so its longest side is at most tile; alpha kept."""
    from PIL import Image

    h, w = img.shape[:2]
    scale = tile / max(h, w)
    if scale >= 1:
        return img
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    mode = "RGBA" if img.shape[2] == 4 else "RGB"
    return np.asarray(Image.fromarray(img, mode).resize(size, Image.Resampling.LANCZOS))


def _checkerboard(h: int, w: int) -> np.ndarray:
    """(h, w, 3) light and dark grey squares of CHECKER pixels: where a picture is transparent."""
    y, x = np.indices((h, w))
    light = ((y // CHECKER + x // CHECKER) % 2 == 0)[..., None]
    return np.where(light, np.uint8(204), np.uint8(153)).astype(np.uint8).repeat(3, axis=2)


def _over(img: np.ndarray, board: np.ndarray) -> np.ndarray:
    """img drawn over the checkerboard by its alpha (as it is, without alpha)."""
    if img.shape[2] == 3:
        return img
    a = img[..., 3:].astype(np.float64) / 255.0
    return np.rint(img[..., :3] * a + board * (1.0 - a)).astype(np.uint8)


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
