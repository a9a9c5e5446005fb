"""Dither kernels: one error-diffusion scan for every weight table, and ordered thresholds.

Both end each pixel the same way: clamp, round to 8 bits per channel, read the cube. So a dither
costs the same for every metric.

The cube is read through a two-level copy of itself (`blocks`): a 64^3 table of 4x4x4 block
numbers, and the blocks themselves, 64 entries each (one cache line for uint8). Blocks 0..K-1 are
the uniform blocks of colour 0..K-1 and are shared, so the copy is a few MB, not 16: diffusion
jumps around the cube by the size of the error, and on the full cube nearly every read would miss
the cache. The result is the cube's entry, bit for bit.

Error diffusion works in integers. A "working value" is an sRGB level times 256 (sRGB space) or
linear light times 65535 (linear space); weights are fixed point over 2**16. Integers make the
result the same on every machine and keep the pixel-to-pixel dependency chain short: the error
carried to the next pixel in the scan is one table read, one subtraction and a shift.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

SHIFT = 16  # weights are fixed point over 2**SHIFT
LUT_SHIFT = 2  # linear working values index the 8-bit table in steps of 4 (16 KB: L1)
U = np.uint64  # unsigned indices: no negative-index wraparound code in the hot loops
PAD = 2  # diffusion tables reach at most two pixels sideways...
ROWS = 3  # ...and two rows down


def block_tables(cube: np.ndarray):
    """(top, leaves): top[(r>>2, g>>2, b>>2)] is a block number, leaves[block*64 + (r&3, g&3, b&3)]
    the palette index; blocks 0..k-1 are the uniform blocks of index 0..k-1."""
    v = cube.reshape(64, 4, 64, 4, 64, 4).transpose(0, 2, 4, 1, 3, 5).reshape(64 ** 3, 64)
    uniform = (v == v[:, :1]).all(axis=1)
    mixed = np.flatnonzero(~uniform)
    k = int(v[uniform, 0].max()) + 1 if uniform.any() else 0
    top = np.empty(64 ** 3, np.uint16 if k + len(mixed) <= 65536 else np.uint32)
    top[uniform] = v[uniform, 0]
    top[mixed] = k + np.arange(len(mixed))
    leaves = np.empty((k + len(mixed), 64), cube.dtype)
    leaves[:k] = np.arange(k, dtype=cube.dtype)[:, None]
    leaves[k:] = v[mixed]
    return top, leaves.reshape(-1)


@njit(cache=True, inline="always")
def _read(top, leaves, r8, g8, b8):
    blk = np.int64(top[U((r8 >> 2) << 12 | (g8 >> 2) << 6 | (b8 >> 2))])
    return leaves[U(blk << 6 | (r8 & 3) << 4 | (g8 & 3) << 2 | (b8 & 3))]


@njit(cache=True, inline="always")
def _to8(v, linear, out_lut):
    if linear:
        return np.int64(out_lut[U(v >> LUT_SHIFT)])
    return (v + 128) >> 8


@njit(cache=True, inline="always")
def _work(level, linear, to_work):
    if linear:
        return to_work[level]
    return np.int64(level) << 8


@njit(cache=True, parallel=True)
def diffuse(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
            serpentine, linear, out_lut, bands, warm, out):
    """Error-diffuse rgb (H, W, C>=3 uint8, C-contiguous) into out (H, W) palette indices.

    Weights (fixed point): carry_w for (dx=1, dy=0), near_w[0..2] for (dx=-1, 0, 1; dy=1), and
    the rest of the table as (dx, dy, w) arrays. dx is relative to the scan direction. The first
    four are kept in registers; carry_pal = pal_work * carry_w takes the multiply off the chain.
    pal_work: (K*3,) the palette in working values; to_work: 8-bit level -> working value;
    out_lut: clamped linear working value -> 8-bit level (linear space only).

    bands: row bounds (B+1,) of horizontal bands scanned in parallel, each starting `warm` rows
    early (those rows are scanned for their error only, not written), so the error arriving at a
    band's first row is nearly what a single scan would bring. The bands depend on the image
    alone, never on the thread count, so the output is the same on every machine.
    """
    for b in prange(bands.shape[0] - 1):
        _band(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
              serpentine, linear, out_lut, max(bands[b] - warm, 0), bands[b], bands[b + 1], out)
    return out


@njit(cache=True)
def _band(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
          serpentine, linear, out_lut, y0, y1, y2, out):
    # Each branch inlines the scan with constant flags, so the loop carries no tests for them.
    if linear:
        if dx.shape[0]:
            _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
                  serpentine, out_lut, y0, y1, y2, out, True, True)
        else:
            _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
                  serpentine, out_lut, y0, y1, y2, out, True, False)
    elif dx.shape[0]:
        _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
              serpentine, out_lut, y0, y1, y2, out, False, True)
    else:
        _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
              serpentine, out_lut, y0, y1, y2, out, False, False)


@njit(cache=True, inline="always")
def _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
          serpentine, out_lut, y0, y1, y2, out, linear, far):
    """Scan rows y0..y2-1 from zero error; write rows y1..y2-1."""
    wd = out.shape[1]
    nc = rgb.shape[2]
    src = rgb.reshape(-1)
    dst = out.reshape(-1)
    n = dx.shape[0]
    stride = (wd + 2 * PAD) * 3
    errs = np.zeros(ROWS * stride, np.int64)  # shares of the table's outer entries
    near = np.zeros(2 * stride, np.int64)  # shares of the (dx=-1..1, dy=1) entries, written once
    outer = np.empty(n, np.int64)
    vmax = to_work[255]
    lo, hi = -vmax // 2, vmax + vmax // 2
    wm, w0, wp = near_w[0], near_w[1], near_w[2]
    for y in range(y0, y2):
        keep = y >= y1
        reverse = serpentine and (y & 1) == 1
        step = -1 if reverse else 1
        x = wd - 1 if reverse else 0
        here = (y % ROWS) * stride + PAD * 3
        mine = (y & 1) * stride + PAD * 3
        below = ((y + 1) & 1) * stride + PAD * 3
        for i in range(n):
            outer[i] = ((y + dy[i]) % ROWS) * stride + PAD * 3 + step * dx[i] * 3
        cr = cg = cb = np.int64(0)  # carried to the next pixel in the scan
        ar = ag = ab = np.int64(0)  # the cell below the previous pixel, still open
        br = bg = bb = np.int64(0)  # the cell below this pixel
        for _ in range(wd):
            s = (y * wd + x) * nc
            f = mine + x * 3
            vr = _work(src[U(s)], linear, to_work) + near[U(f)] + cr
            vg = _work(src[U(s + 1)], linear, to_work) + near[U(f + 1)] + cg
            vb = _work(src[U(s + 2)], linear, to_work) + near[U(f + 2)] + cb
            if far:
                e = here + x * 3
                vr += errs[U(e)]
                vg += errs[U(e + 1)]
                vb += errs[U(e + 2)]
            # The error is taken from the unclamped value (bounded against runaway), so dark
            # and light ends keep their average; only the cube read is clamped to the gamut.
            vr = min(max(vr, lo), hi)
            vg = min(max(vg, lo), hi)
            vb = min(max(vb, lo), hi)
            q = _read(top, leaves, _to8(min(max(vr, 0), vmax), linear, out_lut),
                      _to8(min(max(vg, 0), vmax), linear, out_lut),
                      _to8(min(max(vb, 0), vmax), linear, out_lut))
            if keep:
                dst[U(y * wd + x)] = q
            p = np.int64(q) * 3
            cr = (vr * carry_w - carry_pal[U(p)]) >> SHIFT
            cg = (vg * carry_w - carry_pal[U(p + 1)]) >> SHIFT
            cb = (vb * carry_w - carry_pal[U(p + 2)]) >> SHIFT
            er = vr - pal_work[U(p)]
            eg = vg - pal_work[U(p + 1)]
            eb = vb - pal_work[U(p + 2)]
            # The cell below the previous pixel gets its last share from this pixel.
            t = below + (x - step) * 3
            near[U(t)] = ar + ((er * wm) >> SHIFT)
            near[U(t + 1)] = ag + ((eg * wm) >> SHIFT)
            near[U(t + 2)] = ab + ((eb * wm) >> SHIFT)
            ar = br + ((er * w0) >> SHIFT)
            ag = bg + ((eg * w0) >> SHIFT)
            ab = bb + ((eb * w0) >> SHIFT)
            br = (er * wp) >> SHIFT
            bg = (eg * wp) >> SHIFT
            bb = (eb * wp) >> SHIFT
            if far:
                for i in range(n):
                    t = outer[i] + x * 3
                    errs[U(t)] += (er * w[i]) >> SHIFT
                    errs[U(t + 1)] += (eg * w[i]) >> SHIFT
                    errs[U(t + 2)] += (eb * w[i]) >> SHIFT
            x += step
        t = below + (x - step) * 3  # the last pixel's cell (x is one past the end)
        near[t] = ar
        near[t + 1] = ag
        near[t + 2] = ab
        if far:
            errs[here - PAD * 3:here - PAD * 3 + stride] = 0
    return out


@njit(cache=True, parallel=True)
def ordered(rgb, top, leaves, offsets, out):
    """Ordered dither in sRGB: add a tiled threshold (offsets, (n, m) powers of two, in 1/256
    levels), round, look up. Rows are independent, so they run in parallel.
    """
    h, wd = out.shape
    nc = rgb.shape[2]
    src = rgb.reshape(-1)
    dst = out.reshape(-1)
    n, m = offsets.shape
    for y in prange(h):
        orow = offsets[y & (n - 1)]
        s = y * wd * nc
        for x in range(wd):
            t = orow[U(x & (m - 1))] + 128
            r8 = min(max((np.int64(src[U(s)]) << 8) + t, 0), 65535) >> 8
            g8 = min(max((np.int64(src[U(s + 1)]) << 8) + t, 0), 65535) >> 8
            b8 = min(max((np.int64(src[U(s + 2)]) << 8) + t, 0), 65535) >> 8
            dst[U(y * wd + x)] = _read(top, leaves, r8, g8, b8)
            s += nc
    return out
