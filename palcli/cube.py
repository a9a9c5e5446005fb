"""The cube: for one (palette, metric), the nearest palette index of every sRGB colour.

    cube = get_cube("pico-8", "oklab")  # Cube: .array (256, 256, 256) read-only, .key, .path
    ref = make_ref(palette, "oklab")     # CubeRef: small and picklable, travels in Settings
    with worker_ref(ref, share=True) as ref: ...   # the parent obtains it once, says where
    array = resolve(ref)                 # in a worker: the same cube, mapped, once

This module owns the cube: its key, the per-process memo, the build and where the array comes
from (a verified cache file, shared memory from the parent, or a build). palcli.cache only
reads and writes the bytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import cache, cube_numpy
from . import engine as engine_state
from .errors import PalcliWarning
from .metrics import DEFAULT_METRIC, METRICS, check_metric
from .palette import Palette, index_dtype, load_palette

log = logging.getLogger("palcli")

_memo: dict[tuple[str, str], Cube] = {}  # (cache dir, key) -> Cube, for this process
_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Palette -> {metric: key}
_shared: dict[str, object] = {}  # shared-memory blocks this process has attached, by name
_warned: set[str] = set()
_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class Cube:
    array: np.ndarray  # (256, 256, 256) uint8|uint16, read-only
    key: str
    path: Path | None  # the verified cache file it is mapped from; None when in memory
    built: bool = False  # built by this process (rather than found in the cache)


@dataclass(frozen=True)
class CubeRef:
    """What a process needs to obtain the same cube: small and picklable.

    Tried in order: shared memory the parent filled (shm), the cache file (path), the cache
    dir of this process (by key), a build from colors and metric.
    """

    key: str
    colors: np.ndarray  # (K, 3) uint8
    metric: str
    name: str = ""  # the palette's name, for the cache file's header
    path: str | None = None
    shm: str | None = None


def get_cube(palette, metric: str = DEFAULT_METRIC) -> Cube:
    """The Cube for (palette, metric): a verified cache file, else built (and cached).

    palette: anything load_palette accepts. When the cache dir cannot be written, the cube is
    kept in memory and one PalcliWarning names the directory.
    """
    return cube_for(load_palette(palette), check_metric(metric))


def cube_for(palette: Palette, metric: str) -> Cube:
    """get_cube for a Palette and a checked metric: memoized per process and cache dir."""
    key = cube_key(palette, metric)
    return _obtain(key, palette.colors, metric, palette.name)


def cube_key(palette: Palette, metric: str) -> str:
    """Hash of everything a cube depends on: the colours in order, the metric, the format."""
    keys = _keys.setdefault(palette, {})  # a Palette's colours are read-only: hash them once
    key = keys.get(metric)
    if key is None:
        key = keys[metric] = _key(palette.colors, metric)
    return key


def _key(colors: np.ndarray, metric: str) -> str:
    h = hashlib.sha256(f"palcli cube {cache.FORMAT_VERSION} {metric} {len(colors)}\n".encode())
    h.update(np.ascontiguousarray(colors, dtype=np.uint8).tobytes())
    return h.hexdigest()[:32]


def make_ref(palette: Palette, metric: str) -> CubeRef:
    """A reference to the cube of (palette, checked metric); nothing is built or read yet."""
    return CubeRef(cube_key(palette, metric), palette.colors, metric, palette.name)


@contextmanager
def worker_ref(ref: CubeRef, *, share: bool):
    """ref, ready for workers: the cube is obtained here first (built at most once, before any
    worker starts) and ref says where workers find it, the cache file. A cube that lives only
    in this process's memory (the cache dir is not writable) is copied once into shared memory
    when share is true, so no worker on this machine builds it again; the block is removed on
    exit."""
    cube = _obtain(ref.key, ref.colors, ref.metric, ref.name)
    if cube.path is not None:
        yield replace(ref, path=str(cube.path))
        return
    if not share:
        yield ref
        return
    from multiprocessing import shared_memory

    block = shared_memory.SharedMemory(create=True, size=cube.array.nbytes)
    try:
        np.ndarray(cube.array.shape, cube.array.dtype, buffer=block.buf)[...] = cube.array
        yield replace(ref, shm=block.name)
    finally:
        block.close()
        block.unlink()


def resolve(ref: CubeRef) -> np.ndarray:
    """The cube array a CubeRef names, obtained once per process (then memoized)."""
    hit = _memo.get((str(cache.cache_dir()), ref.key))
    if hit is not None:
        return hit.array
    k = len(ref.colors)
    if ref.shm is not None:
        array = _attach(ref.shm, k)
        if array is not None:
            return _remember(Cube(array, ref.key, None)).array
    if ref.path is not None:
        array = cache.read_cube(Path(ref.path), ref.key, k)
        if array is not None:
            return _remember(Cube(array, ref.key, Path(ref.path))).array
    return _obtain(ref.key, ref.colors, ref.metric, ref.name).array


def build_cube(colors: np.ndarray, metric: str, *, engine: str | None = None) -> np.ndarray:
    """Nearest colour of `colors` ((K, 3) uint8) for every sRGB colour, under a checked metric.

    Returns a C-contiguous (256, 256, 256) array indexed [r, g, b], uint8 for K <= 256 else
    uint16. Exact: ties go to the lowest index. Pure: no I/O, no cache.
    engine: "numpy", "numba" or None (whichever is cheaper here and now; see _choose_engine).
    """
    if engine not in (None, "numpy", "numba"):
        raise ValueError(f"engine must be 'numba', 'numpy' or None; got {engine!r}")
    if engine == "numpy" and metric not in cube_numpy.METRICS:
        raise ValueError(f"metric {metric!r} has no numpy builder: use engine='numba' or None")
    # Equal colours have bit-equal distances, so only the first of each can win: build on the
    # distinct colours in order of first appearance (the builders' lowest-index rule then is the
    # palette's); the builders write each one's palette index.
    _, first = np.unique(colors, axis=0, return_index=True)
    first = np.sort(first)
    distinct = np.ascontiguousarray(colors[first], dtype=np.int64)
    out = np.empty(cache.SHAPE, dtype=index_dtype(len(colors)))
    if (engine or _choose_engine(metric, len(distinct), out)) == "numba":
        METRICS[metric].build(distinct, first, out)   # the numba kernels
    elif metric in ("rgb", "redmean"):
        cube_numpy.build_int(distinct, first, metric == "redmean", out)
    else:
        cube_numpy.build_euclid(distinct, first, *METRICS[metric].space(), out)
    return out


# The builder is chosen by cost, measured here (2 busy cores). The numpy builders take about
# a + b*K seconds for K distinct colours (pico-8: 0.15 s rgb, 0.45 s oklab; 256 colours: 0.4 s
# and 1.3 s). The numba kernels take 0.03-0.3 s to build, but first numba must be imported and
# its compiler runtime started (engine.NUMBA_IMPORT_S, NUMBA_LOAD_S) and, on a machine where
# the kernel is not in numba's cache yet, the kernel compiled: seconds. ciede2000 has no numpy
# builder: its exact distance is too dear without the kernel's pruning.
_NUMPY_COST = {"rgb": (0.12, 6e-4), "redmean": (0.15, 7e-4), "cie76": (0.4, 1.6e-3),
               "oklab": (0.35, 1.6e-3)}
_NUMBA_COMPILE_S = {"rgb": 2.0, "redmean": 2.0, "cie76": 4.0, "oklab": 4.0}


def _choose_engine(metric: str, k: int, out: np.ndarray) -> str:
    """"numpy" or "numba": whichever builds the cube of k distinct colours into out sooner."""
    if metric not in cube_numpy.METRICS:
        return "numba"
    a, b = _NUMPY_COST[metric]
    numpy_s = a + b * k
    state = engine_state.numba_state()
    start_s = 0.0 if state.started else engine_state.NUMBA_LOAD_S + (
        0.0 if state.imported else engine_state.NUMBA_IMPORT_S)
    if numpy_s < start_s:
        return "numpy"    # not even worth importing numba to look into its cache
    numba_s = start_s + (0.0 if _kernel_ready(metric, out) else _NUMBA_COMPILE_S[metric])
    return "numba" if numba_s < numpy_s else "numpy"


def _kernel_ready(metric: str, out: np.ndarray) -> bool:
    """True when metric's numba kernel has a specialisation for cubes of out's dtype compiled in
    this process or in numba's cache on disk: then it only needs loading."""
    if metric in ("rgb", "redmean"):
        from .kernels.cube_int import build_int_span as kernel
    else:
        from .kernels.cube_lab import build_euclid_span as kernel
    try:
        from numba import typeof

        cube_type = typeof(out)    # the one 3-d integer array among the kernels' arguments
        index = kernel._cache._cache_file._load_index()   # numba's own reader of its index
        return any(cube_type in sig for sig in (*kernel.overloads, *(key[0] for key in index)))
    except Exception:  # noqa: BLE001 - numba's internals moved: assume a compile
        return False


