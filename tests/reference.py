"""Brute-force nearest colour, written from SPEC section 2 alone: imports nothing from palcli.

Slow on purpose and obvious on purpose: every palette colour is compared with every cell,
visited in palette order with a strict `<`, so ties go to the lowest index.
"""

import numpy as np

METRICS = ("rgb", "redmean", "cie76", "ciede2000", "oklab")


def cells(r_lo, r_hi):
    """Every sRGB colour with r_lo <= r < r_hi, in cube order [r, g, b], as (N, 3) uint8."""
    r, g, b = np.meshgrid(np.arange(r_lo, r_hi), np.arange(256), np.arange(256), indexing="ij")
    return np.stack([r.ravel(), g.ravel(), b.ravel()], axis=1).astype(np.uint8)


def _decode(c):
    # IEC 61966-2-1 decoding
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


_LINEAR = _decode(np.arange(256) / 255.0)


def _linear(rgb):
    return _LINEAR[np.asarray(rgb, dtype=np.uint8)]


def lab(rgb):
    """sRGB8 -> CIELAB: IEC matrix, D65 white from xy (0.3127, 0.3290), eps 216/24389,
    kappa 24389/27."""
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    white = np.array([0.3127 / 0.3290, 1.0, (1 - 0.3127 - 0.3290) / 0.3290])
    t = (_linear(rgb) @ m.T) / white
    f = np.where(t > 216 / 24389, np.cbrt(t), (24389 / 27 * t + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def oklab(rgb):
    """sRGB8 -> OKLab with Ottosson's (2020) matrices."""
    m1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                   [0.2119034982, 0.6806995451, 0.1073969566],
                   [0.0883024619, 0.2817188376, 0.6299787005]])
    m2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                   [1.9779984951, -2.4285922050, 0.4505937099],
                   [0.0259040371, 0.7827717662, -0.8086757660]])
    return np.cbrt(_linear(rgb) @ m1.T) @ m2.T


def ciede2000(lab1, lab2):
    """CIEDE2000, kL = kC = kH = 1, following Sharma, Wu & Dalal (2005) equations 1-16.
    Broadcasts over leading axes of (..., 3) inputs."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    cbar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(cbar ** 7 / (cbar ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    neutral = c1p * c2p == 0
    diff = h2p - h1p
    dhp = np.where(diff > 180, diff - 360, np.where(diff < -180, diff + 360, diff))
    dhp = np.where(neutral, 0.0, dhp)
    dLp = L2 - L1
    dCp = c2p - c1p
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dhp) / 2)
    Lbar = (L1 + L2) / 2
    Cbar = (c1p + c2p) / 2
    hsum = h1p + h2p
    hbar = np.where(np.abs(h1p - h2p) <= 180, hsum / 2,
                    np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2))
    hbar = np.where(neutral, hsum, hbar)
    T = (1 - 0.17 * np.cos(np.radians(hbar - 30)) + 0.24 * np.cos(np.radians(2 * hbar))
         + 0.32 * np.cos(np.radians(3 * hbar + 6)) - 0.20 * np.cos(np.radians(4 * hbar - 63)))
    dtheta = 30 * np.exp(-(((hbar - 275) / 25) ** 2))
    rc = 2 * np.sqrt(Cbar ** 7 / (Cbar ** 7 + 25.0 ** 7))
    sl = 1 + 0.015 * (Lbar - 50) ** 2 / np.sqrt(20 + (Lbar - 50) ** 2)
    sc = 1 + 0.045 * Cbar
    sh = 1 + 0.015 * Cbar * T
    rt = -np.sin(np.radians(2 * dtheta)) * rc
    x, y = dCp / sc, dHp / sh
    return np.sqrt((dLp / sl) ** 2 + x ** 2 + y ** 2 + rt * x * y)


def distance(rgb1, rgb2, metric):
    """Distance between uint8 sRGB colours (..., 3), broadcasting; squared where the spec's
    order allows (rgb, redmean exactly as the spec's table), Euclidean for cie76/oklab."""
    a = np.asarray(rgb1).astype(np.float64)
    b = np.asarray(rgb2).astype(np.float64)
    d = a - b
    if metric == "rgb":
        return (d ** 2).sum(-1)
    if metric == "redmean":
        rm = (a[..., 0] + b[..., 0]) / 2   # dyadic rationals: every step below is exact
        return ((2 + rm / 256) * d[..., 0] ** 2 + 4 * d[..., 1] ** 2
                + (2 + (255 - rm) / 256) * d[..., 2] ** 2)
    if metric == "cie76":
        return np.sqrt(((lab(rgb1) - lab(rgb2)) ** 2).sum(-1))
    if metric == "oklab":
        return np.sqrt(((oklab(rgb1) - oklab(rgb2)) ** 2).sum(-1))
    if metric == "ciede2000":
        return ciede2000(lab(rgb1), lab(rgb2))
    raise ValueError(metric)


def nearest(rgb, palette, metric, chosen=None, chunk=1 << 16):
    """(index, distance) of the nearest palette colour for each of rgb (N, 3) uint8: every
    colour is tried in palette order and replaces the best only when strictly nearer.
    With `chosen` (N,) indices, also the distance of each cell to its chosen colour."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    palette = np.asarray(palette, dtype=np.uint8)
    idx = np.empty(len(rgb), dtype=np.int64)
    dist = np.empty(len(rgb))
    dch = np.empty(len(rgb))
    for s in range(0, len(rgb), chunk):
        e = slice(s, s + chunk)
        idx[e], dist[e], dch[e] = _nearest(rgb[e], palette, metric,
                                           None if chosen is None else chosen[e])
    return (idx, dist) if chosen is None else (idx, dist, dch)


def _nearest(rgb, palette, metric, chosen):
    if metric in ("cie76", "oklab", "ciede2000"):
        conv = oklab if metric == "oklab" else lab
        x = conv(rgb)
        if metric != "ciede2000":
            x = x.T.copy()     # coordinate rows for the Euclidean sums
        pc = conv(palette)
    best = np.full(len(rgb), np.inf)
    idx = np.zeros(len(rgb), dtype=np.int64)
    dch = np.full(len(rgb), np.nan)
    for k, p in enumerate(palette):
        if metric == "ciede2000":
            d = ciede2000(x, pc[k])
        elif metric in ("cie76", "oklab"):
            d = (x[0] - pc[k, 0]) ** 2 + (x[1] - pc[k, 1]) ** 2 + (x[2] - pc[k, 2]) ** 2
        else:
            d = distance(rgb, p, metric)
        better = d < best
        best[better] = d[better]
        idx[better] = k
        if chosen is not None:
            here = chosen == k
            dch[here] = d[here]
    if metric in ("cie76", "oklab"):
        best = np.sqrt(best)   # the order of squares is the order of distances
        dch = np.sqrt(dch)
    return idx, best, dch


def nearest_rgb_fast(rgb, palette, chunk=1 << 15):
    """rgb metric only: argmin of |p|^2 - 2 c.p (|c|^2 is the same for every p). Every term
    is an integer below 2^24, so float32 holds it exactly and ties stay ties; argmin takes the
    first, the lowest index."""
    p = np.asarray(palette, dtype=np.float32)
    pp = (p ** 2).sum(1)[None, :]
    rgb = np.asarray(rgb, dtype=np.float32)
    out = np.empty(len(rgb), dtype=np.int64)
    for s in range(0, len(rgb), chunk):
        out[s:s + chunk] = (pp - 2.0 * (rgb[s:s + chunk] @ p.T)).argmin(axis=1)
    return out
