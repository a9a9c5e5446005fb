"""The output formats palcli writes: one table that the CLI's choices, the planner and the writer
all read. Importing it imports no Pillow.

Each format says which suffixes name it, Pillow's name for it, how many colours its indexed form
holds, whether it can hold RGB(A) pixels instead, whether its indexed form has a transparent
entry, whether it holds several frames, and the options palcli saves it with.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

from .errors import UsageError

# PNG compression, measured on 1 MP photos mapped to built-in palettes with the zlib-ng Pillow
# wheels ship (encoding is the largest part of a conversion):
# - Undithered, K <= 64: zlib's run-length strategy (Z_RLE) is both smaller and faster than
#   any level of the default strategy (PICO-8: 64 KiB in 10 ms against 75 KiB in 16 ms at level
#   4, 72 KiB in 31 ms at level 6 (zlib's and Pillow's default), 63 KiB in ~500 ms at level 9,
#   pngquant's choice); indices of an undithered image come in runs.
# - Otherwise (dithered, or more colours) runs are short: the default strategy at level 4, the
#   knee: 2-12% larger than level 6 in a third to half the time. Levels 1-3 are barely faster.
# Recompress with oxipng/zopflipng when bytes matter more than time.
PNG_COMPRESS_LEVEL = 4
RLE_MAX_COLORS = 64
STAMP_KEY = "palcli"  # the PNG text chunk holding the settings stamp
TIFF_DESCRIPTION = 270  # ImageDescription: holds the stamp in a TIFF


@dataclass(frozen=True)
class Encoding:
    """What the writer decided for one image, as the save options need it."""

    indexed: bool  # mode P (else RGB or RGBA)
    entries: int  # palette entries of an indexed image (K, plus the transparent one)
    runs: bool  # indices come in long runs (undithered, few colours)
    animated: bool
    stamp: str | None = None  # the settings stamp to carry (plan.Settings.stamp)


@dataclass(frozen=True)
class OutputFormat:
    name: str
    suffixes: tuple[str, ...]  # the first is the one palcli gives its outputs
    pillow: str  # Pillow's format name
    max_colors: int  # colours the indexed form holds
    direct: bool  # RGB(A) pixels can be written (for --rgb or palettes over max_colors)
    transparent_entry: bool  # the indexed form can mark one entry transparent
    alpha: bool  # the direct form keeps an alpha channel
    multi_frame: bool
    options: Callable[[Encoding], dict]  # Pillow save options beyond the frames
    frames_of: frozenset[str] = frozenset()  # input formats (Pillow's names) whose every
    # frame it holds: animations, and for TIFF the pages of a multi-page TIFF too


def _png(e: Encoding) -> dict:
    options = {"compress_level": PNG_COMPRESS_LEVEL,
               "compress_type": zlib.Z_RLE if e.runs else zlib.Z_DEFAULT_STRATEGY}
    if e.indexed:  # pin the bit depth: Pillow would otherwise pick it from the palette size
        options["bits"] = next(b for b in (1, 2, 4, 8) if e.entries <= 1 << b)
    if e.stamp:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text(STAMP_KEY, e.stamp)  # a tEXt chunk before the image data
        options["pnginfo"] = info
    return options


def _gif(e: Encoding) -> dict:
    options = {"optimize": False, **({"disposal": 1} if e.animated else {})}
    if e.stamp:
        options["comment"] = e.stamp.encode()
    return options


def _webp(e: Encoding) -> dict:
    return {"lossless": True, "exact": True, **({"xmp": e.stamp.encode()} if e.stamp else {})}


def _tiff(e: Encoding) -> dict:
    options = {"compression": "tiff_adobe_deflate"}
    if e.stamp:
        options["tiffinfo"] = {TIFF_DESCRIPTION: e.stamp}
    return options


ANIMATIONS = frozenset({"GIF", "PNG", "WEBP"})
OUTPUTS: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("png", (".png", ".apng"), "PNG", 256, True, True, True, True, _png, ANIMATIONS),
    OutputFormat("gif", (".gif",), "GIF", 256, False, True, False, True, _gif, ANIMATIONS),
    OutputFormat("webp", (".webp",), "WEBP", 0, True, False, True, True, _webp, ANIMATIONS),
    # BMP has nowhere to keep the stamp: --skip-existing goes by modification times alone.
    OutputFormat("bmp", (".bmp", ".dib"), "BMP", 256, True, False, False, False, lambda e: {}),
    OutputFormat("tiff", (".tiff", ".tif"), "TIFF", 256, True, False, True, True, _tiff,
                 ANIMATIONS | {"TIFF"}),
)}
SAME = "same"  # -f same: keep each input's format where palcli writes it, else PNG
FORMAT_CHOICES = ("png", SAME, "gif", "webp", "bmp", "tiff")
DEFAULT_FORMAT = "png"
# Suffixes that name no format palcli writes but that users try: they cannot hold palette
# colours exactly (lossy) or at all.
LOSSY_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".jxl", ".heic", ".avif"})


def format_of_suffix(suffix: str) -> str | None:
    """The output format a file suffix names ('.PNG' -> 'png'), or None."""
    suffix = suffix.lower()
    return next((f.name for f in OUTPUTS.values() if suffix in f.suffixes), None)


def keep_format(pillow_format: str | None) -> str:
    """-f same: the output format for an input Pillow read as pillow_format ('JPEG' -> png)."""
    return next((f.name for f in OUTPUTS.values() if f.pillow == pillow_format), DEFAULT_FORMAT)


def reads_all_frames(fmt: str, pillow_format: str | None) -> bool:
    """Whether output format fmt ('same' included) takes every frame of an input in
    pillow_format."""
    out = OUTPUTS[keep_format(pillow_format) if fmt == SAME else fmt]
    return pillow_format in out.frames_of


def writable_suffixes() -> str:
    return ", ".join(s for f in OUTPUTS.values() for s in f.suffixes)


def check_palette_fits(fmt: str, colors: int) -> None:
    """Refuse, before anything is written, a palette the format cannot hold."""
    f = OUTPUTS[fmt]
    if colors > f.max_colors and not f.direct:
        raise UsageError(f"{f.pillow} holds at most {f.max_colors} colours; the palette has "
                         f"{colors}")


def suffix_for(fmt: str) -> str:
    return OUTPUTS[fmt].suffixes[0]
