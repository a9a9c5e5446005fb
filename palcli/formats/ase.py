"""Adobe Swatch Exchange (.ase): swatches at the top level or inside groups, in file order.

Layout (big-endian): 'ASEF', version u16 u16, block count u32, then blocks of
type u16 (0x0001 colour, 0xC001 group start, 0xC002 group end), length u32, body.
A colour body: name (u16 length in UTF-16 units incl. the NUL, UTF-16BE; kept as the
colour's name), model
('RGB ', 'CMYK', 'LAB ', 'Gray'), float32 components, u16 colour type.

Every model is converted to sRGB, none refused:
- RGB: components 0..1, rounded to 0..255.
- Gray: one component 0..1 (1 = white).
- LAB: L 0..1 (L*/100), a*, b* as they are; D50 (Adobe's Lab white), converted colorimetrically
  (Bradford-adapted to sRGB's D65) and clipped to the sRGB gamut.
- CMYK: without the document's colour profile there is no exact answer, so the naive
  r = 255 (1 - c)(1 - k) is used and one PalcliWarning says the colours are approximate.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from ..errors import PalcliWarning, PaletteError
from ._common import as_colors, read_bytes

COLOR, GROUP_START, GROUP_END = 0x0001, 0xC001, 0xC002
_COMPONENTS = {b"RGB ": 3, b"CMYK": 4, b"LAB ": 3, b"Gray": 1}

# D50 white (Y = 1) and XYZ (D50) -> linear sRGB, Bradford-adapted to D65: both from
# Bruce Lindbloom, "Reference White" and "RGB/XYZ Matrices" (sRGB, D50); white maps to (1, 1, 1).
_D50 = (0.96422, 1.0, 0.82521)
_XYZ50_TO_SRGB = np.array([[3.1338561, -1.6168667, -0.4906146],
                           [-0.9787684, 1.9161415, 0.0334540],
                           [0.0719453, -0.2289914, 1.4052427]])


def read(path: Path):
    data = read_bytes(path)
    source = str(path)
    if data[:4] != b"ASEF":
        raise PaletteError(source, "not an Adobe Swatch Exchange file (no 'ASEF' signature)")
    if len(data) < 12:
        raise PaletteError(source, "truncated header")
    (blocks,) = struct.unpack_from(">I", data, 8)
    pos = 12
    colors, names, cmyk = [], [], 0
    for _ in range(blocks):
        if pos + 6 > len(data):
            raise PaletteError(source, f"truncated at byte {pos}: {blocks} blocks promised")
        kind, length = struct.unpack_from(">HI", data, pos)
        body = data[pos + 6:pos + 6 + length]
        if len(body) < length:
            raise PaletteError(source, f"truncated at byte {pos}: block of {length} bytes")
        if kind == COLOR:
            model, values, label = _parse_color(body, source, pos)
            colors.append(_to_srgb8(model, values))
            names.append(label)
            cmyk += model == b"CMYK"
        elif kind not in (GROUP_START, GROUP_END):
            raise PaletteError(source, f"unknown block type 0x{kind:04x} at byte {pos}")
        pos += 6 + length
    if cmyk:
        warnings.warn(f"{source}: {cmyk} CMYK swatch(es) converted to sRGB without a colour "
                      f"profile; those colours are approximate", PalcliWarning, stacklevel=2)
    return None, as_colors(colors, path), names


def _parse_color(body: bytes, source: str, pos: int):
    try:
        (units,) = struct.unpack_from(">H", body, 0)
        at = 2 + 2 * units
        model = body[at:at + 4]
        n = _COMPONENTS.get(model)
        if n is None:
            raise PaletteError(source, f"unknown colour model {model!r} in the swatch at byte {pos}")
        values = struct.unpack_from(f">{n}f", body, at + 4)
        label = body[2:at].decode("utf-16-be", errors="replace").rstrip("\0")
    except struct.error:
        raise PaletteError(source, f"truncated colour block at byte {pos}") from None
    if not all(np.isfinite(values)):
        raise PaletteError(source, f"non-finite colour component in the swatch at byte {pos}")
    return model, values, label or None


def _to_srgb8(model: bytes, v) -> tuple[int, int, int]:
    if model == b"RGB ":
        rgb = np.array(v)
    elif model == b"Gray":
        rgb = np.array([v[0]] * 3)
    elif model == b"CMYK":
        c, m, y, k = v
        rgb = np.array([(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)])
    else:
        rgb = _lab50_to_srgb(100.0 * v[0], v[1], v[2])
    out = np.clip(np.round(np.clip(rgb, 0.0, 1.0) * 255.0), 0, 255).astype(int)
    return int(out[0]), int(out[1]), int(out[2])


def _lab50_to_srgb(L: float, a: float, b: float) -> np.ndarray:
    """CIELAB (D50) -> sRGB in 0..1 (unclipped); CIE 15 inverse with eps 216/24389, kappa 24389/27."""
    eps, kappa = 216 / 24389, 24389 / 27
    fy = (L + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200
    xr = fx ** 3 if fx ** 3 > eps else (116 * fx - 16) / kappa
    yr = fy ** 3 if L > kappa * eps else L / kappa
    zr = fz ** 3 if fz ** 3 > eps else (116 * fz - 16) / kappa
    linear = _XYZ50_TO_SRGB @ (np.array([xr, yr, zr]) * _D50)
    # sRGB encoding, IEC 61966-2-1.
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
