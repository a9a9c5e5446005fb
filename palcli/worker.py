"""convert_one(task, settings) -> Result: read, map, write one image. Never raises for a bad input.

A worker process maps the cube once (get_cube memoizes it) and does its own I/O; only the task
(paths) and the small Result record cross process boundaries.
"""

from __future__ import annotations

import io
import os
import sys
import time
import warnings

import numpy as np

from .atomic import write_atomic as _write_atomic
from .errors import ImageError, PalcliWarning
from .plan import SAME_KEEPS, STDIO, Settings, Task
from .report import ERROR, OK, Result

TEMP_SUFFIX = ".palcli-tmp"


def temp_path(output: str, pid: int | None = None) -> str:
    """The temp file a process writes before renaming it to output (same directory)."""
    d, base = os.path.split(output)
    return os.path.join(d, f".{base}.{os.getpid() if pid is None else pid}{TEMP_SUFFIX}")


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
    messages = tuple(dict.fromkeys(str(w.message) for w in caught
                                   if issubclass(w.category, PalcliWarning)))
    return Result(task.input, task.output, status, error, pixels,
                  time.perf_counter() - start, messages)


def _convert(task: Task, settings: Settings) -> int:
    from .cache import get_cube
    from .images import MULTI_FRAME_OUT, read_frames, write_image

    source = io.BytesIO(sys.stdin.buffer.read()) if task.input == STDIO else task.input
    fmt = task.format
    frames, info = read_frames(source, settings.max_pixels, name=task.input,
                               all_frames=fmt in MULTI_FRAME_OUT or fmt == "same", four=True)
    if fmt == "same":
        fmt = SAME_KEEPS.get(info.format or "", "png")
    cube = get_cube(settings.palette, settings.metric)
    mapped = [_map(frame, cube, settings, info.alpha) for frame in frames]

    def write(fp):
        write_image(fp, mapped, settings.palette.colors, fmt, rgb=settings.rgb,
                    durations=info.durations, loop=info.loop, name=task.input,
                    dithered=settings.dither != "none")

    if task.output == STDIO:
        buf = io.BytesIO()  # encode fully first: a failure leaves stdout empty, never partial
        write(buf)
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
    else:
        write_atomic(task.output, write)
    return sum(f.shape[0] * f.shape[1] for f in frames)


def _map(frame: np.ndarray, cube: np.ndarray, settings: Settings, alpha: bool):
    """(palette indices, transparent mask or None) for one (H, W, 4) frame."""
    if settings.dither == "none":
        from .quantize import lookup  # numpy until numba pays for itself (see its docstring)

        idx = lookup(cube, frame)
    else:
        from .dither import dither_indices

        rgb = np.ascontiguousarray(frame[..., :3])
        idx = dither_indices(rgb, settings.palette, cube, settings.dither,
                             settings.dither_strength, settings.serpentine,
                             settings.dither_space, settings.dither_clamp)
    mask = None
    if alpha:
        mask = frame[..., 3] < settings.alpha_threshold
        if not mask.any():
            mask = None
    return idx, mask


def write_atomic(path: str, write) -> None:
    """Write through temp_path(path), a name the parent can find and remove after a kill."""
    _write_atomic(path, write, tmp=temp_path(path), makedirs=True)
