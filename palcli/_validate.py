"""Argument checks for the public entry points, with one wording: "X must be ...; got ...".

A wrong type is a TypeError, a wrong value a ValueError. Internal functions trust what these
have checked and never check again.
"""

from __future__ import annotations

import numbers

import numpy as np

CUBE_SHAPE = (256, 256, 256)


def check_image(img, name: str = "img") -> np.ndarray:
    """An (H, W, 3|4) uint8 image as a C-contiguous array."""
    if not isinstance(img, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (H, W, 3) or (H, W, 4); "
                        f"got {type(img).__name__}")
    if img.dtype != np.uint8:
        raise TypeError(f"{name} must have dtype uint8; got {img.dtype}")
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"{name} must have shape (H, W, 3) or (H, W, 4); got {img.shape}")
    return np.ascontiguousarray(img)


def check_cube(cube, name: str = "cube") -> np.ndarray:
    """A C-contiguous (256, 256, 256) uint8 or uint16 array of palette indices."""
    if not isinstance(cube, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (see palcli.cube.get_cube); "
                        f"got {type(cube).__name__}")
    if cube.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"{name} must have dtype uint8 or uint16; got {cube.dtype}")
    if cube.shape != CUBE_SHAPE:
        raise ValueError(f"{name} must have shape {CUBE_SHAPE}; got {cube.shape}")
    if not cube.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous; got a strided view")
    return cube


def check_choice(value, choices, name: str) -> str:
    """One of the names in choices (a registry or a sequence of names)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_unit(value, name: str) -> float:
    """A real number in 0..1 (NaN is refused), as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in 0..1; got {type(value).__name__}")
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in 0..1; got {value!r}")
    return v


def check_flag(value, name: str) -> bool:
    """True or False (numpy booleans too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_int(value, name: str, lo: int, hi: int | None = None) -> int:
    """An int (numpy integers too, never a bool) in lo..hi, or at least lo when hi is None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if value < lo or (hi is not None and value > hi):
        span = f"in {lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be an int {span}; got {value!r}")
    return int(value)
