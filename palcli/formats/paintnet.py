"""Paint.NET palettes (.txt): one 'aarrggbb' per line; ';' starts a comment, on its own line
or after a colour ('ff0000ff ; blue', as hand-made and converted palettes have it).

'rrggbb' without alpha is accepted too. The alpha byte is read and dropped: a palcli palette
is opaque colours. A comment after a colour on its line is that colour's name.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import PaletteError
from ._common import as_colors, read_lines

_ARGB = re.compile(r"([0-9a-fA-F]{2})?([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})")


def read(path: Path):
    colors, names = [], []
    for number, raw in enumerate(read_lines(path), start=1):
        line, _, comment = raw.partition(";")
        line = line.strip()
        if not line:
            continue
        m = _ARGB.fullmatch(line)
        if m is None:
            raise PaletteError(str(path), f"expected a colour 'aarrggbb' (or a ';' comment), got {line!r}",
                               number)
        colors.append(tuple(int(m.group(i), 16) for i in (2, 3, 4)))
        names.append(comment.strip() or None)
    return None, as_colors(colors, path), names
