"""Dithering: tables and matrices, the kernels against a slow reference, palette-only output,
brightness on gradients, determinism, strength, and argument errors."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from palcli import load_palette, quantize, remap
from palcli.cube import get_cube
from palcli.dither import (BAND_ROWS, DEFAULT_DITHER_SPACE, DIFFUSION, DIFFUSION_TABLES,
                           DITHER_SPACES, DITHERS, ORDERED, PATTERN_CANDIDATES, REGION_SHIFT,
                           REGION_STEPS, WARM_ROWS, DitherParams, bayer_matrix, blue_noise,
                           diffusion_bands, dither_indices, threshold_matrix)
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


def _to8(v, space):
    """Working values (any shape) -> 8-bit levels, clamped to the gamut."""
    to_work, to8, vmax = _space(space)
    return to8(np.clip(v, 0, vmax))


def _candidates(p, pal_work, pal, space, steps, mult=1.0):
    """Knoll's sequence for one colour p (working values): the nearest colour to p plus the
    error accumulated so far, `steps` times (brute-force nearest, as the cube gives it)."""
    err = np.zeros(3, np.int64)
    out = []
    for _ in range(steps):
        attempt = p + ((err * round(mult * 65536)) >> 16)
        q = nearest_rgb_fast(_to8(attempt, space)[None, :], pal)[0]
        out.append(q)
        err += p - pal_work[q]
    return out


def _shares(d2, d3):
    """The least-squares map e -> (share of c2, share of c3) with e ~ s2 d2 + s3 d3, from the
    normal equations; one direction only when d2 and d3 are (nearly) parallel or zero."""
    a, b, c = d2 @ d2, d2 @ d3, d3 @ d3
    det = a * c - b * b
    if det > 1e-9 * a * c:
        inv = 1.0 / det
        rows = ((c * d2 - b * d3) * inv, (a * d3 - b * d2) * inv)
    elif a > 0:
        rows = (d2 / a, np.zeros(3))
    elif c > 0:
        rows = (np.zeros(3), d3 / c)
    else:
        rows = (np.zeros(3), np.zeros(3))
    return np.array(rows).astype(np.float32)


def ref_ordered(img, pal, dither, strength, space):
    """bayer*/blue-noise: the pixel's 8-level colour region; from its centre, the three most
    frequent of REGION_STEPS candidates; least-squares shares of c2 and c3 (float32, as the
    kernel keeps them; see _shares), clipped and scaled into 0..1; the threshold (rank + 0.5) / N chooses.
    A pixel whose nearest colour is none of the three keeps it; strength keeps 1 - strength of
    the mix on the nearest."""
    ranks = blue_noise() if dither == "blue-noise" else _bayer_closed_form(int(dither[5:]))
    n, m = ranks.shape
    thresholds = ((ranks + 0.5) / ranks.size).astype(np.float32)
    to_work = _space(space)[0]
    pal_work = to_work[pal]
    half = 1 << REGION_SHIFT >> 1
    regions = {}
    h, w = img.shape[:2]
    out = np.zeros((h, w), np.int64)
    f32 = np.float32
    for y in range(h):
        for x in range(w):
            c = img[y, x, :3].astype(np.int64)
            region = tuple(c >> REGION_SHIFT)
            if region not in regions:
                centre = to_work[(np.array(region) << REGION_SHIFT) + half]
                seq = _candidates(centre, pal_work, pal, space, REGION_STEPS)
                counts = {q: seq.count(q) for q in seq}
                tri = sorted(counts, key=lambda q: (-counts[q], seq.index(q)))[:3]
                tri += [tri[0]] * (3 - len(tri))
                d2, d3 = (pal_work[tri[1:]] - pal_work[tri[0]]).astype(np.float64)
                regions[region] = tri, _shares(d2, d3)
            (c1, c2, c3), wm = regions[region]
            e = (to_work[c] - pal_work[c1]).astype(f32)
            w2 = max(f32(f32(wm[0, 0] * e[0]) + f32(wm[0, 1] * e[1])) + f32(wm[0, 2] * e[2]), f32(0))
            w3 = max(f32(f32(wm[1, 0] * e[0]) + f32(wm[1, 1] * e[1])) + f32(wm[1, 2] * e[2]), f32(0))
            total = max(f32(w2 + w3), f32(1))
            w2, w3 = f32(w2 / total), f32(w3 / total)
            q1 = nearest_rgb_fast(c[None, :], pal)[0]
            if q1 not in (c1, c2, c3):
                out[y, x] = q1
                continue
            keep, share = f32(1 - strength), f32(strength)
            if strength < 1:
                w3 = f32(f32(w3 * share) + f32(keep * f32(q1 == c3)))
                w2 = f32(f32(w2 * share) + f32(keep * f32(q1 == c2)))
            t = thresholds[y % n, x % m]
            out[y, x] = c3 if t < w3 else (c2 if t < f32(w2 + w3) else c1)
    return out


def _luminance_ranks(pal):
    """Palette indices ranked by relative luminance Y (IEC 61966-2-1 row of the sRGB->XYZ matrix),
    ties by index."""
    y = _srgb_decode(np.asarray(pal, np.float64) / 255) @ np.array([0.2126, 0.7152, 0.0722])
    order = sorted(range(len(pal)), key=lambda i: (y[i], i))
    ranks = np.empty(len(pal), np.int64)
    ranks[order] = np.arange(len(pal))
    return ranks


def ref_pattern(img, pal, strength, space):
    """pattern: PATTERN_CANDIDATES candidates (Knoll's sequence, the strength scaling the error),
    sorted by luminance (ties by order of appearance); the Bayer 4x4 rank picks one."""
    to_work = _space(space)[0]
    pal_work = to_work[pal]
    keys = _luminance_ranks(pal)
    bayer = _bayer_closed_form(4)
    h, w = img.shape[:2]
    out = np.zeros((h, w), np.int64)
    for y in range(h):
        for x in range(w):
            seq = _candidates(to_work[img[y, x, :3]], pal_work, pal, space, PATTERN_CANDIDATES,
                              strength)
            ordered = [q for _, _, q in sorted((keys[q], i, q) for i, q in enumerate(seq))]
            out[y, x] = ordered[bayer[y % 4, x % 4] * PATTERN_CANDIDATES // 16]
    return out


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


def test_thresholds_are_centred():
    for dither in ORDERED[:-1]:
        t = threshold_matrix(dither)
        assert -0.5 < t.min() and t.max() < 0.5
        assert abs(t.mean()) < 1e-12


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


@pytest.mark.parametrize("dither", ORDERED[:-1])
@pytest.mark.parametrize("space", DITHER_SPACES)
def test_ordered_matches_the_reference(dither, space):
    img = _image(20, 70, seed=3)  # wider than a tile, and not a multiple of one
    cube = get_cube(PAL, "rgb").array
    for strength in (1.0, 0.3):
        got = indices(img, PAL, cube, dither, strength, space=space)
        assert np.array_equal(got, ref_ordered(img, PAL, dither, strength, space)), strength


@pytest.mark.parametrize("palette", ["pico-8", "xterm-256"])
def test_regions_flagged_whole_are_whole(palette):
    # The kernel skips the cube read in a region flagged as holding only its three candidates:
    # the flag must agree with the full cube, region by region.
    from palcli.dither import _blocks, ordered_regions

    colors = load_palette(palette).colors
    cube = get_cube(colors, "rgb").array
    top, leaves = _blocks(cube, len(colors))
    packed, _ = ordered_regions(colors, cube, top, leaves, "linear")
    side, size = 256 >> REGION_SHIFT, 1 << REGION_SHIFT
    cells = cube.reshape(side, size, side, size, side, size).transpose(0, 2, 4, 1, 3, 5)
    cells = cells.reshape(side ** 3, -1)
    tri = np.stack([(packed >> s) & 0xFFFF for s in (0, 16, 32)], 1)
    whole = (cells[:, :, None] == tri[:, None, :]).any(2).all(1)
    assert np.array_equal((packed >> 48).astype(bool), whole)
    assert 0 < whole.mean() < 1


@pytest.mark.parametrize("space", DITHER_SPACES)
def test_pattern_matches_the_reference(space):
    img = _image(13, 21, seed=4)
    pal = load_palette("pico-8").colors
    cube = get_cube(pal, "rgb").array
    for strength in (1.0, 0.5):
        got = indices(img, pal, cube, "pattern", strength, space=space)
        assert np.array_equal(got, ref_pattern(img, pal, strength, space)), strength


def test_pattern_memo_gives_what_a_fresh_build_gives():
    # A photo-like image repeats colours across rows and far apart in a row: the kernel's
    # colour memo answers those; every answer must equal a build from scratch (one per pixel).
    rng = np.random.default_rng(8)
    colours = rng.integers(0, 256, (40, 3), dtype=np.uint8)
    img = colours[rng.integers(0, 40, (90, 300))]
    pal = load_palette("nes").colors
    cube = get_cube(pal, "rgb").array
    got = indices(img, pal, cube, "pattern")
    alone = np.array([[indices(img[y:y + 1, x:x + 1], pal, cube, "pattern")[0, 0]
                       for x in range(0, 300, 37)] for y in range(0, 90, 4)])
    # A one-pixel image sits at position (0, 0): compare with what (0, 0) of each tile gets.
    tile = np.array([[indices(np.repeat(np.repeat(img[y:y + 1, x:x + 1], 4, 0), 4, 1),
                                     pal, cube, "pattern") for x in range(0, 300, 37)]
                     for y in range(0, 90, 4)])
    assert np.array_equal(alone, tile[:, :, 0, 0])
    for i, y in enumerate(range(0, 90, 4)):
        for j, x in enumerate(range(0, 300, 37)):
            assert got[y, x] == tile[i, j, y % 4, x % 4]


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
    # Black to white, black and white only: every column's light, averaged over its rows
    # (4 tiles), and the whole ramp's, within 2% of the input's, in linear light.
    img = _ramp(0, 255, h=16)
    cube = get_cube(BW, "rgb").array
    out = BW[indices(img, BW, cube, "pattern")][..., 0]
    want = _srgb_decode(img[..., 0] / 255)
    got = _srgb_decode(out / 255)
    assert abs(got.mean() - want.mean()) <= 0.02
    # Every aligned 4x4 tile holds each of the 16 candidate ranks once, so four columns (their
    # four tiles) come within 1/16 of their light: a pixel's share of white is its count of
    # white candidates out of 16, and the accumulated error stays within one step (0..1).
    groups = lambda x: x.reshape(16, 64, 4).mean((0, 2))  # noqa: E731
    assert np.abs(groups(got) - groups(want)).max() <= 1 / 16


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
    # The bound. A pixel's 16 candidates average to its colour within 1/16 of the error the
    # sequence carries (at most about one palette step), and an 8x8 block holds every rank of
    # the 4x4 tile four times, so a block of one colour is off by under 1/16 of a step; what
    # remains comes from neighbours with different candidate lists. Linear Floyd-Steinberg keeps
    # each area's light almost exactly and is the floor; twice it leaves room for the
    # neighbour term, while a mix that shifts hue (the former ordered modes sat at ~6x) or a
    # plain nearest-colour map (none) lies far above.
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
