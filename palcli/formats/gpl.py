"""GIMP palette (.gpl): the format of the built-in palettes, also written by Inkscape and Krita.

    GIMP Palette
    Name: Example
    Columns: 16
    # comment
    255   0   0	red
      0 128 255	sky blue

GIMP itself skips a colour line it cannot parse; palcli refuses it and names the line, so a
palette never silently loses a colour.

The text after the three components is the colour's name. palcli writes a colour without a
name as its hex value, so a label that is the colour's own hex value reads back as no name.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import PaletteError
from ._common import as_colors, parse_byte, parse_int, read_lines

HEADER = "GIMP Palette"


def read(path: Path):
    lines = read_lines(path)
    if not lines or lines[0].strip() != HEADER:
        raise PaletteError(str(path), f"expected {HEADER!r} on the first line", 1)
    name = None
    colors, names = [], []
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Columns", "Channels"):
            if key == "Name":
                name = value.strip() or None
            elif key == "Columns" and parse_int(value.strip()) is None:
                raise PaletteError(str(path), f"expected a number after 'Columns:', got {value.strip()!r}",
                                   number)
            elif key == "Channels" and value.strip() != "RGB":
                raise PaletteError(str(path), f"only RGB palettes are supported, not {value.strip()!r}",
                                   number)
            continue
        rgb, label = _parse_color(line, path, number)
        colors.append(rgb)
        names.append(None if label.lower() == "#%02x%02x%02x" % rgb else label or None)
    return name, as_colors(colors, path), names


def _parse_color(line: str, path: Path, number: int) -> tuple[tuple[int, int, int], str]:
    # Three decimal components separated by spaces or tabs; the rest of the line is the
    # colour's name, which may itself contain spaces, tabs and digits.
    tokens = line.split(None, 3)
    rgb = [parse_byte(t) for t in tokens[:3]]
    if len(rgb) < 3 or None in rgb:
        raise PaletteError(str(path), f"expected 'R G B [name]' with R, G, B integers 0..255, "
                                      f"got {line!r}", number)
    return (rgb[0], rgb[1], rgb[2]), tokens[3].strip() if len(tokens) > 3 else ""


def write(palette) -> bytes:
    columns = min(16, len(palette))
    out = [HEADER, f"Name: {_one_line(palette.name)}", f"Columns: {columns}", "#"]
    for (r, g, b), hex_, label in zip(palette.colors.tolist(), palette.hex(), palette.names):
        out.append(f"{r:3d} {g:3d} {b:3d}\t{_one_line(label or '') or hex_}")
    return ("\n".join(out) + "\n").encode("utf-8")


def _one_line(text: str) -> str:
    return " ".join(text.split())  # whatever the source's name held, one line in the file
