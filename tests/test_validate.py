"""palcli._validate: one wording, "X must be ...; got ...", a TypeError for a wrong type and a
ValueError for a wrong value."""

import numpy as np
import pytest

from palcli._validate import check_choice, check_cube, check_flag, check_image, check_int, check_unit


@pytest.mark.parametrize("img, error, message", [
    ([[[0, 0, 0]]], TypeError,
     "img must be a numpy array of shape (H, W, 3) or (H, W, 4); got list"),
    (np.zeros((2, 2, 3), np.float32), TypeError, "img must have dtype uint8; got float32"),
    (np.zeros((2, 2), np.uint8), ValueError,
     "img must have shape (H, W, 3) or (H, W, 4); got (2, 2)"),
    (np.zeros((2, 2, 2), np.uint8), ValueError,
     "img must have shape (H, W, 3) or (H, W, 4); got (2, 2, 2)"),
])
def test_check_image(img, error, message):
    with pytest.raises(error) as e:
        check_image(img)
    assert str(e.value) == message


def test_check_image_returns_a_contiguous_array():
    img = np.zeros((4, 6, 3), np.uint8)[:, ::2]
    out = check_image(img, "rgb")
    assert out.flags.c_contiguous and out.shape == (4, 3, 3)


@pytest.mark.parametrize("cube, error, message", [
    ("cube", TypeError, "cube must be a numpy array (see palcli.cube.get_cube); got str"),
    (np.zeros((256, 256, 256), np.int32), TypeError,
     "cube must have dtype uint8 or uint16; got int32"),
    (np.zeros((16, 16, 16), np.uint8), ValueError,
     "cube must have shape (256, 256, 256); got (16, 16, 16)"),
    (np.zeros((256, 256, 512), np.uint8)[..., ::2], ValueError,
     "cube must be C-contiguous; got a strided view"),
])
def test_check_cube(cube, error, message):
    with pytest.raises(error) as e:
        check_cube(cube)
    assert str(e.value) == message


@pytest.mark.parametrize("value", ["RGB", "", None, 3])
def test_check_choice(value):
    with pytest.raises(ValueError) as e:
        check_choice(value, {"rgb": 1, "oklab": 2}, "metric")
    assert str(e.value) == f"metric must be one of rgb, oklab; got {value!r}"
    assert check_choice("oklab", ("rgb", "oklab"), "metric") == "oklab"


@pytest.mark.parametrize("value, error, message", [
    ("1", TypeError, "dither_strength must be a number in 0..1; got str"),
    (True, TypeError, "dither_strength must be a number in 0..1; got bool"),
    (1.5, ValueError, "dither_strength must be in 0..1; got 1.5"),
    (-0.1, ValueError, "dither_strength must be in 0..1; got -0.1"),
    (float("nan"), ValueError, "dither_strength must be in 0..1; got nan"),
])
def test_check_unit(value, error, message):
    with pytest.raises(error) as e:
        check_unit(value, "dither_strength")
    assert str(e.value) == message
    assert check_unit(np.float32(0.5), "x") == 0.5 and check_unit(1, "x") == 1.0


def test_check_flag():
    with pytest.raises(TypeError) as e:
        check_flag("yes", "serpentine")
    assert str(e.value) == "serpentine must be True or False; got 'yes'"
    assert check_flag(np.bool_(False), "serpentine") is False


@pytest.mark.parametrize("value, lo, hi, error, message", [
    (0, 1, 10, ValueError, "n must be an int in 1..10; got 0"),
    (11, 1, 10, ValueError, "n must be an int in 1..10; got 11"),
    (-1, 0, None, ValueError, "n must be an int >= 0; got -1"),
    (True, 0, None, TypeError, "n must be an int; got bool"),
    (2.0, 0, None, TypeError, "n must be an int; got float"),
])
def test_check_int(value, lo, hi, error, message):
    with pytest.raises(error) as e:
        check_int(value, "n", lo, hi)
    assert str(e.value) == message


def test_check_int_takes_numpy_integers():
    assert check_int(np.uint8(7), "n", 0, 255) == 7 and type(check_int(np.int64(7), "n", 0)) is int
