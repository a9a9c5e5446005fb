"""Colour conversions in numpy: sRGB8 -> linear -> XYZ -> CIELAB, linear -> OKLab.

Every constant the metrics depend on lives here, with its source. The cube kernels receive
tables built from these constants, so the numbers exist in one place only.
"""

from __future__ import annotations

import numpy as np

# sRGB transfer function, IEC 61966-2-1:1999 section 5.2 (decoding) and 5.3 (encoding).
SRGB_THRESHOLD = 0.04045
SRGB_LINEAR_THRESHOLD = 0.0031308
SRGB_SLOPE = 12.92
SRGB_OFFSET = 0.055
SRGB_GAMMA = 2.4

# Linear sRGB -> CIE XYZ (D65), IEC 61966-2-1:1999 equation (F.8) (the 4-decimal matrix).
SRGB_TO_XYZ = np.array([
    [0.4124, 0.3576, 0.1805],
    [0.2126, 0.7152, 0.0722],
    [0.0193, 0.1192, 0.9505],
])

# D65 white from its chromaticity xy = (0.3127, 0.3290) (IEC 61966-2-1 table 1), Y = 1.
_WX, _WY = 0.3127, 0.3290
D65_WHITE = np.array([_WX / _WY, 1.0, (1.0 - _WX - _WY) / _WY])

# CIELAB, CIE 15:2004 section 8.2.1, with the exact rational forms of epsilon and kappa
# (216/24389 = (6/29)^3, 24389/27 = (29/3)^3) rather than the rounded 0.008856 and 903.3.
LAB_EPSILON = 216.0 / 24389.0
LAB_KAPPA = 24389.0 / 27.0

# OKLab, B. Ottosson, "A perceptual color space for image processing" (2020):
# M1 maps linear sRGB to LMS, the cube root follows, then M2 maps l'm's' to Lab.
OKLAB_M1 = np.array([
    [0.4122214708, 0.5363325363, 0.0514459929],
    [0.2119034982, 0.6806995451, 0.1073969566],
    [0.0883024619, 0.2817188376, 0.6299787005],
])
OKLAB_M2 = np.array([
    [0.2104542553, 0.7936177850, -0.0040720468],
    [1.9779984951, -2.4285922050, 0.4505937099],
    [0.0259040371, 0.7827717662, -0.8086757660],
])


def _apply(matrix: np.ndarray, v) -> np.ndarray:
    """matrix @ each (..., 3) row of v. einsum, not @: for a tall (N, 3) array @ calls a threaded
    BLAS, which was 50 times slower here (0.16 s for 266k colours) while other processes kept
    the cores busy."""
    return np.einsum("...j,ij->...i", np.asarray(v, dtype=np.float64), matrix)


def srgb_to_linear(c):
    """Decode sRGB values in [0, 1] (any float array) to linear light."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= SRGB_THRESHOLD, c / SRGB_SLOPE,
                    ((c + SRGB_OFFSET) / (1.0 + SRGB_OFFSET)) ** SRGB_GAMMA)


def linear_to_srgb(x):
    """Encode linear light in [0, 1] to sRGB values in [0, 1] (not clipped)."""
    x = np.asarray(x, dtype=np.float64)
    pos = np.maximum(x, SRGB_LINEAR_THRESHOLD)  # keeps the power's base positive
    return np.where(x <= SRGB_LINEAR_THRESHOLD, x * SRGB_SLOPE,
                    (1.0 + SRGB_OFFSET) * pos ** (1.0 / SRGB_GAMMA) - SRGB_OFFSET)


# Linear light of every 8-bit sRGB code value: the one decoding table everything shares.
SRGB_TO_LINEAR = srgb_to_linear(np.arange(256) / 255.0)
SRGB_TO_LINEAR.flags.writeable = False


def linear_to_srgb8(x):
    """Linear light (any shape, float) -> nearest 8-bit sRGB code value, clipped, uint8."""
    s = linear_to_srgb(np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0))
    return np.clip(np.rint(s * 255.0), 0, 255).astype(np.uint8)


def srgb8_to_linear(rgb):
    """(..., 3) uint8 sRGB -> (..., 3) float64 linear light, by table."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise TypeError(f"rgb must be uint8, got {rgb.dtype}")
    return SRGB_TO_LINEAR[rgb]


def linear_to_xyz(lin):
    """(..., 3) linear sRGB -> (..., 3) CIE XYZ, Y of white = 1."""
    return _apply(SRGB_TO_XYZ, lin)


def lab_f(t):
    """The CIELAB companding function f(t) (CIE 15:2004 equation 8.7)."""
    t = np.asarray(t, dtype=np.float64)
    return np.where(t > LAB_EPSILON, np.cbrt(t), (LAB_KAPPA * t + 16.0) / 116.0)


def xyz_to_lab(xyz):
    """(..., 3) XYZ -> (..., 3) CIELAB (L*, a*, b*) against the D65 white."""
    f = lab_f(np.asarray(xyz, dtype=np.float64) / D65_WHITE)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def linear_to_oklab(lin):
    """(..., 3) linear sRGB -> (..., 3) OKLab (L, a, b)."""
    return _apply(OKLAB_M2, np.cbrt(_apply(OKLAB_M1, lin)))


def srgb8_to_lab(rgb):
    """(..., 3) uint8 sRGB -> (..., 3) CIELAB."""
    return xyz_to_lab(linear_to_xyz(srgb8_to_linear(rgb)))


def srgb8_to_oklab(rgb):
    """(..., 3) uint8 sRGB -> (..., 3) OKLab."""
    return linear_to_oklab(srgb8_to_linear(rgb))


# -- inverses (palette extraction turns cluster centres back into sRGB colours) -----------------

_XYZ_TO_SRGB = np.linalg.inv(SRGB_TO_XYZ)
_OKLAB_M1_INV = np.linalg.inv(OKLAB_M1)
_OKLAB_M2_INV = np.linalg.inv(OKLAB_M2)


def lab_to_xyz(lab):
    """(..., 3) CIELAB -> (..., 3) XYZ against the D65 white: the inverse of xyz_to_lab."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    t = np.where(f ** 3 > LAB_EPSILON, f ** 3, (116.0 * f - 16.0) / LAB_KAPPA)
    return t * D65_WHITE


def xyz_to_linear(xyz):
    """(..., 3) CIE XYZ -> (..., 3) linear sRGB (unclipped)."""
    return _apply(_XYZ_TO_SRGB, xyz)


def oklab_to_linear(lab):
    """(..., 3) OKLab -> (..., 3) linear sRGB (unclipped): the inverse of linear_to_oklab."""
    return _apply(_OKLAB_M1_INV, _apply(_OKLAB_M2_INV, lab) ** 3)
