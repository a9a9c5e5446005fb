"""quantize() and remap(): check the arguments once, then map_indices(), the one mapping dispatch.

map_indices() serves quantize, remap, the convert worker and the preview: without dithering one
cube read per pixel (lookup(), on numpy or numba as palcli.engine decides), else the dither.
"""

from __future__ import annotations

import sys

import numpy as np

from . import engine as eng
from ._validate import check_choice, check_cube, check_image
from .cube import cube_for
from .dither import DEFAULT_DITHER_SPACE, DitherParams, dither_indices
from .metrics import DEFAULT_METRIC, METRICS
from .palette import Palette, load_palette


def quantize(img, palette, metric: str = DEFAULT_METRIC, dither: str = "none", *,
             dither_strength: float = 1.0, serpentine: bool = True,
             dither_space: str | None = None, dither_clamp: float | None = None) -> np.ndarray:
    """Palette indices of an (H, W, 3|4) uint8 image: (H, W) uint8 when K <= 256, else uint16.

    Without dithering every pixel gets its exact nearest palette colour under `metric` (ties to
    the lowest index). An alpha channel is ignored. dither_clamp (error diffusion): None, or
    0..1, the largest error a pixel may receive, as a fraction of the full range.
    """
    rgb, pal, cube, params = _prepare(img, palette, metric, dither, dither_strength,
                                      serpentine, dither_space, dither_clamp)
    return map_indices(rgb, cube, pal, params)


def remap(img, palette, metric: str = DEFAULT_METRIC, dither: str = "none", *,
          dither_strength: float = 1.0, serpentine: bool = True,
          dither_space: str | None = None, dither_clamp: float | None = None) -> np.ndarray:
    """The image drawn in palette colours: (H, W, 3), or (H, W, 4) with alpha passed through."""
    rgb, pal, cube, params = _prepare(img, palette, metric, dither, dither_strength,
                                      serpentine, dither_space, dither_clamp)
    h, w, c = rgb.shape
    out = np.empty(rgb.shape, np.uint8)
    if params.exact and eng.use_numba(h * w):
        from .kernels.lookup import remap_span

        eng.spans(remap_span, (eng.readonly(cube, -1), eng.readonly(pal.colors, (-1, 3)),
                                  eng.readonly(rgb, (-1, c)), out.reshape(-1, c)), h * w)
        return out
    out[..., :3] = pal.colors[map_indices(rgb, cube, pal, params)]
    if c == 4:
        out[..., 3] = rgb[..., 3]
    return out


def map_indices(rgb: np.ndarray, cube: np.ndarray, palette: Palette,
                params: DitherParams) -> np.ndarray:
    """Palette indices (H, W) of a checked (H, W, 3|4) uint8 C-contiguous image, through the
    palette's cube (exact nearest colour), or dithered as params say."""
    if params.exact:
        return _lookup(cube, rgb)
    return dither_indices(rgb, palette.colors, cube, params)


def lookup(cube: np.ndarray, rgb: np.ndarray, *, engine: str | None = None) -> np.ndarray:
    """cube[r, g, b] for every pixel of an (H, W, 3|4) uint8 array: (H, W) indices.

    cube: a (256, 256, 256) index array (palcli.cube.get_cube(...).array). engine: "numba",
    "numpy" or None (choose by cost, see palcli.engine).
    """
    check_cube(cube)
    rgb = check_image(rgb, "rgb")
    if engine is not None:
        check_choice(engine, ("numba", "numpy"), "engine")
    return _lookup(cube, rgb, engine)


def _lookup(cube: np.ndarray, rgb: np.ndarray, choice: str | None = None) -> np.ndarray:
    h, w, _ = rgb.shape
    if choice is None:
        choice = "numba" if eng.use_numba(h * w) else "numpy"
    if choice == "numba":
        out = np.empty(h * w, cube.dtype)
        _lookup_numba(eng.readonly(cube, -1), rgb, out)
        return out.reshape(h, w)
    eng.count_numpy(h * w)
    return _lookup_numpy(cube, rgb)


def _lookup_numba(flat_cube: np.ndarray, rgb: np.ndarray, out: np.ndarray) -> None:
    from .kernels import lookup as k

    n = out.shape[0]
    data = rgb.reshape(-1)
    ro = eng.readonly
    if sys.byteorder != "little" or data.ctypes.data % 4:  # words need an aligned little-endian
        eng.spans(k.lookup_span, (flat_cube, ro(rgb, (-1, rgb.shape[2])), out), n)
    elif rgb.shape[2] == 4:
        eng.spans(k.lookup_rgba_words_span, (flat_cube, ro(data.view("<u4"), -1), out), n)
    else:
        m = n // 4  # four pixels in three words; the last n % 4 pixels one by one
        words = ro(data[:12 * m].view("<u4"), (m, 3))
        eng.spans(k.lookup_rgb_words_span, (flat_cube, words, out), m, unit=4)
        if n > 4 * m:
            k.lookup_span(flat_cube, ro(rgb, (-1, 3)), out, 4 * m, n)


def _lookup_numpy(cube: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    flat = cube.reshape(-1)
    h, w, c = rgb.shape
    if c == 4:
        # Bytes r, g, b, a read as a big-endian uint32 and shifted right by 8 are the flat index
        # r << 16 | g << 8 | b: one pass and one gather (~5 ms a megapixel here). Convert's
        # workers hand over Pillow's RGBX/RGBA buffers as they are.
        return flat.take(np.right_shift(rgb.view(">u4")[..., 0], 8, dtype=np.intp))
    # Bytes b, g, r, 0 read as a little-endian uint32 are the same index: four byte copies and
    # one gather, about twice as fast as cube[r, g, b].
    buf = np.empty((h, w, 4), np.uint8)
    buf[..., 0] = rgb[..., 2]
    buf[..., 1] = rgb[..., 1]
    buf[..., 2] = rgb[..., 0]
    buf[..., 3] = 0
    return flat[buf.view("<u4")[..., 0]]


def _prepare(img, palette, metric, dither, strength, serpentine, space, clamp):
    """The public entry's checks, once: image, palette, metric and dither parameters."""
    rgb = check_image(img, "img")
    if not (isinstance(palette, (np.ndarray, list, tuple, str, Palette))
            or hasattr(palette, "__fspath__")):
        raise TypeError(f"palette must be a Palette, path, name, inline hex string or (K, 3) "
                        f"uint8 array; got {type(palette).__name__}")
    pal = load_palette(palette)
    check_choice(metric, METRICS, "metric")
    params = DitherParams(dither, strength, serpentine,
                          DEFAULT_DITHER_SPACE if space is None else space, clamp)
    return rgb, pal, cube_for(pal, metric).array, params
