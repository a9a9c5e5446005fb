"""Golden images: every dither mode on one small picture, checked in as indexed PNGs.

A change in any kernel, table, matrix or rounding shows up here as a changed file. After a
deliberate change, look at the new images and rewrite them:

    PALCLI_REGEN_GOLDEN=1 pytest tests/test_dither_golden.py
"""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from palcli import load_palette, quantize
from palcli.dither import DIFFUSION, DITHER_SPACES, ORDERED

GOLDEN = Path(__file__).resolve().parent / "data" / "dither"
CASES = [(d, s) for d in DIFFUSION + ORDERED for s in DITHER_SPACES]


def _picture(h=32, w=48):
    """A hue sweep over a grey ramp, with a hard edge: smooth areas and a boundary."""
    y, x = np.mgrid[0:h, 0:w] / np.array([h - 1, w - 1])[:, None, None]
    hue = 2 * np.pi * x
    rgb = 0.5 + 0.45 * np.stack([np.cos(hue), np.cos(hue - 2.1), np.cos(hue + 2.1)], -1)
    rgb = rgb * (0.15 + 0.85 * y)[..., None]
    rgb[:, w // 2 - 3:w // 2 + 3] = [0.9, 0.9, 0.2]
    return np.rint(255 * rgb).astype(np.uint8)


@pytest.mark.parametrize("dither, space", CASES)
def test_golden(dither, space):
    pal = load_palette("pico-8")
    idx = quantize(_picture(), pal, dither=dither, dither_space=space)
    path = GOLDEN / f"{dither}-{space}.png"
    if os.environ.get("PALCLI_REGEN_GOLDEN"):
        im = Image.fromarray(idx.astype(np.uint8), "P")
        im.putpalette(pal.colors.tobytes())
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, optimize=False)
    with Image.open(path) as im:
        assert im.mode == "P"
        want = np.asarray(im)
    assert np.array_equal(idx, want), f"{path.name} changed"
