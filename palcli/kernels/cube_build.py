"""numba kernels that fill the 256x256x256 nearest-colour cube, exactly, by pruning per block.

The cube is cut into 32^3-cell blocks (one parallel task each) and those into 8^3-cell blocks
(through 16^3 for the integer metrics, and down to 4^3 where many colours remain). For each
block every candidate colour gets a lower bound (its distance to the closest possible cell) and
an upper bound (to the farthest). A colour whose lower bound exceeds the smallest upper bound is
farther from every cell of the block than that colour, so it is dropped; each block starts from
its parent's survivors. When one colour survives it fills the block; otherwise every cell takes
the exact argmin over the survivors, visited in palette order with a strict `<`, so the lowest
index wins a tie exactly as a brute force would. The kernels work on distinct colours and write
ids[k], the palette index of distinct colour k.
"""

import numpy as np
from numba import njit, prange

COARSE = 32          # cells per side of one parallel task
FINE = 8             # cells per side of a block that is filled whole or searched cell by cell
_NC = 256 // COARSE
_NF = COARSE // FINE
_FN = FINE * FINE * FINE


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
def _fill(out, r0, g0, b0, k, size=FINE):
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
def _int_cells(col, ids, cand, m, redmean, r0, g0, b0, size, best, besti, out):
    """Exact argmin over cand[:m] (in index order, strict <) for every cell of a size^3 block;
    best, besti are scratch of size^3 entries at least."""
    dg = np.empty(FINE, dtype=np.int64)
    db = np.empty(FINE, dtype=np.int64)
    best[:] = np.iinfo(np.int64).max
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


