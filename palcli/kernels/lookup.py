"""The no-dither mapping: one cube read per pixel, from a small two-level copy of the cube.

A photo touches some 28,000 cache lines (1.8 MB) of the flat 16 MiB cube, so lookups miss the
private L2 cache and queue for the shared L3 and memory. Cut into 4x4x4 tiles, though, 80-94% of
a photo's pixels fall in tiles of one colour, and all the tiles of colour k are the same 64 bytes.
The two-level form keeps one copy of each such tile, then each mixed tile once:

    coarse[cell]  tile number of the 4x4x4 cell (cell = r>>2 << 12 | g>>2 << 6 | b>>2)
    store[t * 64 + (r&3) << 4 | (g&3) << 2 | (b&3)]  tile t: 0..K-1 uniform, then mixed tiles

so a photo touches ~5,000 lines (~300 KB) and the lookups mostly hit L2: about twice as fast as
the flat read here, and exact, being a lossless copy of the cube.

Pixels are a flat (N, C) uint8 array (C = 3 or 4). The span kernels map pixels [lo, hi) and release
the GIL, so the caller splits a large image over plain threads (a prange version ran 35-50% slower
per thread here, even on one thread, and its OpenMP pool stalls when other processes busy the cores).
"""

from __future__ import annotations

import numpy as np
from numba import njit

TILE = 64  # colours in a 4x4x4 tile


@njit(cache=True, nogil=True)
def compact_cube(cube, k):
    """(tile number per cell (int64, 64**3), store) for a (256, 256, 256) cube of k colours."""
    ids = np.empty(64 * 64 * 64, np.int64)
    mixed = 0
    for cr in range(64):
        for cg in range(64):
            for cb in range(64):
                v = cube[cr * 4, cg * 4, cb * 4]
                uniform = True
                for i in range(64):
                    if cube[cr * 4 + (i >> 4), cg * 4 + ((i >> 2) & 3), cb * 4 + (i & 3)] != v:
                        uniform = False
                        break
                cell = (cr << 12) | (cg << 6) | cb
                if uniform:
                    ids[cell] = v
                else:
                    ids[cell] = k + mixed
                    mixed += 1
    store = np.empty((k + mixed) * 64, cube.dtype)
    for t in range(k):
        store[t * 64:(t + 1) * 64] = t
    for cell in range(64 * 64 * 64):
        t = ids[cell]
        if t >= k:
            cr, cg, cb = cell >> 12, (cell >> 6) & 63, cell & 63
            for i in range(64):
                store[t * 64 + i] = cube[cr * 4 + (i >> 4), cg * 4 + ((i >> 2) & 3), cb * 4 + (i & 3)]
    return ids, store


@njit(cache=True, nogil=True)
def lookup_span(coarse, store, px, out, lo, hi):
    """out[i] = cube[pixel i] for lo <= i < hi, read through the two-level form."""
    for i in range(lo, hi):
        r = np.intp(px[i, 0])
        g = np.intp(px[i, 1])
        b = np.intp(px[i, 2])
        t = np.intp(coarse[((r >> 2) << 12) | ((g >> 2) << 6) | (b >> 2)])
        out[i] = store[(t << 6) | ((r & 3) << 4) | ((g & 3) << 2) | (b & 3)]


@njit(cache=True, nogil=True)
def remap_span(coarse, store, colors, px, out, lo, hi):
    """out[i, :3] = colors[cube[pixel i]] for lo <= i < hi; a 4th (alpha) channel is copied."""
    alpha = px.shape[1] == 4
    for i in range(lo, hi):
        r = np.intp(px[i, 0])
        g = np.intp(px[i, 1])
        b = np.intp(px[i, 2])
        t = np.intp(coarse[((r >> 2) << 12) | ((g >> 2) << 6) | (b >> 2)])
        k = store[(t << 6) | ((r & 3) << 4) | ((g & 3) << 2) | (b & 3)]
        out[i, 0] = colors[k, 0]
        out[i, 1] = colors[k, 1]
        out[i, 2] = colors[k, 2]
        if alpha:
            out[i, 3] = px[i, 3]