_ahead: dict[str, object] = {}  # key -> a process building that cube into the cache


@contextmanager
def built_ahead(palette: Palette, metrics):
    """While the block runs, cubes of palette that are not cached and that only numba builds
    (compiling and building take seconds) are built by other processes into the cache: this
    one goes on meanwhile and waits for such a cube only when it needs it (cube_for). Nothing
    is started when the cache dir cannot be written; helpers still running at the end of the
    block are stopped."""
    started = []
    try:
        d = cache.cache_dir()
        try:
            os.makedirs(d, exist_ok=True)
            writable = os.access(d, os.W_OK)
        except OSError:
            writable = False
        for metric in metrics if writable else ():
            key = cube_key(palette, metric)
            if (metric in cube_numpy.METRICS or (str(d), key) in _memo or key in _ahead
                    or cache.read_cube(cache.cube_path(key, d), key, len(palette)) is not None):
                continue
            log.info("building the %s cube (%s)...", palette.name, metric)
            _ahead[key] = engine_state.helper_process(_build_into_cache, palette.colors,
                                                      metric, palette.name)
            started.append(key)
        yield
    finally:
        for key in started:
            helper = _ahead.pop(key, None)
            if helper is not None:
                engine_state.stop_helper(helper)


def _build_into_cache(colors: np.ndarray, metric: str, name: str) -> None:
    """In a built_ahead helper process: build one cube into the cache."""
    _obtain(_key(colors, metric), colors, metric, name)


