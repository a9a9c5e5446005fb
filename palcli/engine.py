"""The runtime around the numba kernels: numpy or numba, numba's state, threads, environment.

Choosing by cost: numba's import and kernel load (about 0.9 s once per process) pay off only
over some 100 Mpx, so a process maps with numpy until the pixels it has mapped, or those it
expects to map (one large image; a batch's share of images like this one, as the executor says),
cost as much as that, or at once when a numba kernel has already run in the process.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from typing import NamedTuple

import numpy as np

# Measured here (2 cores): numpy maps about 0.1 Gpx/s (~8 ns a pixel), the numba kernel about
# 0.4 Gpx/s a thread on a busy machine (more on idle cores), but a fresh process pays ~0.35 s to
# import numba and 0.55-1.5 s to start its compiler runtime and load the cached kernel.
NUMPY_NS_PER_PIXEL = 7.5  # saved per pixel by the kernel
NUMBA_IMPORT_S = 0.35
NUMBA_LOAD_S = 0.55
CHUNK_PIXELS = 1 << 16  # pixels a thread claims at a time (~0.2 ms of work)

_numpy_pixels = 0  # pixels this process has mapped with numpy so far
_tasks_ahead = 0  # tasks this process expects after the current one (set by executors)
_pool = None  # (pid, ThreadPoolExecutor) for splitting large images


class NumbaState(NamedTuple):
    imported: bool  # numba is imported in this process
    started: bool  # a kernel has run: the compiler runtime is up, loading another is cheap
    threads: bool  # numba's threading layer has started (a forked child would inherit it)


def numba_state() -> NumbaState:
    """What numba has done in this process so far (never imports it)."""
    if "numba" not in sys.modules:
        return NumbaState(False, False, False)
    registry = sys.modules.get("numba.core.registry")
    target = getattr(registry, "cpu_target", None)
    started = "_toplevel_target_context" in getattr(target, "__dict__", {})
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    threads = parallel is not None and bool(getattr(parallel, "_is_initialized", True))
    return NumbaState(True, started, threads)


def process_context():
    """The multiprocessing context for helper processes: fork (they start in milliseconds and
    inherit mapped cubes and imported modules) unless numba's own threading layer runs here,
    which a forked child must not inherit."""
    import multiprocessing

    if ("fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
            and not numba_state().threads):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def helper_process(target, *args):
    """A started daemon process running target(*args) quietly beside this one (work done
    ahead: a cube, a plan table): it ignores Ctrl-C, which the parent decides about, dies at
    once on SIGTERM (stop_helper), compiling or not, and says nothing on stderr."""
    helper = process_context().Process(target=_run_quietly, args=(target, args), daemon=True)
    helper.start()
    return helper


def stop_helper(helper) -> None:
    """End a helper_process if it still runs."""
    if helper.is_alive():
        helper.terminate()
    helper.join()


def _run_quietly(target, args) -> None:
    import logging
    import signal
    import warnings

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the inherited handler's exception
    warnings.simplefilter("ignore")
    logger = logging.getLogger("palcli")
    logger.handlers.clear()
    logger.propagate = False
    target(*args)


def use_numba(pixels: int) -> bool:
    """Whether mapping `pixels` more should run on the numba kernel (ski-rental rule: keep
    paying numpy's per-pixel cost until it adds up to numba's one-off cost)."""
    if "palcli.kernels.lookup" in sys.modules:
        return True
    state = numba_state()
    if state.started:
        return True
    fixed = NUMBA_LOAD_S + (0.0 if state.imported else NUMBA_IMPORT_S)
    expected = _numpy_pixels + pixels * (1 + _tasks_ahead)
    return expected * NUMPY_NS_PER_PIXEL * 1e-9 >= fixed


def expect_tasks(ahead: int) -> None:
    """Tell use_numba how many more tasks this process expects after the current one (about
    as large as it, for all it knows): a batch's share pays for numba from its first image."""
    global _tasks_ahead
    _tasks_ahead = max(0, ahead)


def count_numpy(pixels: int) -> None:
    global _numpy_pixels
    _numpy_pixels += pixels


