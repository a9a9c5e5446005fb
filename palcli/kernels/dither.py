"""Error-diffusion kernels (one scan for every weight table) and the cube's two-level copy that
every dither kernel reads (the ordered ones live in palcli.kernels.ordered).

Each pixel ends the same way: clamp, round to 8 bits per channel, read the cube. So a dither
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
from numba import njit

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
def _level(v, linear, wide_lut, lo, vmax):
    """The 8-bit level of a bounded working value, clamped to the gamut. Linear: one read of
    a table that covers the whole bounded range (the clamp is in the table, off the chain)."""
    if linear:
        return np.int64(wide_lut[U((v - lo) >> LUT_SHIFT)])
    return (min(max(v, 0), vmax) + 128) >> 8


@njit(cache=True, inline="always")
def _work(level, linear, to_work):
    if linear:
        return to_work[level]
    return np.int64(level) << 8


# Error diffusion: one kernel per pair of constant flags (linear space or not; a table with
# entries beyond the (dx=1, dy=0) and (dx=-1..1, dy=1) ones or not), each with the scan inlined,
# so the loop carries no tests for them and a run compiles only the one it uses.
# Each maps bands lo..hi-1 and releases the GIL: the caller runs bands on a thread pool.
#
# Arguments: rgb (H, W, C>=3 uint8, C-contiguous); weights in fixed point over 2**16: carry_w
# for (dx=1, dy=0), near_w[0..2] for (dx=-1, 0, 1; dy=1), the rest of the table as (dx, dy, w)
# arrays (dx relative to the scan direction); carry_pal = pal_work * carry_w takes a multiply
# off the chain. pal_work: (K*3,) the palette in working values; to_work: 8-bit level ->
# working value; out_lut (linear space only): (working value + vmax // 2) >> LUT_SHIFT ->
# 8-bit level, over the whole range -vmax // 2 .. vmax + vmax // 2 the scan bounds values to.
# cap: the largest error, per channel in working values, a pixel may receive.
# bands: row bounds (B+1,) of horizontal bands, each scanned from `warm` rows early (those rows
# are scanned for their error only, not written), so the error arriving at a band's first row
# is nearly what a single scan would bring. The bands depend on the image alone, never on the
# thread count, so the output is the same on every machine.

@njit(cache=True, nogil=True)
def diffuse_linear(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
                   serpentine, out_lut, cap, bands, warm, lo, hi, out):
    for b in range(lo, hi):
        _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
              serpentine, out_lut, cap, max(bands[b] - warm, 0), bands[b], bands[b + 1], out,
              True, False)


@njit(cache=True, nogil=True)
def diffuse_linear_far(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy,
                       w, serpentine, out_lut, cap, bands, warm, lo, hi, out):
    for b in range(lo, hi):
        _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
              serpentine, out_lut, cap, max(bands[b] - warm, 0), bands[b], bands[b + 1], out,
              True, True)


@njit(cache=True, nogil=True)
def diffuse_srgb(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
                 serpentine, out_lut, cap, bands, warm, lo, hi, out):
    for b in range(lo, hi):
        _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
              serpentine, out_lut, cap, max(bands[b] - warm, 0), bands[b], bands[b + 1], out,
              False, False)


@njit(cache=True, nogil=True)
def diffuse_srgb_far(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
                     serpentine, out_lut, cap, bands, warm, lo, hi, out):
    for b in range(lo, hi):
        _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
              serpentine, out_lut, cap, max(bands[b] - warm, 0), bands[b], bands[b + 1], out,
              False, True)


@njit(cache=True, inline="always")
def _scan(rgb, top, leaves, to_work, pal_work, carry_pal, carry_w, near_w, dx, dy, w,
          serpentine, out_lut, cap, y0, y1, y2, out, linear, far):
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
            wr = _work(src[U(s)], linear, to_work)
            wg = _work(src[U(s + 1)], linear, to_work)
            wb = _work(src[U(s + 2)], linear, to_work)
            vr = wr + near[U(f)] + cr
            vg = wg + near[U(f + 1)] + cg
            vb = wb + near[U(f + 2)] + cb
            if far:
                e = here + x * 3
                vr += errs[U(e)]
                vg += errs[U(e + 1)]
                vb += errs[U(e + 2)]
            # The error is taken from the unclamped value (bounded against runaway, and to the
            # cap around the pixel's own value), so dark and light ends keep their average; only
            # the cube read is clamped to the gamut. The bounds are off the dependency chain.
            vr = min(max(vr, max(lo, wr - cap)), min(hi, wr + cap))
            vg = min(max(vg, max(lo, wg - cap)), min(hi, wg + cap))
            vb = min(max(vb, max(lo, wb - cap)), min(hi, wb + cap))
            q = _read(top, leaves, _level(vr, linear, out_lut, lo, vmax),
                      _level(vg, linear, out_lut, lo, vmax), _level(vb, linear, out_lut, lo, vmax))
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
