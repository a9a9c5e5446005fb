"""The no-dither mapping: one cube read per pixel.

Pixels are a flat (N, C) uint8 array (C = 3 or 4); the cube is read as a flat array at
r << 16 | g << 8 | b. Each span kernel maps pixels [lo, hi) and releases the GIL, so the caller
splits a large image over plain threads. Measured here, and why it looks like this:
- a prange version ran 35-50% slower per thread, even on one thread, and its OpenMP pool stalls
  when other processes keep the cores busy;
- the loop over range(len) of a slice runs 1.45x faster than the same body over range(lo, hi);
- a two-level copy of the cube (4x4x4 tiles, tiles of one colour shared) cuts a photo's working
  set from ~1.8 MB to ~0.3 MB, yet ran no faster, hot or with the caches flushed: the lookups
  are not bound by cache misses here.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def lookup_span(flat_cube, px, out, lo, hi):
    """out[i] = flat_cube[px[i, 0] << 16 | px[i, 1] << 8 | px[i, 2]] for lo <= i < hi."""
    _lookup(flat_cube, px[lo:hi], out[lo:hi])


@njit(cache=True, nogil=True)
def _lookup(flat_cube, px, out):
    for i in range(px.shape[0]):
        out[i] = flat_cube[(np.intp(px[i, 0]) << 16) | (np.intp(px[i, 1]) << 8) | np.intp(px[i, 2])]


@njit(cache=True, nogil=True)
def remap_span(flat_cube, colors, px, out, lo, hi):
    """out[i, :3] = colors[cube[pixel i]] for lo <= i < hi; a 4th (alpha) channel is copied."""
    _remap(flat_cube, colors, px[lo:hi], out[lo:hi])


@njit(cache=True, nogil=True)
def _remap(flat_cube, colors, px, out):
    alpha = px.shape[1] == 4
    for i in range(px.shape[0]):
        k = flat_cube[(np.intp(px[i, 0]) << 16) | (np.intp(px[i, 1]) << 8) | np.intp(px[i, 2])]
        out[i, 0] = colors[k, 0]
        out[i, 1] = colors[k, 1]
        out[i, 2] = colors[k, 2]
        if alpha:
            out[i, 3] = px[i, 3]
