"""Ordered dither kernels: a pixel's index depends only on its colour and its position.

Both kernels build, for each pixel, candidates whose mix approximates its colour, by repeated
cube reads with accumulated error in working values (linear light * 65535, or sRGB level * 256),
and let a tiled threshold matrix choose one:

- two_colour_span (bayer*, blue-noise): the nearest colour c1 and the first different colour
  the accumulated error reaches, c2; the pixel takes c2 where the threshold lies below the
  fraction of the way from c1 to c2 that the pixel's projection covers. The reach of the
  threshold is therefore the distance between the two candidates, per pixel.
- pattern_span (pattern): n candidates, sorted by luminance; the threshold picks one.

Each span kernel maps rows lo..hi-1 and releases the GIL, so the caller splits an image over
plain threads. Working values are read back to 8-bit levels through out_lut (working value >>
LUT_SHIFT -> level), the same table in both spaces, then the cube is read through its two-level
copy (see palcli.kernels.dither).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .dither import LUT_SHIFT, U, _read


@njit(cache=True, inline="always")
def _nearest(top, leaves, out_lut, vmax, r, g, b):
    """The cube's index for working values r, g, b (clamped to the gamut)."""
    r8 = out_lut[U(min(max(r, 0), vmax) >> LUT_SHIFT)]
    g8 = out_lut[U(min(max(g, 0), vmax) >> LUT_SHIFT)]
    b8 = out_lut[U(min(max(b, 0), vmax) >> LUT_SHIFT)]
    return np.int64(_read(top, leaves, r8, g8, b8))


@njit(cache=True, nogil=True)
def two_colour_span(rgb, top, leaves, to_work, pal_work, out_lut, thresholds, tries, lo, hi, out):
    """Rows lo..hi-1 of out (H, W) from rgb (H, W, C>=3 uint8).

    thresholds (n, m), powers of two, in (0, 1) and already divided by the strength (a value
    above 1 never picks c2); tries: how many error steps to search for c2.
    """
    wd = out.shape[1]
    nc = rgb.shape[2]
    n, m = thresholds.shape
    vmax = to_work[255]
    for y in range(lo, hi):
        trow = thresholds[y & (n - 1)]
        for x in range(wd):
            s = (y * wd + x) * nc
            r8 = rgb.reshape(-1)[U(s)]
            g8 = rgb.reshape(-1)[U(s + 1)]
            b8 = rgb.reshape(-1)[U(s + 2)]
            q1 = np.int64(_read(top, leaves, r8, g8, b8))
            pr = to_work[r8]
            pg = to_work[g8]
            pb = to_work[b8]
            dr = pr - pal_work[U(q1 * 3)]
            dg = pg - pal_work[U(q1 * 3 + 1)]
            db = pb - pal_work[U(q1 * 3 + 2)]
            q = q1
            if dr != 0 or dg != 0 or db != 0:
                q2 = q1
                for i in range(1, tries + 1):  # the error after i picks of c1 is i * (p - c1)
                    q2 = _nearest(top, leaves, out_lut, vmax, pr + i * dr, pg + i * dg,
                                  pb + i * db)
                    if q2 != q1:
                        break
                if q2 != q1:
                    er = pal_work[U(q2 * 3)] - pal_work[U(q1 * 3)]
                    eg = pal_work[U(q2 * 3 + 1)] - pal_work[U(q1 * 3 + 1)]
                    eb = pal_work[U(q2 * 3 + 2)] - pal_work[U(q1 * 3 + 2)]
                    along = np.float64(dr * er + dg * eg + db * eb)
                    span = np.float64(er * er + eg * eg + eb * eb)
                    if along > trow[U(x & (m - 1))] * span:
                        q = q2
            out.reshape(-1)[U(y * wd + x)] = q
    return out


@njit(cache=True, nogil=True)
def pattern_span(rgb, top, leaves, to_work, pal_work, out_lut, keys, picks, n_cand, mult, lo, hi,
                 out):
    """Rows lo..hi-1 of out (H, W) from rgb (H, W, C>=3 uint8).

    Candidate i is the cube's colour for p + mult * e_i, e_i the error of candidates 0..i-1
    (sum of p - c_j; mult fixed point over 2**16, the strength). keys: each palette index's rank
    by luminance; picks (n, m), powers of two: the rank among the n_cand sorted candidates that
    each position takes.
    """
    wd = out.shape[1]
    nc = rgb.shape[2]
    n, m = picks.shape
    vmax = to_work[255]
    found = np.empty(n_cand, np.int64)  # distinct candidates, in order of appearance
    count = np.empty(n_cand, np.int64)  # how often each was picked
    src = rgb.reshape(-1)
    dst = out.reshape(-1)
    for y in range(lo, hi):
        prow = picks[y & (n - 1)]
        for x in range(wd):
            s = (y * wd + x) * nc
            pr = to_work[src[U(s)]]
            pg = to_work[src[U(s + 1)]]
            pb = to_work[src[U(s + 2)]]
            er = eg = eb = np.int64(0)
            nf = 0
            for _ in range(n_cand):
                q = _nearest(top, leaves, out_lut, vmax, pr + ((er * mult) >> 16),
                             pg + ((eg * mult) >> 16), pb + ((eb * mult) >> 16))
                er += pr - pal_work[U(q * 3)]
                eg += pg - pal_work[U(q * 3 + 1)]
                eb += pb - pal_work[U(q * 3 + 2)]
                j = 0
                while j < nf and found[j] != q:
                    j += 1
                if j == nf:
                    found[nf] = q
                    count[nf] = 1
                    nf += 1
                else:
                    count[j] += 1
            dst[U(y * wd + x)] = _rank_pick(found, count, nf, keys, prow[U(x & (m - 1))])
    return out


@njit(cache=True, inline="always")
def _rank_pick(found, count, nf, keys, r):
    """The candidate at rank r when the nf distinct candidates, each count[j] times, are sorted
    by key."""
    for j in range(nf):
        kj = keys[U(found[j])]
        below = 0
        for i in range(nf):
            if keys[U(found[i])] < kj:
                below += count[i]
        if below <= r < below + count[j]:
            return found[j]
    return found[0]
