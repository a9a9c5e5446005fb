"""The dither registry: diffusion matrices as data, ordered matrices, strength and space.

dither_indices() is the one entry point: quantize()/remap() and the convert command call it
whenever dither != "none". The numba kernels live in palcli.kernels.dither and are imported only
when a dither actually runs.
"""

from __future__ import annotations

import numbers
import weakref
from functools import lru_cache
from importlib import resources

import numpy as np

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
DITHERS = ("none",) + DIFFUSION + ORDERED
DITHER_SPACES = ("srgb", "linear")
# Linear light by default: error diffused in sRGB values makes a dithered area as bright as its
# sRGB mean, but a screen (or an eye) averages light, so dark and middle tones come out too bright
# (sRGB 64, 5% light, dithered to black and white gets 25% white pixels: five times its light).
# See the README's dithering section for the gradients and photos this was chosen on.
DEFAULT_DITHER_SPACE = "linear"

BLUE_NOISE_FILE = "bluenoise64.npy"  # made by scripts/make_blue_noise.py

# pattern: the matrix that picks one of each pixel's candidates (their number,
# PATTERN_CANDIDATES, is a constant of the kernel).
PATTERN_MATRIX = 4  # Bayer 4x4: each of the 16 sorted candidates gets one cell of every tile
# bayer*/blue-noise: colour regions of 2**REGION_SHIFT sRGB levels a side, and the error steps
# taken from each region's centre to find its candidates.
REGION_SHIFT = 3
REGION_STEPS = 16

# Error diffusion scans horizontal bands of about BAND_ROWS rows in parallel; each band first
# scans the WARM_ROWS rows above it for their error alone, so it starts with nearly the error a
# single scan would bring (the error a row receives fades within a few rows: no seam shows).
BAND_ROWS = 128
WARM_ROWS = 8

# Working values of the kernels: sRGB level * 256, or linear light * 65535.
SRGB_SCALE = 256
LINEAR_SCALE = 65535
WEIGHT_ONE = 1 << 16
NO_CAP = 1 << 40  # diffusion without --dither-clamp: far beyond any error


def check_dither(dither: str) -> str:
    if not isinstance(dither, str) or dither not in DITHERS:
        raise ValueError(f"dither must be one of {', '.join(DITHERS)}; got {dither!r}")
    return dither


def check_dither_space(space) -> str:
    if space is None:
        return DEFAULT_DITHER_SPACE
    if not isinstance(space, str) or space not in DITHER_SPACES:
        raise ValueError(f"dither_space must be one of {', '.join(DITHER_SPACES)}; got {space!r}")
    return space


def check_clamp(clamp) -> float | None:
    if clamp is None:
        return None
    if isinstance(clamp, bool) or not isinstance(clamp, numbers.Real):
        raise TypeError(f"dither_clamp must be None or a number in 0..1, not "
                        f"{type(clamp).__name__}")
    c = float(clamp)
    if not 0.0 <= c <= 1.0:  # also rejects NaN
        raise ValueError(f"dither_clamp must be in 0..1; got {clamp!r}")
    return c


