"""palcli.nearest: brute-force nearest colour in numpy, against tests/reference.py and the cube."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from palcli import color
from palcli.metrics import METRICS
from palcli.nearest import _de00_squared, from_space, nearest, to_space

sys.path.insert(0, os.path.dirname(__file__))
import reference  # noqa: E402

RNG = np.random.default_rng(7)
COLORS = RNG.integers(0, 256, (3000, 3), dtype=np.uint8)
# Duplicates and exact ties (colours equidistant from (100, 100, 100) under rgb and redmean).
TIES = np.array([[90, 100, 100], [110, 100, 100], [128, 128, 128], [128, 128, 128],
                 [0, 0, 0], [255, 255, 255]], np.uint8)
PALETTES = {"random": RNG.integers(0, 256, (40, 3), dtype=np.uint8), "ties": TIES}


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("which", sorted(PALETTES))
def test_nearest_is_the_brute_force_answer(metric, which):
    palette = PALETTES[which]
    colors = np.concatenate([COLORS, [[100, 100, 100]], palette]).astype(np.uint8)
    index, dist = nearest(to_space(colors, metric), to_space(palette, metric), metric)
    want, best = reference.nearest(colors, palette, metric)
    if metric in ("rgb", "redmean"):
        assert np.array_equal(index, want)  # exact, ties to the lowest index
        assert np.allclose(dist ** 2, best, rtol=0, atol=1e-9)
    else:
        # the chosen colour's true distance is the minimum, to 1e-6 (SPEC section 2)
        got = reference.distance(colors, palette[index], metric)
        assert np.all(got <= best * (1 + 1e-6) + 1e-12)
        assert np.allclose(dist, best, rtol=1e-9, atol=1e-12)
    assert np.all(dist[-len(palette):] == 0)  # every palette colour is its own nearest


def test_duplicates_go_to_the_lowest_index():
    index, _ = nearest(to_space(np.array([[128, 128, 128], [101, 100, 100]], np.uint8), "rgb"),
                       to_space(TIES, "rgb"), "rgb")
    assert index.tolist() == [2, 1]


def test_ciede2000_matches_the_published_test_data():
    rows = np.loadtxt(Path(__file__).parent / "data" / "ciede2000_sharma2005.txt")
    for row in rows:
        got = np.sqrt(_de00_squared(row[:3], row[3:6]))
        assert got == pytest.approx(row[6], abs=5e-5)


def test_ciede2000_chunks_agree_with_one_block(monkeypatch):
    import palcli.nearest as mod

    lab = to_space(COLORS, "ciede2000")
    targets = to_space(PALETTES["random"], "ciede2000")
    whole = nearest(lab, targets, "ciede2000")
    monkeypatch.setattr(mod, "_CHUNK", 97)
    parts = nearest(lab, targets, "ciede2000")
    assert np.array_equal(whole[0], parts[0]) and np.array_equal(whole[1], parts[1])


@pytest.mark.parametrize("metric", list(METRICS))
def test_from_space_inverts_to_space_on_every_8_bit_colour_sampled(metric):
    assert np.array_equal(from_space(to_space(COLORS, metric), metric), COLORS)


def test_from_space_clips_out_of_gamut_points():
    assert from_space(np.array([[2.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]), "oklab").tolist() == \
        [[255, 255, 255], [0, 0, 0]]
    assert from_space(np.array([[300.0, -4.0, 127.6]]), "rgb").tolist() == [[255, 0, 128]]


def test_inverse_conversions_are_inverses():
    lin = color.srgb8_to_linear(COLORS)
    assert np.allclose(color.oklab_to_linear(color.srgb8_to_oklab(COLORS)), lin, atol=1e-12)
    assert np.allclose(color.xyz_to_linear(color.lab_to_xyz(color.srgb8_to_lab(COLORS))), lin,
                       atol=1e-12)


def test_ciede2000_kernels_agree_with_numpy(monkeypatch):
    import palcli.nearest as mod

    lab = to_space(COLORS, "ciede2000")
    targets = to_space(PALETTES["random"], "ciede2000")
    pairs = to_space(COLORS[::-1], "ciede2000")
    monkeypatch.setattr(mod, "NUMBA_DE00_PAIRS", 10 ** 12)
    monkeypatch.setattr(mod, "_KERNEL_PAIRS", 10 ** 12)
    by_numpy = nearest(lab, targets, "ciede2000"), mod.distance(lab, pairs, "ciede2000")
    monkeypatch.setattr(mod, "NUMBA_DE00_PAIRS", 1)
    by_kernel = nearest(lab, targets, "ciede2000"), mod.distance(lab, pairs, "ciede2000")
    assert np.array_equal(by_kernel[0][0], by_numpy[0][0])
    assert np.allclose(by_kernel[0][1], by_numpy[0][1], rtol=1e-12, atol=1e-12)
    assert np.allclose(by_kernel[1], by_numpy[1], rtol=1e-12, atol=1e-12)
    want = reference.ciede2000(reference.lab(COLORS), reference.lab(COLORS[::-1]))
    assert np.allclose(by_kernel[1], want, rtol=1e-9, atol=1e-12)
