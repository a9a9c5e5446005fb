"""The no-dither mapping: one cube read per pixel, fused and parallel.

Pixels are taken as a flat (N, C) uint8 array (C = 3 or 4) so the work splits evenly over
threads whatever the image's shape; the cube is read as a flat array at r << 16 | g << 8 | b.
"""

from __future__ import annotations

import os

# libgomp (numba's default "omp" threading layer) spins at every barrier by default; when the
# cores are busy with other work (other workers, other programs) the spinning thread starves the
# one still working and a 1 Mpx lookup took 15x longer here. Sleep instead, unless the user chose.
# This has to run before the first parallel kernel of the process starts libgomp.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

_CHUNK = 1 << 15  # pixels per parallel task: enough to amortise scheduling, small for balance


@njit(parallel=True, cache=True)
def lookup_into(flat_cube, px, out):
    """out[i] = flat_cube[px[i, 0] << 16 | px[i, 1] << 8 | px[i, 2]]."""
    n = px.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        lo = c * _CHUNK
        hi = min(n, lo + _CHUNK)
        for i in range(lo, hi):
            j = (np.intp(px[i, 0]) << 16) | (np.intp(px[i, 1]) << 8) | np.intp(px[i, 2])
            out[i] = flat_cube[j]


@njit(parallel=True, cache=True)
def remap_into(flat_cube, colors, px, out):
    """out[i, :3] = colors[cube[pixel i]]; a fourth (alpha) channel is copied through."""
    n = px.shape[0]
    alpha = px.shape[1] == 4
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        lo = c * _CHUNK
        hi = min(n, lo + _CHUNK)
        for i in range(lo, hi):
            j = (np.intp(px[i, 0]) << 16) | (np.intp(px[i, 1]) << 8) | np.intp(px[i, 2])
            k = flat_cube[j]
            out[i, 0] = colors[k, 0]
            out[i, 1] = colors[k, 1]
            out[i, 2] = colors[k, 2]
            if alpha:
                out[i, 3] = px[i, 3]
