"""Dithering: tables and matrices, the kernels against a slow reference, palette-only output,
brightness on gradients, determinism, strength, and argument errors."""

import importlib.util
import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from palcli import load_palette, quantize, remap
from palcli.cube import get_cube
from palcli.dither import (BAND_ROWS, DEFAULT_DITHER_SPACE, DIFFUSION, DIFFUSION_TABLES,
                           DITHER_SPACES, DITHERS, ORDERED, PATTERN_LATTICE, WARM_ROWS,
                           DitherParams, bayer_matrix, blue_noise, diffusion_bands,
                           dither_indices, threshold_matrix)
from palcli.mixing import GREY_SHRINK
from reference import nearest_rgb_fast

ROOT = Path(__file__).resolve().parent.parent
BW = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)
# Irregular on purpose: no grid, two near-duplicates, a duplicate (lowest index must win).
PAL = np.array([[12, 20, 30], [240, 230, 200], [200, 40, 50], [30, 160, 70], [60, 80, 220],
                [128, 128, 128], [131, 126, 129], [200, 40, 50]], np.uint8)


def _image(h, w, seed=0):
    """Smooth colour ramps plus a little noise: every kind of pixel a photo has."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1),
                     127 + 120 * np.sin((x + y) / 5)], axis=-1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


# -- the slow reference: the definition written out pixel by pixel ------------------------------

def _srgb_decode(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb_encode(x):
    return np.where(x <= 0.0031308, x * 12.92,
                    1.055 * np.maximum(x, 0.0031308) ** (1 / 2.4) - 0.055)


def _space(space):
    """(8-bit level -> working value, working value -> 8-bit level, largest working value)."""
    if space == "srgb":
        return np.arange(256) * 256, lambda v: (v + 128) >> 8, 255 * 256
    to_work = np.rint(_srgb_decode(np.arange(256) / 255) * 65535).astype(np.int64)
    # Rounded in steps of 4 working values, at the middle of each step; levels map to themselves.
    lut = np.rint(255 * _srgb_encode((np.arange(16384) * 4 + 1.5) / 65535)).astype(np.int64)
    lut[to_work >> 2] = np.arange(256)
    return to_work, lambda v: lut[v >> 2], 65535


def ref_diffuse(img, pal, dither, strength, serpentine, space, clamp=None):
    """An even number of bands of about BAND_ROWS, each scanned from WARM_ROWS rows above it."""
    h = img.shape[0]
    n = 2 * max(1, h // (2 * BAND_ROWS))
    bounds = [b * h // n for b in range(n + 1)]
    out = np.zeros(img.shape[:2], np.int64)
    for start, end in zip(bounds, bounds[1:]):
        first = max(0, start - WARM_ROWS)
        out[start:end] = _ref_scan(img, pal, dither, strength, serpentine, space, first, end,
                                   clamp)[start - first:]
    return out


def _ref_scan(img, pal, dither, strength, serpentine, space, first, end, clamp):
    entries, divisor = DIFFUSION_TABLES[dither]
    weights = [(dx, dy, round(wt * strength * 65536 / divisor)) for dx, dy, wt in entries]
    to_work, to8, vmax = _space(space)
    w = img.shape[1]
    err = np.zeros((end - first + 2, w + 4, 3), np.int64)
    pal_work = to_work[pal]
    out = np.zeros((end - first, w), np.int64)
    for y in range(first, end):
        step = -1 if serpentine and y % 2 else 1  # the direction follows the image's row number
        for x in (range(w - 1, -1, -1) if step < 0 else range(w)):
            own = to_work[img[y, x, :3]]
            cap = 1 << 40 if clamp is None else round(clamp * vmax)  # received error, per channel
            v = own + np.clip(err[y - first, x + 2], -cap, cap)
            v = np.clip(v, -(vmax // 2), vmax + vmax // 2)
            c = to8(np.clip(v, 0, vmax))
            q = nearest_rgb_fast(c[None, :], pal)[0]
            out[y - first, x] = q
            e = v - pal_work[q]
            for dx, dy, wt in weights:
                err[y - first + dy, x + 2 + step * dx] += (e * wt) >> 16  # each share floored
    return out


def _bayer_closed_form(n):
    """Bayer index by bit interleaving (reversed bits of x^y and y): independent of recursion."""
    bits = n.bit_length() - 1
    m = np.zeros((n, n), np.int64)
    for i in range(n):
        for j in range(n):
            a, b, v = i ^ j, i, 0
            for k in range(bits):
                v = (v << 2) | (((a >> k) & 1) << 1) | ((b >> k) & 1)
            m[i, j] = v
    return m


def _luminance_ranks(pal):
    """Palette indices ranked by relative luminance Y (IEC 61966-2-1 row of the sRGB->XYZ matrix),
    ties by index."""
    y = _srgb_decode(np.asarray(pal, np.float64) / 255) @ np.array([0.2126, 0.7152, 0.0722])
    order = sorted(range(len(pal)), key=lambda i: (y[i], i))
    ranks = np.empty(len(pal), np.int64)
    ranks[order] = np.arange(len(pal))
    return ranks


def _unit(space, levels=np.arange(256)):
    """The dither-space value of (fractional) 8-bit levels."""
    v = np.asarray(levels, np.float64) / 255
    return v if space == "srgb" else _srgb_decode(v)


def _lowest_mixes(points, heights, p):
    """[(subset, weights)] of the mixes of points with mean p and the least total height: the
    linear programme's optimum is a vertex, at most 4 points, so every set of 4 affinely
    independent points is tried. Several when p lies on a face of the triangulation (a weight
    0: any fourth point then does); [] when p lies outside the hull."""
    subsets = np.array(list(itertools.combinations(range(len(points)), 4)))
    a = np.concatenate([points[subsets].transpose(0, 2, 1), np.ones((len(subsets), 1, 4))], 1)
    solid = np.abs(np.linalg.det(a)) >= 1e-12
    subsets, a = subsets[solid], a[solid]
    w = np.linalg.solve(a, np.broadcast_to(np.append(p, 1.0), (len(a), 4))[..., None])[..., 0]
    feasible = w.min(1) >= -1e-9
    if not feasible.any():
        return []
    cost = np.where(feasible, (w * heights[subsets]).sum(1), np.inf)
    best = np.flatnonzero(cost <= cost.min() + 1e-12)
    return [(tuple(subsets[i]), w[i]) for i in best]


def _affine_shares(points, p):
    """Weights summing to 1 of the points' affine combination nearest p (least squares)."""
    if len(points) == 1:
        return np.ones(1)
    edges = (points[1:] - points[0]).T
    lam = np.linalg.lstsq(edges, p - points[0], rcond=None)[0]
    return np.concatenate([[1 - lam.sum()], lam])


