"""JSON palettes (.json).

Accepted: a list of colours; an object whose "colors" (or "colours") is such a list, which
includes the lospec.com export {"name": ..., "author": ..., "colors": ["rrggbb", ...]}.
A colour is a hex string ('#rrggbb', 'rrggbb', '#rgb'), a list [r, g, b] of integers 0..255,
or an object {"name": ..., "hex": ...} ("color" or "colour" in place of "hex"), as colour
tools such as coolors.co export. An object may also carry "names", one string or null per
colour, which is what palcli writes beside the lospec form.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import PaletteError
from ._common import as_colors, read_bytes
from .inline import parse_hex

_COLOR_KEYS = ("hex", "color", "colour")


def read(path: Path):
    data = read_bytes(path)
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PaletteError(str(path), "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise PaletteError(str(path), f"not valid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise PaletteError(str(path), "not a palette: JSON nested too deeply") from None
    except ValueError as exc:  # a number too long to convert, and the like
        raise PaletteError(str(path), f"not valid JSON: {exc}") from None
    name, names = None, None
    if isinstance(doc, dict):
        key = "colors" if "colors" in doc else "colours" if "colours" in doc else None
        if key is None:
            raise PaletteError(str(path), "expected a list of colours or an object with \"colors\"")
        name = doc.get("name") if isinstance(doc.get("name"), str) else None
        names = doc.get("names")
        doc = doc[key]
    if not isinstance(doc, list):
        raise PaletteError(str(path), "expected a list of colours or an object with \"colors\"")
    parsed = [_parse_item(item, i, path) for i, item in enumerate(doc)]
    colors = [rgb for rgb, _ in parsed]
    if names is None:
        names = [label for _, label in parsed]
    elif not (isinstance(names, list) and len(names) == len(colors)
              and all(n is None or isinstance(n, str) for n in names)):
        raise PaletteError(str(path), f"\"names\" must be a list of {len(colors)} strings or "
                                      f"nulls, one per colour")
    return name or None, as_colors(colors, path), names


def _parse_item(item, index: int, path: Path):
    """(r, g, b) and the colour's name (or None) of one list entry."""
    if isinstance(item, dict):
        value = next((item[k] for k in _COLOR_KEYS if k in item), None)
        label = item.get("name")
        return _parse_color(value, index, path), label if isinstance(label, str) else None
    return _parse_color(item, index, path), None


def _parse_color(item, index: int, path: Path) -> tuple[int, int, int]:
    if isinstance(item, str):
        rgb = parse_hex(item)
        if rgb is not None:
            return rgb
    elif (isinstance(item, list) and len(item) == 3
          and all(type(v) is int and 0 <= v <= 255 for v in item)):
        return item[0], item[1], item[2]
    shown = json.dumps(item)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise PaletteError(str(path), f"colour {index}: expected a hex colour or [r, g, b] with "
                                  f"integers 0..255, got {shown}")


def write(palette) -> bytes:
    # The lospec layout: hex without '#', which every reader of that export understands;
    # colour names, when there are any, in a list beside it that those readers ignore.
    doc = {"name": palette.name, "colors": [h[1:] for h in palette.hex()]}
    if palette.has_names:
        doc["names"] = list(palette.names)
    return (json.dumps(doc, indent=1) + "\n").encode("utf-8")
