"""The dither registry: diffusion matrices as data, ordered matrices, strength and space.

    params = DitherParams("floyd-steinberg", strength=0.8)
    idx = dither_indices(rgb, colors, cube, params)

DITHERS maps each mode's name to what it does; DitherParams is the validated, frozen set of
choices that travels with a conversion. The numba kernels live in palcli.kernels.dither and are
imported only when a dither actually runs.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Callable, NamedTuple

import numpy as np

from ._validate import check_choice, check_flag, check_unit

# Error-diffusion tables: (dx, dy, weight) relative to the current pixel, and the divisor.
# dx is mirrored on right-to-left rows of a serpentine scan. Weights as published by
# Floyd & Steinberg (1976), Jarvis, Judice & Ninke (1976), Stucki (1981), Burkes (1988),
# Sierra (1989, the three-row "Sierra" and "Sierra Lite") and Atkinson (MacPaint, 1984; it
# spreads only 6/8 of the error on purpose, which keeps contrast but clips shadows/highlights).
DIFFUSION_TABLES: dict[str, tuple[tuple[tuple[int, int, int], ...], int]] = {
    "floyd-steinberg": (((1, 0, 7), (-1, 1, 3), (0, 1, 5), (1, 1, 1)), 16),
    "atkinson": (((1, 0, 1), (2, 0, 1), (-1, 1, 1), (0, 1, 1), (1, 1, 1), (0, 2, 1)), 8),
    "jarvis-judice-ninke": (((1, 0, 7), (2, 0, 5),
                             (-2, 1, 3), (-1, 1, 5), (0, 1, 7), (1, 1, 5), (2, 1, 3),
                             (-2, 2, 1), (-1, 2, 3), (0, 2, 5), (1, 2, 3), (2, 2, 1)), 48),
    "stucki": (((1, 0, 8), (2, 0, 4),
                (-2, 1, 2), (-1, 1, 4), (0, 1, 8), (1, 1, 4), (2, 1, 2),
                (-2, 2, 1), (-1, 2, 2), (0, 2, 4), (1, 2, 2), (2, 2, 1)), 42),
    "burkes": (((1, 0, 8), (2, 0, 4),
                (-2, 1, 2), (-1, 1, 4), (0, 1, 8), (1, 1, 4), (2, 1, 2)), 32),
    "sierra": (((1, 0, 5), (2, 0, 3),
                (-2, 1, 2), (-1, 1, 4), (0, 1, 5), (1, 1, 4), (2, 1, 2),
                (-1, 2, 2), (0, 2, 3), (1, 2, 2)), 32),
    "sierra-lite": (((1, 0, 2), (-1, 1, 1), (0, 1, 1)), 4),
}
DIFFUSION = tuple(DIFFUSION_TABLES)

# Ordered modes: name -> threshold matrix size (Bayer) or the blue-noise tile.
BAYER_SIZES = {"bayer2": 2, "bayer4": 4, "bayer8": 8, "bayer16": 16}
ORDERED = tuple(BAYER_SIZES) + ("blue-noise",)
DITHER_SPACES = ("srgb", "linear")
# Linear light by default: error diffused in sRGB values makes a dithered area as bright as its
# sRGB mean, but a screen (or an eye) averages light, so dark and middle tones come out too bright
# (sRGB 64, 5% light, dithered to black and white gets 25% white pixels: five times its light).
# See the README's dithering section for the gradients and photos this was chosen on.
DEFAULT_DITHER_SPACE = "linear"

BLUE_NOISE_FILE = "bluenoise64.npy"  # made by scripts/make_blue_noise.py

# Error diffusion scans horizontal bands of about BAND_ROWS rows in parallel; each band first
# scans the WARM_ROWS rows above it for their error alone, so it starts with nearly the error a
# single scan would bring (the error a row receives fades within a few rows: no seam shows).
BAND_ROWS = 128
WARM_ROWS = 8

# Working values of the kernels: sRGB level * 256, or linear light * 65535.
SRGB_SCALE = 256
LINEAR_SCALE = 65535
WEIGHT_ONE = 1 << 16


def bayer_matrix(n: int) -> np.ndarray:
    """The n x n Bayer index matrix (n a power of two), values 0 .. n*n-1.

    Recursive definition: M1 = [[0]], M2n = [[4Mn, 4Mn + 2], [4Mn + 3, 4Mn + 1]].
    """
    if n < 1 or n & (n - 1):
        raise ValueError(f"Bayer matrix size must be a power of two; got {n}")
    m = np.zeros((1, 1), np.int64)
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return m


@lru_cache(maxsize=1)
def blue_noise() -> np.ndarray:
    """The 64 x 64 void-and-cluster rank matrix shipped with palcli (values 0 .. 4095)."""
    with resources.files("palcli").joinpath("data", BLUE_NOISE_FILE).open("rb") as f:
        ranks = np.load(f)
    ranks.setflags(write=False)
    return ranks


def threshold_matrix(dither: str) -> np.ndarray:
    """Thresholds in [-0.5, 0.5) for an ordered mode: rank r of N becomes (r + 0.5) / N - 0.5."""
    ranks = bayer_matrix(BAYER_SIZES[dither]) if dither in BAYER_SIZES else blue_noise()
    return (ranks + 0.5) / ranks.size - 0.5


def palette_spread(colors: np.ndarray) -> float:
    """How far an ordered threshold must reach to move a pixel between neighbouring colours.

    The median, over the palette's distinct colours, of the largest per-channel difference to the
    nearest other colour: 255 for black/white, 51 for the web-safe cube, 17 for 16 greys. The
    threshold is added to all three channels alike, so the largest channel step is what it has to
    cross. Computed on whatever values are given (8-bit or linear light).
    """
    c = np.unique(np.asarray(colors, np.float64), axis=0)
    if len(c) < 2:
        return 0.0
    near = np.empty(len(c))
    for start in range(0, len(c), 512):  # bounded memory for 65,536-colour palettes
        block = c[start:start + 512]
        d = np.abs(block[:, None, :] - c[None, :, :]).max(axis=2)
        d[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        near[start:start + len(block)] = d.min(axis=1)
    return float(np.median(near))


@lru_cache(maxsize=2)
def _space_tables(space: str):
    """(to_work (256,) int64, out_lut (working value >> LUT_SHIFT -> uint8)) for a space."""
    if space == "srgb":
        return np.arange(256, dtype=np.int64) * SRGB_SCALE, np.zeros(1, np.uint8)
    from .color import SRGB_TO_LINEAR, linear_to_srgb8
    from .kernels.dither import LUT_SHIFT

    to_work = np.rint(np.asarray(SRGB_TO_LINEAR, np.float64) * LINEAR_SCALE).astype(np.int64)
    # One entry per 2**LUT_SHIFT working values (the darkest sRGB step is 20 of them), taken at
    # the middle of its range; every level's own working value must come back to that level.
    step = 1 << LUT_SHIFT
    middles = (np.arange((LINEAR_SCALE >> LUT_SHIFT) + 1) * step + (step - 1) / 2) / LINEAR_SCALE
    out_lut = np.asarray(linear_to_srgb8(middles), np.uint8)
    out_lut[to_work >> LUT_SHIFT] = np.arange(256, dtype=np.uint8)
    return to_work, out_lut


@dataclass(frozen=True)
class DitherParams:
    """How to dither: a DITHERS mode and its parameters, checked once when made.

    strength 0..1 scales the diffused error or the threshold's reach (0 is "none"); serpentine
    alternates the scan direction of error diffusion; space is where diffused error is
    accumulated, "srgb" or "linear" (ordered thresholds always act in sRGB, where the cube
    decides).
    """

    mode: str = "none"
    strength: float = 1.0
    serpentine: bool = True
    space: str = DEFAULT_DITHER_SPACE

    def __post_init__(self):
        check_choice(self.mode, DITHERS, "dither")
        object.__setattr__(self, "strength", check_unit(self.strength, "dither_strength"))
        object.__setattr__(self, "serpentine", check_flag(self.serpentine, "serpentine"))
        check_choice(self.space, DITHER_SPACES, "dither_space")

    @property
    def exact(self) -> bool:
        """True when every pixel simply gets its nearest colour (no dither runs)."""
        return self.mode == "none" or self.strength == 0.0


def dither_indices(rgb: np.ndarray, colors: np.ndarray, cube: np.ndarray,
                   params: DitherParams) -> np.ndarray:
    """Palette indices (H, W) of rgb ((H, W, 3|4) uint8, C-contiguous) dithered through cube.

    colors: the (K, 3) uint8 palette the cube was built from; cube: its (256, 256, 256) index
    table (read-only here: a compact copy of it is kept for as long as the cube object lives).
    Output dtype is the cube's. Deterministic: the same arguments give the same indices on
    every run and thread count.
    """
    if params.exact or rgb.size == 0:
        return cube[rgb[..., 0], rgb[..., 1], rgb[..., 2]]
    top, leaves = _blocks(cube, len(colors))
    return DITHERS[params.mode].run(rgb, colors, top, leaves, params)


def _diffuse(rgb, colors, top, leaves, params: DitherParams) -> np.ndarray:
    from .kernels import dither as kernels

    to_work, out_lut = _space_tables(params.space)
    pal = to_work[colors].reshape(-1)
    carry_w, near_w, dx, dy, w = _weights(params.mode, params.strength)
    out = np.empty(rgb.shape[:2], leaves.dtype)
    return kernels.diffuse(rgb, top, leaves, to_work, pal, pal * carry_w, carry_w, near_w,
                           dx, dy, w, params.serpentine, params.space == "linear", out_lut,
                           diffusion_bands(rgb.shape[0]), WARM_ROWS, out)


def _ordered(rgb, colors, top, leaves, params: DitherParams) -> np.ndarray:
    from .kernels import dither as kernels

    # Ordered thresholds act where the cube decides, in sRGB: a threshold added in linear light
    # would cross the cube's boundaries at the wrong place and brighten everything.
    spread = palette_spread(colors) * SRGB_SCALE * params.strength
    offsets = np.rint(threshold_matrix(params.mode) * spread).astype(np.int64)
    out = np.empty(rgb.shape[:2], leaves.dtype)
    return kernels.ordered(rgb, top, leaves, offsets, out)


class Dither(NamedTuple):
    kind: str  # "none", "diffusion" or "ordered" (a pixel's index depends on its colour and
    # position alone, so unchanged regions of an animation stay unchanged)
    run: Callable | None  # run(rgb, colors, top, leaves, params) -> indices


DITHERS: dict[str, Dither] = {"none": Dither("none", None)}
DITHERS.update({name: Dither("diffusion", _diffuse) for name in DIFFUSION})
DITHERS.update({name: Dither("ordered", _ordered) for name in ORDERED})


def diffusion_bands(height: int) -> np.ndarray:
    """Row bounds of the bands error diffusion scans in parallel: an even number (two cores
    share them evenly), about BAND_ROWS rows each. A function of the height alone, so the output
    never depends on the machine."""
    n = 2 * max(1, height // (2 * BAND_ROWS))
    return np.array([b * height // n for b in range(n + 1)], np.int64)


def _weights(dither: str, strength: float):
    """A diffusion table as the kernel takes it, in fixed point over 2**16: the (1, 0) weight,
    the (-1..1, 1) weights, and the other entries as dx, dy, w arrays."""
    entries, divisor = DIFFUSION_TABLES[dither]
    weights = {(dx, dy): round(wt * strength * WEIGHT_ONE / divisor) for dx, dy, wt in entries}
    carry_w = weights.pop((1, 0))
    near_w = np.array([weights.pop((d, 1), 0) for d in (-1, 0, 1)], np.int64)
    dx = np.array([k[0] for k in weights], np.int64)
    dy = np.array([k[1] for k in weights], np.int64)
    w = np.array(list(weights.values()), np.int64)
    return carry_w, near_w, dx, dy, w


# The two-level copy of the last few cubes, keyed by the cube object (get_cube memoizes cubes,
# so a worker builds this once per palette and metric).
_BLOCKS: dict[int, tuple] = {}


def _blocks(cube: np.ndarray, k: int):
    """The two-level copy of cube the kernels read (see palcli.kernels.dither)."""
    key = id(cube)
    hit = _BLOCKS.get(key)
    if hit is not None and hit[0]() is cube:
        top, leaves, largest = hit[1]
    else:
        from .kernels.dither import block_tables

        top, leaves = block_tables(cube)
        largest = int(leaves.max())
        while len(_BLOCKS) >= 4:
            _BLOCKS.pop(next(iter(_BLOCKS)))
        ref = weakref.ref(cube, lambda _, key=key: _BLOCKS.pop(key, None))
        _BLOCKS[key] = (ref, (top, leaves, largest))
    if largest >= k:
        raise ValueError(f"cube holds palette index {largest} but the palette has {k} colours")
    return top, leaves
