"""build_cube against the brute force of tests/reference.py: every cell for a few palettes per
metric, random and adversarial cells for hypothesis-drawn palettes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference
from palcli.cube import build_cube, get_cube
from palcli.metrics import METRICS
from palcli.palette import index_dtype

FLOAT = ("cie76", "oklab", "ciede2000")
RTOL = 1e-6


def _grid_with_duplicates():
    """27 colours on a coarse grid (whole planes of exact ties between neighbours), each
    repeated later in the palette: only the first copy may ever be chosen."""
    v = [0, 100, 200]
    grid = np.array([(r, g, b) for r in v for g in v for b in v], dtype=np.uint8)
    return np.concatenate([grid, grid[::-1][:9]])


def _random(k, seed):
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 256, (k, 3), dtype=np.uint8)
    p[k // 2] = p[k // 3]       # a duplicate
    return p


def _check_cells(cube, palette, metric, rgb):
    """Assert the cube is exact on the cells rgb (N, 3) uint8."""
    got = cube[rgb[:, 0], rgb[:, 1], rgb[:, 2]].astype(np.int64)
    if metric == "rgb":
        want = reference.nearest_rgb_fast(rgb, palette)
    else:
        want, dmin, dgot = reference.nearest(rgb, palette, metric, chosen=got)
    if metric in FLOAT:
        bad = dgot > dmin * (1 + RTOL) + 1e-12
        assert not bad.any(), (rgb[bad][:5], got[bad][:5], want[bad][:5])
        # equal colours have bit-equal distances, so a later duplicate can never win
        first = {tuple(c): i for i, c in reversed(list(enumerate(palette.tolist())))}
        firsts = np.array([first[tuple(c)] for c in palette.tolist()])
        assert (firsts[got] == got).all()
    else:
        bad = got != want
        assert not bad.any(), (rgb[bad][:5], got[bad][:5], want[bad][:5])


def _check_all(cube, palette, metric, slab=8):
    assert cube.shape == (256, 256, 256) and cube.flags.c_contiguous
    assert cube.dtype == index_dtype(len(palette))
    for r0 in range(0, 256, slab):
        cells = reference.cells(r0, r0 + slab)
        got = cube[r0:r0 + slab].reshape(-1).astype(np.int64)
        if metric == "rgb":
            want = reference.nearest_rgb_fast(cells, palette)
            assert (got == want).all(), f"r in [{r0}, {r0 + slab})"
            continue
        want, dmin, dgot = reference.nearest(cells, palette, metric, chosen=got)
        if metric == "redmean":
            assert (got == want).all(), f"r in [{r0}, {r0 + slab})"
        else:
            assert (dgot <= dmin * (1 + RTOL) + 1e-12).all(), f"r in [{r0}, {r0 + slab})"


# Every cell of the cube. Palette sizes keep each metric's brute force to ~10-20 s on 2 cores.
EXHAUSTIVE = [
    ("rgb", "grid27+dups", _grid_with_duplicates()),
    ("rgb", "random128", _random(128, 1)),
    ("redmean", "grid27+dups", _grid_with_duplicates()),
    ("cie76", "random16", _random(16, 3)),
    ("oklab", "grid27+dups", _grid_with_duplicates()),
    # two saturated blues: their border runs where CIEDE2000's rotation term R_T is largest
    ("ciede2000", "two-blues", np.array([[20, 30, 200], [60, 40, 230]], dtype=np.uint8)),
]


@pytest.mark.parametrize("metric, name, palette", EXHAUSTIVE,
                         ids=[f"{m}-{n}" for m, n, _ in EXHAUSTIVE])
def test_every_cell_is_exact(metric, name, palette):
    _check_all(build_cube(palette, metric), palette, metric)


def _adversarial_cells(palette, rng, n_random):
    """Palette colours and their neighbours, midpoints of colour pairs (exact rgb ties), block
    edges of the builder (multiples of 8 and 32, and one below), the cube's corners, and
    random cells."""
    p = palette.astype(np.int64)
    cells = [p]
    for d in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)):
        cells += [p + d, p - d]
    i, j = rng.integers(0, len(p), (2, 64))
    cells.append((p[i] + p[j]) // 2)
    cells.append((p[i] + p[j] + 1) // 2)
    edges = np.array([0, 7, 8, 31, 32, 127, 128, 248, 255])
    cells.append(rng.choice(edges, (200, 3)))
    cells.append(np.array([(r, g, b) for r in (0, 255) for g in (0, 255) for b in (0, 255)]))
    cells.append(rng.integers(0, 256, (n_random, 3)))
    return np.clip(np.concatenate(cells), 0, 255).astype(np.uint8)


@st.composite
def palettes(draw, max_size):
    k = draw(st.integers(1, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    style = draw(st.sampled_from(["uniform", "coarse", "close"]))
    if style == "uniform":
        p = rng.integers(0, 256, (k, 3))
    elif style == "coarse":      # few levels: many exact ties
        p = rng.choice([0, 64, 128, 192, 255], (k, 3))
    else:                        # a tight cluster: bounds must stay safe at short range
        p = np.clip(rng.integers(-6, 7, (k, 3)) + rng.integers(0, 256, 3), 0, 255)
    p = p.astype(np.uint8)
    n_dup = draw(st.integers(0, min(k, 4)))
    for _ in range(n_dup):        # duplicates, at later indices
        a, b = sorted(rng.integers(0, k, 2))
        p[b] = p[a]
    return p


@pytest.mark.parametrize("metric", ["rgb", "redmean", "cie76", "oklab"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_palettes(metric, data):
    palette = data.draw(palettes(32))
    rng = np.random.default_rng(len(palette))
    cube = build_cube(palette, metric)
    _check_cells(cube, palette, metric, _adversarial_cells(palette, rng, 3000))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(palette=palettes(6))
def test_random_palettes_ciede2000(palette):
    rng = np.random.default_rng(len(palette))
    cube = build_cube(palette, "ciede2000")
    _check_cells(cube, palette, "ciede2000", _adversarial_cells(palette, rng, 3000))


@pytest.mark.parametrize("metric, k", [("rgb", 1000), ("redmean", 1000), ("oklab", 300)])
def test_more_than_256_colours_gives_uint16(metric, k):
    palette = _random(k, 9)
    palette[270] = palette[3]
    cube = build_cube(palette, metric)
    assert cube.dtype == np.uint16
    rng = np.random.default_rng(0)
    _check_cells(cube, palette, metric, _adversarial_cells(palette, rng, 5000))
    assert cube.max() < k and not (cube == 270).any()


def test_4096_colours_rgb_on_whole_slabs():
    palette = _random(4096, 11)
    cube = build_cube(palette, "rgb")
    assert cube.dtype == np.uint16
    for r0 in (0, 101, 255):
        cells = reference.cells(r0, r0 + 1)
        want = reference.nearest_rgb_fast(cells, palette)
        assert (cube[r0].reshape(-1) == want).all()


@pytest.mark.parametrize("metric", list(METRICS))
def test_one_colour_and_all_equal(metric):
    one = np.array([[12, 34, 56]], dtype=np.uint8)
    assert not build_cube(one, metric).any()
    same = np.repeat(one, 5, axis=0)
    assert not build_cube(same, metric).any()    # the lowest index of equals


def test_full_palette_size_limits():
    assert index_dtype(1) == np.uint8 and index_dtype(256) == np.uint8
    assert index_dtype(257) == np.uint16 and index_dtype(65536) == np.uint16


@pytest.mark.parametrize("colors, exc, words", [
    (np.zeros((3, 4), dtype=np.uint8), TypeError, r"palette array must have shape \(K, 3\)"),
    (np.full((3, 3), 0.5), TypeError, "uint8"),
    (np.zeros((0, 3), dtype=np.uint8), ValueError, "no colours found"),
    (np.zeros((65537, 3), dtype=np.uint8), ValueError, "65537 colours; at most 65536"),
])
def test_bad_colors_are_named_at_the_entry_point(colors, exc, words):
    with pytest.raises(exc, match=words):
        get_cube(colors, "rgb")


def test_bad_metric_is_named():
    with pytest.raises(ValueError, match="metric must be one of rgb, .*; got 'cie94'"):
        get_cube(np.zeros((2, 3), dtype=np.uint8), "cie94")


def test_read_only_and_strided_palettes():
    p = _random(40, 5)
    ro = p.copy()
    ro.flags.writeable = False
    strided = np.zeros((40, 6), dtype=np.uint8)
    strided[:, ::2] = p
    base = build_cube(p, "oklab")
    assert (build_cube(ro, "oklab") == base).all()
    assert (build_cube(strided[:, ::2], "oklab") == base).all()


@pytest.mark.parametrize("metric", ["cie76", "oklab"])
def test_kernel_coordinates_match_color_module(metric):
    from palcli import color
    from palcli.kernels.cube_lab import palette_space

    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (3000, 3), dtype=np.uint8)
    space = METRICS[metric].space()
    ours = palette_space(rgb.astype(np.int64), space.T, space.P, space.o, space.mode, space.eps,
                         space.kappa).T
    want = color.srgb8_to_lab(rgb) if metric == "cie76" else color.srgb8_to_oklab(rgb)
    np.testing.assert_allclose(ours, want, rtol=1e-12, atol=1e-12)
