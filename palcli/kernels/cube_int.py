"""numba kernels that fill the 256x256x256 nearest-colour cube, exactly, by pruning per block.

This module holds the block layout and the helpers every metric shares (_keep, _fill), and the
builder for the integer metrics rgb and redmean. cube_lab.py builds cie76 and oklab,
cube_de00.py ciede2000.

The cube is cut into 32^3-cell blocks (TASKS of them: a span kernel fills tasks first..last-1,
and engine.spans shares them out among threads, since the kernels release the GIL) and those into
8^3-cell blocks (through 16^3 for the integer metrics, and down to 4^3 where many colours
remain). For each block every candidate colour gets a lower bound (its distance to the closest
possible cell) and an upper bound (to the farthest). A colour whose lower bound exceeds the
smallest upper bound is farther from every cell of the block than that colour, so it is
dropped; each block starts from its parent's survivors. When one colour survives it fills the
block; otherwise every cell takes the exact argmin over the survivors, visited in palette order
with a strict `<`, so the lowest index wins a tie exactly as a brute force would. The kernels
work on distinct colours and write ids[k], the palette index of distinct colour k.

Compile time is most of a first run's cost, so: no parallel=True (parfor lowering is slow and
threads do as well), block sides passed as run-time values (a global constant argument is typed
as a literal and compiles a callee once more per value), scratch in few allocations.
"""

import numpy as np
from numba import njit

from ..engine import spans

COARSE = 32          # cells per side of one parallel task
FINE = 8             # cells per side of a block that is filled whole or searched cell by cell
_NC = 256 // COARSE
_NF = COARSE // FINE
_FN = FINE * FINE * FINE
TASKS = _NC * _NC * _NC   # coarse blocks: what the builders' first..last count
TASK_CELLS = COARSE * COARSE * COARSE
_BIG = np.iinfo(np.int64).max


@njit(cache=True)
def _keep(cand, n, lo, hi, slack, out):
    """Write to out, in index order, the candidates whose lower bound <= the least upper bound.

    slack (0 for integer metrics) absorbs float rounding in the bounds.
    """
    least = np.inf
    for j in range(n):
        if hi[j] < least:
            least = hi[j]
    least = least * (1.0 + slack) + slack
    m = 0
    for j in range(n):
        if lo[j] <= least:
            out[m] = cand[j]
            m += 1
    return m


@njit(cache=True)
def _fill(out, r0, g0, b0, k, size):
    for r in range(r0, r0 + size):
        for g in range(g0, g0 + size):
            for b in range(b0, b0 + size):
                out[r, g, b] = k


# --- integer metrics: rgb and redmean ---------------------------------------------------------
#
# rgb: dR^2 + dG^2 + dB^2.
# redmean per the spec, (2 + rm/256) dR^2 + 4 dG^2 + (2 + (255 - rm)/256) dB^2 with
# rm = (Ra + Rb)/2, is 1/512 of the integer (1024 + Ra + Rb) dR^2 + 2048 dG^2 +
# (1534 - Ra - Rb) dB^2: a positive scale, so the same order and the same ties.

@njit(cache=True)
def _gap(c, lo, hi):
    """Least and greatest |c - x| over the integers x in [lo, hi]."""
    if c < lo:
        return lo - c, hi - c
    if c > hi:
        return c - hi, c - lo
    return 0, max(c - lo, hi - c)


@njit(cache=True)
def _int_bounds(col, cand, n, redmean, r0, g0, b0, size, lo, hi):
    # Per channel the gap is least at the block's nearest face and greatest at its farthest
    # corner. redmean's weights are linear in the cell's r, hence between their values at the
    # block's r0 and r1, and positive (1024 + Ra + r > 0 and 1534 - Ra - r >= 1024).
    r1 = r0 + size - 1
    g1 = g0 + size - 1
    b1 = b0 + size - 1
    for j in range(n):
        k = cand[j]
        cr = col[k, 0]
        rmin, rmax = _gap(cr, r0, r1)
        gmin, gmax = _gap(col[k, 1], g0, g1)
        bmin, bmax = _gap(col[k, 2], b0, b1)
        if redmean:
            lo[j] = ((1024 + cr + r0) * rmin * rmin + 2048 * gmin * gmin
                     + (1534 - cr - r1) * bmin * bmin)
            hi[j] = ((1024 + cr + r1) * rmax * rmax + 2048 * gmax * gmax
                     + (1534 - cr - r0) * bmax * bmax)
        else:
            lo[j] = rmin * rmin + gmin * gmin + bmin * bmin
            hi[j] = rmax * rmax + gmax * gmax + bmax * bmax


