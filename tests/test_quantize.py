"""quantize(), remap() and lookup(): exact answers, both engines, RGBA, dtypes, validation."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import palcli
from palcli import Palette, engine, quantize, remap
from palcli import mapping as qmod
from palcli.metrics import METRICS

sys.path.insert(0, os.path.dirname(__file__))
import reference  # noqa: E402


RNG = np.random.default_rng(20260101)
PAL16 = Palette("p16", RNG.integers(0, 256, (16, 3), dtype=np.uint8))
# Duplicates and exact ties: two copies of grey, and colours equidistant from (100, 100, 100).
TIES = Palette("ties", np.array([[90, 100, 100], [110, 100, 100], [128, 128, 128],
                                 [128, 128, 128], [0, 0, 0], [255, 255, 255]], np.uint8))
PAL300 = Palette("p300", RNG.integers(0, 256, (300, 3), dtype=np.uint8))


def image(h=37, w=53, channels=3, seed=0):
    """Random colours plus a smooth ramp and the tie point (100, 100, 100)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    img[0, :, :3] = np.linspace(0, 255, w).astype(np.uint8)[:, None]
    img[1, 0, :3] = 100
    return img


def built(metric):
    """The metrics whose cube builder exists in this tree (the others are skipped)."""
    try:
        from palcli.cube import get_cube

        get_cube(Palette("probe", np.array([[0, 0, 0], [255, 255, 255]], np.uint8)), metric)
    except NotImplementedError:
        pytest.skip(f"no cube builder for {metric} yet")


# ciede2000 cubes take tens of seconds to build on a busy CI machine; their exactness is
# tests/test_cube_build.py's subject, and the plumbing is checked below with a stand-in builder.
CASES = [(m, p) for m in METRICS for p in (PAL16, TIES) if m != "ciede2000"]


@pytest.mark.parametrize("metric, palette", CASES, ids=[f"{m}-{p.name}" for m, p in CASES])
def test_exact_against_brute_force(metric, palette):
    built(metric)
    img = image()
    idx = quantize(img, palette, metric)
    assert idx.shape == img.shape[:2] and idx.dtype == np.uint8
    want, best = reference.nearest(img.reshape(-1, 3), palette.colors, metric)
    if metric in ("rgb", "redmean"):
        np.testing.assert_array_equal(idx.reshape(-1), want)
    else:
        got = reference.distance(img.reshape(-1, 3), palette.colors[idx.reshape(-1)], metric)
        np.testing.assert_allclose(got, best, rtol=1e-6, atol=1e-12)


def test_each_metric_reaches_its_own_cube(cache_dir, monkeypatch):
    from palcli import cube as cubes

    monkeypatch.setattr(cubes, "_memo", {})
    monkeypatch.setattr(cubes, "build_cube", lambda colors, metric: np.full(
        (256, 256, 256), list(METRICS).index(metric), np.uint8))
    img = image()
    for i, metric in enumerate(METRICS):
        assert (quantize(img, PAL16, metric) == i).all()


def test_ties_go_to_the_lowest_index():
    img = np.array([[[100, 100, 100], [128, 128, 128]]], np.uint8)
    assert quantize(img, TIES).tolist() == [[0, 2]]


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("palette", [PAL16, PAL300], ids=["uint8", "uint16"])
@pytest.mark.parametrize("channels", [3, 4])
def test_lookup_engines_agree_with_cube(engine, palette, channels):
    from palcli.cube import get_cube

    cube = get_cube(palette).array
    img = image(channels=channels, seed=3)
    got = qmod.lookup(cube, img, engine=engine)
    assert got.dtype == cube.dtype and got.shape == img.shape[:2]
    np.testing.assert_array_equal(got, cube[img[..., 0], img[..., 1], img[..., 2]])
    # Strided input (a crop of a larger image) gives the same answer.
    big = image(80, 90, channels, seed=4)
    crop = big[5:60:2, 7:70:3]
    np.testing.assert_array_equal(qmod.lookup(cube, crop, engine=engine),
                                  cube[crop[..., 0], crop[..., 1], crop[..., 2]])


def test_uint16_indices_for_more_than_256_colours():
    img = image()
    idx = quantize(img, PAL300)
    assert idx.dtype == np.uint16 and idx.max() >= 256
    np.testing.assert_array_equal(idx.reshape(-1),
                                  reference.nearest_rgb_fast(img.reshape(-1, 3), PAL300.colors))


