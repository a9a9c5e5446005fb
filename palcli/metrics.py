"""The metric registry: each name carries its description, its cube builder and its colour space.

METRICS is the one list the CLI's choices, the docs and the tests draw from. A builder fills a
(256, 256, 256) cube with palette indices from the palette's distinct colours; float metrics
describe their space to the kernels as a Space.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

from . import color
from ._validate import check_choice

DEFAULT_METRIC = "rgb"


class Space(NamedTuple):
    """A float colour space as the cube kernels take it.

    T[j, c, v] is row j, column c of the space's first matrix A times the linear light of code
    value v (for CIELAB the rows are divided by the white point), so a colour's pre-companding
    value is a sum of three table entries; P and o are the final linear map after companding
    (mode 0: CIELAB's f with eps and kappa; mode 1: OKLab's cube root); lin is the sRGB
    decoding table.
    """

    T: np.ndarray
    A: np.ndarray
    P: np.ndarray
    o: np.ndarray
    mode: int
    eps: float
    kappa: float
    lin: np.ndarray


class Metric(NamedTuple):
    description: str
    # build(distinct (n, 3) int64 colours, their palette indices (n,), out cube): fills out
    build: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    space: Callable[[], Space] | None = None  # float metrics: the space their distances live in


@lru_cache(maxsize=None)
def lab_space() -> Space:
    """CIELAB (D65): XYZ over the white point, f(), then L = 116 fy - 16, a = 500 (fx - fy),
    b = 200 (fy - fz)."""
    a = color.SRGB_TO_XYZ / color.D65_WHITE[:, None]
    p = np.array([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]])
    return _space(a, p, np.array([-16.0, 0.0, 0.0]), 0)


@lru_cache(maxsize=None)
def oklab_space() -> Space:
    """OKLab: M1 to LMS, cube root, M2."""
    return _space(color.OKLAB_M1, color.OKLAB_M2, np.zeros(3), 1)


def _space(a: np.ndarray, p: np.ndarray, o: np.ndarray, mode: int) -> Space:
    lin = color.SRGB_TO_LINEAR
    t = np.ascontiguousarray(a[:, :, None] * lin[None, None, :])
    return Space(t, np.ascontiguousarray(a), np.ascontiguousarray(p), o, mode,
                 color.LAB_EPSILON, color.LAB_KAPPA, lin)


def _build_int(redmean: bool):
    def build(distinct, ids, out):
        from .kernels import cube_int  # numba only when a cube is really built

        cube_int.build_int(distinct, ids, redmean, out)

    return build


def _build_euclid(space: Callable[[], Space]):
    def build(distinct, ids, out):
        from .kernels import cube_lab

        cube_lab.build_euclid(distinct, ids, *space(), out)

    return build


def _build_de00(distinct, ids, out):
    from .kernels import cube_de00

    cube_de00.build_de00(distinct, ids, *lab_space(), *hue_weight_range(), out)


@lru_cache(maxsize=None)
def hue_weight_range() -> tuple[float, float]:
    """Safe bounds of CIEDE2000's T(h) over all hues: its extremes on a 0.001-degree grid, widened
    by |dT/dh| <= (0.17 + 2*0.24 + 3*0.32 + 4*0.20) per radian times half a step, and more."""
    h = np.radians(np.arange(0.0, 360.0, 0.001))
    t = (1 - 0.17 * np.cos(h - np.radians(30)) + 0.24 * np.cos(2 * h)
         + 0.32 * np.cos(3 * h + np.radians(6)) - 0.20 * np.cos(4 * h - np.radians(63)))
    slack = 2.41 * np.radians(0.0005) + 1e-6
    return float(t.min() - slack), float(t.max() + slack)


METRICS: dict[str, Metric] = {
    "rgb": Metric("squared Euclidean distance in 8-bit sRGB", _build_int(False)),
    "redmean": Metric("the 'redmean' weighted RGB distance", _build_int(True)),
    "cie76": Metric("Euclidean distance in CIELAB (D65)", _build_euclid(lab_space), lab_space),
    "ciede2000": Metric("CIEDE2000 colour difference (kL = kC = kH = 1)", _build_de00,
                        lab_space),
    "oklab": Metric("Euclidean distance in OKLab", _build_euclid(oklab_space), oklab_space),
}


def check_metric(metric) -> str:
    """metric, when it names a registered metric; else ValueError naming the choices."""
    return check_choice(metric, METRICS, "metric")
