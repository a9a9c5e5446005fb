"""convert_one(task, settings) -> Result: read, map, write one image. Never raises for a bad input.

A worker process turns settings.cube (a CubeRef) into the cube once (prepare), then maps every
task through quantize.map_indices and does its own I/O; only tasks (paths) and small Result
records cross process boundaries.
"""

from __future__ import annotations

import errno
import io
import os
import stat
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


def prepare(settings: Settings) -> None:
    """Obtain the cube settings name, once per process (a pool's initializer calls this).
    Its warnings (an unwritable cache dir) travel back with the next result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PalcliWarning)
        resolve(settings.cube)
    _pending.extend(str(w.message) for w in caught if issubclass(w.category, PalcliWarning))


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
            if stop_requested.is_set():  # a signal surfacing through a kernel: stop, not error
                raise SystemExit(143) from None
            status, error = ERROR, f"{type(exc).__name__}: {exc}"
    messages = tuple(dict.fromkeys(_pending + [str(w.message) for w in caught
                                               if issubclass(w.category, PalcliWarning)]))
    _pending.clear()
    return Result(task.input, task.output, status, error, pixels,
                  time.perf_counter() - start, messages, task.redo)


def _convert(task: Task, settings: Settings) -> int:
    from .images import open_frames, write_image  # Pillow: only where images are read

    cube = resolve(settings.cube)
    mapped, durations = [], []
    with _input(task.input, settings.max_pixels) as source, \
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


def _input(path: str, max_pixels: int | None):
    """The input as a binary file: standard input read whole (up to a cap), or the file opened
    without blocking and refused unless it is a regular file (a FIFO would wait for ever)."""
    if path == STDIO:
        return io.BytesIO(_read_stdin(max_pixels))
    if storage.is_url(path):
        return storage.open_input(path)
    try:  # opened by name, so that plugins which hand the file to a helper (EPS) still can
        f = open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NONBLOCK))
    except OSError as exc:
        raise ImageError(path, (exc.strerror or str(exc)).lower()) from None
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise ImageError(path, "not a regular file")
    os.set_blocking(f.fileno(), True)
    return f


def stdin_cap(max_pixels: int | None) -> int:
    """Bytes of standard input read at most: 8 per pixel of the --max-pixels budget (16-bit RGBA
    stored uncompressed), and 16 MiB besides for headers and metadata."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    return 8 * (limit or 0) + (16 << 20) if limit else 1 << 40


def _read_stdin(max_pixels: int | None) -> bytes:
    if sys.stdin is None:
        raise ImageError(STDIO, "standard input is closed")
    cap = stdin_cap(max_pixels)
    chunks, size = [], 0
    while chunk := sys.stdin.buffer.read(1 << 20):  # in pieces: a signal is handled between
        size += len(chunk)
        if size > cap:
            raise ImageError(STDIO, f"more than {cap} bytes on standard input: over what "
                                    f"--max-pixels allows for an image")
        chunks.append(chunk)
    return b"".join(chunks)


def remove_leftovers(output: str, pid: int) -> None:
    """Remove the temp file a killed worker (pid) may have left beside output."""
    if output != STDIO:
        remove_temps(os.path.dirname(output), pid)
