"""Lookup tables of a palette's mapping, for tools that cannot run palcli (ffmpeg, editors).

    write_lut("pico-8", "pico8.png", metric="oklab")            # Hald CLUT, level 16
    write_lut("pico-8", "pico8.cube", metric="oklab", level=8)   # .cube 3D LUT, 64^3

Both sample the same grid: level L has L^2 steps per channel, red varying fastest, then green,
then blue. Level 16 has 256 steps, every 8-bit value: it holds the answer for every sRGB colour,
read straight from palcli's exact cube, so a tool that samples it with nearest interpolation
maps exactly as palcli does. Lower levels sample the cube at the nearest 8-bit value of each
step; a tool then maps each pixel to the answer of the nearest step (or blends neighbouring
answers when it interpolates), which is approximate.

- Hald CLUT: an RGB PNG of L^3 x L^3 pixels (4096 x 4096 at level 16) whose pixels, read row
  by row, are the grid's entries.
- .cube (the Adobe / Resolve text format): LUT_3D_SIZE L^2 and one 'r g b' line per entry in
  0..1. A component v is written as (v + 0.01) / 255 (0 and 1 as they are): readers that
  truncate to 8 bits (ffmpeg's lut3d does) and readers that round both get v back exactly.
  Level 16 is 16.7 million lines (450 MB); many editors accept at most 64 steps (level 8).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ._validate import check_int
from .atomic import write_atomic
from .errors import PalcliError, UsageError
from .metrics import DEFAULT_METRIC, check_metric
from .palette import load_palette

LEVELS = range(2, 17)
DEFAULT_LEVEL = 16
SUFFIXES = (".png", ".cube")
_CUBE_OFFSET = 0.01  # of an 8-bit step, see the module docstring


def lut_indices(palette, metric: str = DEFAULT_METRIC, level: int = DEFAULT_LEVEL) -> np.ndarray:
    """The palette index of every grid entry: (L^2, L^2, L^2) indexed [blue, green, red], so
    that its C-order ravel runs red fastest."""
    from .cube import get_cube

    pal = load_palette(palette)
    check_metric(metric)
    steps = _check_level(level) ** 2
    cube = get_cube(pal, metric).array
    if steps == 256:
        return cube.transpose(2, 1, 0)
    values = np.rint(np.arange(steps) * 255.0 / (steps - 1)).astype(np.intp)
    return cube[np.ix_(values, values, values)].transpose(2, 1, 0)


def hald_clut(palette, metric: str = DEFAULT_METRIC, level: int = DEFAULT_LEVEL) -> np.ndarray:
    """The Hald CLUT image: (L^3, L^3, 3) uint8, (4096, 4096, 3) at level 16."""
    pal = load_palette(palette)
    indices = lut_indices(pal, metric, level)
    return pal.colors[indices.reshape(level ** 3, level ** 3)]


def write_cube(f, palette, metric: str = DEFAULT_METRIC, level: int = DEFAULT_LEVEL) -> None:
    """Write the .cube text to the binary file f, one blue plane at a time (a level-16 file is
    about 450 MB; its planes are 1.8 MB each)."""
    pal = load_palette(palette)
    indices = lut_indices(pal, metric, level)
    title = " ".join(f"{pal.name} ({metric}, palcli)".replace('"', "'").split())
    f.write(f'TITLE "{title}"\nLUT_3D_SIZE {level * level}\n'
            f"DOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\n".encode("utf-8"))
    lines = np.array([_cube_line(c) for c in pal.colors.tolist()])  # one fixed-width line each
    for plane in indices:
        f.write(lines[plane.ravel()].tobytes())


def write_lut(palette, path, *, metric: str = DEFAULT_METRIC, level: int = DEFAULT_LEVEL) -> None:
    """Write a Hald CLUT (.png) or a .cube 3D LUT, by path's suffix, atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{path}: a LUT is written as .png (Hald CLUT) or .cube, not "
                         f"{suffix or 'a name without a suffix'!r}")
    _check_level(level)
    pal = load_palette(palette)
    check_metric(metric)
    if suffix == ".cube":
        def write(f):
            write_cube(f, pal, metric, level)
    else:
        data = _png(hald_clut(pal, metric, level))

        def write(f):
            f.write(data)
    try:
        write_atomic(path, write)
    except OSError as exc:
        raise PalcliError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _check_level(level) -> int:
    return check_int(level, "level", LEVELS.start, LEVELS.stop - 1)


def _cube_line(rgb) -> bytes:
    def component(v: int) -> str:
        return "0.000000" if v == 0 else "1.000000" if v == 255 else \
            f"{(v + _CUBE_OFFSET) / 255.0:.6f}"

    return (" ".join(component(v) for v in rgb) + "\n").encode("ascii")


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    # Level 6: the 4096 x 4096 CLUT of a small palette is mostly runs; a few MB.
    Image.fromarray(pixels, "RGB").save(buf, "PNG", compress_level=6)
    return buf.getvalue()