@pytest.mark.parametrize("which", ["numpy", "numba"])
def test_rgba_alpha_ignored_by_distance_and_passed_through_by_remap(which, monkeypatch):
    monkeypatch.setattr(engine, "use_numba", lambda pixels: which == "numba")
    rgba = image(channels=4, seed=5)
    rgb = np.ascontiguousarray(rgba[..., :3])
    np.testing.assert_array_equal(quantize(rgba, PAL16), quantize(rgb, PAL16))
    out = remap(rgba, PAL16)
    assert out.shape == rgba.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(out[..., :3], PAL16.colors[quantize(rgb, PAL16)])
    out3 = remap(rgb, PAL16)
    assert out3.shape == rgb.shape
    np.testing.assert_array_equal(out3, out[..., :3])


def test_palette_given_every_way(tmp_path):
    img = image()
    want = quantize(img, PAL16)
    hexes = ",".join(PAL16.hex())
    for spec in (PAL16.colors, PAL16.colors.tolist(), hexes):
        np.testing.assert_array_equal(quantize(img, spec), want)
    np.testing.assert_array_equal(quantize(img, "#000000,#ffffff"),
                                  (img.astype(int).sum(-1) > 3 * 127.5).astype(np.uint8))


def test_empty_image():
    assert quantize(np.zeros((0, 5, 3), np.uint8), PAL16).shape == (0, 5)
    assert remap(np.zeros((4, 0, 4), np.uint8), PAL16).shape == (4, 0, 4)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(img=np.zeros((4, 4, 3), np.float32)), TypeError, "img must have dtype uint8"),
    (dict(img=np.zeros((4, 4), np.uint8)), ValueError, "img must have shape"),
    (dict(img=np.zeros((4, 4, 2), np.uint8)), ValueError, "img must have shape"),
    (dict(img=[[[0, 0, 0]]]), TypeError, "img must be a numpy array"),
    (dict(palette=42), TypeError, "palette must be"),
    (dict(palette=np.zeros((4, 4), np.uint8)), TypeError, "palette array must have shape"),
    (dict(palette=np.zeros((0, 3), np.uint8)), ValueError, "no colours found"),
    (dict(palette="no-such-palette"), ValueError, "no-such-palette"),
    (dict(metric="euclid"), ValueError, "metric must be one of"),
    (dict(dither="sparkle"), ValueError, "dither must be one of"),
    (dict(dither_strength=1.5), ValueError, "dither_strength must be in 0..1"),
    (dict(dither_strength=float("nan")), ValueError, "dither_strength"),
    (dict(dither_strength="1"), TypeError, "dither_strength must be a number"),
    (dict(serpentine="yes"), TypeError, "serpentine"),
    (dict(dither_space="lab"), ValueError, "dither_space must be one of"),
])
@pytest.mark.parametrize("func", [quantize, remap])
def test_bad_arguments_name_the_argument(func, kwargs, error, words):
    args = dict(img=np.zeros((4, 4, 3), np.uint8), palette=PAL16)
    args.update(kwargs)
    with pytest.raises(error, match=words):
        func(args.pop("img"), args.pop("palette"), **args)


def test_lookup_validates_cube_and_engine():
    img = np.zeros((2, 2, 3), np.uint8)
    with pytest.raises(ValueError, match=r"cube must have shape \(256, 256, 256\); got \(16, 16, 16\)"):
        qmod.lookup(np.zeros((16, 16, 16), np.uint8), img)
    with pytest.raises(TypeError, match="cube must have dtype uint8 or uint16; got int32"):
        qmod.lookup(np.zeros((256, 256, 256), np.int32), img)
    with pytest.raises(ValueError, match="engine must be one of numba, numpy; got 'gpu'"):
        qmod.lookup(np.zeros((256, 256, 256), np.uint8), img, engine="gpu")


def test_dither_goes_through_the_dither_module():
    img = image()
    idx = quantize(img, PAL16, dither="floyd-steinberg")
    assert idx.shape == img.shape[:2] and idx.dtype == np.uint8 and idx.max() < 16
    out = remap(image(channels=4), PAL16, dither="bayer4")
    assert set(map(tuple, out[..., :3].reshape(-1, 3))) <= set(map(tuple, PAL16.colors))


