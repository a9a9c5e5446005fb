"""Adobe Color Table (.act): 256 RGB triples (768 bytes), optionally followed by a big-endian
uint16 colour count and a uint16 transparent index (772 bytes in all), as Photoshop writes.

The transparent index is not a colour property palcli keeps; that entry's colour is read
like any other.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import PaletteError
from ._common import as_colors, read_bytes

MAX_ACT_COLORS = 256
NO_TRANSPARENCY = 0xFFFF


def read(path: Path):
    data = read_bytes(path)
    if len(data) == 768:
        count = 256
    elif len(data) == 772:
        count, _transparent = struct.unpack(">HH", data[768:])
        if not 1 <= count <= 256:
            raise PaletteError(str(path), f"the colour count field says {count}; expected 1..256")
    else:
        raise PaletteError(str(path), f"expected 768 or 772 bytes (an Adobe colour table), "
                                      f"got {len(data)}")
    colors = np.frombuffer(data[:3 * count], dtype=np.uint8).reshape(-1, 3)
    return None, as_colors(colors.tolist(), path), None


def check(palette, path) -> None:
    if len(palette) > MAX_ACT_COLORS:
        raise PaletteError(str(path), f"an .act file holds at most {MAX_ACT_COLORS} colours; "
                                      f"this palette has {len(palette)}")


def write(palette) -> bytes:
    table = np.zeros((256, 3), dtype=np.uint8)
    table[:len(palette)] = palette.colors
    return table.tobytes() + struct.pack(">HH", len(palette), NO_TRANSPARENCY)
