"""Exact cube builders in numpy for small palettes: nothing to compile, so a first run is quick.

The pruning of the numba kernels (palcli/kernels/cube_int.py), vectorized over blocks instead of
looped. The cube is cut into 16^3 blocks. In each block the candidate colours j that are
farther than k, the candidate nearest to the block's centre, from every cell of the block
(d_j - d_k > 0 throughout: a lower bound over the block's cells for rgb and redmean, over a box
holding the block's coordinates for the float metrics) are dropped. Colours that tie with k
anywhere stay, and so does any colour that is nearest somewhere. A block left with one colour
is filled with it; the others split into eight and go on with their survivors, down to blocks
whose cells are decided one by one: the first minimum of the exact distance over the survivors
in palette order, so ties go to the lowest index. Builders take the distinct colours in order
of first appearance and write ids[k], the palette index of distinct colour k, as the numba
kernels do, and have their signatures.

Arrays put the blocks on the last axis (candidates are (C, n), coordinates (3, n)), so numpy's
inner loops run over blocks, not over three channels or a handful of candidates. The cost
grows with the palette: cube.build_cube moves to the numba kernels for large ones.
"""

from __future__ import annotations

import numpy as np

TOP = 16          # side of the first blocks; each space lists the sides it goes down by
MARGIN = 1e-9     # relative slack for float rounding in the float metrics' bounds
METRICS = ("rgb", "redmean", "cie76", "oklab")   # the metrics built here


def build_int(col, ids, redmean, out):
    """Fill out (256,256,256) with ids[k] for the nearest col[k] (K,3 distinct) under rgb or
    redmean, exactly (integer arithmetic)."""
    _search(_IntSpace(np.asarray(col), bool(redmean)), np.asarray(ids), out)


def build_euclid(col, ids, T, A, P, o, mode, eps, kappa, lin, out):
    """Fill out with ids[k] for the nearest col[k] by Euclidean distance in the float space
    (T .. lin) of a metrics.Space: mode 0 CIELAB, 1 OKLab."""
    _search(_FloatSpace(np.asarray(col), T, A, P, o, mode, eps, kappa, lin), np.asarray(ids), out)


def coordinates(col, T, A, P, o, mode, eps, kappa, lin):
    """(3, K) coordinates of the colours col (K, 3) in the space (T .. lin) of a metrics.Space."""
    return _FloatSpace(np.asarray(col), T, A, P, o, mode, eps, kappa, lin).pc


def _search(space, ids, out):
    grid = np.arange(0, 256, TOP, dtype=np.int32)
    g, b = (a.ravel() for a in np.meshgrid(grid, grid, indexing="ij"))
    *sides, last = space.sizes
    for r in grid:   # one slab of top-level blocks at a time: bounded memory
        origins = np.stack([np.full_like(g, r), g, b])   # (3, n)
        count = np.full(g.size, space.n_colors)
        cand = np.broadcast_to(np.arange(space.n_colors)[:, None], (space.n_colors, g.size))
        for size, kid in zip(sides, space.sizes[1:]):
            cand, count = _survivors(cand, count, space.keep(origins, size, cand))
            one = count == 1
            _fill(out, origins[:, one], size, ids[cand[0, one]])
            if one.all():
                break
            origins, cand, count = _split(origins[:, ~one], cand[:, ~one], count[~one], size, kid)
        else:
            for width in np.unique(count):   # most blocks have 2 candidates left, a few ~6
                here = count == width
                _decide_cells(space, origins[:, here], last, cand[:width, here], ids, out)


def _decide_cells(space, origins, size, cand, ids, out):
    """Each cell of the blocks gets its nearest candidate: the first of equal distances."""
    d = space.distances(space.cells(origins, size), cand)        # (C, n, size^3)
    best = np.take_along_axis(cand[:, :, None], d.argmin(axis=0)[None], axis=0)[0]
    _fill(out, origins, size, ids[best].reshape(-1, size, size, size))


