"""The dither registry: diffusion matrices as data, ordered matrices, strength and space.

    params = DitherParams("floyd-steinberg", strength=0.8)
    idx = dither_indices(rgb, colors, cube, params)

DITHERS maps each mode's name to what it does; DitherParams is the validated, frozen set of
choices that travels with a conversion. The numba kernels live in palcli.kernels.dither
(error diffusion) and palcli.kernels.ordered (bayer*, blue-noise, pattern) and are imported only
when a dither actually runs, each kernel compiled only when a run needs it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Callable, NamedTuple

import numpy as np

from . import engine as eng
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
ORDERED = tuple(BAYER_SIZES) + ("blue-noise", "pattern")
DITHER_SPACES = ("srgb", "linear")
# Linear light by default: error diffused in sRGB values makes a dithered area as bright as its
# sRGB mean, but a screen (or an eye) averages light, so dark and middle tones come out too bright
# (sRGB 64, 5% light, dithered to black and white gets 25% white pixels: five times its light).
# See the README's dithering section for the gradients and photos this was chosen on.
DEFAULT_DITHER_SPACE = "linear"

BLUE_NOISE_FILE = "bluenoise64.npy"  # made by scripts/make_blue_noise.py

# Every ordered mode picks from a colour's mixing plan (palcli.mixing); the modes differ in the
# threshold matrix alone. pattern's is the lattice (4x + 7y) mod 16: each threshold level is a
# regular lattice of points 4 apart, so a mix of shares k/16 shows as an even, fine texture
# that a blur of a few pixels averages away. Of the lattices (ax + by) mod n with n up to 32,
# it gave the least low-pass error on the photos of benchmarks/bench_quality.py, below
# Bayer's 4x4 and 8x8 (whose coarser levels leave more energy at low frequencies).
PATTERN_LATTICE = (16, 4, 7)

# Error diffusion scans horizontal bands of about BAND_ROWS rows in parallel; each band first
# scans the WARM_ROWS rows above it for their error alone, so it starts with nearly the error a
# single scan would bring (the error a row receives fades within a few rows: no seam shows).
BAND_ROWS = 128
WARM_ROWS = 8

# Working values of the kernels: sRGB level * 256, or linear light * 65535.
SRGB_SCALE = 256
LINEAR_SCALE = 65535
WEIGHT_ONE = 1 << 16
NO_CAP = 1 << 40  # diffusion without a clamp: far beyond any error


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


def lattice_matrix(n: int, a: int, b: int) -> np.ndarray:
    """The n x n rank matrix (a x + b y) mod n: each threshold level is a lattice of points."""
    y, x = np.mgrid[0:n, 0:n]
    return (a * x + b * y) % n


def threshold_matrix(dither: str) -> np.ndarray:
    """Thresholds in (0, 1) for an ordered mode: rank r of N becomes (r + 0.5) / N."""
    if dither in BAYER_SIZES:
        ranks = bayer_matrix(BAYER_SIZES[dither])
    elif dither == "pattern":
        ranks = lattice_matrix(*PATTERN_LATTICE)
    else:
        ranks = blue_noise()
    return (ranks + 0.5) / (int(ranks.max()) + 1)


@lru_cache(maxsize=2)
def _space_tables(space: str):
    """(to_work (256,) int64: level -> working value, out_lut: working value >> LUT_SHIFT ->
    8-bit level over 0..to_work[255]) for a space."""
    from .kernels.dither import LUT_SHIFT

    step = 1 << LUT_SHIFT
    if space == "srgb":  # working value v is level (v + 128) >> 8; 128 is a multiple of step
        starts = np.arange((255 * SRGB_SCALE >> LUT_SHIFT) + 1) * step
        return (np.arange(256, dtype=np.int64) * SRGB_SCALE,
                np.minimum((starts + 128) >> 8, 255).astype(np.uint8))
    from .color import SRGB_TO_LINEAR, linear_to_srgb8

    to_work = np.rint(np.asarray(SRGB_TO_LINEAR, np.float64) * LINEAR_SCALE).astype(np.int64)
    # One entry per 2**LUT_SHIFT working values (the darkest sRGB step is 20 of them), taken at
    # the middle of its range; every level's own working value must come back to that level.
    middles = (np.arange((LINEAR_SCALE >> LUT_SHIFT) + 1) * step + (step - 1) / 2) / LINEAR_SCALE
    out_lut = np.asarray(linear_to_srgb8(middles), np.uint8)
    out_lut[to_work >> LUT_SHIFT] = np.arange(256, dtype=np.uint8)
    return to_work, out_lut


@lru_cache(maxsize=1)
def _wide_lut(space: str) -> np.ndarray:
    """out_lut widened to the range error diffusion bounds working values to (-vmax // 2 ..
    vmax + vmax // 2), clamped levels outside the gamut: the scan reads it without clamping."""
    from .kernels.dither import LUT_SHIFT

    to_work, out_lut = _space_tables(space)
    vmax = int(to_work[255])
    lo = -vmax // 2
    # Every start is lo plus a multiple of 2**LUT_SHIFT; lo (-32768) is a multiple too, so the
    # entries inside the gamut are out_lut's.
    starts = lo + (np.arange(((vmax + vmax // 2 - lo) >> LUT_SHIFT) + 1) << LUT_SHIFT)
    return out_lut[np.clip(starts, 0, vmax) >> LUT_SHIFT]


@dataclass(frozen=True)
class DitherParams:
    """How to dither: a DITHERS mode and its parameters, checked once when made.

    strength 0..1 scales the diffused error, or, in the ordered modes, each share of a pixel's
    mixing plan, its nearest colour taking the rest (0 is "none"); serpentine alternates the
    scan direction of error diffusion; space, "srgb" or "linear", is where error is accumulated and colours are
    mixed; clamp (error diffusion only): None, or 0..1, the largest error a pixel may receive
    per channel, as a fraction of the full range.
    """

    mode: str = "none"
    strength: float = 1.0
    serpentine: bool = True
    space: str = DEFAULT_DITHER_SPACE
    clamp: float | None = None

    def __post_init__(self):
        check_choice(self.mode, DITHERS, "dither")
        object.__setattr__(self, "strength", check_unit(self.strength, "dither_strength"))
        object.__setattr__(self, "serpentine", check_flag(self.serpentine, "serpentine"))
        check_choice(self.space, DITHER_SPACES, "dither_space")
        if self.clamp is not None:
            object.__setattr__(self, "clamp", check_unit(self.clamp, "dither_clamp"))

    @property
    def exact(self) -> bool:
        """True when every pixel simply gets its nearest colour (no dither runs)."""
        return self.mode == "none" or self.strength == 0.0


def dither_indices(rgb: np.ndarray, colors: np.ndarray, cube: np.ndarray,
                   params: DitherParams) -> np.ndarray:
    """Palette indices (H, W) of rgb ((H, W, 3|4) uint8, C-contiguous) dithered through cube.

    colors: the (K, 3) uint8 palette the cube was built from; cube: its (256, 256, 256) index
    table (read-only here: a compact copy of it, and the ordered modes' region tables, are kept
    for as long as the cube object lives). Output dtype is the cube's. Deterministic: the same
    arguments give the same indices on every run and thread count.
    """
    if params.exact or rgb.size == 0:
        return cube[rgb[..., 0], rgb[..., 1], rgb[..., 2]]
    top, leaves = _blocks(cube, len(colors))
    out = np.empty(rgb.shape[:2], leaves.dtype)
    # A read-only view whatever the caller's flags: one compiled specialisation per kernel.
    rgb = eng.readonly(rgb, rgb.shape)
    DITHERS[params.mode].run(rgb, colors, cube, top, leaves, params, out)
    return out


def _diffuse(rgb, colors, cube, top, leaves, params: DitherParams, out) -> None:
    """Error diffusion: the bands of diffusion_bands on the span thread pool, one kernel per
    space and table shape (palcli.kernels.dither)."""
    from .kernels import dither as kernels

    to_work, _ = _space_tables(params.space)
    pal = to_work[colors].reshape(-1)
    carry_w, near_w, dx, dy, w = _weights(params.mode, params.strength)
    kernel = {(True, False): kernels.diffuse_linear, (True, True): kernels.diffuse_linear_far,
              (False, False): kernels.diffuse_srgb,
              (False, True): kernels.diffuse_srgb_far}[params.space == "linear", len(dx) > 0]
    cap = NO_CAP if params.clamp is None else round(params.clamp * int(to_work[255]))
    bands = diffusion_bands(rgb.shape[0])
    args = (rgb, top, leaves, to_work, pal, pal * carry_w, carry_w, near_w, dx, dy, w,
            params.serpentine, _wide_lut(params.space), cap, bands, WARM_ROWS)
    eng.spans(lambda *a: kernel(*a, out), args, len(bands) - 1, unit=eng.CHUNK_PIXELS)


def _planned(rgb, colors, cube, top, leaves, params: DitherParams, out) -> None:
    """Every ordered mode: each pixel's mixing plan (palcli.mixing), one colour of it picked by
    the mode's threshold matrix."""
    from .kernels import ordered as kernels
    from .mixing import CELL_SHIFT, plans, unit_values

    table = plans(colors, params.space)
    args = (rgb, unit_values(params.space), table.cells, CELL_SHIFT, table.verts, table.coeffs,
            threshold_matrix(params.mode), params.strength, top, leaves)
    _rows(kernels.plan_span, args, out)


def _rows(kernel, args, out) -> None:
    """kernel(*args, lo, hi, out) over out's rows on the span thread pool."""
    h, w = out.shape
    eng.spans(lambda *a: kernel(*a, out), args, h, unit=max(w, 1))


class Dither(NamedTuple):
    kind: str  # "none", "diffusion" or "ordered" (a pixel's index depends on its colour and
    # position alone, so unchanged regions of an animation stay unchanged)
    run: Callable | None  # run(rgb, colors, cube, top, leaves, params, out) fills out


DITHERS: dict[str, Dither] = {"none": Dither("none", None)}
DITHERS.update({name: Dither("diffusion", _diffuse) for name in DIFFUSION})
DITHERS.update({name: Dither("ordered", _planned) for name in ORDERED})


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