def forget() -> None:
    """Drop this process's memo (after the cache was cleared)."""
    with _lock:
        _memo.clear()


def _obtain(key: str, colors: np.ndarray, metric: str, name: str) -> Cube:
    d = cache.cache_dir()
    memo_key = (str(d), key)
    cube = _memo.get(memo_key)
    if cube is not None:
        return cube
    with _lock:
        cube = _memo.get(memo_key)
        if cube is None:
            path = cache.cube_path(key, d)
            helper = _ahead.pop(key, None)
            if helper is not None:  # built by another process meanwhile: wait for it
                helper.join()
            array = cache.read_cube(path, key, len(colors))
            if array is None:
                if os.path.lexists(path):
                    warnings.warn(f"the cube cache file {path} was damaged (truncated, corrupt "
                                  f"or not a cube); rebuilt", PalcliWarning, stacklevel=4)
                cube = _build_and_store(key, colors, metric, name, path)
            else:
                cube = Cube(array, key, path)
            _memo[memo_key] = cube
    return cube


def _remember(cube: Cube) -> Cube:
    with _lock:
        return _memo.setdefault((str(cache.cache_dir()), cube.key), cube)


def _build_and_store(key: str, colors: np.ndarray, metric: str, name: str, path: Path) -> Cube:
    log.info("building the %s cube (%s)...", name or "palette's", metric)
    array = np.ascontiguousarray(build_cube(colors, metric), dtype=cache.file_dtype(len(colors)))
    log.debug("built cube %s (%s, %d colours)", key, metric, len(colors))
    try:
        cache.write_cube(path, array, key=key, palette=name, metric=metric, colors=len(colors))
    except OSError as exc:
        _warn_unwritable(path.parent, exc)
        path = None
    # Use the file just written, as every other process will: one copy in the page cache, and
    # the mapping marks it in use, so that no other process's eviction removes it meanwhile.
    mapped = None if path is None else cache.read_cube(path, key, len(colors))
    if mapped is not None:
        return Cube(mapped, key, path, built=True)
    array.setflags(write=False)
    return Cube(array, key, path, built=True)


def _attach(name: str, k: int) -> np.ndarray | None:
    from multiprocessing import shared_memory

    try:
        block = shared_memory.SharedMemory(name=name)
    except (OSError, ValueError):
        return None
    _shared[name] = block  # the array below borrows its buffer
    array = np.ndarray(cache.SHAPE, cache.file_dtype(k), buffer=block.buf)
    array.setflags(write=False)
    return array


def _warn_unwritable(d: Path, exc: OSError) -> None:
    if str(d) in _warned:
        return
    _warned.add(str(d))
    reason = exc.strerror or exc.__class__.__name__
    warnings.warn(f"cannot write the cube cache in {d} ({reason}); using an in-memory cube",
                  PalcliWarning, stacklevel=5)