def _survivors(cand, count, keep):
    """The kept candidates (C, n) moved to the top in their order, the rest of each column
    filled with its first one (a repeat never wins a first-minimum argmin), and the counts.
    Rows from count on are such repeats already: they are not counted again."""
    keep &= np.arange(len(cand))[:, None] < count
    count = keep.sum(axis=0)
    width = int(count.max())
    rows, cols = np.nonzero(keep)
    out = np.empty((width, cand.shape[1]), dtype=np.intp)
    out[(np.cumsum(keep, axis=0) - 1)[rows, cols], cols] = cand[rows, cols]
    pad = np.arange(width)[:, None] >= count
    if pad.any():
        out[pad] = np.broadcast_to(out[0], out.shape)[pad]
    return out, count


def _split(origins, cand, count, size, kid):
    """The (size / kid)^3 blocks of side kid in each block of side size, with its candidates."""
    steps = np.arange(0, size, kid, dtype=np.int32)
    offsets = np.stack([a.ravel() for a in np.meshgrid(steps, steps, steps, indexing="ij")])
    m = offsets.shape[1]
    kids = (origins[:, :, None] + offsets[:, None, :]).reshape(3, -1)   # (3, n * m)
    return kids, np.repeat(cand, m, axis=1), np.repeat(count, m)


def _fill(out, origins, size, values):
    """out over each block = its value (n,), or its cells' values (n, size, size, size)."""
    n = 256 // size
    r, g, b = origins // size
    if values.ndim == 1:
        values = values[:, None, None, None]
    out.reshape(n, size, n, size, n, size)[r, :, g, :, b, :] = values


def _block_axes(origins, size):
    """For each channel, the (n, s) code values of the blocks' cells, shaped to broadcast to
    (n, s, s, s) in [r, g, b] order."""
    steps = np.arange(size, dtype=np.int32)
    v = origins[:, :, None] + steps                   # (3, n, s)
    return v[0][:, :, None, None], v[1][:, None, :, None], v[2][:, None, None, :]


