"""Palette file formats: a suffix -> reader/writer registry.

A reader takes a Path and returns (name or None, colors (K, 3) uint8).
A writer takes (Palette, Path) and writes the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PaletteError

READERS: dict = {}
WRITERS: dict = {}


def read_palette_file(path: Path) -> tuple[str | None, np.ndarray]:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise PaletteError(str(path), f"unknown palette format {path.suffix!r} (known: {known})")
    if not path.is_file():
        raise PaletteError(str(path), "no such file")
    return reader(path)