def prepare_numba() -> None:
    """Environment numba reads when it starts; called before any kernel module is imported."""
    # OpenMP's default spin-waiting makes parallel kernels many times slower when the other
    # core is busy (a pool worker, another process); passive waiting costs nothing when idle.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    # Compiled kernels live beside the cubes (<cache>/numba), so that caching the one directory
    # in CI keeps both; NUMBA_CACHE_DIR, when set, wins.
    if "NUMBA_CACHE_DIR" not in os.environ:
        from .cache import cache_dir

        os.environ["NUMBA_CACHE_DIR"] = str(cache_dir() / "numba")
        config = getattr(sys.modules.get("numba"), "config", None)
        if config is not None:  # numba already imported (by a caller): tell it too
            config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


def announce_compile(kernels_dir: str) -> None:
    """Before the first kernel runs: when numba's cache holds no compiled kernel of palcli's at
    all (a new machine, a fresh CI runner), say so (log, INFO) before the wait."""
    import logging

    if not _cached_kernels(kernels_dir):
        logging.getLogger("palcli").info("compiling kernels (first run on this machine)...")


def kernel_cached(name: str) -> bool:
    """Whether numba's cache holds kernel `name` ("module.function" under palcli.kernels), so
    that a process would load it instead of compiling it (never imports numba)."""
    prepare_numba()
    kernels_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
    return any(n.startswith(name + "-") for n in _cached_kernels(kernels_dir))


def _cached_kernels(kernels_dir: str) -> list[str]:
    """The index files (.nbi) numba's cache holds for the kernels of kernels_dir."""
    import hashlib

    directory = os.path.abspath(kernels_dir)
    sub = f"{os.path.basename(directory)}_{hashlib.sha1(directory.encode()).hexdigest()}"
    try:
        names = os.listdir(os.path.join(os.environ.get("NUMBA_CACHE_DIR", ""), sub))
    except OSError:
        return []
    return [n for n in names if n.endswith(".nbi")]


def one_thread_per_process() -> None:
    """In a pool worker: the processes already use every core, so numba (if it starts at all)
    runs one thread in each."""
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_NUM_THREADS", "1")


def readonly(a: np.ndarray, shape) -> np.ndarray:
    """a reshaped as a read-only view: kernels always see read-only C arrays, whatever the
    caller's flags, so numba compiles (and loads) one specialisation per dtype instead of one
    per combination of flags."""
    v = a.reshape(shape)
    v.flags.writeable = False
    return v


def spans(kernel, args, n: int, unit: int = 1, chunk: int | None = None) -> None:
    """kernel(*args, lo, hi) over [0, n) in chunks, on up to numba's thread count.

    Threads claim chunks (default CHUNK_PIXELS pixels, in items of `unit` pixels) from a
    shared counter and the caller waits for the chunks, not the threads: when another process
    keeps a core busy, a helper that is not scheduled simply claims nothing, instead of holding
    back half the image (a fixed split into halves ran slower than one thread here whenever the
    machine was busy). The caller itself only waits, so Ctrl-C and SIGTERM are handled at once
    (a kernel cannot be interrupted): no chunk is started after the interrupt, the ones running
    finish, and the interrupt propagates. Kernels must release the GIL (nogil).
    """
    import numba

    chunk = chunk or max(1, CHUNK_PIXELS // unit)
    chunks = -(-n // chunk)
    if chunks <= 1:
        kernel(*args, 0, n)  # one short piece: no hand-off
        return
    threads = min(numba.get_num_threads(), chunks)
    claims = itertools.count()
    done = [0]
    errors: list = []
    lock = threading.Lock()
    finished = threading.Event()
    abandon = threading.Event()

    def work():
        try:
            while not abandon.is_set() and (c := next(claims)) < chunks:
                kernel(*args, c * chunk, min(n, (c + 1) * chunk))
                with lock:
                    done[0] += 1
                    if done[0] == chunks:
                        finished.set()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            errors.append(exc)
            abandon.set()
            finished.set()

    pool = _thread_pool(threads)
    for _ in range(threads):
        pool.submit(work)
    try:
        # Wake now and then: a signal delivered to one of the kernel threads only sets a flag,
        # which the main thread sees when it next runs Python code.
        while not finished.wait(0.05):
            pass
    except BaseException:
        abandon.set()
        raise
    if errors:
        raise errors[0]


def _thread_pool(workers: int):
    global _pool
    pid = os.getpid()  # a forked child inherits the pool object but not its threads
    if _pool is None or _pool[0] != pid or _pool[1]._max_workers < workers:
        from concurrent.futures import ThreadPoolExecutor

        _pool = (pid, ThreadPoolExecutor(workers, thread_name_prefix="palcli-kernel"))
    return _pool[1]
