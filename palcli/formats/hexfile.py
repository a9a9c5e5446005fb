"""Plain hex lists (.hex), as exported by lospec.com: one 'rrggbb' per line, '#' optional."""

from __future__ import annotations

from pathlib import Path

from ..errors import PaletteError
from ._common import as_colors, read_lines
from .inline import parse_hex


def read(path: Path):
    colors = []
    for number, raw in enumerate(read_lines(path), start=1):
        line = raw.strip()
        if not line:
            continue
        rgb = parse_hex(line)
        if rgb is None:
            raise PaletteError(str(path), f"expected a hex colour 'rrggbb' or 'rgb', got {line!r}", number)
        colors.append(rgb)
    return None, as_colors(colors, path), None


def write(palette) -> bytes:
    return "".join(h[1:] + "\n" for h in palette.hex()).encode("ascii")
