"""JASC palettes (.pal, Paint Shop Pro, also Aseprite) and Microsoft RIFF palettes (.pal).

JASC:  'JASC-PAL', '0100', the colour count, then one 'r g b' line per colour (a fourth,
alpha, value is accepted and dropped). RIFF: 'RIFF' size 'PAL ' with a 'data' chunk of
version (0x0300), count and count 4-byte entries r, g, b, flags (all little-endian).
The two share the suffix; the first bytes tell them apart.
"""

from __future__ import annotations

import struct
from pathlib import Path

from ..errors import PaletteError
from ._common import as_colors, parse_byte, parse_int, read_bytes, read_lines


def read(path: Path):
    head = read_bytes(path)[:4]
    if head == b"RIFF":
        return None, _read_riff(path), None
    return None, _read_jasc(path), None


def _read_jasc(path: Path):
    lines = read_lines(path)
    source = str(path)
    if not lines or lines[0].strip() != "JASC-PAL":
        raise PaletteError(source, "expected 'JASC-PAL' (or a RIFF palette) on the first line", 1)
    if len(lines) < 2 or parse_int(lines[1].strip()) is None:
        raise PaletteError(source, "expected a version number such as '0100'", 2)
    count = parse_int(lines[2].strip()) if len(lines) >= 3 else None
    if count is None:
        raise PaletteError(source, "expected the number of colours", 3)
    body = lines[3:]
    while body and not body[-1].strip():
        body.pop()
    colors = []
    for number, raw in enumerate(body, start=4):
        tokens = raw.split()
        values = [parse_byte(t) for t in tokens]
        if len(values) not in (3, 4) or None in values:
            raise PaletteError(source, f"expected 'R G B' with integers 0..255, got {raw.strip()!r}", number)
        colors.append(tuple(values[:3]))
    if len(colors) != count:
        raise PaletteError(source, f"the header says {count} colours but the file has {len(colors)}", 3)
    return as_colors(colors, path)


def _read_riff(path: Path):
    data = read_bytes(path)
    source = str(path)
    if len(data) < 12 or data[8:12] != b"PAL ":
        raise PaletteError(source, "a RIFF file but not a RIFF palette ('PAL ' form expected)")
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8:pos + 8 + size]
        if chunk == b"data":
            if len(body) < 4:
                raise PaletteError(source, "truncated RIFF palette 'data' chunk")
            _version, count = struct.unpack_from("<HH", body)
            if len(body) < 4 + 4 * count:
                raise PaletteError(source, f"truncated: the 'data' chunk promises {count} colours")
            entries = [tuple(body[4 + 4 * i:7 + 4 * i]) for i in range(count)]
            return as_colors(entries, path)
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    raise PaletteError(source, "RIFF palette without a 'data' chunk")


def write(palette) -> bytes:
    # JASC files are CRLF text by tradition; Paint Shop Pro expects it.
    out = ["JASC-PAL", "0100", str(len(palette))]
    out += [f"{r} {g} {b}" for r, g, b in palette.colors.tolist()]
    return ("\r\n".join(out) + "\r\n").encode("ascii")
