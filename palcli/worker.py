"""convert_one(task, settings) -> Result: read, map, write one image. Never raises for a bad input.

A worker process turns settings.cube (a CubeRef) into the cube once (prepare), then maps every
task through quantize.map_indices and does its own I/O; only tasks (paths) and small Result
records cross process boundaries.
"""

from __future__ import annotations

import errno
import io
import os
import sys
import threading
import time
import warnings
from functools import partial

import numpy as np

from . import storage
from .atomic import remove_temps, write_atomic
from .cube import resolve
from .errors import ImageError, PalcliWarning
from .outputs import SAME, keep_format, reads_all_frames
from .plan import STDIO, Settings, Task
from .mapping import map_indices
from .report import ERROR, OK, Result


_pending: list[str] = []  # warnings raised while preparing, told with the next result
# Set by a worker's SIGTERM handler: whatever a kernel raises after it is the stop itself.
stop_requested = threading.Event()


# glibc returns freed memory above these sizes to the kernel at once (mmap'd blocks, and the
# heap's top past the trim threshold), and then faults it in again, zeroed, for the next image:
# measured here, that was 5-10 ms of every 1 MP image (a fresh worker at 25-30 ms an image,
# 17-20 ms with these). Kept: at most TRIM_BYTES of freed memory per process.
MMAP_BYTES = 32 << 20  # glibc's own ceiling for its adaptive threshold on 64-bit
TRIM_BYTES = 128 << 20


def prepare(settings: Settings) -> None:
    """Obtain the cube settings name, once per process (a pool's initializer calls this), and
    keep freed memory for the next image. Its warnings (an unwritable cache dir) travel back
    with the next result."""
    _keep_freed_memory()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PalcliWarning)
        resolve(settings.cube)
    _pending.extend(str(w.message) for w in caught if issubclass(w.category, PalcliWarning))


def _keep_freed_memory() -> None:
    """Raise glibc's mmap and trim thresholds (mallopt), once per process; elsewhere nothing."""
    global _kept
    if _kept or not sys.platform.startswith("linux"):
        return
    _kept = True
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(-1, TRIM_BYTES)  # M_TRIM_THRESHOLD
    mallopt(-3, MMAP_BYTES)  # M_MMAP_THRESHOLD


_kept = False


def convert_one(task: Task, settings: Settings) -> Result:
    """Convert one input. Errors become a Result with status 'error' and the reason; only
    KeyboardInterrupt and other BaseExceptions (an interrupt) propagate, temp file removed."""
    start = time.perf_counter()
    pixels = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PalcliWarning)
        try:
            pixels = _convert(task, settings)
            status, error = OK, None
        except ImageError as exc:
            status, error = ERROR, exc.reason
        except OSError as exc:  # writing (reading errors are ImageErrors): disk full, ...
            status, error = ERROR, f"cannot write {task.output}: {exc.strerror or exc}"
        except Exception as exc:  # never let one input stop the batch
            raise_interrupt(exc)
            status, error = ERROR, f"{type(exc).__name__}: {exc}"
    messages = tuple(dict.fromkeys(_pending + [str(w.message) for w in caught
                                               if issubclass(w.category, PalcliWarning)]))
    _pending.clear()
    return Result(task.input, task.output, status, error, pixels,
                  time.perf_counter() - start, messages, task.redo)


def _convert(task: Task, settings: Settings) -> int:
    from .images import open_frames, open_input, write_image  # Pillow: only where needed

    cube = resolve(settings.cube)
    mapped, durations = [], []
    with open_input(task.input, settings.max_pixels) as source, \
            open_frames(source, settings.max_pixels, name=task.input,
                        all_frames=partial(reads_all_frames, task.format)) as (info, frames):
        for frame in frames:  # one decoded frame at a time; its indices are kept
            idx = map_indices(frame.pixels, cube, settings.palette, settings.dither)
            mapped.append((idx, np.ascontiguousarray(frame.pixels[..., 3]) if frame.alpha
                           else None))
            durations.append(frame.duration)
    fmt = keep_format(info.format) if task.format == SAME else task.format

    def write(fp):
        write_image(fp, mapped, settings.palette.colors, fmt, rgb=settings.rgb,
                    alpha_threshold=settings.alpha_threshold,
                    durations=durations if info.read > 1 else (), loop=info.loop,
                    name=task.input, dithered=not settings.dither.exact,
                    stamp=settings.stamp(fmt))

    if task.output == STDIO:
        buf = io.BytesIO()  # encode fully first: a failure leaves stdout empty, never partial
        write(buf)
        if sys.stdout is None:
            raise OSError(errno.EBADF, "standard output is closed")
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
    elif storage.is_url(task.output):
        storage.write(task.output, write)
    else:
        write_atomic(task.output, write, makedirs=True, follow=True)
    return sum(idx.size for idx, _ in mapped)


def raise_interrupt(exc: BaseException) -> None:
    """Re-raise the interrupt hiding behind exc, if any. A signal handled while a numba kernel
    runs surfaces as SystemError('... returned a result with an exception set') caused by the
    KeyboardInterrupt (or SIGTERM's exception); it is the stop, not a bad input."""
    cause = exc
    while cause is not None:
        if isinstance(cause, BaseException) and not isinstance(cause, Exception):
            raise cause
        cause = cause.__cause__ or cause.__context__
    if stop_requested.is_set():
        raise SystemExit(143) from None


def remove_leftovers(output: str, pid: int) -> None:
    """Remove the temp file a killed worker (pid) may have left beside output."""
    if output != STDIO:
        remove_temps(os.path.dirname(output), pid)
