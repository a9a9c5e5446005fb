"""build_cube(): the exact 256x256x256 table of nearest palette indices for one metric."""

from __future__ import annotations

import numpy as np

from . import color
from .metrics import check_metric

MAX_COLORS = 65536


def cube_dtype(k: int) -> np.dtype:
    """The index dtype for a palette of k colours: uint8 up to 256, uint16 up to 65536."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= MAX_COLORS:
        raise ValueError(f"k must be an int in 1..{MAX_COLORS}; got {k!r}")
    return np.dtype(np.uint8) if k <= 256 else np.dtype(np.uint16)


def _check_colors(colors) -> np.ndarray:
    if not isinstance(colors, np.ndarray):
        raise TypeError(f"colors must be a numpy array, got {type(colors).__name__}")
    if colors.dtype != np.uint8:
        raise TypeError(f"colors must have dtype uint8, got {colors.dtype}")
    if colors.ndim != 2 or colors.shape[1] != 3:
        raise ValueError(f"colors must have shape (K, 3), got {colors.shape}")
    if not 1 <= colors.shape[0] <= MAX_COLORS:
        raise ValueError(f"colors must hold 1..{MAX_COLORS} colours, got {colors.shape[0]}")
    return colors


def build_cube(colors: np.ndarray, metric: str) -> np.ndarray:
    """Nearest colour of `colors` (K,3 uint8) for every sRGB colour, under `metric`.

    Returns a C-contiguous (256, 256, 256) array indexed [r, g, b], uint8 for K <= 256 else
    uint16. Exact: ties go to the lowest index. Pure: no I/O, no cache.
    """
    colors = _check_colors(colors)
    metric = check_metric(metric)
    from .kernels import cube_de00, cube_int, cube_lab  # numba only when a cube is really built

    # Equal colours have bit-equal distances, so only the first of each can win: build on the
    # distinct colours in order of first appearance (the kernels' lowest-index rule then is the
    # palette's); the kernels write each one's palette index.
    _, first = np.unique(colors, axis=0, return_index=True)
    first = np.sort(first)
    distinct = np.ascontiguousarray(colors[first], dtype=np.int64)
    out = np.empty((256, 256, 256), dtype=cube_dtype(colors.shape[0]))
    if metric in ("rgb", "redmean"):
        cube_int.build_int(distinct, first, metric == "redmean", out)
    elif metric in ("cie76", "oklab"):
        cube_lab.build_euclid(distinct, first, *space_tables(metric), out)
    else:
        cube_de00.build_de00(distinct, first, *space_tables(metric), *_hue_weight_range(), out)
    return out


def space_tables(metric: str):
    """(T, A, P, o, mode, eps, kappa, lin) describing the float space of `metric` to the kernels.

    T[j, c, v] is row j, column c of the space's first matrix times the linear light of code
    value v (for CIELAB the matrix rows are divided by the white point), so a cell's
    pre-companding value is a sum of three table entries; P and o are the final linear map.
    """
    lin = color.SRGB_TO_LINEAR
    if metric in ("cie76", "ciede2000"):
        a = color.SRGB_TO_XYZ / color.D65_WHITE[:, None]
        p = np.array([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]])
        o = np.array([-16.0, 0.0, 0.0])
        mode = 0
    elif metric == "oklab":
        a, p, o, mode = color.OKLAB_M1, color.OKLAB_M2, np.zeros(3), 1
    else:
        raise ValueError(f"metric {metric!r} has no float space")
    t = np.ascontiguousarray(a[:, :, None] * lin[None, None, :])
    return (t, np.ascontiguousarray(a), np.ascontiguousarray(p), o, mode, color.LAB_EPSILON,
            color.LAB_KAPPA, lin)


def _hue_weight_range() -> tuple[float, float]:
    """Safe bounds of CIEDE2000's T(h) over all hues: its extremes on a 0.001-degree grid, widened
    by |dT/dh| <= (0.17 + 2*0.24 + 3*0.32 + 4*0.20) per radian times half a step, and more."""
    global _T_RANGE
    if _T_RANGE is None:
        h = np.radians(np.arange(0.0, 360.0, 0.001))
        t = (1 - 0.17 * np.cos(h - np.radians(30)) + 0.24 * np.cos(2 * h)
             + 0.32 * np.cos(3 * h + np.radians(6)) - 0.20 * np.cos(4 * h - np.radians(63)))
        slack = 2.41 * np.radians(0.0005) + 1e-6
        _T_RANGE = (float(t.min() - slack), float(t.max() + slack))
    return _T_RANGE


_T_RANGE = None
