"""numba kernels that fill the cube for the Euclidean float metrics cie76 (CIELAB) and oklab.

Blocks and pruning as in cube_int.py. The cells' coordinates (_space_block) and the block boxes
(_corner_box, _cell_box) here serve cube_de00.py too.
"""

import numpy as np
from numba import njit

from ..engine import spans
from .cube_int import _FN, _NC, _NF, COARSE, FINE, TASK_CELLS, TASKS, _fill, _keep

# --- float metrics in a Euclidean space: cie76 (CIELAB) and oklab -------------------------------
#
# A colour's coordinates are x = P @ f(t) + o with t_i = T[i,0,r] + T[i,1,g] + T[i,2,b], where
# T[i,c,v] = A[i,c] * (linear light of code value v): A is the IEC XYZ matrix over the white
# (CIELAB) or Ottosson's M1 (OKLab), f is CIELAB's companding function or the cube root, P and
# o the final linear map. The palette's coordinates come from numpy (cube_numpy.coordinates);
# the cube root here is good to 1e-14, so a cell equal to a palette colour is at distance
# ~1e-15 from it, not 0: far inside the 1e-6 of exactness, and the colours are distinct.

MARGIN = 1e-9        # relative slack for float rounding in box bounds
_CBRT_MAGIC = 0x2A9F7893782DA1CE   # exponent bits / 3 plus this: a cube root good to ~5%


@njit(cache=True, error_model="numpy")
def _cbrt_into(t, y):
    """y = cbrt(t) for t >= 0, elementwise; two Halley steps from the bit-level guess leave a
    relative error below 1e-14, and the loop vectorizes (np.cbrt does not)."""
    tb = t.view(np.int64)
    yb = y.view(np.int64)
    for i in range(t.size):
        yb[i] = tb[i] // 3 + _CBRT_MAGIC
    for i in range(t.size):
        x = t[i]
        v = y[i]
        v3 = v * v * v
        v = v * (v3 + 2.0 * x) / (2.0 * v3 + x)
        v3 = v * v * v
        v = v * (v3 + 2.0 * x) / (2.0 * v3 + x)
        y[i] = v if x > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def _finish(P, o, mode, eps, kappa, n, t, f, x):
    """x[:, :n] = P @ f(t[:, :n]) + o, all (3, n)."""
    for j in range(3):
        _cbrt_into(t[j, :n], f[j, :n])
        if mode == 0:   # CIELAB's linear segment below epsilon
            for i in range(n):
                if t[j, i] <= eps:
                    f[j, i] = (kappa * t[j, i] + 16.0) / 116.0
    for j in range(3):
        pj0 = P[j, 0]
        pj1 = P[j, 1]
        pj2 = P[j, 2]
        oj = o[j]
        for i in range(n):
            x[j, i] = pj0 * f[0, i] + pj1 * f[1, i] + pj2 * f[2, i] + oj


@njit(cache=True)
def _space_block(T, P, o, mode, eps, kappa, r0, g0, b0, t, f, x):
    """Coordinates x (3, FINE^3) of the cells of a block, in cube order; t, f are scratch."""
    for j in range(3):
        i = 0
        for r in range(r0, r0 + FINE):
            for g in range(g0, g0 + FINE):
                for b in range(b0, b0 + FINE):
                    t[j, i] = T[j, 0, r] + T[j, 1, g] + T[j, 2, b]
                    i += 1
    _finish(P, o, mode, eps, kappa, np.int64(_FN), t, f, x)


@njit(cache=True)
def _f(t, mode, eps, kappa):
    if mode == 0 and t <= eps:
        return (kappa * t + 16.0) / 116.0
    return np.cbrt(t)


@njit(cache=True)
def _fprime(t, mode, eps, kappa):
    # f' is continuous (both pieces have slope kappa/116 at eps) and non-increasing.
    if mode == 0 and t <= eps:
        return kappa / 116.0
    if t <= 0.0:
        return np.inf
    return 1.0 / (3.0 * np.cbrt(t) ** 2)


@njit(cache=True)
def _mul(a0, a1, b0, b1):
    """The interval product [a0, a1] * [b0, b1]."""
    p0 = a0 * b0
    p1 = a0 * b1
    p2 = a1 * b0
    p3 = a1 * b1
    return min(min(p0, p1), min(p2, p3)), max(max(p0, p1), max(p2, p3))


