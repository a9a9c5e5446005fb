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


def build_cube(colors: np.ndarray, metric: str, *, engine: str | None = None) -> np.ndarray:
    """Nearest colour of `colors` (K,3 uint8) for every sRGB colour, under `metric`.

    Returns a C-contiguous (256, 256, 256) array indexed [r, g, b], uint8 for K <= 256 else
    uint16. Exact: ties go to the lowest index. Pure: no I/O, no cache.
    engine: "numpy", "numba" or None (the cheaper here and now; ciede2000 is numba only).
    """
    colors = _check_colors(colors)
    metric = check_metric(metric)
    if engine not in (None, "numpy", "numba"):
        raise ValueError(f"engine must be 'numba', 'numpy' or None; got {engine!r}")
    if engine == "numpy" and metric == "ciede2000":
        raise ValueError("metric 'ciede2000' has no numpy builder: use engine='numba' or None")
    # Equal colours have bit-equal distances, so only the first of each can win: build on the
    # distinct colours in order of first appearance (the builders' lowest-index rule then is the
    # palette's); the builders write each one's palette index.
    _, first = np.unique(colors, axis=0, return_index=True)
    first = np.sort(first)
    distinct = np.ascontiguousarray(colors[first], dtype=np.int64)
    out = np.empty((256, 256, 256), dtype=cube_dtype(colors.shape[0]))
    if engine is None:
        engine = _choose_engine(metric, distinct, first, out)
    if engine == "numba":
        _build_numba(distinct, first, metric, out)
    else:
        from . import cube_numpy

        if metric in ("rgb", "redmean"):
            cube_numpy.build_int(distinct, first, metric == "redmean", out)
        else:
            cube_numpy.build_euclid(distinct, first, *space_tables(metric), out)
    return out


# The builder is chosen by cost, measured here (2 busy cores). The numpy builders take about
# a + b*K seconds for K distinct colours (pico-8: 0.15 s rgb, 0.45 s oklab; 256 colours: 0.4 s
# and 1.3 s). numba takes 0.03-0.3 s to build, but first 0.35 s to import, about 0.55 s to start
# its compiler runtime and load a cached kernel, and, on a machine where the kernel is not in
# numba's cache yet, several seconds to compile it. ciede2000 has no numpy builder: its exact
# distance is too dear without the numba kernel's pruning.
_NUMPY_COST = {"rgb": (0.12, 6e-4), "redmean": (0.15, 7e-4), "cie76": (0.4, 1.6e-3),
               "oklab": (0.35, 1.6e-3)}
_NUMBA_START_S = 0.9
_NUMBA_COMPILE_S = {"rgb": 3.0, "redmean": 3.0, "cie76": 5.0, "oklab": 5.0}


def _choose_engine(metric, distinct, ids, out) -> str:
    """"numpy" or "numba", whichever builds this cube sooner in this process."""
    if metric == "ciede2000":
        return "numba"
    a, b = _NUMPY_COST[metric]
    numpy_s = a + b * len(distinct)
    from .quantize import _numba_started

    started = _numba_started()
    if not started and numpy_s < _NUMBA_START_S:
        return "numpy"    # not even worth importing numba to look into its cache
    if _kernel_ready(*_numba_kernel(metric, distinct, ids, out, stand_in=True)):
        numba_s = 0.0 if started else _NUMBA_START_S
    else:
        numba_s = _NUMBA_COMPILE_S[metric] + (0.0 if started else _NUMBA_START_S)
    return "numba" if numba_s < numpy_s else "numpy"


def _kernel_ready(kernel, args) -> bool:
    """True when kernel(*args, first, last) needs no compiling: it is compiled in this process
    or in numba's cache on disk for these argument types."""
    try:
        from numba import typeof

        sig = tuple(typeof(a) for a in (*args, 0, 0))
        if sig in kernel.overloads:
            return True
        index = kernel._cache._cache_file._load_index()   # numba's own reader of its index
        return any(key[0] == sig for key in index)
    except Exception:  # noqa: BLE001 - numba internals moved: assume a compile
        return False


def _numba_kernel(metric, distinct, ids, out, stand_in=False):
    """(kernel, args): the numba builder for metric and its arguments but the task range.
    With stand_in, the colours' coordinates are empty arrays of the right types (for
    _kernel_ready), not computed."""
    from .kernels import cube_int

    if metric in ("rgb", "redmean"):
        return cube_int.build_int, (distinct, ids, metric == "redmean", out)
    from . import cube_numpy
    from .kernels import cube_lab

    tables = space_tables(metric)
    # The colours' coordinates by numpy (a kernel for K colours costs more to compile than to
    # run); the cells' own, by the kernels, agree to ~1e-15, far inside the 1e-6 of exactness.
    coords = np.empty((3, len(distinct))) if stand_in else cube_numpy.coordinates(distinct,
                                                                                   *tables)
    if metric != "ciede2000":
        return cube_lab.build_euclid, (coords, ids, *tables, out)
    from .kernels import cube_de00

    chroma = np.sqrt(coords[1] * coords[1] + coords[2] * coords[2])
    hue = np.degrees(np.arctan2(coords[2], coords[1]))
    return cube_de00.build_de00, (coords, chroma, hue, ids, *tables, *_hue_weight_range(), out)


def _build_numba(distinct, ids, metric, out) -> None:
    from .kernels.cube_int import TASK_CELLS, TASKS
    from .quantize import _spans

    kernel, args = _numba_kernel(metric, distinct, ids, out)
    _spans(kernel, args, TASKS, unit=TASK_CELLS)   # the kernels release the GIL


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
