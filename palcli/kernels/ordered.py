"""The ordered dither kernel: a pixel's index depends only on its colour and its position.

Every ordered mode (bayer*, blue-noise, pattern) reads the same table of mixing plans
(palcli.mixing): a cell read gives the colours whose mix makes the pixel's colour and an affine
map to their cumulative shares; the tiled threshold matrix picks one. A span maps rows lo..hi-1
and releases the GIL, so the caller splits an image over plain threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .dither import U, _read


@njit(cache=True, nogil=True)
def plan_span(rgb, unit, cells, shift, verts, coeffs, thresholds, strength, top, leaves,
              lo, hi, out):
    """Rows lo..hi-1 of out (H, W) from rgb (H, W, C>=3 uint8): every ordered mode, from the
    mixing-plan table of palcli.mixing.

    unit (256,) float64: an 8-bit level's value in the dither space; cells: the plan number of
    each cell of 2**shift levels a side (r, g, b major); verts (S, 4): a plan's colours, darkest
    first; coeffs (S, 12): rows k = 0..2 map (value, 1) to the cumulative share of verts[:k+1].
    thresholds (n, m) float64 in (0, 1), powers of two a side. The pixel takes verts[k], k the
    number of cumulative shares at or below its threshold t.

    strength < 1: thresholds t >= strength take the pixel's nearest colour (the cube), the others
    pick from the plan at t / strength; so each colour's share is scaled by the strength and the
    nearest colour gets the rest.
    """
    wd = out.shape[1]
    nc = rgb.shape[2]
    n, m = thresholds.shape
    src = rgb.reshape(-1)
    dst = out.reshape(-1)
    cf = coeffs.reshape(-1)
    vf = verts.reshape(-1)
    bits = 8 - shift
    full = strength >= 1.0
    inv = 1.0 / strength
    for y in range(lo, hi):
        trow = thresholds[y & (n - 1)]
        for x in range(wd):
            s = (y * wd + x) * nc
            r8 = src[U(s)]
            g8 = src[U(s + 1)]
            b8 = src[U(s + 2)]
            t = trow[U(x & (m - 1))]
            if not full:
                if t >= strength:
                    dst[U(y * wd + x)] = _read(top, leaves, r8, g8, b8)
                    continue
                t *= inv
            cell = np.int64(cells[U((r8 >> shift) << (2 * bits) | (g8 >> shift) << bits |
                                    (b8 >> shift))])
            r = unit[r8]
            g = unit[g8]
            b = unit[b8]
            k = U(cell * 12)
            c0 = cf[k] * r + cf[k + 1] * g + cf[k + 2] * b + cf[k + 3]
            c1 = cf[k + 4] * r + cf[k + 5] * g + cf[k + 6] * b + cf[k + 7]
            c2 = cf[k + 8] * r + cf[k + 9] * g + cf[k + 10] * b + cf[k + 11]
            j = np.int64(c0 <= t) + np.int64(c1 <= t) + np.int64(c2 <= t)
            dst[U(y * wd + x)] = vf[U(cell * 4 + j)]
    return out
