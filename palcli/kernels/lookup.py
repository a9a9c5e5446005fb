"""The no-dither mapping: one cube read per pixel.

The cube is read as a flat array at r << 16 | g << 8 | b. Pixels come as 32-bit little-endian
words where the buffer allows (four RGB pixels in three words, or one RGBA pixel a word: 3 loads
instead of 12, ~15% faster here), else as a flat (N, C) uint8 array. Each span kernel maps one
range and releases the GIL, so the caller splits a large image over plain threads.
Measured here, and why it looks like this:
- a prange version ran 35-50% slower per thread, even on one thread, and its OpenMP pool stalls
  when other processes keep the cores busy;
- the loop over range(len) of a slice runs 1.45x faster than the same body over range(lo, hi);
- a two-level copy of the cube (4x4x4 tiles, tiles of one colour shared) cuts a photo's working
  set from ~1.8 MB to ~0.3 MB, yet ran no faster, hot or with the caches flushed: the lookups
  are not bound by cache misses here.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def lookup_span(flat_cube, px, out, lo, hi):
    """out[i] = flat_cube[px[i, 0] << 16 | px[i, 1] << 8 | px[i, 2]] for lo <= i < hi."""
    _lookup(flat_cube, px[lo:hi], out[lo:hi])


@njit(cache=True, nogil=True)
def _lookup(flat_cube, px, out):
    for i in range(px.shape[0]):
        out[i] = flat_cube[(np.intp(px[i, 0]) << 16) | (np.intp(px[i, 1]) << 8) | np.intp(px[i, 2])]


@njit(cache=True, nogil=True)
def lookup_rgb_words_span(flat_cube, words, out, lo, hi):
    """Pixels 4*lo .. 4*hi from words (M, 3) uint32, each row four RGB pixels (little-endian)."""
    _lookup_rgb_words(flat_cube, words[lo:hi], out[4 * lo:4 * hi])


@njit(cache=True, nogil=True)
def _lookup_rgb_words(flat_cube, words, out):
    # Row j holds bytes r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3, lowest byte first.
    for j in range(words.shape[0]):
        w0 = np.intp(words[j, 0])
        w1 = np.intp(words[j, 1])
        w2 = np.intp(words[j, 2])
        out[4 * j] = flat_cube[((w0 & 0xFF) << 16) | (w0 & 0xFF00) | ((w0 >> 16) & 0xFF)]
        out[4 * j + 1] = flat_cube[((w0 >> 24) << 16) | ((w1 & 0xFF) << 8) | ((w1 >> 8) & 0xFF)]
        out[4 * j + 2] = flat_cube[(((w1 >> 16) & 0xFF) << 16) | ((w1 >> 24) << 8) | (w2 & 0xFF)]
        out[4 * j + 3] = flat_cube[(((w2 >> 8) & 0xFF) << 16) | (((w2 >> 16) & 0xFF) << 8)
                                   | (w2 >> 24)]


@njit(cache=True, nogil=True)
def lookup_rgba_words_span(flat_cube, words, out, lo, hi):
    """Pixels lo .. hi from words (N,) uint32, one RGBA pixel each (little-endian)."""
    _lookup_rgba_words(flat_cube, words[lo:hi], out[lo:hi])


@njit(cache=True, nogil=True)
def _lookup_rgba_words(flat_cube, words, out):
    for i in range(words.shape[0]):
        w = np.intp(words[i])
        out[i] = flat_cube[((w & 0xFF) << 16) | (w & 0xFF00) | ((w >> 16) & 0xFF)]


@njit(cache=True, nogil=True)
def remap_span(flat_cube, colors, px, out, lo, hi):
    """out[i, :3] = colors[cube[pixel i]] for lo <= i < hi; a 4th (alpha) channel is copied."""
    _remap(flat_cube, colors, px[lo:hi], out[lo:hi])


@njit(cache=True, nogil=True)
def _remap(flat_cube, colors, px, out):
    alpha = px.shape[1] == 4
    for i in range(px.shape[0]):
        k = flat_cube[(np.intp(px[i, 0]) << 16) | (np.intp(px[i, 1]) << 8) | np.intp(px[i, 2])]
        out[i, 0] = colors[k, 0]
        out[i, 1] = colors[k, 1]
        out[i, 2] = colors[k, 2]
        if alpha:
            out[i, 3] = px[i, 3]