def _nearest_on_hull(points, p):
    """The hull's point nearest p: the best projection on a set of 1 to 3 points that falls
    inside it."""
    best = None
    for size in (1, 2, 3):
        for subset in itertools.combinations(range(len(points)), size):
            w = _affine_shares(points[list(subset)], p)
            if w.min() < -1e-12:
                continue
            q = w @ points[list(subset)]
            d = ((q - p) ** 2).sum()
            if best is None or d < best[0]:
                best = (d, q)
    return best[1]


def _plans_of_cell(points, heights, centre):
    """The point numbers of a cell centre's plan (all of them, when it lies on a face): its
    simplex, or outside the hull, those carrying weight in the plan of the hull's nearest
    point."""
    found = _lowest_mixes(points, heights, centre)
    if found:
        return [list(subset) for subset, _ in found]
    subset, w = _lowest_mixes(points, heights, _nearest_on_hull(points, centre))[0]
    return [[i for i, wi in zip(subset, w) if wi > 1e-9]]


def _lattice(n, a, b):
    y, x = np.mgrid[0:n, 0:n]
    return (a * x + b * y) % n


def ref_plans(img, pal, dither, strength, space):
    """Every ordered mode: the plan of the pixel's cell (4 levels a side) centre in the
    triangulation with heights |v|^2 - GREY_SHRINK (r+g+b)^2, its colours darkest first, shares
    of the pixel's projection on their span; the threshold (rank + 0.5) / N takes the colour
    whose cumulative share first exceeds it. Strength s: thresholds at or above s take the
    nearest colour, the others t / s. Returns (H, W) sets of indices: more than one where the
    cell's centre lies on a face of the triangulation, and either simplex is its plan."""
    if dither == "pattern":
        ranks = _lattice(*PATTERN_LATTICE)
    else:
        ranks = blue_noise() if dither == "blue-noise" else _bayer_closed_form(int(dither[5:]))
    thresholds = (ranks + 0.5) / (ranks.max() + 1)
    unit = _unit(space)
    keep = sorted({tuple(c): i for i, c in reversed(list(enumerate(pal.tolist())))}.values())
    points = unit[pal[keep].astype(np.int64)]
    heights = (points ** 2).sum(1) - GREY_SHRINK * points.sum(1) ** 2
    lum = _luminance_ranks(pal)
    plans = {}
    h, w = img.shape[:2]
    out = np.empty((h, w), object)
    for y in range(h):
        for x in range(w):
            c = img[y, x, :3].astype(np.int64)
            t = thresholds[y % len(thresholds), x % len(thresholds[0])]
            if strength < 1:
                if t >= strength:
                    out[y, x] = {nearest_rgb_fast(c[None, :], pal)[0]}
                    continue
                t *= 1.0 / strength
            cell = tuple(c >> 2)
            if cell not in plans:
                centre = _unit(space, np.array(cell) * 4 + 1.5)
                plans[cell] = [sorted(s, key=lambda i: lum[keep[i]])
                               for s in _plans_of_cell(points, heights, centre)]
            out[y, x] = set()
            for support in plans[cell]:
                shares = _affine_shares(points[support], unit[c])
                k = int((np.cumsum(shares)[:-1] <= t).sum())
                out[y, x].add(keep[support[k]])
    return out


