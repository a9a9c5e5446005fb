"""Make palcli/data/bluenoise64.npy: a 64 x 64 blue-noise rank matrix by void-and-cluster.

    python scripts/make_blue_noise.py

Ulichney, "The void-and-cluster method for dither array generation", SPIE 1913 (1993). Energy is a
toroidal Gaussian (sigma 1.5) so the tile repeats without seams. The starting pattern comes from a
fixed seed and every tie goes to the first index, so the output is the same on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SIZE = 64
SIGMA = 1.5
SEED = 20260101
OUT = Path(__file__).resolve().parent.parent / "palcli" / "data" / "bluenoise64.npy"


def _kernel(size: int, sigma: float) -> np.ndarray:
    d = np.minimum(np.arange(size), size - np.arange(size))  # toroidal distance to 0
    return np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * sigma ** 2))


class _Energy:
    """A binary pattern and its toroidal Gaussian energy, updated one pixel at a time."""

    def __init__(self, pattern: np.ndarray, sigma: float):
        self.size = pattern.shape[0]
        self.kernel = _kernel(self.size, sigma)
        self.pattern = np.zeros_like(pattern, bool)
        self.energy = np.zeros(pattern.shape)
        for i in np.flatnonzero(pattern):  # plain sums, no FFT: the same bits everywhere
            self.flip(int(i), +1)

    def flip(self, i: int, sign: int) -> None:
        r, c = divmod(i, self.size)
        self.pattern.flat[i] = sign > 0
        self.energy += sign * np.roll(self.kernel, (r, c), axis=(0, 1))

    def tightest_cluster(self) -> int:
        return int(np.argmax(np.where(self.pattern, self.energy, -np.inf)))

    def largest_void(self) -> int:
        return int(np.argmin(np.where(self.pattern, np.inf, self.energy)))


def void_and_cluster(size: int = SIZE, sigma: float = SIGMA, seed: int = SEED) -> np.ndarray:
    """(size, size) uint16 ranks 0 .. size*size-1."""
    n = size * size
    rng = np.random.default_rng(seed)
    start = np.zeros((size, size), bool)
    start.flat[rng.choice(n, n // 10, replace=False)] = True
    # Even out the starting pattern: move the tightest cluster into the largest void until stable.
    e = _Energy(start, sigma)
    while True:
        c = e.tightest_cluster()
        e.flip(c, -1)
        v = e.largest_void()
        if v == c:
            e.flip(c, +1)
            break
        e.flip(v, +1)
    start = e.pattern.copy()
    ones = int(start.sum())
    ranks = np.zeros(n, np.int64)
    # Phase 1: take the starting points away, tightest cluster first, ranking them downwards.
    e = _Energy(start, sigma)
    for rank in range(ones - 1, -1, -1):
        c = e.tightest_cluster()
        e.flip(c, -1)
        ranks[c] = rank
    # Phases 2 and 3: fill the largest void until the tile is full. (Ulichney's phase 3 takes the
    # tightest cluster of zeros; with a linear filter that is the same pixel as the largest void.)
    e = _Energy(start, sigma)
    for rank in range(ones, n):
        v = e.largest_void()
        e.flip(v, +1)
        ranks[v] = rank
    return ranks.reshape(size, size).astype(np.uint16)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, void_and_cluster())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
