"""Inline palettes given on the command line: "#ff0000,#00ff00" or "ff0000 00ff00"."""

from __future__ import annotations

import re

import numpy as np

from ..errors import PaletteError

_SPLIT = re.compile(r"[\s,;]+")
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def parse_hex(token: str) -> tuple[int, int, int] | None:
    """(r, g, b) for 'rrggbb', '#rrggbb', 'rgb' or '#rgb'; None when it is not one of those."""
    m = _HEX.fullmatch(token.strip())
    if not m:
        return None
    h = m.group(1)
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def looks_inline(spec: str) -> bool:
    """Whether spec is meant as colours: '#...' or a list (then a bad colour in it is named,
    not looked up as a file), or several bare hex tokens."""
    text = spec.strip()
    tokens = [t for t in _SPLIT.split(text) if t]
    if not tokens:
        return False
    if text.startswith("#") or "," in text or ";" in text:
        return True
    return len(tokens) > 1 and all(_HEX.fullmatch(t) for t in tokens)


def read_inline(spec: str) -> np.ndarray:
    colors = []
    for token in (t for t in _SPLIT.split(spec.strip()) if t):
        rgb = parse_hex(token)
        if rgb is None:
            raise PaletteError(spec, f"{token!r} is not a hex colour ('#rgb' or '#rrggbb')")
        colors.append(rgb)
    return np.array(colors, dtype=np.uint8).reshape(-1, 3)
