"""quantize() and remap(): validate arguments, then one cube read per pixel (or a dither)."""

from __future__ import annotations


def quantize(img, palette, metric="rgb", dither="none", **kwargs):
    raise NotImplementedError


def remap(img, palette, metric="rgb", dither="none", **kwargs):
    raise NotImplementedError
