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
def region_span(rgb, top, leaves, to_work, pal_work, regions, weights, thresholds, strength,
                lo, hi, out):
    """Rows lo..hi-1 of out (H, W) from rgb (H, W, C>=3 uint8): bayer*, blue-noise.

    regions (R,) int64, per colour region of 8x8x8 sRGB levels: three candidates c1 | c2 << 16 |
    c3 << 32, and 1 << 48 when every colour of the region has its nearest among them;
    weights (R, 6) float32: the 2x3 map from a colour's offset to c1 (working values) to the
    shares of c2 and c3. thresholds (n, m) float32, powers of two, in (0, 1). The pixel's
    nearest colour q1 keeps the share 1 - strength; a pixel whose nearest is none of the three
    keeps it all.
    """
    wd = out.shape[1]
    nc = rgb.shape[2]
    n, m = thresholds.shape
    src = rgb.reshape(-1)
    dst = out.reshape(-1)
    wf = weights.reshape(-1)
    full = strength >= 1.0
    keep = np.float32(1.0 - strength)
    share = np.float32(strength)
    for y in range(lo, hi):
        trow = thresholds[y & (n - 1)]
        for x in range(wd):
            s = (y * wd + x) * nc
            r8 = src[U(s)]
            g8 = src[U(s + 1)]
            b8 = src[U(s + 2)]
            reg = U((r8 >> 3) << 10 | (g8 >> 3) << 5 | (b8 >> 3))
            packed = regions[reg]
            c1 = packed & 0xFFFF
            c2 = (packed >> 16) & 0xFFFF
            c3 = (packed >> 32) & 0xFFFF
            er = np.float32(to_work[r8] - pal_work[U(c1 * 3)])
            eg = np.float32(to_work[g8] - pal_work[U(c1 * 3 + 1)])
            eb = np.float32(to_work[b8] - pal_work[U(c1 * 3 + 2)])
            k = reg * 6
            w2 = max(wf[k] * er + wf[k + 1] * eg + wf[k + 2] * eb, np.float32(0))
            w3 = max(wf[k + 3] * er + wf[k + 4] * eg + wf[k + 5] * eb, np.float32(0))
            total = max(w2 + w3, np.float32(1))
            w2 /= total
            w3 /= total
            t = trow[U(x & (m - 1))]
            if full and packed >> 48:
                q = _choose(t, w2, w3, c1, c2, c3)
            else:
                q1 = np.int64(_read(top, leaves, r8, g8, b8))
                w3 = w3 * share + keep * np.float32(q1 == c3)
                w2 = w2 * share + keep * np.float32(q1 == c2)
                q = _choose(t, w2, w3, c1, c2, c3)
                q = q if (q1 == c1) | (q1 == c2) | (q1 == c3) else q1
            dst[U(y * wd + x)] = q
    return out


@njit(cache=True, inline="always")
def _choose(t, w2, w3, c1, c2, c3):
    """c3 below threshold w3, c2 below w2 + w3, else c1; without branches (t is random)."""
    return c1 + np.int64(t < w2 + w3) * (c2 - c1) + np.int64(t < w3) * (c3 - c2)


# pattern: candidates per pixel (cube reads). A constant, so the selection loops unroll.
CANDIDATES = 16