@njit(cache=True)
def _corner_box(T, A, P, o, mode, eps, kappa, lin, r0, g0, b0, size, box, sc):
    """box[j] = (lo, hi) bounding coordinate j over every cell of the block, with margin.

    Two bounds, intersected. (A) t_i and f(t_i) lie between their values at the block's low
    and high corners (t_i is increasing in each channel's linear light u_c, f is increasing);
    interval arithmetic through P. (B) The mean value form about the block's centre cell m:
    x_j(u) = x_j(m) + grad x_j(xi) . (u - u(m)) for a point xi of the block's (convex) box of
    u, where d x_j / d u_c = sum_i P[j,i] f'(t_i) A[i,c] and f'(t_i) lies in
    [f'(t_i at the high corner), f'(t_i at the low corner)] since f' is non-increasing.
    (A) alone treats the strongly correlated f(t_i) that a and b difference as independent;
    (B) closes in on the true range as the block shrinks. Where f' is unbounded (OKLab at
    black) only (A) is used.
    """
    r1 = r0 + size - 1
    g1 = g0 + size - 1
    b1 = b0 + size - 1
    rm = r0 + size // 2
    gm = g0 + size // 2
    bm = b0 + size // 2
    flo = sc[0]
    fhi = sc[1]
    dlo = sc[2]     # f' over the block, low and high
    dhi = sc[3]
    fm = sc[4]
    for i in range(3):
        tlo = T[i, 0, r0] + T[i, 1, g0] + T[i, 2, b0]
        thi = T[i, 0, r1] + T[i, 1, g1] + T[i, 2, b1]
        flo[i] = _f(tlo, mode, eps, kappa)
        fhi[i] = _f(thi, mode, eps, kappa)
        dlo[i] = _fprime(thi, mode, eps, kappa)
        dhi[i] = _fprime(tlo, mode, eps, kappa)
        fm[i] = _f(T[i, 0, rm] + T[i, 1, gm] + T[i, 2, bm], mode, eps, kappa)
    finite = dhi[0] < np.inf and dhi[1] < np.inf and dhi[2] < np.inf
    ulo = (lin[r0] - lin[rm], lin[g0] - lin[gm], lin[b0] - lin[bm])
    uhi = (lin[r1] - lin[rm], lin[g1] - lin[gm], lin[b1] - lin[bm])
    for j in range(3):
        lo = o[j]
        hi = o[j]
        for i in range(3):
            if P[j, i] >= 0:
                lo += P[j, i] * flo[i]
                hi += P[j, i] * fhi[i]
            else:
                lo += P[j, i] * fhi[i]
                hi += P[j, i] * flo[i]
        if finite:
            xm = P[j, 0] * fm[0] + P[j, 1] * fm[1] + P[j, 2] * fm[2] + o[j]
            blo = xm
            bhi = xm
            for c in range(3):
                glo = 0.0
                ghi = 0.0
                for i in range(3):
                    w = P[j, i] * A[i, c]
                    if w >= 0:
                        glo += w * dlo[i]
                        ghi += w * dhi[i]
                    else:
                        glo += w * dhi[i]
                        ghi += w * dlo[i]
                plo, phi = _mul(glo, ghi, ulo[c], uhi[c])
                blo += plo
                bhi += phi
            lo = max(lo, blo)
            hi = min(hi, bhi)
        m = MARGIN * (1.0 + abs(lo) + abs(hi))
        box[j, 0] = lo - m
        box[j, 1] = hi + m


@njit(cache=True)
def _cell_box(x, box):
    """The exact box of the cells' coordinates x (3, n), with margin."""
    for j in range(3):
        lo = x[j, 0]
        hi = x[j, 0]
        for i in range(1, x.shape[1]):
            v = x[j, i]
            lo = min(lo, v)
            hi = max(hi, v)
        m = MARGIN * (1.0 + abs(lo) + abs(hi))
        box[j, 0] = lo - m
        box[j, 1] = hi + m


