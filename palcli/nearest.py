"""The exact nearest palette colour for a list of colours, by brute force in numpy.

    points = to_space(colors, "oklab")                  # (M, 3) uint8 -> the metric's space
    index, distance = nearest(points, to_space(palette.colors, "oklab"), "oklab")

Mapping whole images reads the cube; a list of colours (the distinct colours of a histogram,
the few off-palette colours of an image) is cheaper to compare with every palette colour than a
16 MiB cube is to build, and needs no numba (but for long CIEDE2000 jobs, see NUMBA_DE00_PAIRS). The answer is the cube's: the metric's distance
(SPEC section 2) with ties going to the lowest palette index. Points may also be any float
points of the space (the means of histogram bins), which no cube could look up.
"""

from __future__ import annotations

import sys
from importlib import import_module

import numpy as np

from . import color
from .metrics import check_metric

# The space each metric measures in: 8-bit sRGB values as floats, CIELAB or OKLab.
SPACES = {"rgb": "rgb", "redmean": "rgb", "cie76": "lab", "ciede2000": "lab", "oklab": "oklab"}
_CHUNK = 1 << 18  # point x palette pairs per block: a few MiB for each temporary
# CIEDE2000 costs numpy ~0.3 us a pair (some sixty array passes) and the numba kernels a quarter
# of that a thread, after ~1 s to start numba: a call of this many pairs pays for the start, and
# once the kernels are loaded in the process every call of more than _KERNEL_PAIRS uses them.
NUMBA_DE00_PAIRS = 4_000_000
_KERNEL_PAIRS = 4096


def to_space(colors: np.ndarray, metric: str) -> np.ndarray:
    """(..., 3) uint8 sRGB -> (..., 3) float64 in the space `metric` measures in."""
    space = SPACES[check_metric(metric)]
    if space == "lab":
        return color.srgb8_to_lab(colors)
    if space == "oklab":
        return color.srgb8_to_oklab(colors)
    return np.asarray(colors, dtype=np.float64)


def from_space(points: np.ndarray, metric: str) -> np.ndarray:
    """(..., 3) float points of `metric`'s space -> the nearest-by-channel 8-bit sRGB, clipped."""
    space = SPACES[check_metric(metric)]
    if space == "lab":
        return color.linear_to_srgb8(color.xyz_to_linear(color.lab_to_xyz(points)))
    if space == "oklab":
        return color.linear_to_srgb8(color.oklab_to_linear(points))
    return np.clip(np.rint(points), 0, 255).astype(np.uint8)