def check_strength(strength) -> float:
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real):
        raise TypeError(f"dither_strength must be a number in 0..1, not {type(strength).__name__}")
    s = float(strength)
    if not 0.0 <= s <= 1.0:  # also rejects NaN
        raise ValueError(f"dither_strength must be in 0..1; got {strength!r}")
    return s


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
    starts = lo + (np.arange(((vmax + vmax // 2 - lo) >> LUT_SHIFT) + 1) << LUT_SHIFT)
    # Every start is a multiple of 2**LUT_SHIFT above lo; lo is one too (-32768), so the
    # entries of the gamut are out_lut's.
    return out_lut[np.clip(starts, 0, vmax) >> LUT_SHIFT]


def dither_indices(rgb, palette, cube, dither, strength=1.0, serpentine=True, space=None,
                   clamp=None):
    """Palette indices (H, W) of rgb (H, W, 3|4 uint8) dithered onto palette through cube.

    palette: a Palette or (K, 3) uint8 colours (the ones cube was built from); cube: the
    (256, 256, 256) index table; dither: a DITHERS name; strength 0..1 scales the diffused error,
    the candidates' error or the ordered mix; serpentine alternates the scan direction of error
    diffusion; space: "srgb" or "linear" (None: DEFAULT_DITHER_SPACE), where error is accumulated
    and colours mixed; clamp: None, or 0..1, the largest diffused error a pixel may receive, as a
    fraction of the full range (error-diffusion modes only). Output dtype is the cube's.
    Deterministic: the same arguments give the same indices on every run and thread count.
    The cube is read-only here: a compact copy of it is kept for as long as the cube object lives.
    """
    check_dither(dither)
    strength = check_strength(strength)
    space = check_dither_space(space)
    clamp = check_clamp(clamp)
    colors = np.asarray(getattr(palette, "colors", palette), np.uint8)
    rgb = _check_rgb(rgb)
    _check_cube(cube)
    out = np.empty(rgb.shape[:2], cube.dtype)
    if dither == "none" or strength == 0.0 or rgb.size == 0:
        out[...] = cube[rgb[..., 0], rgb[..., 1], rgb[..., 2]]
        return out
    top, leaves = _blocks(cube, len(colors))
    if dither in DIFFUSION_TABLES:
        diffuse(rgb, colors, top, leaves, dither, strength, serpentine, space, clamp, out)
    elif dither == "pattern":
        pattern(rgb, colors, top, leaves, strength, space, out)
    else:
        regions = _cached(cube, ("regions", space), lambda: ordered_regions(colors, cube, space))
        ordered(rgb, colors, top, leaves, regions, dither, strength, space, out)
    return out


def diffuse(rgb, colors, top, leaves, dither, strength, serpentine, space, clamp, out) -> None:
    """Error diffusion of rgb into out, bands on the thread pool (see diffusion_bands)."""
    from .kernels import dither as kernels

    to_work, out_lut = _space_tables(space)
    pal = to_work[colors].reshape(-1)
    carry_w, near_w, dx, dy, w = _weights(dither, strength)
    far = len(dx) > 0
    kernel = {(True, False): kernels.diffuse_linear, (True, True): kernels.diffuse_linear_far,
              (False, False): kernels.diffuse_srgb,
              (False, True): kernels.diffuse_srgb_far}[space == "linear", far]
    cap = NO_CAP if clamp is None else round(clamp * to_work[255])
    bands = diffusion_bands(rgb.shape[0])
    args = (rgb, top, leaves, to_work, pal, pal * carry_w, carry_w, near_w, dx, dy, w,
            bool(serpentine), _wide_lut(space), cap, bands, WARM_ROWS)
    _thread_spans(lambda *a: kernel(*a, out), args, len(bands) - 1, whole=True)


def pattern(rgb, colors, top, leaves, strength, space, out) -> None:
    """pattern: each pixel's PATTERN_CANDIDATES candidates, sorted by luminance, one picked by
    the Bayer matrix of PATTERN_MATRIX."""
    kernels = kernels_ordered()
    if kernels.CANDIDATES != PATTERN_CANDIDATES:
        raise RuntimeError("palcli.kernels.ordered.CANDIDATES differs from PATTERN_CANDIDATES")
    to_work, out_lut = _space_tables(space)
    args = (rgb, top, leaves, to_work, to_work[colors].reshape(-1), out_lut,
            luminance_ranks(colors), pattern_picks(), round(strength * WEIGHT_ONE))
    # Spans of 8x the usual pixels: each starts its colour memo empty.
    _rows(kernels.pattern_span, args, out, 8)


def ordered(rgb, colors, top, leaves, regions, dither, strength, space, out) -> None:
    """bayer*, blue-noise: each pixel mixes its colour region's candidates (ordered_regions),
    the mode's threshold matrix choosing."""
    to_work, _ = _space_tables(space)
    packed, weights = regions
    thresholds = (threshold_matrix(dither) + 0.5).astype(np.float32)
    args = (rgb, top, leaves, to_work, to_work[colors].reshape(-1), packed, weights,
            thresholds, strength)
    _rows(kernels_ordered().region_span, args, out)


def kernels_ordered():
    from .kernels import ordered

    return ordered


def _rows(kernel, args, out, spans_of=1) -> None:
    """kernel(*args, lo, hi, out) over out's rows, split over threads (spans of spans_of times
    the thread pool's usual pixels)."""
    h, w = out.shape
    _thread_spans(lambda *a: kernel(*a, out), args, h, unit=max(w // spans_of, 1))


def _thread_spans(kernel, args, n, unit=1, whole=False) -> None:
    """palcli's span thread pool: kernel(*args, lo, hi) over [0, n), items of `unit` pixels
    (whole: one item per claim)."""
    from .quantize import _spans

    _spans(kernel, args, n, unit=1 << 62 if whole else unit)


def ordered_regions(colors: np.ndarray, cube: np.ndarray, space: str):
    """Per colour region (REGION_SHIFT levels a side, r, g, b major): the three candidates the
    ordered modes mix, and how much of each a colour takes.

    From the region's centre p, REGION_STEPS cube reads of p plus the accumulated error (as
    pattern does) give candidates; the three most frequent are c1 c2 c3 (c1 the most frequent;
    a missing one repeats c1). weights (R, 6) float64: the least-squares map from a colour's
    offset to c1 to the shares of c2 and c3 (the pseudo-inverse of [c2 - c1, c3 - c1]), in
    working values, float32. regions (R,) int64: c1 | c2 << 16 | c3 << 32, plus 1 << 48 when
    every colour of the region has its nearest among them (the kernel then skips the cube read).
    """
    from .kernels.dither import LUT_SHIFT

    to_work, out_lut = _space_tables(space)
    side = 256 >> REGION_SHIFT
    centre = to_work[(np.arange(side) << REGION_SHIFT) + (1 << REGION_SHIFT >> 1)]
    p = np.stack(np.meshgrid(centre, centre, centre, indexing="ij"), -1).reshape(-1, 3)
    pal = to_work[np.asarray(colors)]
    cands = np.empty((len(p), REGION_STEPS), np.int64)
    err = np.zeros_like(p)
    for i in range(REGION_STEPS):
        lv = out_lut[np.clip(p + err, 0, to_work[255]) >> LUT_SHIFT]
        cands[:, i] = cube[lv[:, 0], lv[:, 1], lv[:, 2]]
        err += p - pal[cands[:, i]]
    counts = (cands[:, :, None] == cands[:, None, :]).sum(2)
    tri = np.empty((len(p), 3), np.int64)
    rows = np.arange(len(p))
    for j in range(3):
        best = np.argmax(counts, axis=1)
        tri[:, j] = np.where(counts[rows, best] > 0, cands[rows, best], tri[:, 0])
        counts[cands == tri[:, j:j + 1]] = 0
    d = (pal[tri[:, 1:3]] - pal[tri[:, :1]]).astype(np.float64).transpose(0, 2, 1)  # (R, 3, 2)
    weights = np.linalg.pinv(d).reshape(-1, 6).astype(np.float32)
    v = cube.reshape(side, 1 << REGION_SHIFT, side, 1 << REGION_SHIFT, side, 1 << REGION_SHIFT)
    v = v.transpose(0, 2, 4, 1, 3, 5).reshape(len(p), -1)
    pure = ((v == tri[:, :1]) | (v == tri[:, 1:2]) | (v == tri[:, 2:3])).all(axis=1)
    packed = tri[:, 0] | tri[:, 1] << 16 | tri[:, 2] << 32 | pure.astype(np.int64) << 48
    return packed, weights


def luminance_ranks(colors: np.ndarray) -> np.ndarray:
    """Each palette index's rank by relative luminance (Y of linear sRGB, IEC 61966-2-1), ties
    by index: pattern sorts a pixel's candidates by it, so a tile runs from dark to light."""
    from .color import SRGB_TO_XYZ, srgb_to_linear

    y = srgb_to_linear(np.asarray(colors, np.float64) / 255) @ SRGB_TO_XYZ[1]
    ranks = np.empty(len(y), np.int64)
    ranks[np.lexsort((np.arange(len(y)), y))] = np.arange(len(y))
    return ranks


@lru_cache(maxsize=1)
def pattern_picks() -> np.ndarray:
    """Which of the PATTERN_CANDIDATES sorted candidates each position of the tile takes."""
    ranks = bayer_matrix(PATTERN_MATRIX)
    return ranks * PATTERN_CANDIDATES // ranks.size


PATTERN_CANDIDATES = 16  # the kernel's CANDIDATES; checked when the kernel is loaded


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
_DERIVED: dict[tuple, tuple] = {}  # (id(cube), what) -> (weakref to cube, tables)


def _cached(cube: np.ndarray, what, make):
    """Tables derived from a cube (and its palette), kept for as long as the cube object lives."""
    key = (id(cube), what)
    hit = _DERIVED.get(key)
    if hit is not None and hit[0]() is cube:
        return hit[1]
    while len(_DERIVED) >= 8:
        _DERIVED.pop(next(iter(_DERIVED)))
    value = make()
    _DERIVED[key] = (weakref.ref(cube, lambda _, key=key: _DERIVED.pop(key, None)), value)
    return value


def _blocks(cube: np.ndarray, k: int):
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


def _check_rgb(rgb) -> np.ndarray:
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"image must be a numpy array, not {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {rgb.dtype}")
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise ValueError(f"image must have shape (H, W, 3) or (H, W, 4), got {rgb.shape}")
    return np.ascontiguousarray(rgb)


def _check_cube(cube) -> None:
    if not isinstance(cube, np.ndarray) or cube.shape != (256, 256, 256):
        shape = getattr(cube, "shape", type(cube).__name__)
        raise ValueError(f"cube must be a (256, 256, 256) array, got {shape}")
    if cube.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"cube must be uint8 or uint16, got {cube.dtype}")
