"""quantize() and remap(): validate arguments, then one cube read per pixel (or a dither).

lookup() picks its engine by cost: numba's import and kernel load (about 0.9 s once per process)
pay off only over some 100 Mpx, so a process starts on numpy and moves to the numba kernel once
the pixels it has mapped (or one large image) cost as much as that, or at once when a numba
kernel has already run in the process.
"""

from __future__ import annotations

import itertools
import numbers
import os
import sys
import threading

import numpy as np

from .dither import DEFAULT_DITHER_SPACE, DITHER_SPACES, check_clamp, check_dither
from .metrics import DEFAULT_METRIC, check_metric
from .palette import Palette, load_palette

# Measured here (2 cores): numpy maps about 0.1 Gpx/s (~8 ns a pixel), the numba kernel about
# 0.4 Gpx/s a thread on a busy machine (more on idle cores), but a fresh process pays ~0.35 s to
# import numba and 0.55-1.5 s to start its compiler runtime and load the cached kernel. numba is
# chosen once the pixels numpy has mapped cost as much as that (or at once when another kernel
# has already started the runtime).
_NUMPY_NS_PER_PIXEL = 7.5  # saved per pixel by the kernel
_NUMBA_IMPORT_S = 0.35
_NUMBA_LOAD_S = 0.55
_numpy_pixels = 0  # pixels this process has mapped with numpy so far
_CHUNK_PIXELS = 1 << 16  # pixels a thread claims at a time (~0.2 ms of work)
_pool = None  # (pid, ThreadPoolExecutor) for splitting large images


def quantize(img, palette, metric: str = DEFAULT_METRIC, dither: str = "none", *,
             dither_strength: float = 1.0, serpentine: bool = True,
             dither_space: str | None = None, dither_clamp: float | None = None) -> np.ndarray:
    """Palette indices of an (H, W, 3|4) uint8 image: (H, W) uint8 when K <= 256, else uint16.

    Without dithering every pixel gets its exact nearest palette colour under `metric` (ties to
    the lowest index). An alpha channel is ignored. dither_clamp (error diffusion): None, or
    0..1, the largest error a pixel may receive, as a fraction of the full range.
    """
    check_clamp(dither_clamp)
    rgb, pal, cube = _prepare(img, palette, metric, dither, dither_strength, serpentine,
                              dither_space)
    if dither == "none":
        return lookup(cube, rgb)
    return _dither(rgb, pal, cube, dither, dither_strength, serpentine, dither_space,
                   dither_clamp)


def remap(img, palette, metric: str = DEFAULT_METRIC, dither: str = "none", *,
          dither_strength: float = 1.0, serpentine: bool = True,
          dither_space: str | None = None, dither_clamp: float | None = None) -> np.ndarray:
    """The image drawn in palette colours: (H, W, 3), or (H, W, 4) with alpha passed through."""
    check_clamp(dither_clamp)
    rgb, pal, cube = _prepare(img, palette, metric, dither, dither_strength, serpentine,
                              dither_space)
    h, w = rgb.shape[:2]
    if dither == "none" and _use_numba(h * w):
        from .kernels.lookup import remap_span

        c = rgb.shape[2]
        out = np.empty(rgb.shape, np.uint8)
        _spans(remap_span, (_readonly(cube, -1), _readonly(pal.colors, (-1, 3)),
                            _readonly(rgb, (-1, c)), out.reshape(-1, c)), h * w)
        return out
    if dither == "none":
        idx = lookup(cube, rgb)
    else:
        idx = _dither(rgb, pal, cube, dither, dither_strength, serpentine, dither_space,
                      dither_clamp)
    out = np.empty(rgb.shape, np.uint8)
    out[..., :3] = pal.colors[idx]
    if rgb.shape[2] == 4:
        out[..., 3] = rgb[..., 3]
    return out


def lookup(cube: np.ndarray, rgb: np.ndarray, *, engine: str | None = None) -> np.ndarray:
    """cube[r, g, b] for every pixel of an (H, W, 3|4) uint8 array: (H, W) indices.

    engine: "numba", "numpy" or None (choose by cost, see the module docstring).
    """
    _check_cube(cube)
    rgb = _check_image(rgb, "rgb")
    h, w, c = rgb.shape
    if engine is None:
        engine = "numba" if _use_numba(h * w) else "numpy"
    if engine == "numba":
        out = np.empty(h * w, cube.dtype)
        _lookup_numba(_readonly(cube, -1), rgb, out)
        return out.reshape(h, w)
    if engine != "numpy":
        raise ValueError(f"engine must be 'numba', 'numpy' or None; got {engine!r}")
    _count_numpy(h * w)
    return _lookup_numpy(cube, rgb)


def _lookup_numba(flat_cube: np.ndarray, rgb: np.ndarray, out: np.ndarray) -> None:
    from .kernels import lookup as k

    n = out.shape[0]
    data = rgb.reshape(-1)
    if sys.byteorder != "little" or data.ctypes.data % 4:  # words need an aligned little-endian
        _spans(k.lookup_span, (flat_cube, _readonly(rgb, (-1, rgb.shape[2])), out), n)
    elif rgb.shape[2] == 4:
        _spans(k.lookup_rgba_words_span, (flat_cube, _readonly(data.view("<u4"), -1), out), n)
    else:
        m = n // 4  # four pixels in three words; the last n % 4 pixels one by one
        words = _readonly(data[:12 * m].view("<u4"), (m, 3))
        _spans(k.lookup_rgb_words_span, (flat_cube, words, out), m, unit=4)
        if n > 4 * m:
            k.lookup_span(flat_cube, _readonly(rgb, (-1, 3)), out, 4 * m, n)


