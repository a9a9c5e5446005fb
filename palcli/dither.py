"""The dither registry: diffusion matrices as data, ordered matrices, strength and space."""

from __future__ import annotations

DIFFUSION = ("floyd-steinberg", "atkinson", "jarvis-judice-ninke", "stucki", "burkes",
             "sierra", "sierra-lite")
ORDERED = ("bayer2", "bayer4", "bayer8", "bayer16", "blue-noise")
DITHERS = ("none",) + DIFFUSION + ORDERED
DITHER_SPACES = ("srgb", "linear")
DEFAULT_DITHER_SPACE = "srgb"


def check_dither(dither: str) -> str:
    if not isinstance(dither, str) or dither not in DITHERS:
        raise ValueError(f"dither must be one of {', '.join(DITHERS)}; got {dither!r}")
    return dither
