"""convert_one(task, settings) -> Result: read, map, write one image. Never raises for a bad input.

A worker process turns settings.cube (a CubeRef) into the cube once (prepare), then maps every
task through quantize.map_indices and does its own I/O; only tasks (paths) and small Result
records cross process boundaries.
"""

from __future__ import annotations

import io
import os
import sys
import time
import warnings

import numpy as np

from . import storage
from .atomic import remove_temps, write_atomic
from .cube import resolve
from .errors import ImageError, PalcliWarning
from .outputs import OUTPUTS, SAME, keep_format
from .plan import STDIO, Settings, Task
from .mapping import map_indices
from .report import ERROR, OK, Result


_pending: list[str] = []  # warnings raised while preparing, told with the next result


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
            status, error = ERROR, f"{type(exc).__name__}: {exc}"
    messages = tuple(dict.fromkeys(_pending + [str(w.message) for w in caught
                                               if issubclass(w.category, PalcliWarning)]))
    _pending.clear()
    return Result(task.input, task.output, status, error, pixels,
                  time.perf_counter() - start, messages)


def _convert(task: Task, settings: Settings) -> int:
    from .images import read_frames, write_image  # Pillow: only where images are read

    source = io.BytesIO(sys.stdin.buffer.read()) if task.input == STDIO else task.input
    if storage.is_url(task.input):
        source = io.BytesIO(storage.read(task.input))
    fmt = task.format
    frames, info = read_frames(source, settings.max_pixels, name=task.input,
                               all_frames=fmt == SAME or OUTPUTS[fmt].multi_frame, four=True)
    if fmt == SAME:
        fmt = keep_format(info.format)
    cube = resolve(settings.cube)
    mapped = [_map(frame, cube, settings, info.alpha) for frame in frames]

    def write(fp):
        write_image(fp, mapped, settings.palette.colors, fmt, rgb=settings.rgb,
                    durations=info.durations, loop=info.loop, name=task.input,
                    dithered=not settings.dither.exact)

    if task.output == STDIO:
        buf = io.BytesIO()  # encode fully first: a failure leaves stdout empty, never partial
        write(buf)
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
    elif storage.is_url(task.output):
        storage.write(task.output, write)
    else:
        write_atomic(task.output, write, makedirs=True, follow=True)
    return sum(f.shape[0] * f.shape[1] for f in frames)


def _map(frame: np.ndarray, cube: np.ndarray, settings: Settings, alpha: bool):
    """(palette indices, transparent mask or None) for one (H, W, 4) frame."""
    idx = map_indices(frame, cube, settings.palette, settings.dither)
    mask = None
    if alpha:
        mask = frame[..., 3] < settings.alpha_threshold
        if not mask.any():
            mask = None
    return idx, mask


def remove_leftovers(output: str, pid: int) -> None:
    """Remove the temp file a killed worker (pid) may have left beside output."""
    if output != STDIO:
        remove_temps(os.path.dirname(output), pid)
