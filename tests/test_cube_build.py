"""build_cube against the brute force of tests/reference.py, for each builder (numpy and numba):
every cell for a palette per metric, random and adversarial cells for hypothesis-drawn
palettes, and the two builders against each other on every cell."""

import os
import subprocess
import sys
import textwrap

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
ENGINES = {m: ("numba",) if m == "ciede2000" else ("numpy", "numba") for m in METRICS}
BOTH = ["rgb", "redmean", "cie76", "oklab"]    # the metrics with a numpy builder


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


def _first_copies(palette):
    """For each index, the index of the first colour equal to it."""
    first = {tuple(c): i for i, c in reversed(list(enumerate(palette.tolist())))}
    return np.array([first[tuple(c)] for c in palette.tolist()])


def _check_cells(cube, palette, metric, rgb, want=None, dmin=None):
    """Assert the cube is exact on the cells rgb (N, 3) uint8; want, dmin: the reference's
    answer for these cells when already known. Returns (want, dmin)."""
    got = cube[rgb[:, 0], rgb[:, 1], rgb[:, 2]].astype(np.int64)
    if want is None:
        if metric == "rgb":
            want, dmin = reference.nearest_rgb_fast(rgb, palette), None
        else:
            want, dmin = reference.nearest(rgb, palette, metric)
    if metric in FLOAT:
        dgot = dmin.copy()
        other = got != want     # the reference's distance of the cube's choice, where it differs
        dgot[other] = reference.distance(rgb[other], palette[got[other]], metric)
        bad = dgot > dmin * (1 + RTOL) + 1e-12
        assert not bad.any(), (rgb[bad][:5], got[bad][:5], want[bad][:5])
        # equal colours have bit-equal distances, so a later duplicate can never win
        assert (_first_copies(palette)[got] == got).all()
    else:
        bad = got != want
        assert not bad.any(), (rgb[bad][:5], got[bad][:5], want[bad][:5])
    return want, dmin


def _check_all(cubes, palette, metric, slab=8):
    """Every cell of each cube against one brute-force pass."""
    for cube in cubes:
        assert cube.shape == (256, 256, 256) and cube.flags.c_contiguous
        assert cube.dtype == index_dtype(len(palette))
    for r0 in range(0, 256, slab):
        cells = reference.cells(r0, r0 + slab)
        want = dmin = None
        for cube in cubes:
            want, dmin = _check_cells(cube, palette, metric, cells, want, dmin)


# Every cell of the cube, for each builder. Palette sizes keep each metric's brute force to
# ~10-20 s on 2 cores.
EXHAUSTIVE = [
    ("rgb", "grid27+dups", _grid_with_duplicates()),
    ("rgb", "random128", _random(128, 1)),
    ("redmean", "grid27+dups", _grid_with_duplicates()),
    ("cie76", "random16", _random(16, 3)),
    ("oklab", "grid27+dups", _grid_with_duplicates()),
    # two saturated blues: their border runs where CIEDE2000's rotation term R_T is largest
    ("ciede2000", "two-blues", np.array([[20, 30, 200], [60, 40, 230]], dtype=np.uint8)),
]


@pytest.mark.slow
@pytest.mark.parametrize("metric, name, palette", EXHAUSTIVE,
                         ids=[f"{m}-{n}" for m, n, _ in EXHAUSTIVE])
def test_every_cell_is_exact(metric, name, palette):
    _check_all([build_cube(palette, metric, engine=e) for e in ENGINES[metric]], palette,
               metric)


