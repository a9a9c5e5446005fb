"""Palette file formats: the suffix -> reader/writer registry.

A reader takes a Path and returns (name or None, colors (K, 3) uint8, colour names or None).
A writer takes a Palette and returns the file's bytes; write_palette_file writes them atomically.
Colour names are read from .gpl, JSON, .ase and Paint.NET files and written to .gpl and JSON.
Each format lives in its own small module; this table is the one list of what palcli reads
and writes, used by the CLI's help, the docs and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from ..errors import PaletteError
from . import act, ase, gpl, hexfile, image, jsonfmt, pal, paintnet
from ._common import atomic_write


@dataclass(frozen=True)
class Format:
    description: str
    read: Callable | None = None
    write: Callable | None = None
    check: Callable | None = None  # check(palette, path): refuse before anything is written


PALETTE_FORMATS: dict[str, Format] = {
    ".gpl": Format("GIMP palette", gpl.read, gpl.write),
    ".json": Format("JSON list of hex colours, {\"colors\": [...]} or lospec export",
                    jsonfmt.read, jsonfmt.write),
    ".hex": Format("one rrggbb per line (lospec)", hexfile.read, hexfile.write),
    ".txt": Format("Paint.NET palette (aarrggbb, ';' comments)", paintnet.read),
    ".pal": Format("JASC palette (RIFF palettes are read too)", pal.read, pal.write),
    ".act": Format("Adobe colour table (at most 256 colours)", act.read, act.write, act.check),
    ".ase": Format("Adobe Swatch Exchange", ase.read),
    ".png": Format("image: indexed palette or distinct colours; written as a swatch",
                   image.read, image.swatch_writer("PNG")),
    ".gif": Format("image: indexed palette or distinct colours", image.read),
    ".bmp": Format("image: indexed palette or distinct colours", image.read),
}
READERS: dict[str, Callable] = {s: f.read for s, f in PALETTE_FORMATS.items() if f.read}
WRITERS: dict[str, Callable] = {s: f.write for s, f in PALETTE_FORMATS.items() if f.write}


class PaletteFile(NamedTuple):
    name: str | None  # the palette's name in the file, if it has one
    colors: np.ndarray  # (K, 3) uint8
    names: list[str | None] | None  # a name (or None) per colour; None when the format has none


def read_palette_file(path: Path) -> PaletteFile:
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(READERS)
        raise PaletteError(str(path), f"unknown palette format {path.suffix!r} (known: {known})")
    if not path.is_file():
        raise PaletteError(str(path), "no such file")
    return PaletteFile(*reader(path))


def check_writable(path) -> Format:
    """The format path's suffix names; PaletteError when palcli cannot write it."""
    path = Path(path)
    fmt = PALETTE_FORMATS.get(path.suffix.lower())
    if fmt is None or fmt.write is None:
        known = ", ".join(WRITERS)
        raise PaletteError(str(path), f"cannot write palette format {path.suffix!r} (writable: {known})")
    return fmt


def write_palette_file(palette, path: Path) -> None:
    """Write palette to path in the format its suffix names; atomically, nothing on error."""
    path = Path(path)
    fmt = check_writable(path)
    if fmt.check is not None:
        fmt.check(palette, path)
    atomic_write(path, fmt.write(palette))
