"""Mixing plans of the ordered dithers: which palette colours mix to a colour, and how much of
each (palcli.mixing builds the table from these kernels; palcli.kernels.ordered reads it).

A colour's plan is the mix of palette colours with the given mean (in the dither space) that
puts the least weight on height: minimise sum(w_i h_i) subject to sum(w_i v_i) = p,
sum(w_i) = 1, w >= 0, one small linear programme per colour. Its solution is a simplex of the
palette's regular triangulation with heights h (Delaunay's when h_i = |v_i|^2): the weights are
the barycentric coordinates of p in it, so they change continuously with p, and a colour outside
the palette's convex hull takes the plan of the nearest point of the hull.

Everything here works in coordinates of the palette's affine span (d = 0..3 dimensions, a
palette of greys is a line), so the constraint matrix [Y; 1] has full row rank m = d + 1.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TOL = 1e-9  # feasibility and pivot tolerance (weights are in 0..1, coordinates in 0..1)
MAX_PIVOTS = 500  # per target, before a fresh solve


@njit(cache=True, nogil=True)
def plan_cells(ys, heights, targets, starts, lo, hi, out):
    """For chunks lo..hi-1, [starts[c], starts[c+1]) of targets (N, d) (consecutive targets lie
    close together), the support of each target's plan into out (N, 4) int32 (-1 padded):
    the simplex of the triangulation holding the target (d + 1 points), or, for a target
    outside the hull, the points of the nearest point's plan that carry weight.

    Each chunk starts from a fresh solve at the palette's centroid and walks from target to
    target by dual simplex pivots (a basis stays optimal while only the target moves), so a
    chunk's results do not depend on the thread that runs it.
    """
    for c in range(lo, hi):  # a chunk's walk inline: one function less for numba to compile
        chunk = targets[starts[c]:starts[c + 1]]
        plan = out[starts[c]:starts[c + 1]]
        k, d = ys.shape
        m = d + 1
        basis = np.empty(m, np.int64)
        binv = np.empty((m, m))
        inbasis = np.zeros(k, np.bool_)
        b = np.empty(m)
        centre = np.zeros(d)
        for i in range(k):  # weights 1..2 by a fixed irrational step: off every face
            wt = 1.0 + (i * 0.6180339887498949) % 1.0
            centre += wt * ys[i]
        total = 0.0
        for i in range(k):
            total += 1.0 + (i * 0.6180339887498949) % 1.0
        centre /= total
        _solve(ys, heights, centre, basis, binv, inbasis)
        xb = np.empty(m)
        for t in range(chunk.shape[0]):
            _rhs(chunk[t], b)
            if not _dual(ys, heights, b, basis, binv, inbasis):
                near = _nearest(ys, chunk[t])
                _rhs(near, b)
                if not _dual(ys, heights, b, basis, binv, inbasis):  # numerically just outside
                    _solve(ys, heights, near, basis, binv, inbasis)
                _mul(binv, b, xb)
                n = 0
                for j in range(m):
                    if xb[j] > TOL:
                        plan[t, n] = basis[j]
                        n += 1
                for j in range(n, 4):
                    plan[t, j] = -1
                continue
            for j in range(m):
                plan[t, j] = basis[j]
            for j in range(m, 4):
                plan[t, j] = -1


@njit(cache=True, inline="always")
def _rhs(y, b):
    for i in range(y.shape[0]):
        b[i] = y[i]
    b[y.shape[0]] = 1.0


@njit(cache=True, inline="always")
def _mul(a, x, out):
    for i in range(a.shape[0]):
        s = 0.0
        for j in range(a.shape[1]):
            s += a[i, j] * x[j]
        out[i] = s


@njit(cache=True, inline="always")
def _column_dot(row, ys, j):
    """row . [ys[j]; 1]"""
    d = ys.shape[1]
    s = row[d]
    for i in range(d):
        s += row[i] * ys[j, i]
    return s


@njit(cache=True, inline="always")
def _eliminate(binv, u, r):
    """The Gauss-Jordan step of a pivot on row r: u = binv times the entering column."""
    m = binv.shape[0]
    piv = u[r]
    for j in range(m):
        binv[r, j] /= piv
    for i in range(m):
        if i != r and u[i] != 0.0:
            f = u[i]
            for j in range(m):
                binv[i, j] -= f * binv[r, j]


@njit(cache=True)
def _dual(ys, heights, b, basis, binv, inbasis):
    """Dual simplex from an optimal basis to the right-hand side b: True when feasible (the
    basis is then optimal for b), False when b lies outside the hull."""
    k = ys.shape[0]
    m = binv.shape[0]
    xb = np.empty(m)
    pi = np.empty(m)
    u = np.empty(m)
    for _ in range(MAX_PIVOTS):
        _mul(binv, b, xb)
        r = 0
        for i in range(1, m):
            if xb[i] < xb[r]:
                r = i
        if xb[r] >= -TOL:
            return True
        for j in range(m):  # prices: pi = c_B B^-1
            s = 0.0
            for i in range(m):
                s += heights[basis[i]] * binv[i, j]
            pi[j] = s
        enter = -1
        best = np.inf
        for j in range(k):
            if inbasis[j]:
                continue
            alpha = _column_dot(binv[r], ys, j)
            if alpha < -TOL:
                ratio = max(heights[j] - _column_dot(pi, ys, j), 0.0) / -alpha
                if ratio < best:
                    best = ratio
                    enter = j
        if enter < 0:
            return False
        # Column `enter` replaces the basis column of row r (product-form update).
        for i in range(m):
            u[i] = _column_dot(binv[i], ys, enter)
        _eliminate(binv, u, r)
        inbasis[basis[r]] = False
        basis[r] = enter
        inbasis[enter] = True
    # Stalled (degenerate cycling): solve afresh at the feasible target, if any.
    return _solve(ys, heights, b[:b.shape[0] - 1].copy(), basis, binv, inbasis)


@njit(cache=True)
def _solve(ys, heights, y, basis, binv, inbasis):
    """Primal simplex (big M, Bland's rule) for target y from the artificial basis; fills an
    optimal basis of palette points. False when y is outside the hull."""
    k, d = ys.shape
    m = d + 1
    b = np.empty(m)
    _rhs(y, b)
    big = 1e6 * (1.0 + np.abs(heights).max())
    # Columns k..k+m-1 are artificial: sign(b_i) e_i, cost big. Kept in a local matrix.
    cols = np.zeros((k + m, m))
    cost = np.empty(k + m)
    for j in range(k):
        cols[j, :d] = ys[j]
        cols[j, d] = 1.0
        cost[j] = heights[j]
    for i in range(m):
        cols[k + i, i] = 1.0 if b[i] >= 0 else -1.0
        cost[k + i] = big
    bas = np.arange(k, k + m)
    bi = np.zeros((m, m))
    for i in range(m):
        bi[i, i] = cols[k + i, i]
    inb = np.zeros(k + m, np.bool_)
    inb[k:] = True
    xb = np.empty(m)
    pi = np.empty(m)
    u = np.empty(m)
    allow_artificial = True
    for _ in range(100 * (k + m)):
        _mul(bi, b, xb)
        for j in range(m):
            s = 0.0
            for i in range(m):
                s += cost[bas[i]] * bi[i, j]
            pi[j] = s
        enter = -1
        for j in range(k + m if allow_artificial else k):  # Bland: the first improving column
            if inb[j]:
                continue
            rc = cost[j]
            for i in range(m):
                rc -= pi[i] * cols[j, i]
            if rc < -TOL * (1.0 + abs(cost[j])):
                enter = j
                break
        if enter < 0:
            # Optimal. Artificials left in the basis (at zero) leave by degenerate pivots.
            art = -1
            for i in range(m):
                if bas[i] >= k:
                    art = i
                    break
            if art < 0:
                break
            if xb[art] > TOL:
                return False  # y outside the hull
            allow_artificial = False
            enter = -1
            bestabs = TOL
            for j in range(k):
                if inb[j]:
                    continue
                a = 0.0
                for i in range(m):
                    a += bi[art, i] * cols[j, i]
                if abs(a) > bestabs:
                    bestabs = abs(a)
                    enter = j
            if enter < 0:
                return False
            r = art
        else:
            for i in range(m):
                s = 0.0
                for j in range(m):
                    s += bi[i, j] * cols[enter, j]
                u[i] = s
            r = -1
            best = np.inf
            for i in range(m):  # ratio test, ties to the lowest column (Bland)
                if u[i] > TOL:
                    ratio = xb[i] / u[i]
                    if ratio < best - 1e-15 or (abs(ratio - best) <= 1e-15 and bas[i] < bas[r]):
                        best = ratio
                        r = i
            if r < 0:
                return False  # unbounded: cannot happen with the sum constraint
        for i in range(m):
            s = 0.0
            for j in range(m):
                s += bi[i, j] * cols[enter, j]
            u[i] = s
        _eliminate(bi, u, r)
        inb[bas[r]] = False
        bas[r] = enter
        inb[enter] = True
    for i in range(m):
        if bas[i] >= k:
            return False
    inbasis[:] = False
    for i in range(m):
        basis[i] = bas[i]
        inbasis[bas[i]] = True
        for j in range(m):
            binv[i, j] = bi[i, j]
    return True


@njit(cache=True)
def _nearest(ys, y):
    """The point of the convex hull of ys nearest to y (Wolfe's minimum-norm-point algorithm,
    P. Wolfe, Math. Programming 11 (1976) 128-149, on the points ys - y)."""
    k, d = ys.shape
    p = ys - y
    corral = np.empty(d + 2, np.int64)
    lam = np.empty(d + 2)
    mu = np.empty(d + 2)
    # Start from the point nearest to y.
    first = 0
    best = np.inf
    for j in range(k):
        s = 0.0
        for i in range(d):
            s += p[j, i] * p[j, i]
        if s < best:
            best = s
            first = j
    corral[0] = first
    lam[0] = 1.0
    n = 1
    x = p[first].copy()
    scale = 0.0
    for j in range(k):
        for i in range(d):
            scale = max(scale, abs(p[j, i]))
    for _ in range(1000):
        # Major cycle: the point most in the direction of -x.
        xx = 0.0
        for i in range(d):
            xx += x[i] * x[i]
        j_min = -1
        v_min = np.inf
        for j in range(k):
            s = 0.0
            for i in range(d):
                s += x[i] * p[j, i]
            if s < v_min:
                v_min = s
                j_min = j
        if v_min >= xx - 1e-12 * scale * scale or n > d:
            break  # x is the nearest point (or, numerically, the corral is full)
        present = False
        for c in range(n):
            if corral[c] == j_min:
                present = True
        if present:
            break
        corral[n] = j_min
        lam[n] = 0.0
        n += 1
        # Minor cycles: move to the affine minimiser of the corral while it stays convex.
        for _ in range(d + 3):
            _affine_minimiser(p, corral, n, mu)
            inside = True
            for c in range(n):
                if mu[c] <= 1e-12:
                    inside = False
            if inside:
                for c in range(n):
                    lam[c] = mu[c]
                break
            theta = 1.0
            for c in range(n):
                if mu[c] <= 1e-12 and lam[c] - mu[c] > 0:
                    theta = min(theta, lam[c] / (lam[c] - mu[c]))
            keep = 0
            for c in range(n):
                v = lam[c] + theta * (mu[c] - lam[c])
                if v > 1e-12:
                    corral[keep] = corral[c]
                    lam[keep] = v
                    keep += 1
            n = keep
            total = 0.0
            for c in range(n):
                total += lam[c]
            for c in range(n):
                lam[c] /= total
        for i in range(d):
            s = 0.0
            for c in range(n):
                s += lam[c] * p[corral[c], i]
            x[i] = s
    return x + y


@njit(cache=True)
def _affine_minimiser(p, corral, n, mu):
    """mu[:n], summing to 1, minimising |sum mu_c p[corral[c]]|: the system
    [[G, 1], [1', 0]] [mu; nu] = [0; 1], G the Gram matrix of the corral."""
    a = np.zeros((n + 1, n + 1))
    rhs = np.zeros(n + 1)
    d = p.shape[1]
    for r in range(n):
        for c in range(n):
            s = 0.0
            for i in range(d):
                s += p[corral[r], i] * p[corral[c], i]
            a[r, c] = s
        a[r, n] = 1.0
        a[n, r] = 1.0
    rhs[n] = 1.0
    size = n + 1  # Gaussian elimination with partial pivoting
    for col in range(size):
        piv = col
        for r in range(col + 1, size):
            if abs(a[r, col]) > abs(a[piv, col]):
                piv = r
        if piv != col:
            for c in range(size):
                a[col, c], a[piv, c] = a[piv, c], a[col, c]
            rhs[col], rhs[piv] = rhs[piv], rhs[col]
        if a[col, col] == 0.0:
            continue
        for r in range(col + 1, size):
            f = a[r, col] / a[col, col]
            if f != 0.0:
                for c in range(col, size):
                    a[r, c] -= f * a[col, c]
                rhs[r] -= f * rhs[col]
    x = np.zeros(size)
    for r in range(size - 1, -1, -1):
        s = rhs[r]
        for c in range(r + 1, size):
            s -= a[r, c] * x[c]
        x[r] = s / a[r, r] if a[r, r] != 0.0 else 0.0
    for c in range(n):
        mu[c] = x[c]
