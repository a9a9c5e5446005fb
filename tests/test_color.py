from pathlib import Path

import numpy as np
import pytest

import reference
from palcli import color

SHARMA = np.loadtxt(Path(__file__).parent / "data" / "ciede2000_sharma2005.txt")


def test_sharma_table_is_whole():
    assert SHARMA.shape == (34, 7)


def _kernel_de00(l1, l2):
    from palcli.kernels.cube_de00 import de00
    return de00(l1[0], l1[1], l1[2], np.hypot(l1[1], l1[2]),
                l2[0], l2[1], l2[2], np.hypot(l2[1], l2[2]))


@pytest.mark.parametrize("row", range(34))
def test_ciede2000_matches_sharma_wu_dalal(row):
    l1, l2, want = SHARMA[row, :3], SHARMA[row, 3:6], SHARMA[row, 6]
    # the published values are rounded to 4 decimals
    assert _kernel_de00(l1, l2) == pytest.approx(want, abs=5e-5)
    assert _kernel_de00(l2, l1) == pytest.approx(want, abs=5e-5)   # symmetric
    assert reference.ciede2000(l1, l2) == pytest.approx(want, abs=5e-5)


def test_ciede2000_kernel_agrees_with_reference_off_the_table():
    rng = np.random.default_rng(7)
    lab = reference.lab(rng.integers(0, 256, (2000, 3), dtype=np.uint8))
    ours = np.array([_kernel_de00(a, b) for a, b in zip(lab[:1000], lab[1000:])])
    np.testing.assert_allclose(ours, reference.ciede2000(lab[:1000], lab[1000:]), rtol=1e-12)
    same = np.array([_kernel_de00(a, a) for a in lab[:50]])
    assert (same == 0).all()


def test_decoding_table():
    t = color.SRGB_TO_LINEAR
    assert t.shape == (256,) and t.dtype == np.float64 and not t.flags.writeable
    assert t[0] == 0.0 and t[255] == 1.0
    assert t[10] == pytest.approx(10 / 255 / 12.92, rel=1e-15)       # linear segment
    assert t[128] == pytest.approx(((128 / 255 + 0.055) / 1.055) ** 2.4, rel=1e-15)
    assert (np.diff(t) > 0).all()


def test_linear_to_srgb8_inverts_the_table():
    codes = np.arange(256)
    assert (color.linear_to_srgb8(color.SRGB_TO_LINEAR) == codes).all()
    assert color.linear_to_srgb8(np.array([-0.5, 2.0])).tolist() == [0, 255]
    assert color.linear_to_srgb8(np.zeros((2, 3))).shape == (2, 3)


def test_d65_white_from_its_chromaticity():
    assert color.D65_WHITE == pytest.approx([0.950455927, 1.0, 1.089057751], rel=1e-8)


@pytest.mark.parametrize("rgb, lab", [
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    # commonly published sRGB/D65 values; the spec's 4-decimal IEC matrix shifts them by < 0.05
    ((255, 0, 0), (53.24, 80.09, 67.20)),
    ((0, 0, 255), (32.30, 79.19, -107.86)),
])
def test_lab_reference_values(rgb, lab):
    got = color.srgb8_to_lab(np.array(rgb, dtype=np.uint8))
    np.testing.assert_allclose(got, lab, atol=0.05)


@pytest.mark.parametrize("rgb, ok", [
    ((255, 255, 255), (1.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    # Ottosson (2020), the OKLab of sRGB red
    ((255, 0, 0), (0.627955, 0.224863, 0.125846)),
])
def test_oklab_reference_values(rgb, ok):
    got = color.srgb8_to_oklab(np.array(rgb, dtype=np.uint8))
    np.testing.assert_allclose(got, ok, atol=1e-6)


@pytest.mark.parametrize("space", ["lab", "oklab"])
def test_conversions_agree_with_the_reference(space):
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (5000, 3), dtype=np.uint8)
    ours = color.srgb8_to_lab(rgb) if space == "lab" else color.srgb8_to_oklab(rgb)
    theirs = getattr(reference, space)(rgb)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_srgb8_to_linear_wants_uint8():
    with pytest.raises(TypeError, match="uint8"):
        color.srgb8_to_linear(np.zeros(3, dtype=np.int64))