class _IntSpace:
    """rgb: dR^2 + dG^2 + dB^2. redmean per the spec is 1/512 of the integer
    (1024 + Ra + Rb) dR^2 + 2048 dG^2 + (1534 - Ra - Rb) dB^2: a positive scale, so the same
    order and the same ties. Every value fits int32 (below 3.4e8)."""

    sizes = (16, 8, 4, 2)   # the last one's cells are decided one by one

    def __init__(self, col, redmean):
        self.col = np.ascontiguousarray(col.T, dtype=np.int32)   # (3, K)
        self.n_colors = col.shape[0]
        self.redmean = redmean

    def cells(self, origins, size):
        """(3, n, size^3) code values of the blocks' cells, in cube order."""
        shape = (len(origins[0]), size, size, size)
        return np.stack([np.broadcast_to(a, shape) for a in _block_axes(origins, size)]
                        ).reshape(3, shape[0], -1)

    def distances(self, rgb, cand):
        """(C, n, m): the distance of each of the blocks' points rgb (3, n, m) to the block's
        candidates cand (C, n)."""
        p = [self.col[c][cand][:, :, None] for c in range(3)]
        dr, dg, db = rgb[0] - p[0], rgb[1] - p[1], rgb[2] - p[2]
        if self.redmean:
            return ((1024 + p[0] + rgb[0]) * dr * dr + 2048 * dg * dg
                    + (1534 - p[0] - rgb[0]) * db * db)
        return dr * dr + dg * dg + db * db

    def keep(self, origins, size, cand):
        """Candidates j with d_j <= d_k somewhere in the block, k the nearest to its centre.

        d_j - d_k, per channel: rgb's terms (x - p_j)^2 - (x - p_k)^2 are linear in x, so least
        at an end of the block's range, and their least sums are the least of the sum. redmean's
        g term is linear likewise; its r term is a quadratic in r (the cubes cancel), least over
        the block's s values; its b term is linear in r for each b, so least at r0 or r1, over
        the s values of b. The sum of the three least values bounds d_j - d_k from below.
        """
        centre = (origins + size // 2)[:, :, None]
        k = self.distances(centre, cand)[:, :, 0].argmin(axis=0)
        kc = cand[k, np.arange(cand.shape[1])]
        lo, hi = origins, origins + (size - 1)
        pj = [self.col[c][cand] for c in range(3)]              # (C, n) each
        pk = [self.col[c][kc] for c in range(3)]                # (n,) each
        if not self.redmean:
            least = 0
            for c in range(3):
                step = pj[c] - pk[c]
                least = least + (pj[c] * pj[c] - pk[c] * pk[c]
                                 - 2 * np.maximum(lo[c] * step, hi[c] * step))
            return least <= 0
        step = pj[1] - pk[1]
        least = 2048 * (pj[1] * pj[1] - pk[1] * pk[1] - 2 * np.maximum(lo[1] * step, hi[1] * step))
        r = lo[0] + np.arange(size, dtype=np.int32)[:, None, None]   # (s, 1, n)
        aj, ak = pj[0], pk[0]
        least = least + ((1024 + aj + r) * (r - aj) ** 2 - (1024 + ak + r) * (r - ak) ** 2
                         ).min(axis=0)
        b = lo[2] + np.arange(size, dtype=np.int32)[:, None, None]
        bj, bk = (b - pj[2]) ** 2, (b - pk[2]) ** 2                  # (s, C, n)
        h = np.minimum((1534 - aj - lo[0]) * bj - (1534 - ak - lo[0]) * bk,
                       (1534 - aj - hi[0]) * bj - (1534 - ak - hi[0]) * bk)
        return least + h.min(axis=0) <= 0


class _FloatSpace:
    """Euclidean distance in CIELAB or OKLab. A colour's coordinates are x = P f(t) + o with
    t_i = T[i,0,r] + T[i,1,g] + T[i,2,b] (T[i,c,v] = A[i,c] times the linear light of code
    value v), f CIELAB's companding function (mode 0) or the cube root (mode 1): see
    metrics.Space. Cells and palette colours go through the one function _coords, so a cell
    equal to a palette colour is at distance 0 exactly."""

    sizes = (16, 8, 4)   # no 2^3 level: its box costs about as much as its eight cells

    def __init__(self, col, T, A, P, o, mode, eps, kappa, lin):
        self.T, self.A, self.P, self.o = T, A, P, o
        self.mode, self.eps, self.kappa, self.lin = mode, eps, kappa, np.asarray(lin)
        self.n_colors = col.shape[0]
        rgb = np.asarray(col.T, dtype=np.intp)
        self.pc = self._coords(self._t(rgb))   # (3, K)

    def _t(self, rgb):
        T = self.T
        return [T[i, 0][rgb[0]] + T[i, 1][rgb[1]] + T[i, 2][rgb[2]] for i in range(3)]

    def _f(self, t, root):
        if self.mode == 0:   # CIELAB's linear segment below epsilon
            return np.where(t <= self.eps, (self.kappa * t + 16.0) / 116.0, root)
        return root

    def _fprime(self, t, root):
        # f' is continuous (both CIELAB pieces have slope kappa/116 at eps) and non-increasing;
        # unbounded at 0 for the cube root.
        with np.errstate(divide="ignore"):
            d = np.where(t > 0.0, 1.0 / (3.0 * root * root), np.inf)
        if self.mode == 0:
            d = np.where(t <= self.eps, self.kappa / 116.0, d)
        return d

    def _coords(self, t):
        """Coordinates (3, ...) of colours from their [t_0, t_1, t_2]."""
        f = [np.cbrt(ti) for ti in t]
        if self.mode == 0:   # CIELAB's linear segment below epsilon: the few darkest cells
            for ti, fi in zip(t, f):
                low = ti <= self.eps
                if low.any():
                    fi[low] = (self.kappa * ti[low] + 16.0) / 116.0
        x = np.empty((3,) + f[0].shape)
        for j in range(3):   # skipping zeros (CIELAB's P has three) changes no sum
            x[j] = self.o[j]
            for i in range(3):
                if self.P[j, i] != 0.0:
                    x[j] += self.P[j, i] * f[i]
        return x

    def cells(self, origins, size):
        """(3, n, size^3) coordinates of the blocks' cells, in cube order."""
        r, g, b = _block_axes(origins, size)
        T = self.T
        ts = [T[i, 0][r] + T[i, 1][g] + T[i, 2][b] for i in range(3)]    # (n, s, s, s)
        return self._coords(ts).reshape(3, len(origins[0]), -1)

    def distances(self, x, cand):
        """(C, n, m): squared distances of the blocks' points x (3, n, m) to their candidates."""
        d = 0.0
        for c in range(3):
            e = x[c] - self.pc[c][cand][:, :, None]
            d = d + e * e
        return d

    def boxes(self, origins, size):
        """(lo, hi), each (3, n): bounds of each coordinate over every cell of each block.

        Two bounds, intersected, as the numba kernel's _corner_box. (A) t_i and f(t_i) lie
        between their values at the block's low and high corners (both increase with each
        channel's linear light u_c); interval arithmetic through P. (B) The mean value form
        about the centre cell m: x_j(u) = x_j(m) + grad x_j(xi) . (u - u(m)), where
        d x_j / d u_c = sum_i P[j,i] f'(t_i) A[i,c] and f'(t_i) lies between its values at the
        high and low corners (f' does not increase). (B) is used where f' is bounded.
        """
        lo_c, hi_c, mid = origins, origins + (size - 1), origins + size // 2
        t_lo, t_hi, t_m = (np.stack(self._t(c)) for c in (lo_c, hi_c, mid))
        root_lo, root_hi = np.cbrt(t_lo), np.cbrt(t_hi)
        f_lo, f_hi, f_m = self._f(t_lo, root_lo), self._f(t_hi, root_hi), self._f(t_m, np.cbrt(t_m))
        d_lo, d_hi = self._fprime(t_hi, root_hi), self._fprime(t_lo, root_lo)
        finite = np.isfinite(d_hi).all(axis=0)
        d_lo, d_hi = np.where(finite, d_lo, 0.0), np.where(finite, d_hi, 0.0)
        P, A, o, lin = self.P, self.A, self.o, self.lin
        u_lo, u_hi = lin[lo_c] - lin[mid], lin[hi_c] - lin[mid]     # (3, n): <= 0, >= 0
        box_lo, box_hi = [], []
        for j in range(3):
            lo = hi = o[j]
            for i in range(3):                                       # (A)
                a, b = (f_lo[i], f_hi[i]) if P[j, i] >= 0 else (f_hi[i], f_lo[i])
                lo = lo + P[j, i] * a
                hi = hi + P[j, i] * b
            m_lo = m_hi = P[j, 0] * f_m[0] + P[j, 1] * f_m[1] + P[j, 2] * f_m[2] + o[j]   # (B)
            for c in range(3):
                g_lo = g_hi = 0.0
                for i in range(3):
                    w = P[j, i] * A[i, c]
                    a, b = (d_lo[i], d_hi[i]) if w >= 0 else (d_hi[i], d_lo[i])
                    g_lo = g_lo + w * a
                    g_hi = g_hi + w * b
                ends = (g_lo * u_lo[c], g_lo * u_hi[c], g_hi * u_lo[c], g_hi * u_hi[c])
                m_lo = m_lo + np.minimum(np.minimum(ends[0], ends[1]), np.minimum(ends[2], ends[3]))
                m_hi = m_hi + np.maximum(np.maximum(ends[0], ends[1]), np.maximum(ends[2], ends[3]))
            lo = np.where(finite, np.maximum(lo, m_lo), lo)
            hi = np.where(finite, np.minimum(hi, m_hi), hi)
            margin = MARGIN * (1.0 + np.abs(lo) + np.abs(hi))
            box_lo.append(lo - margin)
            box_hi.append(hi + margin)
        return np.stack(box_lo), np.stack(box_hi)

    def keep(self, origins, size, cand):
        """Candidates j with d_j <= d_k (up to rounding) somewhere in the block's box, k the
        nearest to the box's centre: d_j^2 - d_k^2 = |p_j|^2 - |p_k|^2 - 2 x . (p_j - p_k) is
        linear in x, so its least value over the box is at a corner."""
        lo, hi = self.boxes(origins, size)
        p = [self.pc[c][cand] for c in range(3)]            # (C, n) each
        centre = 0.5 * (lo + hi)
        k = sum((p[c] - centre[c]) ** 2 for c in range(3)).argmin(axis=0)
        n = np.arange(cand.shape[1])
        pk = [p[c][k, n] for c in range(3)]
        least = scale = 0.0
        for c in range(3):
            step = p[c] - pk[c]
            sq = p[c] * p[c] - pk[c] * pk[c]
            least = least + sq - 2.0 * np.maximum(lo[c] * step, hi[c] * step)
            scale = scale + np.abs(sq) + 2.0 * np.abs(step) * np.maximum(np.abs(lo[c]),
                                                                       np.abs(hi[c]))
        return least <= MARGIN * scale