def _agrees(got, choices):
    """got (H, W) is one of the reference's choices at every pixel, and the pixels with a
    choice (cell centres on a face) are few."""
    ambiguous = np.vectorize(len)(choices) > 1
    assert ambiguous.mean() < 0.05
    return all(g in c for g, c in zip(got.reshape(-1), choices.reshape(-1)))


def indices(img, pal, cube, dither, strength=1.0, serpentine=True, space=DEFAULT_DITHER_SPACE,
            clamp=None):
    """dither_indices with the parameters spelled out, as the tests below vary them."""
    return dither_indices(np.ascontiguousarray(img), pal, cube,
                          DitherParams(dither, strength, serpentine, space, clamp))


# -- registry and matrices -------------------------------------------------------------------------

def test_registry_lists_every_mode_once():
    assert list(DITHERS)[0] == "none"
    assert tuple(DITHERS) == ("none",) + DIFFUSION + ORDERED
    assert "pattern" in ORDERED
    assert len(set(DITHERS)) == 14
    assert {DITHERS[d].kind for d in DIFFUSION} == {"diffusion"}
    assert {DITHERS[d].kind for d in ORDERED} == {"ordered"}
    assert DITHER_SPACES == ("srgb", "linear") and DEFAULT_DITHER_SPACE in DITHER_SPACES


@pytest.mark.parametrize("dither", DIFFUSION)
def test_diffusion_tables_reach_forward_only(dither):
    entries, divisor = DIFFUSION_TABLES[dither]
    total = sum(w for _, _, w in entries)
    # Atkinson passes on 6/8 of the error by design; every other table passes on all of it.
    assert total == (6 if dither == "atkinson" else divisor)
    for dx, dy, w in entries:
        assert w > 0 and 0 <= dy <= 2 and -2 <= dx <= 2
        assert dy > 0 or dx > 0, "error may only go to pixels not yet visited"
    assert (1, 0) in {(dx, dy) for dx, dy, _ in entries}