SMALL_JOB = textwrap.dedent("""
    import sys
    import numpy as np
    import palcli
    assert "numba" not in sys.modules, "import palcli imported numba"
    img = np.random.default_rng(0).integers(0, 256, (300, 400, 4), dtype=np.uint8)
    idx = palcli.quantize(img, "#000000,#ffffff,#ff0000")
    out = palcli.remap(img, "#000000,#ffffff,#ff0000")
    assert "numba" not in sys.modules, "a small job with a cached cube imported numba"
    print(int(idx.sum()), int(out.sum()))
""")


def test_import_and_small_cached_job_do_not_import_numba():
    quantize(np.zeros((1, 1, 3), np.uint8), "#000000,#ffffff,#ff0000")  # cube into the cache
    r = subprocess.run([sys.executable, "-c", SMALL_JOB], capture_output=True, text=True,
                       env=dict(os.environ), timeout=120)
    assert r.returncode == 0, r.stderr
    assert palcli.__name__ == "palcli"


def test_kernels_compile_once_per_index_dtype():
    from palcli.cube import get_cube
    from palcli.kernels import lookup as kernels

    for pal in (PAL16, PAL300):
        cube = get_cube(pal).array
        for img in (image(), image(channels=4)):
            for writeable in (True, False):
                img.flags.writeable = writeable
                qmod.lookup(cube, img, engine="numba")
                qmod.lookup(np.array(cube), img, engine="numba")  # a writable cube
    for kernel in (kernels.lookup_span, kernels.lookup_rgb_words_span,
                   kernels.lookup_rgba_words_span, kernels.remap_span):
        assert len(kernel.signatures) <= 2, kernel


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("palette", [PAL16, PAL300], ids=["uint8", "uint16"])
def test_images_split_over_threads_give_the_same_answer(palette, channels, monkeypatch):
    from palcli.cube import get_cube

    monkeypatch.setattr(engine, "CHUNK_PIXELS", 1000)  # split even this small image
    monkeypatch.setattr(engine, "use_numba", lambda pixels: True)
    cube = get_cube(palette).array
    img = image(101, 73, channels, seed=9)
    want = cube[img[..., 0], img[..., 1], img[..., 2]]
    np.testing.assert_array_equal(qmod.lookup(cube, img), want)
    out = remap(img, palette)
    np.testing.assert_array_equal(out[..., :3], palette.colors[want])
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], img[..., 3])


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 7])  # every remainder of 4 pixels
@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("offset", [0, 1], ids=["aligned", "unaligned"])
def test_numba_lookup_any_width_and_alignment(width, channels, offset):
    from palcli.cube import get_cube

    cube = get_cube(PAL300).array
    src = image(3, width, channels, seed=width)
    buf = np.zeros(src.size + 8, np.uint8)
    img = buf[offset:offset + src.size].reshape(src.shape)  # data at an odd address when offset=1
    img[...] = src
    np.testing.assert_array_equal(qmod.lookup(cube, img, engine="numba"),
                                  cube[src[..., 0], src[..., 1], src[..., 2]])


ALL_COLOURS = np.arange(1 << 24, dtype=np.uint32).view(np.uint8).reshape(4096, 4096, 4)[..., 2::-1]


@pytest.mark.parametrize("palette", [PAL16, PAL300, TIES], ids=["uint8", "uint16", "ties"])
def test_numba_lookup_is_the_cube_for_every_colour(palette):
    from palcli.cube import get_cube

    cube = get_cube(palette).array
    img = np.ascontiguousarray(ALL_COLOURS)  # pixel r << 16 | g << 8 | b, in cube order
    got = qmod.lookup(cube, img, engine="numba")
    np.testing.assert_array_equal(got.reshape(-1), cube.reshape(-1))


def test_a_writable_cube_is_read_afresh_each_call():
    cube = np.zeros((256, 256, 256), np.uint8)
    img = image()
    assert (qmod.lookup(cube, img, engine="numba") == 0).all()
    cube[...] = 3
    cube[1, 2, 3] = 7
    img[0, 0, :3] = (1, 2, 3)
    got = qmod.lookup(cube, img, engine="numba")
    assert got[0, 0] == 7 and (got.reshape(-1)[1:] == 3).all()
