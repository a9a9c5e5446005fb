"""Images as palettes (.png, .gif, .bmp), read with Pillow (imported only when needed).

- An indexed image (mode P) gives its own palette, in order, up to the highest index its
  pixels use: GIF and BMP pad palettes to a power of two, and that padding is not colour.
- Any other image gives its distinct colours in first-seen order (rows top to bottom, each
  left to right); fully transparent pixels are skipped.

Writing makes a swatch image: 16 x 16 pixel cells in rows of 16, indexed when the palette
fits (so reading it back gives the same colours, duplicates included), RGB otherwise.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from ..errors import PalcliWarning, PaletteError
from ._common import as_colors


def read(path: Path):
    from PIL import Image, UnidentifiedImageError

    source = str(path)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; a palette has no need of that.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                if im.mode == "P":
                    colors = _indexed_palette(im)
                else:
                    colors = _first_seen(im, source)
    except UnidentifiedImageError:
        raise PaletteError(source, "not an image Pillow can read") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise PaletteError(source, f"the image is over Pillow's limit of "
                                   f"{Image.MAX_IMAGE_PIXELS} pixels") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise PaletteError(source, f"cannot read the image: {exc}") from None
    return None, as_colors(colors, path), None


def _indexed_palette(im) -> np.ndarray:
    indices = np.asarray(im)
    table = np.array(im.getpalette("RGB") or [], dtype=np.uint8).reshape(-1, 3)
    used = min(int(indices.max()) + 1 if indices.size else 0, len(table))
    # A fully transparent entry at the end (where palcli's own indexed output keeps it) is
    # not a palette colour.
    alpha = _entry_alpha(im, len(table))
    while used and alpha[used - 1] == 0:
        used -= 1
    return table[:used]


def _entry_alpha(im, n: int) -> list[int]:
    alpha = [255] * n
    transparency = im.info.get("transparency")
    if isinstance(transparency, int) and 0 <= transparency < n:
        alpha[transparency] = 0
    elif isinstance(transparency, bytes):
        alpha[:len(transparency)] = list(transparency[:n])
    return alpha


def _first_seen(im, source: str) -> np.ndarray:
    rgba = np.asarray(im.convert("RGBA"))
    pixels = rgba.reshape(-1, 4)
    pixels = pixels[pixels[:, 3] > 0]
    if len(pixels) == 0:
        raise PaletteError(source, "no colours found: every pixel is fully transparent")
    packed = (pixels[:, 0].astype(np.uint32) << 16) | (pixels[:, 1].astype(np.uint32) << 8) | pixels[:, 2]
    values, first = np.unique(packed, return_index=True)
    if len(values) > 256:
        warnings.warn(f"{source}: not an indexed image; its {len(values)} distinct colours "
                      f"became the palette", PalcliWarning, stacklevel=4)
    ordered = values[np.argsort(first)]
    return np.stack([(ordered >> 16) & 255, (ordered >> 8) & 255, ordered & 255], axis=1).astype(np.uint8)


def swatch_writer(fmt: str):
    def write(palette) -> bytes:
        return _swatch(palette, fmt)

    return write


def _swatch(palette, fmt: str) -> bytes:
    from PIL import Image

    k = len(palette)
    cell, columns = (16, 16) if k <= 256 else (4, 64)
    columns = min(columns, k)
    rows = -(-k // columns)
    # Empty cells at the end repeat the last colour: no new colour, and the order read back
    # (by index or first seen) is unchanged.
    grid = np.full(rows * columns, k - 1, dtype=np.int64)
    grid[:k] = np.arange(k)
    grid = grid.reshape(rows, columns).repeat(cell, axis=0).repeat(cell, axis=1)
    if k <= 256:
        im = Image.frombytes("P", (grid.shape[1], grid.shape[0]), grid.astype(np.uint8).tobytes())
        im.putpalette(palette.colors.tobytes(), rawmode="RGB")
    else:
        im = Image.fromarray(np.ascontiguousarray(palette.colors[grid]))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()