def _adversarial_cells(palette, rng, n_random):
    """Palette colours and their neighbours, midpoints of colour pairs (exact rgb ties), block
    edges of the builders (multiples of 2 to 32, and one below), the cube's corners, and
    random cells."""
    p = palette.astype(np.int64)
    cells = [p]
    for d in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)):
        cells += [p + d, p - d]
    i, j = rng.integers(0, len(p), (2, 64))
    cells.append((p[i] + p[j]) // 2)
    cells.append((p[i] + p[j] + 1) // 2)
    edges = np.array([0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 127, 128, 248, 255])
    cells.append(rng.choice(edges, (300, 3)))
    cells.append(np.array([(r, g, b) for r in (0, 255) for g in (0, 255) for b in (0, 255)]))
    cells.append(rng.integers(0, 256, (n_random, 3)))
    return np.clip(np.concatenate(cells), 0, 255).astype(np.uint8)


@st.composite
def palettes(draw, max_size):
    k = draw(st.integers(1, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    style = draw(st.sampled_from(["uniform", "coarse", "close", "mirrored"]))
    if style == "uniform":
        p = rng.integers(0, 256, (k, 3))
    elif style == "coarse":      # few levels: many exact ties
        p = rng.choice([0, 64, 128, 192, 255], (k, 3))
    elif style == "close":       # a tight cluster: bounds must stay safe at short range
        p = np.clip(rng.integers(-6, 7, (k, 3)) + rng.integers(0, 256, 3), 0, 255)
    else:                        # pairs mirrored about a cell: that cell is an exact rgb tie
        centre = rng.integers(20, 236, 3)
        offsets = rng.integers(-20, 21, ((k + 1) // 2, 3))
        p = np.concatenate([centre + offsets, centre - offsets])[:k]
    p = p.astype(np.uint8)
    n_dup = draw(st.integers(0, min(k, 4)))
    for _ in range(n_dup):        # duplicates, at later indices
        a, b = sorted(rng.integers(0, k, 2))
        p[b] = p[a]
    return p


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("metric", BOTH)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_palettes(metric, engine, data):
    palette = data.draw(palettes(32))
    rng = np.random.default_rng(len(palette))
    cube = build_cube(palette, metric, engine=engine)
    _check_cells(cube, palette, metric, _adversarial_cells(palette, rng, 3000))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(palette=palettes(6))
def test_random_palettes_ciede2000(palette):
    rng = np.random.default_rng(len(palette))
    cube = build_cube(palette, "ciede2000")
    _check_cells(cube, palette, "ciede2000", _adversarial_cells(palette, rng, 3000))


@pytest.mark.parametrize("metric", BOTH)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(palette=palettes(40))
def test_builders_agree_on_every_cell(metric, palette):
    """The numpy and numba builders, each exact, give the same cube: identical for rgb and
    redmean; for the float metrics, where they differ (near-ties), both choices pass the
    reference."""
    a = build_cube(palette, metric, engine="numpy")
    b = build_cube(palette, metric, engine="numba")
    differ = np.argwhere(a != b).astype(np.uint8)
    if metric in ("rgb", "redmean"):
        assert len(differ) == 0, differ[:5]
    else:
        want, dmin = _check_cells(a, palette, metric, differ)
        _check_cells(b, palette, metric, differ, want, dmin)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("metric, k", [("rgb", 1000), ("redmean", 1000), ("oklab", 300)])
def test_more_than_256_colours_gives_uint16(metric, k, engine):
    palette = _random(k, 9)
    palette[270] = palette[3]
    cube = build_cube(palette, metric, engine=engine)
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


@pytest.mark.parametrize("metric, engine", [(m, e) for m in METRICS for e in ENGINES[m]])
def test_one_colour_and_all_equal(metric, engine):
    one = np.array([[12, 34, 56]], dtype=np.uint8)
    assert not build_cube(one, metric, engine=engine).any()
    same = np.repeat(one, 5, axis=0)
    assert not build_cube(same, metric, engine=engine).any()    # the lowest index of equals


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


def test_bad_engine_is_named():
    two = np.zeros((2, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="engine must be 'numba', 'numpy' or None; got 'gpu'"):
        build_cube(two, "rgb", engine="gpu")
    with pytest.raises(ValueError, match="'ciede2000' has no numpy builder"):
        build_cube(two, "ciede2000", engine="numpy")


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_read_only_and_strided_palettes(engine):
    p = _random(40, 5)
    ro = p.copy()
    ro.flags.writeable = False
    strided = np.zeros((40, 6), dtype=np.uint8)
    strided[:, ::2] = p
    base = build_cube(p, "oklab", engine=engine)
    assert (build_cube(ro, "oklab", engine=engine) == base).all()
    assert (build_cube(strided[:, ::2], "oklab", engine=engine) == base).all()


@pytest.mark.parametrize("metric", ["cie76", "oklab"])
def test_coordinates_match_color_module(metric):
    """The palette's coordinates (numpy) and the cells' (the numba kernels' own code path, dark
    cells on CIELAB's linear segment included) against palcli.color."""
    from palcli import color
    from palcli.cube_numpy import coordinates
    from palcli.kernels.cube_int import FINE
    from palcli.kernels.cube_lab import _space_block

    convert = color.srgb8_to_lab if metric == "cie76" else color.srgb8_to_oklab
    tables = METRICS[metric].space()
    t, _a, p, o, mode, eps, kappa, _lin = tables
    rgb = np.random.default_rng(2).integers(0, 256, (3000, 3), dtype=np.uint8)
    np.testing.assert_allclose(coordinates(rgb.astype(np.int64), *tables).T, convert(rgb),
                               rtol=1e-12, atol=1e-12)
    for r0, g0, b0 in ((0, 0, 0), (248, 248, 248), (96, 8, 200)):
        scratch = np.empty((3, 3, FINE ** 3))
        _space_block(t, p, o, mode, eps, kappa, r0, g0, b0, scratch[0], scratch[1], scratch[2])
        cells = np.stack(np.meshgrid(*(np.arange(c, c + FINE) for c in (r0, g0, b0)),
                                     indexing="ij"), -1).reshape(-1, 3).astype(np.uint8)
        np.testing.assert_allclose(scratch[2].T, convert(cells), rtol=1e-12, atol=1e-12)


# -- which builder runs ---------------------------------------------------------------------

CHOICE = textwrap.dedent("""
    import sys
    import numpy as np
    from palcli import load_palette
    from palcli.cube import _choose_engine, build_cube
    from palcli.palette import index_dtype

    def choice(metric, k):
        return _choose_engine(metric, k, np.empty((256, 256, 256), index_dtype(k)))

    step = sys.argv[1]
    if step == "small":          # a first run on a small palette: numpy, numba never imported
        pal = load_palette("pico-8")
        for metric in ("rgb", "redmean", "cie76", "oklab"):
            build_cube(pal.colors, metric)
        print("numba" in sys.modules)
    elif step == "compile":      # numba started, the rgb kernel compiled here, oklab's not
        build_cube(load_palette("pico-8").colors, "rgb", engine="numba")
        build_cube(np.repeat(load_palette("pico-8").colors, 20, axis=0), "rgb",
                   engine="numba")      # and for uint16 cubes (320 colours)
        print(choice("rgb", 16), choice("oklab", 16))
    else:                        # a new process: the rgb kernels are in numba's cache on disk
        print(choice("rgb", 16), choice("rgb", 2000), choice("oklab", 2000),
              "numba" in sys.modules)
""")


def _choice(step, numba_cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(numba_cache))
    r = subprocess.run([sys.executable, "-c", CHOICE, step], capture_output=True, text=True,
                       env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.mark.slow
def test_engine_choice_follows_numba_state(tmp_path, cache_dir):
    numba_cache = tmp_path / "numba"
    assert _choice("small", numba_cache) == ["False"]
    # In a process that has compiled the rgb kernel, even a 16-colour cube goes to it; the
    # oklab kernel would have to be compiled: numpy.
    assert _choice("compile", numba_cache) == ["numba", "numpy"]
    # Next process: a small palette is not worth importing numba for; a large one is, and
    # finds the rgb kernel in numba's cache; oklab's is not there, and numpy is cheaper than
    # compiling it.
    assert _choice("cached", numba_cache) == ["numpy", "numba", "numpy", "True"]
