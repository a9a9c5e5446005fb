"""numba kernels that fill the cube for ciede2000: de00 itself and the bounds that prune it.

Blocks and pruning as in cube_int.py; cells and colours in CIELAB by cube_lab.py's code path.
"""

import numpy as np
from numba import njit

from ..engine import spans
from .cube_int import _FN, _NC, _NF, COARSE, FINE, TASK_CELLS, TASKS, _fill, _keep
from .cube_lab import MARGIN, _cell_box, _corner_box, _space_block

# --- ciede2000 ----------------------------------------------------------------------------------
#
# Cells and colours are in CIELAB (cie76's, in cube_lab.py). Exact CIEDE2000 is dear (two atan2,
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
                n = np.int64(0)   # not a literal 0: one specialisation of _de00_cell
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


def build_de00(col, ids, T, A, P, o, mode, eps, kappa, lin, tmin, tmax, out):
    """Fill out with ids[k] for the CIEDE2000-nearest col[k] (K,3 int64); (T .. lin) describe
    CIELAB as for build_euclid; tmin, tmax bound CIEDE2000's hue weight T over all hues. On
    numba's threads."""
    from ..cube_numpy import coordinates

    lab = coordinates(col, T, A, P, o, mode, eps, kappa, lin)
    chroma = np.sqrt(lab[1] * lab[1] + lab[2] * lab[2])
    hue = np.degrees(np.arctan2(lab[2], lab[1]))
    spans(build_de00_span, (lab, chroma, hue, ids, T, A, P, o, mode, eps, kappa, lin, tmin, tmax,
                            out), TASKS, unit=TASK_CELLS)


@njit(cache=True, nogil=True)
def build_de00_span(lab, labc, labh, ids, T, A, P, o, mode, eps, kappa, lin, tmin, tmax, out,
                    first, last):
    """build_de00 for the coarse blocks first..last-1, from the colours' CIELAB coordinates lab
    (3, K), their chromas hypot(a, b) labc and hues in degrees labh."""
    # The work arrays and the block loop copy cube_lab.build_euclid_span's on purpose: the two
    # bounds differ inside every step, and one shared skeleton would cost a call per block.
    k_all = lab.shape[1]
    fwork = np.empty((3, k_all))
    lo = fwork[0]
    hi = fwork[1]
    lbs = fwork[2]
    work = np.empty((4, k_all), dtype=np.int64)
    everyone = work[0]
    coarse = work[1]
    fine = work[2]
    fine2 = work[3]
    per_cell = np.empty((3, _FN))
    lb0 = per_cell[0]
    ub0 = per_cell[1]
    xc = per_cell[2]
    box = np.empty((3, 2))
    sc = np.empty((5, 3))
    cells = np.empty((3, 3, _FN))
    ts = cells[0]
    fs = cells[1]
    x = cells[2]
    for j in range(k_all):
        everyone[j] = j
    side = np.int64(COARSE)   # run-time sizes: one specialisation of each callee
    fine_side = np.int64(FINE)
    n_cells = np.int64(_FN)
    for t in range(first, last):
        R0 = (t // (_NC * _NC)) * side
        G0 = ((t // _NC) % _NC) * side
        B0 = (t % _NC) * side
        _corner_box(T, A, P, o, mode, eps, kappa, lin, R0, G0, B0, side, box, sc)
        _de00_box_bounds(lab, labc, labh, everyone, k_all, box, tmin, tmax, lo, hi)
        n = _keep(everyone, k_all, lo, hi, MARGIN, coarse)
        for s in range(_NF * _NF * _NF):
            r0 = R0 + (s // (_NF * _NF)) * fine_side
            g0 = G0 + ((s // _NF) % _NF) * fine_side
            b0 = B0 + (s % _NF) * fine_side
            _corner_box(T, A, P, o, mode, eps, kappa, lin, r0, g0, b0, fine_side, box, sc)
            _de00_box_bounds(lab, labc, labh, coarse, n, box, tmin, tmax, lo, hi)
            m = _keep(coarse, n, lo, hi, MARGIN, fine)
            if m == 1:
                _fill(out, r0, g0, b0, ids[fine[0]], fine_side)
                continue
            _space_block(T, P, o, mode, eps, kappa, r0, g0, b0, ts, fs, x)
            _cell_box(x, box)
            _de00_box_bounds(lab, labc, labh, fine, m, box, tmin, tmax, lo, hi)
            m = _keep(fine, m, lo, hi, MARGIN, fine2)
            if m == 1:
                _fill(out, r0, g0, b0, ids[fine2[0]], fine_side)
            else:
                _chroma(x, n_cells, xc)
                _de00_cells(lab, labc, labh, ids, fine2, m, x, xc, box, tmin, tmax, lo, hi,
                            fine, lb0, ub0, lbs, r0, g0, b0, out)