@njit(cache=True, nogil=True)
def pattern_span(rgb, top, leaves, to_work, pal_work, out_lut, keys, picks, mult, lo, hi, out):
    """Rows lo..hi-1 of out (H, W) from rgb (H, W, C>=3 uint8): pattern.

    Candidate i is the cube's colour for p + mult * e_i, e_i the error of candidates 0..i-1
    (the sum of p - c_j; mult fixed point over 2**16, the strength). keys: each palette index's
    rank by luminance; picks (n, m), powers of two: the rank among the CANDIDATES sorted
    candidates that each position takes.

    The candidates are a chain of CANDIDATES dependent cube reads (~50 cycles each), so:
    - a pixel's sorted candidates depend on its colour alone, and a photo repeats colours, so
      the last colours' lists are kept in a direct-mapped table (MEMO entries): a repeat costs
      one read;
    - the other pixels of a row are queued and built GROUP at a time, side by side, so the
      core works on GROUP independent chains at once.
    """
    wd = out.shape[1]
    nc = rgb.shape[2]
    n, m = picks.shape
    vmax = to_work[255]
    src = rgb.reshape(-1)
    dst = out.reshape(-1)
    seen = np.full(MEMO, -1, np.int64)
    plans = np.empty((MEMO, CANDIDATES), leaves.dtype)
    queue = np.empty(wd + GROUP, np.int64)  # x of the pixels still to build
    slots = np.empty(wd + GROUP, np.int64)
    p = np.zeros((3, GROUP), np.int64)
    cands = np.empty((GROUP, CANDIDATES), np.int64)
    order = np.empty(CANDIDATES, np.int64)
    for y in range(lo, hi):
        prow = picks[y & (n - 1)]
        waiting = 0
        for x in range(wd):
            s = (y * wd + x) * nc
            key = np.int64(src[U(s)]) << 16 | np.int64(src[U(s + 1)]) << 8 | src[U(s + 2)]
            slot = ((key * 0x9E3779B1) & 0xFFFFFFFF) >> (32 - MEMO_BITS)
            if seen[U(slot)] == key:
                dst[U(y * wd + x)] = plans[U(slot), U(prow[U(x & (m - 1))])]
            else:
                seen[U(slot)] = -2  # claimed: a later repeat in this row waits for it
                queue[waiting] = x
                slots[waiting] = slot
                waiting += 1
        for start in range(0, waiting, GROUP):
            for g in range(GROUP):
                s = (y * wd + queue[min(start + g, waiting - 1)]) * nc
                for c in range(3):
                    p[c, g] = to_work[src[U(s + c)]]
            _plans(top, leaves, out_lut, vmax, pal_work, mult, p, cands)
            for g in range(min(GROUP, waiting - start)):
                x = queue[start + g]
                slot = U(slots[start + g])
                s = (y * wd + x) * nc
                _sort(cands[g], keys, plans[slot], order)
                seen[slot] = np.int64(src[U(s)]) << 16 | np.int64(src[U(s + 1)]) << 8 | \
                    src[U(s + 2)]
                dst[U(y * wd + x)] = plans[slot, U(prow[U(x & (m - 1))])]
    return out


MEMO_BITS = 16
MEMO = 1 << MEMO_BITS
GROUP = 16


@njit(cache=True, inline="always")
def _plans(top, leaves, out_lut, vmax, pal_work, mult, p, cands):
    """The CANDIDATES candidates of GROUP colours p (3, GROUP) into cands (GROUP, CANDIDATES)."""
    err = np.zeros((3, GROUP), np.int64)
    for i in range(CANDIDATES):
        for g in range(GROUP):
            q = _nearest(top, leaves, out_lut, vmax, p[0, g] + ((err[0, g] * mult) >> 16),
                         p[1, g] + ((err[1, g] * mult) >> 16),
                         p[2, g] + ((err[2, g] * mult) >> 16))
            cands[g, i] = q
            for c in range(3):
                err[c, g] += p[c, g] - pal_work[U(q * 3 + c)]


@njit(cache=True, inline="always")
def _sort(cands, keys, plan, order):
    """cands sorted by key (ties by position) into plan: each goes where the count of those
    below it says. Counted without branches (they would be mispredicted half the time), on
    keys read once into order, so the inner count is one vector compare."""
    for i in range(CANDIDATES):
        order[i] = keys[U(cands[i])] * CANDIDATES + i
    for i in range(CANDIDATES):
        below = 0
        for j in range(CANDIDATES):
            below += order[j] < order[i]
        plan[below] = cands[i]