def test_floyd_steinberg_is_the_published_table():
    fs = (((1, 0, 7), (-1, 1, 3), (0, 1, 5), (1, 1, 1)), 16)
    assert DIFFUSION_TABLES["floyd-steinberg"] == fs


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_bayer_matrices_follow_the_recursive_definition(n):
    m = bayer_matrix(n)
    assert np.array_equal(m, _bayer_closed_form(n))
    assert np.array_equal(np.sort(m.ravel()), np.arange(n * n))
    if n > 1:
        half = bayer_matrix(n // 2)
        assert np.array_equal(m, np.block([[4 * half, 4 * half + 2], [4 * half + 3, 4 * half + 1]]))


def test_bayer_small_matrices_are_the_textbook_ones():
    assert bayer_matrix(2).tolist() == [[0, 2], [3, 1]]
    assert bayer_matrix(4).tolist() == [[0, 8, 2, 10], [12, 4, 14, 6],
                                        [3, 11, 1, 9], [15, 7, 13, 5]]


def test_bayer_rejects_sizes_that_are_not_powers_of_two():
    with pytest.raises(ValueError, match="power of two"):
        bayer_matrix(6)


def test_blue_noise_is_a_permutation_without_low_frequencies():
    ranks = blue_noise()
    assert ranks.shape == (64, 64)
    assert np.array_equal(np.sort(ranks.ravel()), np.arange(4096))
    # Threshold at half: blue noise has far less energy at low frequencies than white noise.
    spectrum = np.abs(np.fft.fft2((ranks < 2048) - 0.5)) ** 2
    white = np.abs(np.fft.fft2((np.random.default_rng(1).permutation(4096).reshape(64, 64)
                                < 2048) - 0.5)) ** 2
    low = np.add.outer(np.r_[0:4, 61:64], np.r_[0:4, 61:64]) >= 0  # the 7x7 lowest frequencies
    low_b = spectrum[np.ix_(np.r_[0:4, 61:64], np.r_[0:4, 61:64])][low].sum() - spectrum[0, 0]
    low_w = white[np.ix_(np.r_[0:4, 61:64], np.r_[0:4, 61:64])][low].sum() - white[0, 0]
    assert low_b < low_w / 10


def test_blue_noise_file_is_what_the_script_makes():
    spec = importlib.util.spec_from_file_location("make_blue_noise",
                                                  ROOT / "scripts" / "make_blue_noise.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert np.array_equal(script.void_and_cluster(), blue_noise())


def test_thresholds_lie_in_the_unit_interval_with_every_level_alike():
    for dither in ORDERED:
        t = threshold_matrix(dither)
        levels, counts = np.unique(t, return_counts=True)
        assert 0 < t.min() and t.max() < 1
        assert abs(t.mean() - 0.5) < 1e-12
        assert len(set(counts)) == 1 and len(levels) >= 4, dither


def test_pattern_lattice_holds_every_level_in_each_column_and_8x8_block():
    ranks = _lattice(*PATTERN_LATTICE)
    n = PATTERN_LATTICE[0]
    assert all(sorted(ranks[:, x]) == list(range(n)) for x in range(n))
    blocks = ranks.reshape(2, 8, 2, 8).transpose(0, 2, 1, 3).reshape(4, 64)
    assert all((np.bincount(b, minlength=n) == 64 // n).all() for b in blocks)


# -- the kernels against the reference -------------------------------------------------------------

@pytest.mark.parametrize("dither", DIFFUSION)
@pytest.mark.parametrize("space", DITHER_SPACES)
def test_diffusion_matches_the_reference(dither, space):
    img = _image(9, 13, seed=len(dither))
    cube = get_cube(PAL, "rgb").array
    for serpentine, strength in ((True, 1.0), (False, 1.0), (True, 0.4)):
        got = indices(img, PAL, cube, dither, strength, serpentine, space)
        want = ref_diffuse(img, PAL, dither, strength, serpentine, space)
        assert np.array_equal(got, want), (serpentine, strength)


@pytest.mark.parametrize("dither, space", [("floyd-steinberg", "linear"), ("stucki", "srgb")])
def test_tall_images_are_diffused_in_bands_like_the_reference(dither, space):
    img = _image(4 * BAND_ROWS + 41, 5, seed=9)
    assert len(diffusion_bands(img.shape[0])) == 5
    cube = get_cube(PAL, "rgb").array
    got = indices(img, PAL, cube, dither, 1.0, True, space)
    assert np.array_equal(got, ref_diffuse(img, PAL, dither, 1.0, True, space))


@pytest.mark.parametrize("height", [0, 1, 2, BAND_ROWS - 1, BAND_ROWS, 2 * BAND_ROWS + 1, 5000])
def test_bands_cover_every_row_once(height):
    bounds = diffusion_bands(height)
    assert bounds[0] == 0 and bounds[-1] == height
    assert len(bounds) % 2 == 1  # an even number of bands
    assert np.all(np.diff(bounds) >= min(height // 2, BAND_ROWS))


@pytest.mark.parametrize("level", [20, 100, 200])
def test_band_seams_do_not_show(level):
    # Flat grey: every 4x4 block should be as close to it as any other, blocks at seams included.
    img = np.full((4 * BAND_ROWS, 128, 3), level, np.uint8)
    cube = get_cube(BW, "rgb").array
    idx = indices(img, BW, cube, "floyd-steinberg", space="srgb").astype(np.float64)
    blocks = np.abs((255 * idx - level).reshape(-1, 4, 32, 4).mean(axis=(1, 3))).mean(1)
    seams = diffusion_bands(img.shape[0])[1:-1] // 4
    assert len(seams) == 3
    assert blocks[seams].max() <= np.delete(blocks, seams).max()
    assert abs(idx.mean() * 255 - level) < 1


@pytest.mark.parametrize("dither", ORDERED)
@pytest.mark.parametrize("space", DITHER_SPACES)
def test_ordered_matches_the_reference(dither, space):
    img = _image(20, 70, seed=3)  # wider than a tile, and not a multiple of one
    cube = get_cube(PAL, "rgb").array
    for strength in (1.0, 0.3):
        got = indices(img, PAL, cube, dither, strength, space=space)
        assert _agrees(got, ref_plans(img, PAL, dither, strength, space)), strength


@pytest.mark.parametrize("space", DITHER_SPACES)
def test_pattern_matches_the_reference_on_a_bigger_palette(space):
    img = _image(9, 24, seed=4)
    pal = load_palette("pico-8").colors
    cube = get_cube(pal, "rgb").array
    got = indices(img, pal, cube, "pattern", space=space)
    assert _agrees(got, ref_plans(img, pal, "pattern", 1.0, space))


def test_plans_are_built_once_per_palette_and_space_whatever_the_threads():
    import numba

    from palcli.mixing import luminance_ranks, plan_table, plans

    pal = load_palette("nes").colors
    assert plans(pal, "linear") is plans(pal.copy(), "linear")
    assert plans(pal, "linear") is not plans(pal, "srgb")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        alone = plan_table(pal, "linear", luminance_ranks(pal))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(alone, plans(pal, "linear")):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("levels", [[0, 255], [0, 85, 170, 255], [255, 60, 0]])
def test_a_palette_of_greys_mixes_to_each_grey(levels):
    # A palette on a line (one dimension): each flat grey's light over a 16x16 tile comes
    # within half a threshold step (1/32) of the gap between the two greys around it.
    pal = np.repeat(np.array(levels, np.uint8)[:, None], 3, 1)
    cube = get_cube(pal, "rgb").array
    lin = _srgb_decode(np.sort(levels) / 255)
    for level in range(0, 256, 15):
        img = np.full((16, 16, 3), level, np.uint8)
        got = _srgb_decode(pal[indices(img, pal, cube, "pattern")][..., 0] / 255).mean()
        want = _srgb_decode(level / 255)
        gap = np.diff(lin).max()
        assert abs(got - want) <= gap / 32 + 1e-9, level


# -- what every mode promises ----------------------------------------------------------------

@pytest.mark.parametrize("metric", ["rgb", "oklab"])
def test_every_mode_writes_only_palette_colours(metric):
    pal = np.array([[0, 0, 0], [255, 0, 77], [41, 173, 255], [255, 236, 39], [255, 241, 232]],
                   np.uint8)
    img = _image(40, 50)
    for dither in DITHERS:
        for space in DITHER_SPACES:
            out = remap(img, pal, metric=metric, dither=dither, dither_space=space)
            assert out.shape == img.shape and out.dtype == np.uint8
            assert set(map(tuple, out.reshape(-1, 3))) <= set(map(tuple, pal)), (dither, space)


def _ramp(lo, hi, h=64, w=256):
    row = np.rint(np.linspace(lo, hi, w)).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(row[None, :, None], h, 0).repeat(3, 2))


def _brightness(levels, space):
    levels = np.asarray(levels, np.float64)
    return (levels / 255 if space == "srgb" else _srgb_decode(levels / 255)).mean()


@pytest.mark.parametrize("space", DITHER_SPACES)
def test_gradients_keep_their_mean_brightness(space):
    # A dark ramp: without dithering it all falls to black and white at 128, far from its mean.
    img = _ramp(0, 160)
    cube = get_cube(BW, "rgb").array
    want = _brightness(img[..., 0], space)
    none = _brightness(BW[indices(img, BW, cube, "none")][..., 0], space)
    assert abs(none - want) > 0.05
    # Atkinson drops 1/4 of the error by design. Ordered modes mix in the dither space too.
    modes = [d for d in DIFFUSION if d != "atkinson"] + list(ORDERED)
    for dither in modes:
        idx = indices(img, BW, cube, dither, 1.0, True, space)
        got = _brightness(BW[idx][..., 0], space)
        assert abs(got - want) <= 0.02, (dither, got, want)


def test_pattern_keeps_a_full_ramps_light():
    # Black to white, black and white only: the whole ramp's light, and every column's (its 16
    # rows hold each of the lattice's 16 levels once), within 2% of the input's, in linear
    # light. A column's plan is black and white with white's share w its light exactly (the
    # palette is a line, so every cell's map is exact), and 16 levels round w to within 1/32.
    img = _ramp(0, 255, h=16)
    cube = get_cube(BW, "rgb").array
    out = BW[indices(img, BW, cube, "pattern")][..., 0]
    want = _srgb_decode(img[..., 0] / 255)
    got = _srgb_decode(out / 255)
    assert abs(got.mean() - want.mean()) <= 0.02
    assert np.abs(got.mean(0) - want.mean(0)).max() <= 1 / 32 + 1e-9


def _block_error(a, b):
    """The mean linear-light error of 8x8 block averages (all three channels)."""
    la, lb = (_srgb_decode(x.astype(np.float64) / 255) for x in (a, b))
    h, w = a.shape[0] // 8 * 8, a.shape[1] // 8 * 8
    blocks = lambda x: x[:h, :w].reshape(h // 8, 8, w // 8, 8, 3).mean((1, 3))  # noqa: E731
    return np.abs(blocks(la) - blocks(lb)).mean()


def test_pattern_block_error_on_a_photo():
    # A 200x160 crop of scikit-image's photo "chelsea" (CC0, Stefan van der Walt).
    photo = ROOT / "tests" / "data" / "images" / "photo-chelsea.png"
    from PIL import Image

    with Image.open(photo) as im:
        img = np.asarray(im.convert("RGB"))
    pal = load_palette("pico-8").colors
    cube = get_cube(pal, "rgb").array
    err = {d: _block_error(img, pal[indices(img, pal, cube, d)])
           for d in ("none", "floyd-steinberg", "pattern")}
    # The bound. A pixel's plan mixes exactly to its colour (barycentric shares in linear
    # light) when the colour lies in the palette's hull and in the simplex of its 4x4x4 cell's
    # centre; an aligned 8x8 block holds each of the lattice's 16 levels 4 times, so a block of
    # one colour is off by at most 1/32 of the gap between its plan's colours. What remains
    # comes from colours outside the hull (the hull's nearest point is shown instead), cells
    # that straddle a face, and blocks whose pixels differ. Linear Floyd-Steinberg keeps each
    # area's light almost exactly and is the floor; twice it leaves room for those terms, while
    # a mix that shifts hue (the ordered modes once sat at ~6x) or a plain nearest-colour map
    # (none) lies far above.
    bound = 2 * err["floyd-steinberg"]
    assert err["pattern"] <= bound, err
    assert bound < err["none"] / 2, err  # the bound means something on this photo


def test_linear_space_is_right_in_linear_light_and_srgb_space_is_not():
    img = _ramp(0, 160)
    cube = get_cube(BW, "rgb").array
    want = _brightness(img[..., 0], "linear")
    lin = _brightness(BW[indices(img, BW, cube, "floyd-steinberg", space="linear")][..., 0],
                      "linear")
    srgb = _brightness(BW[indices(img, BW, cube, "floyd-steinberg", space="srgb")][..., 0],
                       "linear")
    assert abs(lin - want) < 0.01 < abs(srgb - want)


@pytest.mark.parametrize("dither", list(DITHERS)[1:])
def test_strength_zero_is_no_dither(dither):
    img = _image(16, 24)
    cube = get_cube(PAL, "rgb").array
    plain = indices(img, PAL, cube, "none")
    assert np.array_equal(indices(img, PAL, cube, dither, 0.0), plain)
    assert np.array_equal(plain, nearest_rgb_fast(img.reshape(-1, 3), PAL).reshape(16, 24))


def test_strength_scales_the_effect():
    img = _ramp(0, 160)
    cube = get_cube(BW, "rgb").array
    for dither in ("floyd-steinberg", "bayer8", "pattern"):
        plain = indices(img, BW, cube, "none")
        changed = [(indices(img, BW, cube, dither, s) != plain).mean() for s in (0.25, 1.0)]
        assert 0 < changed[0] < changed[1]


def test_serpentine_changes_the_scan():
    img = _image(30, 40)
    cube = get_cube(PAL, "rgb").array
    a = indices(img, PAL, cube, "floyd-steinberg", serpentine=True)
    b = indices(img, PAL, cube, "floyd-steinberg", serpentine=False)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a, b)


def test_same_input_same_bytes_whatever_the_thread_count():
    import numba

    img = _image(300, 200)
    cube = get_cube("pico-8", "rgb").array
    pal = load_palette("pico-8").colors
    before = numba.get_num_threads()
    try:
        runs = []
        for threads in (1, numba.config.NUMBA_NUM_THREADS, 1):
            numba.set_num_threads(threads)
            runs.append([indices(img, pal, cube, d).tobytes() for d in DITHERS])
    finally:
        numba.set_num_threads(before)
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize("dither", ORDERED)
def test_ordered_modes_are_stable(dither):
    # Two frames that differ inside a rectangle: outside it no index changes (a pixel's index
    # depends on its colour and position alone), while error diffusion's do.
    pal = load_palette("pico-8").colors
    cube = get_cube(pal, "rgb").array
    a = _image(70, 90, seed=11)
    b = a.copy()
    b[20:45, 30:52] = _image(25, 22, seed=12)
    inside = np.zeros(a.shape[:2], bool)
    inside[20:45, 30:52] = True
    ia, ib = (indices(x, pal, cube, dither) for x in (a, b))
    assert np.array_equal(ia[~inside], ib[~inside])
    assert not np.array_equal(ia[inside], ib[inside])
    fa, fb = (indices(x, pal, cube, "floyd-steinberg") for x in (a, b))
    assert not np.array_equal(fa[~inside], fb[~inside])


def test_ordered_modes_do_not_depend_on_the_image_around_a_pixel():
    # A crop aligned to the tiles gives the crop of the whole image's indices.
    img = _image(96, 160, seed=13)
    pal = load_palette("nes").colors
    cube = get_cube(pal, "rgb").array
    for dither in ORDERED:
        whole = indices(img, pal, cube, dither)
        crop = indices(np.ascontiguousarray(img[64:96, 64:128]), pal, cube, dither)
        assert np.array_equal(crop, whole[64:96, 64:128]), dither


# -- --dither-clamp --------------------------------------------------------------------------

@pytest.mark.parametrize("dither", ["floyd-steinberg", "stucki", "sierra-lite"])
@pytest.mark.parametrize("space", DITHER_SPACES)
def test_clamp_matches_the_reference(dither, space):
    img = _image(11, 15, seed=21)
    cube = get_cube(PAL, "rgb").array
    for clamp in (0.02, 0.1, 0.5):
        got = indices(img, PAL, cube, dither, 1.0, True, space, clamp)
        assert np.array_equal(got, ref_diffuse(img, PAL, dither, 1.0, True, space, clamp)), clamp


def test_clamp_zero_is_no_dither_and_clamp_changes_a_far_palette():
    cube = get_cube("gameboy", "rgb").array
    pal = load_palette("gameboy").colors
    img = _image(64, 64, seed=2)
    plain = indices(img, pal, cube, "none")
    assert np.array_equal(indices(img, pal, cube, "floyd-steinberg", clamp=0.0), plain)
    free = indices(img, pal, cube, "floyd-steinberg")
    capped = indices(img, pal, cube, "floyd-steinberg", clamp=0.1)
    assert not np.array_equal(free, capped) and not np.array_equal(capped, plain)


def test_clamp_leaves_ordered_modes_alone():
    img = _image(20, 30)
    cube = get_cube(PAL, "rgb").array
    for dither in ORDERED:
        assert np.array_equal(indices(img, PAL, cube, dither, clamp=0.05),
                              indices(img, PAL, cube, dither))


def test_clamp_through_remap_and_its_errors():
    img = _image(20, 30)
    a = remap(img, PAL, dither="atkinson", dither_clamp=0.2)
    assert set(map(tuple, a.reshape(-1, 3))) <= set(map(tuple, PAL))
    with pytest.raises(ValueError, match="dither_clamp must be in 0..1; got 2"):
        remap(img, PAL, dither="none", dither_clamp=2)
    with pytest.raises(TypeError, match="dither_clamp must be a number in 0..1; got str"):
        remap(img, PAL, dither="floyd-steinberg", dither_clamp="0.1")


def test_convert_command_takes_the_clamp_and_pattern(tmp_path):
    import subprocess
    import sys

    from PIL import Image

    img = _image(40, 56, seed=5)
    src = tmp_path / "in.png"
    Image.fromarray(img).save(src)
    code = "import sys; from palcli.cli import main; sys.argv[0] = 'palcli'; main()"
    runs = {"clamped": ["-d", "floyd-steinberg", "--dither-clamp", "0.1"],
            "pattern": ["-d", "pattern"]}
    for name, options in runs.items():
        r = subprocess.run([sys.executable, "-c", code, "convert", str(src),
                            str(tmp_path / f"{name}.png"), "-p", "gameboy", "-q", *options],
                           capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "clamped.png") as im:
        assert np.array_equal(np.asarray(im), quantize(img, "gameboy", dither="floyd-steinberg",
                                                       dither_clamp=0.1))
    with Image.open(tmp_path / "pattern.png") as im:
        assert np.array_equal(np.asarray(im), quantize(img, "gameboy", dither="pattern"))
    r = subprocess.run([sys.executable, "-c", code, "convert", str(src), str(tmp_path / "x.png"),
                        "-p", "gameboy", "--dither-clamp", "1.5"], capture_output=True,
                       timeout=300)
    assert r.returncode == 2 and b"--dither-clamp" in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_rgba_and_non_contiguous_input():
    img = _image(20, 30)
    rgba = np.dstack([img, np.full(img.shape[:2], 7, np.uint8)])
    cube = get_cube(PAL, "rgb").array
    for dither in ("floyd-steinberg", "bayer4", "pattern"):
        want = indices(img, PAL, cube, dither)
        assert np.array_equal(indices(rgba, PAL, cube, dither), want)
        assert np.array_equal(indices(img[:, ::-1][:, ::-1], PAL, cube, dither), want)


def test_more_than_256_colours_gives_uint16_indices():
    rng = np.random.default_rng(5)
    pal = rng.integers(0, 256, (300, 3), dtype=np.uint8)
    img = _image(12, 17)
    cube = get_cube(pal, "rgb").array
    for dither in ("floyd-steinberg", "blue-noise", "pattern"):
        idx = indices(img, pal, cube, dither)
        assert idx.dtype == np.uint16 and idx.max() < 300
    assert np.array_equal(indices(img, pal, cube, "sierra-lite", space="linear"),
                          ref_diffuse(img, pal, "sierra-lite", 1.0, True, "linear"))


def test_empty_image():
    cube = get_cube(PAL, "rgb").array
    for dither in ("floyd-steinberg", "bayer2"):
        assert indices(np.zeros((0, 5, 3), np.uint8), PAL, cube, dither).shape == (0, 5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"mode": "ordered"}, ValueError, "dither must be one of none, floyd-steinberg, .*; got 'ordered'"),
    ({"strength": 1.5}, ValueError, "dither_strength must be in 0..1; got 1.5"),
    ({"strength": float("nan")}, ValueError, "dither_strength must be in 0..1; got nan"),
    ({"strength": "1"}, TypeError, "dither_strength must be a number in 0..1; got str"),
    ({"serpentine": "yes"}, TypeError, "serpentine must be True or False; got 'yes'"),
    ({"space": "lab"}, ValueError, "dither_space must be one of srgb, linear; got 'lab'"),
    ({"clamp": -0.1}, ValueError, "dither_clamp must be in 0..1; got -0.1"),
    ({"clamp": "0.1"}, TypeError, "dither_clamp must be a number in 0..1; got str"),
])
def test_bad_parameters_are_named(kwargs, error, match):
    args = {"mode": "floyd-steinberg", "strength": 1.0, "serpentine": True, "space": "linear"}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        DitherParams(**args)


def test_a_cube_of_another_palette_is_refused():
    cube = get_cube(PAL, "rgb").array
    with pytest.raises(ValueError, match="but the palette has 3 colours"):
        indices(_image(4, 4), PAL[:3], cube, "floyd-steinberg")


def test_linear_tables_round_trip_every_level_and_never_go_back():
    from palcli.dither import _space_tables
    from palcli.kernels.dither import LUT_SHIFT

    to_work, out_lut = _space_tables("linear")
    assert np.array_equal(out_lut[to_work >> LUT_SHIFT], np.arange(256))
    assert np.all(np.diff(out_lut.astype(int)) >= 0) and out_lut[0] == 0 and out_lut[-1] == 255
    assert np.all(np.diff(to_work) > 1 << LUT_SHIFT)  # no two levels share an entry


@pytest.mark.slow
def test_plans_built_ahead_by_a_helper_process_equal_those_built_here(tmp_path):
    # On a cold numba cache, preview has the plan table built by a helper process while it
    # draws the diffusion columns: the table it receives is the one this process would build,
    # and a helper nobody waited for is stopped.
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from palcli import load_palette, mixing\n"
        "colors = load_palette('nes').colors\n"
        "mixing.plans_ahead(colors, 'linear')\n"
        "mixing.plans_ahead(load_palette('pico-8').colors, 'srgb')\n"
        "assert len(mixing._AHEAD) == 2, 'no helper started on a cold cache'\n"
        "helper, _ = list(mixing._AHEAD.values())[1]  # pico-8 srgb: never asked for\n"
        "got = mixing.plans(colors, 'linear')\n"
        "here = mixing.plan_table(colors, 'linear', mixing.luminance_ranks(colors))\n"
        "assert all(np.array_equal(a, b) for a, b in zip(got, here))\n"
        "mixing.stop_ahead()\n"
        "assert not helper.is_alive() and not mixing._AHEAD\n"
        "print('ok')\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.stdout.strip() == "ok", r.stderr