@njit(cache=True)
def _int_cells(col, ids, cand, m, redmean, r0, g0, b0, size, cells, out):
    """Exact argmin over cand[:m] (in index order, strict <) for every cell of a size^3 block;
    cells is (4, FINE^3) scratch: best distance, best colour, and the g and b terms."""
    best = cells[0]
    besti = cells[1]
    dg = cells[2]
    db = cells[3]
    best[:] = _BIG
    wg = 2048 if redmean else 1
    for j in range(m):
        k = cand[j]
        cr = col[k, 0]
        for i in range(size):
            x = g0 + i - col[k, 1]
            dg[i] = wg * x * x
            y = b0 + i - col[k, 2]
            db[i] = y * y
        for ri in range(size):
            r = r0 + ri
            x = r - cr
            if redmean:
                dr = (1024 + cr + r) * x * x
                wb = 1534 - cr - r
            else:
                dr = x * x
                wb = 1
            for gi in range(size):
                base = dr + dg[gi]
                c0 = (ri * size + gi) * size
                for bi in range(size):
                    d = base + wb * db[bi]
                    if d < best[c0 + bi]:
                        best[c0 + bi] = d
                        besti[c0 + bi] = k
    for ri in range(size):
        for gi in range(size):
            c0 = (ri * size + gi) * size
            for bi in range(size):
                out[r0 + ri, g0 + gi, b0 + bi] = ids[besti[c0 + bi]]


_SPLIT = 8   # more survivors than this in a FINE block: search it by 4^3 sub-blocks


def build_int(col, ids, redmean, out):
    """Fill out (256,256,256) with ids[k] for the nearest col[k] (K,3 int64) under rgb or
    redmean, on numba's threads."""
    spans(build_int_span, (col, ids, redmean, out), TASKS, unit=TASK_CELLS)


@njit(cache=True, nogil=True)
def build_int_span(col, ids, redmean, out, first, last):
    """build_int for the coarse blocks first..last-1."""
    k_all = col.shape[0]
    work = np.empty((7, k_all), dtype=np.int64)
    lo = work[0]
    hi = work[1]
    everyone = work[2]
    coarse = work[3]
    mid = work[4]
    fine = work[5]
    finer = work[6]
    cells = np.empty((4, _FN), dtype=np.int64)
    for j in range(k_all):
        everyone[j] = j
    side = np.int64(COARSE)   # run-time sizes: one specialisation of each callee
    half = side // 2
    fine_side = np.int64(FINE)
    for t in range(first, last):
        R0 = (t // (_NC * _NC)) * side
        G0 = ((t // _NC) % _NC) * side
        B0 = (t % _NC) * side
        _int_bounds(col, everyone, k_all, redmean, R0, G0, B0, side, lo, hi)
        n0 = _keep(everyone, k_all, lo, hi, 0.0, coarse)
        for hq in range(8):     # 16^3 blocks: dense clusters of colours leave many survivors
            Rh = R0 + (hq >> 2) * half
            Gh = G0 + ((hq >> 1) & 1) * half
            Bh = B0 + (hq & 1) * half
            _int_bounds(col, coarse, n0, redmean, Rh, Gh, Bh, half, lo, hi)
            n = _keep(coarse, n0, lo, hi, 0.0, mid)
            for s in range(8):
                r0 = Rh + (s >> 2) * fine_side
                g0 = Gh + ((s >> 1) & 1) * fine_side
                b0 = Bh + (s & 1) * fine_side
                _int_fine(col, ids, mid, n, redmean, r0, g0, b0, fine_side, lo, hi, fine, finer,
                          cells, out)


@njit(cache=True)
def _int_fine(col, ids, cand, n, redmean, r0, g0, b0, size, lo, hi, fine, finer, cells, out):
    """One FINE block from its parent's survivors cand[:n]: filled, searched, or split."""
    _int_bounds(col, cand, n, redmean, r0, g0, b0, size, lo, hi)
    m = _keep(cand, n, lo, hi, 0.0, fine)
    if m == 1:
        _fill(out, r0, g0, b0, ids[fine[0]], size)
    elif m <= _SPLIT:
        _int_cells(col, ids, fine, m, redmean, r0, g0, b0, size, cells, out)
    else:
        h = size // 2
        for q in range(8):
            r1 = r0 + (q >> 2) * h
            g1 = g0 + ((q >> 1) & 1) * h
            b1 = b0 + (q & 1) * h
            _int_bounds(col, fine, m, redmean, r1, g1, b1, h, lo, hi)
            m2 = _keep(fine, m, lo, hi, 0.0, finer)
            if m2 == 1:
                _fill(out, r1, g1, b1, ids[finer[0]], h)
            else:
                _int_cells(col, ids, finer, m2, redmean, r1, g1, b1, h, cells, out)