@njit(cache=True, parallel=True)
def build_int(col, ids, redmean, out):
    """Fill out (256,256,256) with ids[k] for the nearest col[k] (K,3 int64) under rgb or
    redmean."""
    k_all = col.shape[0]
    for t in prange(_NC * _NC * _NC):
        R0 = (t // (_NC * _NC)) * COARSE
        G0 = ((t // _NC) % _NC) * COARSE
        B0 = (t % _NC) * COARSE
        lo = np.empty(k_all, dtype=np.int64)
        hi = np.empty(k_all, dtype=np.int64)
        best = np.empty(_FN, dtype=np.int64)
        besti = np.zeros(_FN, dtype=np.int64)
        everyone = np.arange(k_all)
        coarse = np.empty(k_all, dtype=np.int64)
        mid = np.empty(k_all, dtype=np.int64)
        fine = np.empty(k_all, dtype=np.int64)
        finer = np.empty(k_all, dtype=np.int64)
        _int_bounds(col, everyone, k_all, redmean, R0, G0, B0, COARSE, lo, hi)
        n0 = _keep(everyone, k_all, lo, hi, 0.0, coarse)
        half = COARSE // 2
        for hq in range(8):     # 16^3 blocks: dense clusters of colours leave many survivors
            Rh = R0 + (hq >> 2) * half
            Gh = G0 + ((hq >> 1) & 1) * half
            Bh = B0 + (hq & 1) * half
            _int_bounds(col, coarse, n0, redmean, Rh, Gh, Bh, half, lo, hi)
            n = _keep(coarse, n0, lo, hi, 0.0, mid)
            for s in range(8):
                r0 = Rh + (s >> 2) * FINE
                g0 = Gh + ((s >> 1) & 1) * FINE
                b0 = Bh + (s & 1) * FINE
                _int_fine(col, ids, mid, n, redmean, r0, g0, b0, lo, hi, fine, finer, best,
                          besti, out)


@njit(cache=True)
def _int_fine(col, ids, cand, n, redmean, r0, g0, b0, lo, hi, fine, finer, best, besti, out):
    """One FINE block from its parent's survivors cand[:n]: filled, searched, or split."""
    _int_bounds(col, cand, n, redmean, r0, g0, b0, FINE, lo, hi)
    m = _keep(cand, n, lo, hi, 0.0, fine)
    if m == 1:
        _fill(out, r0, g0, b0, ids[fine[0]])
    elif m <= _SPLIT:
        _int_cells(col, ids, fine, m, redmean, r0, g0, b0, FINE, best, besti, out)
    else:
        h = FINE // 2
        for q in range(8):
            r1 = r0 + (q >> 2) * h
            g1 = g0 + ((q >> 1) & 1) * h
            b1 = b0 + (q & 1) * h
            _int_bounds(col, fine, m, redmean, r1, g1, b1, h, lo, hi)
            m2 = _keep(fine, m, lo, hi, 0.0, finer)
            if m2 == 1:
                _fill(out, r1, g1, b1, ids[finer[0]], h)
            else:
                _int_cells(col, ids, finer, m2, redmean, r1, g1, b1, h, best, besti, out)


# --- float metrics in a Euclidean space: cie76 (CIELAB) and oklab -------------------------------
#
# A colour's coordinates are x = P @ f(t) + o with t_i = T[i,0,r] + T[i,1,g] + T[i,2,b], where
# T[i,c,v] = A[i,c] * (linear light of code value v): A is the IEC XYZ matrix over the white
# (CIELAB) or Ottosson's M1 (OKLab), f is CIELAB's companding function or the cube root, P and
# o the final linear map. Cells and palette colours go through the one function _space, so a
# cell equal to a palette colour gets bit-identical coordinates.

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
def _space(T, P, o, mode, eps, kappa, rgb, n, t, f, x):
    """Coordinates x[:, :n] (3, n) of the colours rgb[:n] (n, 3) int64; t, f are (3, n) scratch."""
    for j in range(3):
        for i in range(n):
            t[j, i] = T[j, 0, rgb[i, 0]] + T[j, 1, rgb[i, 1]] + T[j, 2, rgb[i, 2]]
    _finish(P, o, mode, eps, kappa, n, t, f, x)


@njit(cache=True)
def _space_block(T, P, o, mode, eps, kappa, r0, g0, b0, t, f, x):
    """_space for the FINE^3 cells of a block, in cube order: the same sums, the same finish."""
    for j in range(3):
        i = 0
        for r in range(r0, r0 + FINE):
            for g in range(g0, g0 + FINE):
                for b in range(b0, b0 + FINE):
                    t[j, i] = T[j, 0, r] + T[j, 1, g] + T[j, 2, b]
                    i += 1
    _finish(P, o, mode, eps, kappa, _FN, t, f, x)


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


@njit(cache=True)
def palette_space(col, T, P, o, mode, eps, kappa):
    """(3, K) coordinates of the palette col (K, 3) int64, by the cells' own code path."""
    k = col.shape[0]
    t = np.empty((3, k))
    f = np.empty((3, k))
    x = np.empty((3, k))
    _space(T, P, o, mode, eps, kappa, col, k, t, f, x)
    return x


@njit(cache=True, parallel=True)
def build_euclid(col, ids, T, A, P, o, mode, eps, kappa, lin, out):
    """Fill out with ids[k] for the nearest col[k] (K,3 int64) by Euclidean distance in the space
    (T, A, P, o): mode 0 is CIELAB's f with eps and kappa, mode 1 the cube root (OKLab)."""
    k_all = col.shape[0]
    pc = palette_space(col, T, P, o, mode, eps, kappa)
    for t in prange(_NC * _NC * _NC):
        R0 = (t // (_NC * _NC)) * COARSE
        G0 = ((t // _NC) % _NC) * COARSE
        B0 = (t % _NC) * COARSE
        lo = np.empty(k_all)
        hi = np.empty(k_all)
        box = np.empty((3, 2))
        sc = np.empty((5, 3))
        ts = np.empty((3, _FN))
        fs = np.empty((3, _FN))
        x = np.empty((3, _FN))
        best = np.empty(_FN)
        besti = np.zeros(_FN, dtype=np.int64)
        everyone = np.arange(k_all)
        coarse = np.empty(k_all, dtype=np.int64)
        fine = np.empty(k_all, dtype=np.int64)
        fine2 = np.empty(k_all, dtype=np.int64)
        _corner_box(T, A, P, o, mode, eps, kappa, lin, R0, G0, B0, COARSE, box, sc)
        _box_bounds(pc, everyone, k_all, box, lo, hi)
        n = _keep(everyone, k_all, lo, hi, MARGIN, coarse)
        for s in range(_NF * _NF * _NF):
            r0 = R0 + (s // (_NF * _NF)) * FINE
            g0 = G0 + ((s // _NF) % _NF) * FINE
            b0 = B0 + (s % _NF) * FINE
            _corner_box(T, A, P, o, mode, eps, kappa, lin, r0, g0, b0, FINE, box, sc)
            _box_bounds(pc, coarse, n, box, lo, hi)
            m = _keep(coarse, n, lo, hi, MARGIN, fine)
            if m == 1:
                _fill(out, r0, g0, b0, ids[fine[0]])
                continue
            _space_block(T, P, o, mode, eps, kappa, r0, g0, b0, ts, fs, x)
            _cell_box(x, box)
            _box_bounds(pc, fine, m, box, lo, hi)
            m = _keep(fine, m, lo, hi, MARGIN, fine2)
            if m == 1:
                _fill(out, r0, g0, b0, ids[fine2[0]])
            else:
                _euclid_cells(pc, ids, fine2, m, x, r0, g0, b0, best, besti, out)


# --- ciede2000 ----------------------------------------------------------------------------------
#
# Cells and colours are in CIELAB (the cie76 space above). Exact CIEDE2000 is dear (two atan2,
# five cosines/sines, an exp), so it decides only between colours that safe bounds cannot
# separate. Writing x = dC'/S_C, y = dH'/S_H, dE00^2 = (dL/S_L)^2 + x^2 + y^2 + R_T x y, and:
#  * |R_T| = 2 rc |sin 2 dtheta| with rc = sqrt(C'^7 / (C'^7 + 25^7)) <= 1 and dtheta <= 30 deg,
#    so |R_T| <= 2 sin 60 < 2 and x^2 + y^2 + R_T x y lies within (1 -+ |R_T|/2)(x^2 + y^2).
#  * dtheta = 30 exp(-((hbar' - 275) / 25)^2) is tiny unless hbar' is near 275 deg; hbar' is
#    the bisector of the shorter arc between h1' and h2' (the hue of the chromatic colour if
#    one is neutral): the direction of the sum of the unit vectors (a'/C', b/C').
#  * dC'^2 + dH'^2 = |(a1', b1) - (a2', b2)|^2 (law of cosines; dH' = 2 sqrt(C1'C2') sin(dh'/2)).
#  * S_H = 1 + 0.015 C' T with T_min <= T <= T_max < 3 (T_min, T_max from cube.py), so
#    S_H <= S_C = 1 + 0.045 C'.
#  * a' = (1 + G) a with G in [0, 1/2], decreasing in the mean chroma; C <= C' <= (1 + G) C.
# Per block these terms are bounded over the block's Lab box (_de00_box_bounds); per pair of
# cell and colour they are computed, all but the hue angles themselves (_pair_bounds). A
# colour whose lower bound exceeds some colour's upper bound is never the nearest.

_P25_7 = 25.0 ** 7


@njit(cache=True, error_model="numpy", inline="always")
def _pow7(c):
    c2 = c * c
    return c2 * c2 * c2 * c


@njit(cache=True, error_model="numpy", inline="always")
def _hypot(a, b):
    # CIELAB values are far from overflow, so the plain form is as exact as math.hypot
    return np.sqrt(a * a + b * b)


@njit(cache=True, error_model="numpy")
def de00(L1, a1, b1, c1, L2, a2, b2, c2):
    """CIEDE2000 (kL = kC = kH = 1) as in Sharma, Wu & Dalal (2005), equations 1-16;
    c1, c2 are the colours' CIELAB chromas hypot(a, b)."""
    cbar = 0.5 * (c1 + c2)
    c7 = _pow7(cbar)
    g = 0.5 * (1.0 - np.sqrt(c7 / (c7 + _P25_7)))
    a1p = (1.0 + g) * a1
    a2p = (1.0 + g) * a2
    c1p = _hypot(a1p, b1)
    c2p = _hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p))
    if h1p < 0.0:
        h1p += 360.0
    h2p = np.degrees(np.arctan2(b2, a2p))
    if h2p < 0.0:
        h2p += 360.0
    dLp = L2 - L1
    dCp = c2p - c1p
    cc = c1p * c2p
    if cc == 0.0:
        dhp = 0.0
    else:
        dhp = h2p - h1p
        if dhp > 180.0:
            dhp -= 360.0
        elif dhp < -180.0:
            dhp += 360.0
    dHp = 2.0 * np.sqrt(cc) * np.sin(np.radians(dhp) / 2.0)
    Lbar = 0.5 * (L1 + L2)
    Cbarp = 0.5 * (c1p + c2p)
    hs = h1p + h2p
    if cc == 0.0:
        hbar = hs
    elif abs(h1p - h2p) <= 180.0:
        hbar = hs / 2.0
    elif hs < 360.0:
        hbar = (hs + 360.0) / 2.0
    else:
        hbar = (hs - 360.0) / 2.0
    T = (1.0 - 0.17 * np.cos(np.radians(hbar - 30.0)) + 0.24 * np.cos(np.radians(2.0 * hbar))
         + 0.32 * np.cos(np.radians(3.0 * hbar + 6.0))
         - 0.20 * np.cos(np.radians(4.0 * hbar - 63.0)))
    e = (hbar - 275.0) / 25.0
    dtheta = 30.0 * np.exp(-(e * e))
    cp7 = _pow7(Cbarp)
    rc = 2.0 * np.sqrt(cp7 / (cp7 + _P25_7))
    l50 = (Lbar - 50.0) * (Lbar - 50.0)
    sl = 1.0 + 0.015 * l50 / np.sqrt(20.0 + l50)
    sc = 1.0 + 0.045 * Cbarp
    sh = 1.0 + 0.015 * Cbarp * T
    rt = -np.sin(np.radians(2.0 * dtheta)) * rc
    x = dCp / sc
    y = dHp / sh
    dl = dLp / sl
    return np.sqrt(dl * dl + x * x + y * y + rt * x * y)


@njit(cache=True, error_model="numpy")
def _sl(lbar):
    l50 = (lbar - 50.0) * (lbar - 50.0)
    return 1.0 + 0.015 * l50 / np.sqrt(20.0 + l50)


@njit(cache=True, error_model="numpy")
def _g(cbar):
    c7 = _pow7(cbar)
    return 0.5 * (1.0 - np.sqrt(c7 / (c7 + _P25_7)))


@njit(cache=True, error_model="numpy")
def _rc(cbarp):
    c7 = _pow7(cbarp)
    return np.sqrt(c7 / (c7 + _P25_7))


# the direction of hue 275 deg
_U275A = 0.08715574274765817
_U275B = -0.9961946980917455


# Thresholds phi (degrees) on hbar's angle to 275 and the bound of |sin 2 dtheta| beyond each:
# dtheta <= 30 exp(-(phi / 25)^2) there. Computed once here, constants to the kernels.
_PHI = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 75.0)
_PHI_COS = tuple(float(np.cos(np.radians(p))) - 1e-9 for p in _PHI)
_PHI_SIN2 = tuple(float(np.sin(np.radians(2 * 30 * np.exp(-((p / 25) ** 2))))) * (1 + 1e-9)
                  + 1e-12 for p in _PHI)
_SIN60 = 0.8660255   # >= sin 60 deg
_C30, _S30 = float(np.cos(np.radians(30))), 0.5
_C6, _S6 = float(np.cos(np.radians(6))), float(np.sin(np.radians(6)))
_C63, _S63 = float(np.cos(np.radians(63))), float(np.sin(np.radians(63)))


@njit(cache=True, error_model="numpy")
def _pair_bounds(L1, a1, b1, c1, L2, a2, b2, c2, tmin, tmax):
    """(lower, upper) bounds of de00^2 for one pair, without inverse trigonometry.

    G, C', S_L, S_C are computed as in de00. dH'^2 = |dv'|^2 - dC'^2 (law of cosines).
    hbar' is the direction of w = v1'/C1' + v2'/C2' (the bisector of the shorter hue arc, or
    the hue of the only chromatic colour), so with (cos, sin) of hbar' = w / |w| the hue weight
    T, hence S_H, follows from multiple-angle identities; the cosine of hbar's angle to 275 deg
    bounds |R_T| / 2 = rc |sin 2 dtheta| by the _PHI ladder. With x = dC'/S_C, |y| = |dH'|/S_H:
    de00^2 = (dL/S_L)^2 + x^2 + y^2 + R_T x y lies within (dL/S_L)^2 + x^2 + y^2 +- |R_T x y|.
    When |w| is tiny (hues nearly opposite) T and dtheta fall back to their global ranges.
    """
    s = 1.0 + _g(0.5 * (c1 + c2))
    a1p = s * a1
    a2p = s * a2
    c1p = _hypot(a1p, b1)
    c2p = _hypot(a2p, b2)
    cbp = 0.5 * (c1p + c2p)
    da = a1p - a2p
    db = b1 - b2
    dc = c1p - c2p
    dh2 = max(da * da + db * db - dc * dc, 0.0)
    sc = 1.0 + 0.045 * cbp
    wa = 0.0
    wb = 0.0
    if c1p > 0.0:
        wa += a1p / c1p
        wb += b1 / c1p
    if c2p > 0.0:
        wa += a2p / c2p
        wb += b2 / c2p
    wn = _hypot(wa, wb)
    if wn > 1e-3:
        ch = wa / wn
        sh_ = wb / wn
        c2h = ch * ch - sh_ * sh_
        s2h = 2.0 * sh_ * ch
        c3h = ch * (4.0 * ch * ch - 3.0)
        s3h = sh_ * (3.0 - 4.0 * sh_ * sh_)
        c4h = 2.0 * c2h * c2h - 1.0
        s4h = 2.0 * s2h * c2h
        t = (1.0 - 0.17 * (ch * _C30 + sh_ * _S30) + 0.24 * c2h
             + 0.32 * (c3h * _C6 - s3h * _S6) - 0.20 * (c4h * _C63 + s4h * _S63))
        tlo = t - 1e-9
        thi = t + 1e-9
        cosang = ch * _U275A + sh_ * _U275B
        sin2 = _SIN60
        for q in range(len(_PHI)):
            if cosang < _PHI_COS[q]:
                sin2 = _PHI_SIN2[q]
    else:
        tlo = tmin
        thi = tmax
        sin2 = _SIN60
    shlo = 1.0 + 0.015 * cbp * tlo
    shhi = 1.0 + 0.015 * cbp * thi
    x2 = dc * dc / (sc * sc)
    ylo2 = dh2 / (shhi * shhi)
    yhi2 = dh2 / (shlo * shlo)
    rt = 2.0 * _rc(cbp) * sin2
    dl = (L1 - L2) / _sl(0.5 * (L1 + L2))
    dl2 = dl * dl
    lo2 = dl2 + x2 + ylo2 - rt * np.sqrt(x2 * yhi2)
    hi2 = dl2 + x2 + yhi2 + rt * np.sqrt(x2 * yhi2)
    return max(lo2, 0.0) * (1.0 - 2e-9), hi2 * (1.0 + 2e-9) + 1e-24


@njit(cache=True, error_model="numpy")
def _wrap(d):
    """An angle difference in degrees wrapped to [-180, 180)."""
    return (d + 180.0) % 360.0 - 180.0


@njit(cache=True, error_model="numpy")
def _box_hue(box):
    """(centre, half-width) in degrees of an arc holding the hue h' of every point of the box's
    (a, b) rectangle, or half-width 360 when it holds the origin. Scaling a by 1 + G <= 1.5
    turns a hue by at most atan(sqrt 1.5) - atan(1 / sqrt 1.5) = 11.54 degrees."""
    a0 = box[1, 0]
    a1 = box[1, 1]
    b0 = box[2, 0]
    b1 = box[2, 1]
    if a0 <= 0.0 <= a1 and b0 <= 0.0 <= b1:
        return 0.0, 360.0
    c = np.degrees(np.arctan2(0.5 * (b0 + b1), 0.5 * (a0 + a1)))
    lo = 0.0
    hi = 0.0
    for a, b in ((a0, b0), (a0, b1), (a1, b0), (a1, b1)):
        d = _wrap(np.degrees(np.arctan2(b, a)) - c)
        lo = min(lo, d)
        hi = max(hi, d)
    return c + 0.5 * (lo + hi), 0.5 * (hi - lo) + 11.6


@njit(cache=True, error_model="numpy")
def _sin2dtheta_arc(c1, w1, c2, w2):
    """A bound of |sin(2 dtheta)| when h1' lies within w1 of c1 and h2' within w2 of c2.

    If one arc covering both is shorter than 180 degrees, the shorter arc between h1' and h2'
    lies in it and so does hbar', its bisector; hbar' is then at least `far` from 275 degrees,
    and dtheta <= 30 exp(-(far / 25)^2) (|hbar' - 275| >= its distance on the circle)."""
    if w1 >= 90.0 or w2 >= 90.0:
        return 0.8660255
    d = _wrap(c2 - c1)
    lo = min(-w1, d - w2)
    hi = max(w1, d + w2)
    if hi - lo >= 180.0:
        return 0.8660255
    rho = _wrap(275.0 - c1)
    if lo <= rho <= hi:
        return 0.8660255
    far = min(abs(_wrap(rho - lo)), abs(_wrap(rho - hi))) - 1e-6
    if far <= 0.0:
        return 0.8660255
    dtheta = 30.0 * np.exp(-((far / 25.0) ** 2))
    return min(np.sin(np.radians(2.0 * dtheta)) * (1.0 + 1e-9) + 1e-12, 0.8660255)


@njit(cache=True, error_model="numpy")
def _de00_box_bounds(lab, labc, labh, cand, n, box, tmin, tmax, lo, hi):
    """Bounds of de00 from each candidate colour to every point of the Lab box.

    With gaps gL, ga, gb (least |dL|, |da|, |db| over the box), spans DL, Da, Db (greatest),
    s = 1 + G in [s_min, s_max] from the range of the mean chroma, Cbar' <= s_max Cbar_max,
    gv^2 = s_min^2 ga^2 + gb^2 <= |dv'|^2 and dC'_max >= |C1' - C2'|:
      lower^2 = gL^2 / S_L,max^2 + (1 - rc_max sin2) max(gv^2 / S_C,max^2,
                gv^2 / S_H,max^2 - dC'_max^2 (1 / S_H,max^2 - 1 / S_C,max^2)),
    from x^2 + y^2 >= dC'^2 / S_C^2 + (|dv'|^2 - dC'^2) / S_H^2 with S_H <= S_H,max <= S_C,max;
      upper^2 = DL^2 / S_L,min^2 + (1 + rc_max sin2)(s_max^2 Da^2 + Db^2) / S_H,min^2,
    S_H,min = 1 + 0.015 Cbar_min T_min (C' >= C) and S_C >= S_H. sin2 bounds |sin 2 dtheta| from
    the hue arcs of the box and the colour. S_L grows with |Lbar - 50|. The box's chroma range
    is the distance of its (a, b) rectangle to the origin and to its farthest corner.
    """
    L0 = box[0, 0]
    L1 = box[0, 1]
    a0 = box[1, 0]
    a1 = box[1, 1]
    b0 = box[2, 0]
    b1 = box[2, 1]
    na = a0 if a0 > 0 else (-a1 if a1 < 0 else 0.0)
    nb = b0 if b0 > 0 else (-b1 if b1 < 0 else 0.0)
    cmin = _hypot(na, nb)
    cmax = _hypot(max(abs(a0), abs(a1)), max(abs(b0), abs(b1)))
    hc, hw = _box_hue(box)
    for j in range(n):
        k = cand[j]
        pL = lab[0, k]
        pa = lab[1, k]
        pb = lab[2, k]
        pc = labc[k]
        cbmin = 0.5 * (cmin + pc)
        cbmax = 0.5 * (cmax + pc)
        smax = 1.0 + _g(cbmin)
        smin = 1.0 + _g(cbmax)
        gL = max(L0 - pL, pL - L1, 0.0)
        ga = max(a0 - pa, pa - a1, 0.0)
        gb = max(b0 - pb, pb - b1, 0.0)
        DL = max(abs(L0 - pL), abs(L1 - pL))
        Da = max(abs(a0 - pa), abs(a1 - pa))
        Db = max(abs(b0 - pb), abs(b1 - pb))
        e0 = abs(0.5 * (L0 + pL) - 50.0)
        e1 = abs(0.5 * (L1 + pL) - 50.0)
        slmax = _sl(50.0 + max(e0, e1))
        if 0.5 * (L0 + pL) <= 50.0 <= 0.5 * (L1 + pL):
            slmin = 1.0
        else:
            slmin = _sl(50.0 + min(e0, e1))
        cbpmax = smax * cbmax
        rcmax = _rc(cbpmax)
        if pc == 0.0:       # hbar' is the cell's hue
            sin2 = _sin2dtheta_arc(hc, hw, hc, hw)
        else:
            sin2 = _sin2dtheta_arc(hc, hw, labh[k], 11.6)
        scmax = 1.0 + 0.045 * cbpmax
        shmax = 1.0 + 0.015 * cbpmax * tmax
        shmin = 1.0 + 0.015 * cbmin * tmin
        gv2 = smin * smin * ga * ga + gb * gb
        dcmax = max(smax * cmax - pc, smax * pc - cmin)
        xy = max(gv2 / (scmax * scmax),
                 gv2 / (shmax * shmax) - dcmax * dcmax * (1.0 / (shmax * shmax)
                                                          - 1.0 / (scmax * scmax)))
        lo2 = (gL / slmax) ** 2 + (1.0 - rcmax * sin2) * xy
        hi2 = ((DL / slmin) ** 2
               + (1.0 + rcmax * sin2) * (smax * smax * Da * Da + Db * Db) / (shmin * shmin))
        lo[j] = np.sqrt(max(lo2, 0.0)) * (1.0 - 1e-9)
        hi[j] = np.sqrt(hi2)


_SUB = 4      # cells per side of the sub-blocks a FINE block is searched by for ciede2000


@njit(cache=True)
def _sub_box(x, sr, sg, sb, box):
    """The exact box, with margin, of the cells of the _SUB^3 sub-block at (sr, sg, sb)."""
    for j in range(3):
        lo = np.inf
        hi = -np.inf
        for r in range(sr, sr + _SUB):
            for g in range(sg, sg + _SUB):
                i0 = (r * FINE + g) * FINE
                for b in range(sb, sb + _SUB):
                    v = x[j, i0 + b]
                    lo = min(lo, v)
                    hi = max(hi, v)
        m = MARGIN * (1.0 + abs(lo) + abs(hi))
        box[j, 0] = lo - m
        box[j, 1] = hi + m


@njit(cache=True, error_model="numpy")
def _de00_cells(lab, labc, labh, ids, cand, m, x, xc, box, tmin, tmax, lo, hi, keep, lb0, ub0,
                lbs, r0, g0, b0, out):
    """Exact CIEDE2000 argmin over cand[:m] for each cell of the block, lowest index on ties.

    k0, the nearest colour of the block's centre cell, gives each cell i an upper bound ub0[i]
    of its minimum (lb0, ub0, lbs hold squared bounds). In each _SUB^3 sub-block, a colour whose lower bound over the sub-block's
    box exceeds the largest ub0 there is nearest to none of its cells. Per cell, the colours
    whose pair lower bound does not exceed the least pair upper bound survive: one survivor is
    the answer, else exact de00 decides among the survivors in index order.
    """
    ic = (FINE // 2) * (FINE * FINE + FINE + 1)
    k0 = cand[0]
    best = np.inf
    for j in range(m):
        k = cand[j]
        d = de00(x[0, ic], x[1, ic], x[2, ic], xc[ic], lab[0, k], lab[1, k], lab[2, k], labc[k])
        if d < best:
            best = d
            k0 = k
    for i in range(_FN):
        lb0[i], ub0[i] = _pair_bounds(x[0, i], x[1, i], x[2, i], xc[i], lab[0, k0],
                                      lab[1, k0], lab[2, k0], labc[k0], tmin, tmax)
    for sr in range(0, FINE, _SUB):
        for sg in range(0, FINE, _SUB):
            for sb in range(0, FINE, _SUB):
                u = 0.0
                for r in range(sr, sr + _SUB):
                    for g in range(sg, sg + _SUB):
                        i0 = (r * FINE + g) * FINE
                        for b in range(sb, sb + _SUB):
                            u = max(u, ub0[i0 + b])
                u = np.sqrt(u)
                _sub_box(x, sr, sg, sb, box)
                _de00_box_bounds(lab, labc, labh, cand, m, box, tmin, tmax, lo, hi)
                n = 0
                for j in range(m):
                    if cand[j] == k0 or lo[j] <= u * (1.0 + MARGIN):
                        keep[n] = cand[j]
                        hi[n] = lo[j] * lo[j]      # the squared box bound, per kept colour
                        n += 1
                for r in range(sr, sr + _SUB):
                    for g in range(sg, sg + _SUB):
                        i0 = (r * FINE + g) * FINE
                        for b in range(sb, sb + _SUB):
                            out[r0 + r, g0 + g, b0 + b] = ids[_de00_cell(
                                lab, labc, keep, hi, n, x, xc, i0 + b, k0, lb0, ub0, lbs,
                                tmin, tmax)]


@njit(cache=True, error_model="numpy")
def _de00_cell(lab, labc, keep, boxlo2, n, x, xc, i, k0, lb0, ub0, lbs, tmin, tmax):
    """The answer for cell i among keep[:n]; boxlo2 are their squared sub-block lower bounds,
    which rule a colour out before its pair bounds are computed."""
    L1 = x[0, i]
    a1 = x[1, i]
    b1 = x[2, i]
    c1 = xc[i]
    ubmin = ub0[i]
    for j in range(n):
        k = keep[j]
        if k == k0:
            lbs[j] = lb0[i]
            continue
        if boxlo2[j] * (1.0 - 2e-9) > ubmin:
            lbs[j] = np.inf
            continue
        lbs[j], ub = _pair_bounds(L1, a1, b1, c1, lab[0, k], lab[1, k], lab[2, k], labc[k],
                                  tmin, tmax)
        ubmin = min(ubmin, ub)
    alive = 0
    bi = k0
    for j in range(n):
        if lbs[j] <= ubmin:
            alive += 1
            bi = keep[j]
    if alive > 1:
        best = np.inf
        for j in range(n):
            if lbs[j] > ubmin or lbs[j] > best * best:
                continue
            k = keep[j]
            d = de00(L1, a1, b1, c1, lab[0, k], lab[1, k], lab[2, k], labc[k])
            if d < best:
                best = d
                bi = k
    return bi


@njit(cache=True, error_model="numpy")
def _chroma(x, n, xc):
    for i in range(n):
        xc[i] = _hypot(x[1, i], x[2, i])


@njit(cache=True, parallel=True)
def build_de00(col, ids, T, A, P, o, mode, eps, kappa, lin, tmin, tmax, out):
    """Fill out with ids[k] for the CIEDE2000-nearest col[k] (K,3 int64); (T .. lin) describe CIELAB as for
    build_euclid; tmin, tmax bound CIEDE2000's hue weight T over all hues."""
    k_all = col.shape[0]
    lab = palette_space(col, T, P, o, mode, eps, kappa)
    labc = np.empty(k_all)
    _chroma(lab, k_all, labc)
    labh = np.degrees(np.arctan2(lab[2], lab[1]))
    for t in prange(_NC * _NC * _NC):
        R0 = (t // (_NC * _NC)) * COARSE
        G0 = ((t // _NC) % _NC) * COARSE
        B0 = (t % _NC) * COARSE
        lo = np.empty(k_all)
        hi = np.empty(k_all)
        lb0 = np.empty(_FN)
        ub0 = np.empty(_FN)
        lbs = np.empty(k_all)
        box = np.empty((3, 2))
        sc = np.empty((5, 3))
        ts = np.empty((3, _FN))
        fs = np.empty((3, _FN))
        x = np.empty((3, _FN))
        xc = np.empty(_FN)
        everyone = np.arange(k_all)
        coarse = np.empty(k_all, dtype=np.int64)
        fine = np.empty(k_all, dtype=np.int64)
        fine2 = np.empty(k_all, dtype=np.int64)
        _corner_box(T, A, P, o, mode, eps, kappa, lin, R0, G0, B0, COARSE, box, sc)
        _de00_box_bounds(lab, labc, labh, everyone, k_all, box, tmin, tmax, lo, hi)
        n = _keep(everyone, k_all, lo, hi, MARGIN, coarse)
        for s in range(_NF * _NF * _NF):
            r0 = R0 + (s // (_NF * _NF)) * FINE
            g0 = G0 + ((s // _NF) % _NF) * FINE
            b0 = B0 + (s % _NF) * FINE
            _corner_box(T, A, P, o, mode, eps, kappa, lin, r0, g0, b0, FINE, box, sc)
            _de00_box_bounds(lab, labc, labh, coarse, n, box, tmin, tmax, lo, hi)
            m = _keep(coarse, n, lo, hi, MARGIN, fine)
            if m == 1:
                _fill(out, r0, g0, b0, ids[fine[0]])
                continue
            _space_block(T, P, o, mode, eps, kappa, r0, g0, b0, ts, fs, x)
            _cell_box(x, box)
            _de00_box_bounds(lab, labc, labh, fine, m, box, tmin, tmax, lo, hi)
            m = _keep(fine, m, lo, hi, MARGIN, fine2)
            if m == 1:
                _fill(out, r0, g0, b0, ids[fine2[0]])
            else:
                _chroma(x, _FN, xc)
                _de00_cells(lab, labc, labh, ids, fine2, m, x, xc, box, tmin, tmax, lo, hi,
                            fine, lb0, ub0, lbs, r0, g0, b0, out)