@njit(cache=True)
def _box_bounds(pc, cand, n, box, lo, hi):
    """Squared distance of each candidate to the box (lo) and to its farthest corner (hi):
    every point of the box, so every cell, lies between the two."""
    for j in range(n):
        k = cand[j]
        a = 0.0
        z = 0.0
        for c in range(3):
            p = pc[c, k]
            d0 = box[c, 0] - p
            d1 = p - box[c, 1]
            if d0 > 0:
                a += d0 * d0
            elif d1 > 0:
                a += d1 * d1
            far = max(-d0, -d1)
            z += far * far
        lo[j] = a
        hi[j] = z


@njit(cache=True, error_model="numpy")
def _euclid_cells(pc, ids, cand, m, x, r0, g0, b0, best, besti, out):
    best[:] = np.inf
    for j in range(m):
        k = cand[j]
        p0 = pc[0, k]
        p1 = pc[1, k]
        p2 = pc[2, k]
        for i in range(_FN):
            d0 = x[0, i] - p0
            d1 = x[1, i] - p1
            d2 = x[2, i] - p2
            d = d0 * d0 + d1 * d1 + d2 * d2
            if d < best[i]:
                best[i] = d
                besti[i] = k
    i = 0
    for r in range(r0, r0 + FINE):
        for g in range(g0, g0 + FINE):
            for b in range(b0, b0 + FINE):
                out[r, g, b] = ids[besti[i]]
                i += 1


def build_euclid(col, ids, T, A, P, o, mode, eps, kappa, lin, out):
    """Fill out with ids[k] for the nearest col[k] (K,3 int64) by Euclidean distance in the
    space (T, A, P, o): mode 0 is CIELAB's f with eps and kappa, mode 1 the cube root (OKLab).
    On numba's threads."""
    from ..cube_numpy import coordinates

    pc = coordinates(col, T, A, P, o, mode, eps, kappa, lin)
    spans(build_euclid_span, (pc, ids, T, A, P, o, mode, eps, kappa, lin, out), TASKS,
          unit=TASK_CELLS)


@njit(cache=True, nogil=True)
def build_euclid_span(pc, ids, T, A, P, o, mode, eps, kappa, lin, out, first, last):
    """build_euclid for the coarse blocks first..last-1, from the colours' coordinates pc
    (3, K)."""
    k_all = pc.shape[1]
    bounds = np.empty((2, k_all))
    lo = bounds[0]
    hi = bounds[1]
    work = np.empty((4, k_all), dtype=np.int64)
    everyone = work[0]
    coarse = work[1]
    fine = work[2]
    fine2 = work[3]
    box = np.empty((3, 2))
    sc = np.empty((5, 3))
    cells = np.empty((3, 3, _FN))
    ts = cells[0]
    fs = cells[1]
    x = cells[2]
    best = np.empty(_FN)
    besti = np.empty(_FN, dtype=np.int64)
    for j in range(k_all):
        everyone[j] = j
    side = np.int64(COARSE)   # run-time sizes: one specialisation of each callee
    fine_side = np.int64(FINE)
    for t in range(first, last):
        R0 = (t // (_NC * _NC)) * side
        G0 = ((t // _NC) % _NC) * side
        B0 = (t % _NC) * side
        _corner_box(T, A, P, o, mode, eps, kappa, lin, R0, G0, B0, side, box, sc)
        _box_bounds(pc, everyone, k_all, box, lo, hi)
        n = _keep(everyone, k_all, lo, hi, MARGIN, coarse)
        for s in range(_NF * _NF * _NF):
            r0 = R0 + (s // (_NF * _NF)) * fine_side
            g0 = G0 + ((s // _NF) % _NF) * fine_side
            b0 = B0 + (s % _NF) * fine_side
            _corner_box(T, A, P, o, mode, eps, kappa, lin, r0, g0, b0, fine_side, box, sc)
            _box_bounds(pc, coarse, n, box, lo, hi)
            m = _keep(coarse, n, lo, hi, MARGIN, fine)
            if m == 1:
                _fill(out, r0, g0, b0, ids[fine[0]], fine_side)
                continue
            _space_block(T, P, o, mode, eps, kappa, r0, g0, b0, ts, fs, x)
            _cell_box(x, box)
            _box_bounds(pc, fine, m, box, lo, hi)
            m = _keep(fine, m, lo, hi, MARGIN, fine2)
            if m == 1:
                _fill(out, r0, g0, b0, ids[fine2[0]], fine_side)
            else:
                _euclid_cells(pc, ids, fine2, m, x, r0, g0, b0, best, besti, out)