def _spans(kernel, args, n: int, unit: int = 1) -> None:
    """kernel(*args, lo, hi) over [0, n) (items of `unit` pixels), on up to numba's thread count.

    Threads claim chunks of _CHUNK_PIXELS from a shared counter and the caller waits for the
    chunks, not the threads: when another process keeps a core busy, a helper that is not
    scheduled simply claims nothing, instead of holding back half the image (a fixed split into
    halves ran slower than one thread here whenever the machine was busy).
    """
    import numba

    chunk = max(1, _CHUNK_PIXELS // unit)
    chunks = -(-n // chunk)
    threads = min(numba.get_num_threads(), chunks)
    if threads <= 1:
        kernel(*args, 0, n)
        return
    claims = itertools.count()
    done = [0]
    errors: list = []
    lock = threading.Lock()
    finished = threading.Event()

    def work():
        try:
            while (c := next(claims)) < chunks:
                kernel(*args, c * chunk, min(n, (c + 1) * chunk))
                with lock:
                    done[0] += 1
                    if done[0] == chunks:
                        finished.set()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            errors.append(exc)
            finished.set()

    pool = _thread_pool(threads - 1)
    for _ in range(threads - 1):
        pool.submit(work)
    work()
    finished.wait()
    if errors:
        raise errors[0]


def _thread_pool(workers: int):
    global _pool
    pid = os.getpid()  # a forked child inherits the pool object but not its threads
    if _pool is None or _pool[0] != pid or _pool[1]._max_workers < workers:
        from concurrent.futures import ThreadPoolExecutor

        _pool = (pid, ThreadPoolExecutor(workers, thread_name_prefix="palcli-lookup"))
    return _pool[1]


def _readonly(a: np.ndarray, shape) -> np.ndarray:
    # Kernels always see read-only C arrays, whatever the caller's flags, so numba compiles (and
    # loads) one specialisation per index dtype instead of one per combination of flags.
    v = a.reshape(shape)
    v.flags.writeable = False
    return v


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


def _use_numba(pixels: int) -> bool:
    # Ski-rental rule: keep paying numpy's per-pixel cost until it adds up to numba's one-off cost.
    if "palcli.kernels.lookup" in sys.modules or _numba_started():
        return True
    fixed = _NUMBA_LOAD_S + (0.0 if "numba" in sys.modules else _NUMBA_IMPORT_S)
    return (_numpy_pixels + pixels) * _NUMPY_NS_PER_PIXEL * 1e-9 >= fixed


def _numba_started() -> bool:
    """True once any numba kernel has run in this process (e.g. a cube was just built): the
    expensive compiler start-up is paid and loading the lookup kernel costs ~30 ms."""
    registry = sys.modules.get("numba.core.registry")
    target = getattr(registry, "cpu_target", None)
    return "_toplevel_target_context" in getattr(target, "__dict__", {})


def _count_numpy(pixels: int) -> None:
    global _numpy_pixels
    _numpy_pixels += pixels


# -- validation ----------------------------------------------------------------------------------

def _prepare(img, palette, metric, dither, strength, serpentine, space):
    rgb = _check_image(img, "img")
    if isinstance(palette, (np.ndarray, list, tuple, str, Palette)) or hasattr(palette,
                                                                               "__fspath__"):
        pal = load_palette(palette)
    else:
        raise TypeError(f"palette must be a Palette, path, name, inline hex string or (K, 3) "
                        f"uint8 array, not {type(palette).__name__}")
    check_metric(metric)
    check_dither(dither)
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real):
        raise TypeError(f"dither_strength must be a number in 0..1, not {type(strength).__name__}")
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"dither_strength must be in 0..1; got {strength!r}")
    if not isinstance(serpentine, (bool, np.bool_)):
        raise TypeError(f"serpentine must be True or False, not {serpentine!r}")
    if space is not None and space not in DITHER_SPACES:
        raise ValueError(f"dither_space must be one of {', '.join(DITHER_SPACES)}; got {space!r}")
    from .cache import get_cube

    return rgb, pal, get_cube(pal, metric)


def _check_image(img, name: str) -> np.ndarray:
    if not isinstance(img, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (H, W, 3) or (H, W, 4), "
                        f"not {type(img).__name__}")
    if img.dtype != np.uint8:
        raise TypeError(f"{name} must have dtype uint8, not {img.dtype}")
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"{name} must have shape (H, W, 3) or (H, W, 4), not {img.shape}")
    return np.ascontiguousarray(img)


def _check_cube(cube) -> None:
    if not isinstance(cube, np.ndarray) or cube.shape != (256, 256, 256) or cube.dtype not in (
            np.uint8, np.uint16):
        raise ValueError("cube must be a (256, 256, 256) uint8 or uint16 array (see get_cube)")
    if not cube.flags.c_contiguous:
        raise ValueError("cube must be C-contiguous")


def _dither(rgb, pal, cube, dither, strength, serpentine, space, clamp) -> np.ndarray:
    try:
        from .dither import dither_indices
    except ImportError:
        raise NotImplementedError(f"dither {dither!r} is not available in this build of palcli; "
                                  f"use dither='none'") from None
    if rgb.shape[2] == 4:
        rgb = np.ascontiguousarray(rgb[..., :3])
    return dither_indices(rgb, pal, cube, dither, float(strength), bool(serpentine),
                          space or DEFAULT_DITHER_SPACE, clamp)
