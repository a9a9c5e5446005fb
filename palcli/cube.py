"""build_cube(): the exact 256x256x256 table of nearest palette indices for one metric."""

from __future__ import annotations

import numpy as np

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
    from .kernels import cube_build as kb  # numba only when a cube is really built

    out = np.empty((256, 256, 256), dtype=cube_dtype(colors.shape[0]))
    col = np.ascontiguousarray(colors, dtype=np.int64)
    if metric in ("rgb", "redmean"):
        kb.build_int(col, metric == "redmean", out)
    else:
        raise NotImplementedError(metric)
    return out