def nearest(points: np.ndarray, targets: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """For each of the (M, 3) points, the index of its nearest of the (K, 3) targets (both in
    `metric`'s space, see to_space) and the distance to it.

    The distance is the metric's, as a length: the square root of the squared Euclidean forms
    (rgb, redmean, cie76, oklab), CIEDE2000 itself for ciede2000. Ties go to the lowest index.
    """
    metric = check_metric(metric)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 3)
    index = np.empty(len(points), np.intp)
    dist = np.empty(len(points), np.float64)
    if metric == "ciede2000" and _use_kernel(len(points) * len(targets)):
        from .kernels.nearest import nearest_de00

        nearest_de00(np.ascontiguousarray(points), np.ascontiguousarray(targets), index, dist)
        return index, dist
    step = max(1, _CHUNK // max(1, len(targets)))
    measure = _de00_squared if metric == "ciede2000" else _squared
    for lo in range(0, len(points), step):
        d = measure(points[lo:lo + step, None, :], targets[None, :, :], metric == "redmean")
        i = d.argmin(axis=1)  # the first of equal minima: the lowest index
        index[lo:lo + step] = i
        dist[lo:lo + step] = d[np.arange(len(i)), i]
    return index, np.sqrt(dist)


def distance(points: np.ndarray, targets: np.ndarray, metric: str) -> np.ndarray:
    """The metric's distance (as nearest() gives it) between each point and the target in the
    same row: (M, 3) and (M, 3) in metric's space -> (M,)."""
    metric = check_metric(metric)
    points = np.ascontiguousarray(points, dtype=np.float64)
    targets = np.ascontiguousarray(targets, dtype=np.float64)
    if metric == "ciede2000" and _use_kernel(len(points)):
        from .kernels.nearest import distance_de00

        out = np.empty(len(points), np.float64)
        distance_de00(points, targets, out)
        return out
    measure = _de00_squared if metric == "ciede2000" else _squared
    return np.sqrt(measure(points, targets, metric == "redmean"))


def use_numba_for(pairs: int) -> None:
    """Load the CIEDE2000 kernels now when a job of about this many pairs in all is coming
    (palette extraction knows its total before it starts)."""
    if pairs >= NUMBA_DE00_PAIRS:
        import_module("palcli.kernels.nearest")  # loaded: later calls of any size use it


def _use_kernel(pairs: int) -> bool:
    return pairs >= NUMBA_DE00_PAIRS or (pairs >= _KERNEL_PAIRS
                                         and "palcli.kernels.nearest" in sys.modules)


def _squared(x: np.ndarray, c: np.ndarray, redmean: bool) -> np.ndarray:
    """Squared Euclidean distances, or the redmean weighted form (SPEC section 2), between
    (..., 3) arrays that broadcast.

    On 8-bit values every product and sum here is exact in float64, so rgb and redmean rank
    exactly as the integer formulas do.
    """
    dr = x[..., 0] - c[..., 0]
    dg = x[..., 1] - c[..., 1]
    db = x[..., 2] - c[..., 2]
    if not redmean:
        return dr * dr + dg * dg + db * db
    rm = (x[..., 0] + c[..., 0]) / 2.0
    return (2.0 + rm / 256.0) * dr * dr + 4.0 * dg * dg + (2.0 + (255.0 - rm) / 256.0) * db * db


_P25_7 = 25.0 ** 7


def _pow7(c: np.ndarray) -> np.ndarray:
    c2 = c * c
    return c2 * c2 * c2 * c  # a third of the time of c ** 7


def _de00_squared(lab1: np.ndarray, lab2: np.ndarray, _redmean: bool = False) -> np.ndarray:
    """Squared CIEDE2000 (kL = kC = kH = 1), Sharma, Wu & Dalal (2005) equations 1-16, between
    (..., 3) CIELAB arrays that broadcast."""
    L1, a1, b1 = (lab1[..., j] for j in range(3))
    L2, a2, b2 = (lab2[..., j] for j in range(3))
    cbar = 0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))
    c7 = _pow7(cbar)
    g = 0.5 * (1.0 - np.sqrt(c7 / (c7 + _P25_7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    neutral = c1p * c2p == 0.0
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dh = np.where(neutral, 0.0, dh)
    dHp = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2.0)
    hs = h1p + h2p
    hbar = np.where(np.abs(h1p - h2p) <= 180.0, hs / 2.0,
                    np.where(hs < 360.0, (hs + 360.0) / 2.0, (hs - 360.0) / 2.0))
    hbar = np.where(neutral, hs, hbar)
    t = (1.0 - 0.17 * np.cos(np.radians(hbar - 30.0)) + 0.24 * np.cos(np.radians(2.0 * hbar))
         + 0.32 * np.cos(np.radians(3.0 * hbar + 6.0)) - 0.20 * np.cos(np.radians(4.0 * hbar - 63.0)))
    dtheta = 30.0 * np.exp(-(((hbar - 275.0) / 25.0) ** 2))
    cbarp = 0.5 * (c1p + c2p)
    cp7 = _pow7(cbarp)
    rt = -np.sin(np.radians(2.0 * dtheta)) * 2.0 * np.sqrt(cp7 / (cp7 + _P25_7))
    l50 = (0.5 * (L1 + L2) - 50.0) ** 2
    dl = (L2 - L1) / (1.0 + 0.015 * l50 / np.sqrt(20.0 + l50))
    x = (c2p - c1p) / (1.0 + 0.045 * cbarp)
    y = dHp / (1.0 + 0.015 * cbarp * t)
    return np.maximum(dl * dl + x * x + y * y + rt * x * y, 0.0)
