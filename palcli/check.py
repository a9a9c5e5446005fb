"""Is every visible pixel of an image a palette colour? check_image answers for one file,
check_batch for many, on convert's executors (-j) with convert's Result records.

    result = check_image("sprites/hero.png", load_palette("pico-8"), alpha_threshold=128)
    result.off_pixels        # visible pixels whose colour is not in the palette
    result.off_colors        # the three most frequent of those colours, with their nearest
    report = check_batch(["sprites/a.png", ...], CheckSettings(pal, "rgb"), jobs=2)

It reads no more than it must. An indexed PNG (palcli's own output, say) has its colour table
in a chunk before the pixel data: when every visible entry of that table is a palette colour,
every pixel is, and the pixel data is never decoded. Only when some visible entry is off the
palette are the pixels decoded, to count which entries they use (so a file whose table passes
is not checked for damage in its pixel data: check answers for colours). Any other image is read as
convert reads it (palcli.images: EXIF, ICC profile, every frame of an animation) and its
visible pixels compared with the palette.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validate import check_int
from .errors import ImageError, PalcliWarning
from .metrics import DEFAULT_METRIC, check_metric
from .nearest import nearest, to_space
from .palette import Palette, load_palette
from .plan import Task
from .report import ERROR, OK, Report, Result
from .worker import raise_interrupt

TOP = 3  # off colours reported per image


@dataclass(frozen=True)
class OffColor:
    color: tuple[int, int, int]  # the colour found in the image
    count: int  # visible pixels of that colour
    nearest: tuple[int, int, int]  # its nearest palette colour under the metric
    index: int  # that colour's palette index

    def __str__(self) -> str:
        return f"{_hex(self.color)} x{self.count} (nearest {_hex(self.nearest)})"


@dataclass(frozen=True)
class CheckResult:
    """What check_image found; small and picklable."""

    input: str
    pixels: int  # pixels in the image (every frame)
    off_pixels: int  # visible pixels whose colour is not a palette colour
    off_colors: tuple[OffColor, ...] = ()  # the most frequent off colours, most frequent first
    scanned: bool = True  # False when the colour table alone decided

    @property
    def ok(self) -> bool:
        return self.off_pixels == 0

    def summary(self) -> str:
        """One line for an offending file, e.g. '12 pixels off the palette: #ff0001 x10
        (nearest #ff004d), ...'."""
        noun = "pixel" if self.off_pixels == 1 else "pixels"
        colours = ", ".join(str(c) for c in self.off_colors)
        return f"{self.off_pixels} {noun} off the palette: {colours}"


@dataclass(frozen=True)
class CheckSettings:
    """What every check task shares; picklable, made once from checked values."""

    palette: Palette
    metric: str = DEFAULT_METRIC
    alpha_threshold: int = 128
    max_pixels: int | None = None


def check_image(path, palette, alpha_threshold: int = 128, *, metric: str = DEFAULT_METRIC,
                max_pixels: int | None = None, name: str | None = None) -> CheckResult:
    """Count the visible pixels of the image at path (alpha at or above alpha_threshold) whose
    colour is not in palette; name the most frequent with their nearest palette colours.

    path may also be a binary file object (name is then what errors call it). Raises
    ImageError for a file that cannot be read, as palcli.images does.
    """
    pal = load_palette(palette)
    metric = check_metric(metric)
    alpha_threshold = check_int(alpha_threshold, "alpha_threshold", 0, 255)
    name = str(path) if name is None else name
    counts = _indexed_counts(path, name, pal, alpha_threshold, max_pixels)
    if counts is None:
        if hasattr(path, "seek"):
            path.seek(0)
        counts = _pixel_counts(path, name, pal, alpha_threshold, max_pixels)
    pixels, colors, tally, scanned = counts
    off = ~_in_palette(colors, pal.colors)
    off_colors, off_tally = colors[off], tally[off]
    order = np.lexsort((_packed(off_colors), -off_tally))[:TOP]  # most frequent, then by value
    top = _with_nearest(off_colors[order], off_tally[order], pal, metric)
    return CheckResult(name, pixels, int(off_tally.sum()), top, scanned)


def check_one(task: Task, settings: CheckSettings) -> Result:
    """check_image as a batch task: status ok, or error with the offence (or the reason the
    file cannot be read) as its message. Never raises for a bad input."""
    start = time.perf_counter()
    pixels = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PalcliWarning)
        try:
            # Opened as convert opens its inputs (stdin up to a cap, special files refused);
            # Pillow is imported in the worker, not in the parent.
            from .images import open_input

            with open_input(task.input, settings.max_pixels) as source:
                found = check_image(source, settings.palette, settings.alpha_threshold,
                                    metric=settings.metric, max_pixels=settings.max_pixels,
                                    name=task.input)
            pixels = found.pixels
            status, error = (OK, None) if found.ok else (ERROR, found.summary())
        except ImageError as exc:
            status, error = ERROR, exc.reason
        except Exception as exc:  # never let one input stop the batch
            raise_interrupt(exc)
            status, error = ERROR, f"{type(exc).__name__}: {exc}"
    messages = tuple(dict.fromkeys(str(w.message) for w in caught
                                   if issubclass(w.category, PalcliWarning)))
    return Result(task.input, None, status, error, pixels, time.perf_counter() - start, messages)


def check_batch(paths, settings: CheckSettings, *, jobs: int | None = None,
                fail_fast: bool = False, unreadable=(),
                on_result: Callable[[Result], None] | None = None) -> Report:
    """check_one for every path on convert's local executor (a process pool for several jobs);
    on_result(result) as each is done, after an error record for each (directory, reason) of
    unreadable; the Report (exit code 1 when any file is off the palette or bad)."""
    from .executors import run_local

    report = Report(on_result)
    for directory, reason in unreadable:
        report.add(Result(directory, None, ERROR, reason))
    tasks = [Task(str(p), None) for p in paths]
    if tasks:
        report.add_all(run_local(tasks, settings, jobs=jobs, fail_fast=fail_fast,
                                 work=check_one, setup=None))
    return report


def _indexed_counts(path, name: str, pal, threshold: int, max_pixels):
    """(pixels, colours, counts, scanned) from an indexed PNG's table, or None when the image
    must be read in full (not an indexed single-frame PNG, or a colour profile to apply)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if not _table_decides(im):
                return None
            w, h = im.size
            _check_size(name, w, h, max_pixels)
            table = np.frombuffer(im.palette.palette, np.uint8)
            table = table[:len(table) // 3 * 3].reshape(-1, 3)
            visible = _entry_alpha(im.info.get("transparency"), len(table)) >= threshold
            if _in_palette(table[visible], pal.colors).all():
                return w * h, np.empty((0, 3), np.uint8), np.empty(0, np.int64), False
            used = np.bincount(np.asarray(im).reshape(-1), minlength=len(table))[:len(table)]
    except (OSError, ValueError, SyntaxError):
        return None  # let the full read word the problem, as convert would
    keep = visible & (used > 0)
    return w * h, table[keep], used[keep].astype(np.int64), True


def _table_decides(im) -> bool:
    # A colour profile would change the colours convert reads: then the pixels decide.
    return (im.format == "PNG" and im.mode == "P" and getattr(im, "n_frames", 1) == 1
            and im.palette is not None and im.palette.mode == "RGB"
            and im.palette.rawmode in (None, "RGB")  # raw PLTE bytes (Pillow 10 names them)
            and not im.info.get("icc_profile"))


def _entry_alpha(transparency, n: int) -> np.ndarray:
    alpha = np.full(n, 255, np.int64)
    if isinstance(transparency, int) and 0 <= transparency < n:
        alpha[transparency] = 0
    elif isinstance(transparency, bytes):
        alpha[:len(transparency)] = np.frombuffer(transparency[:n], np.uint8)
    return alpha


def _check_size(name: str, w: int, h: int, max_pixels) -> None:
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if limit is not None and w * h > limit:
        raise ImageError(name, f"{w}x{h} = {w * h} pixels is over the limit of {limit} "
                               f"(--max-pixels)")


def _pixel_counts(path, name: str, pal: Palette, threshold: int, max_pixels):
    """(pixels, the distinct visible colours off the palette, their counts, True) over every
    frame, read as convert reads them."""
    from .images import open_frames

    table = _palette_table(pal)
    off, pixels = [], 0
    with open_frames(path, max_pixels, name=name) as (_, frames):
        for frame in frames:  # one decoded frame at a time
            flat = frame.pixels.reshape(-1, 4)
            pixels += len(flat)
            if frame.alpha:
                flat = flat[flat[:, 3] >= threshold]
            packed = _packed(flat)
            off.append(packed[~table[packed]])  # one gather; only off colours are counted
    values, counts = np.unique(np.concatenate(off), return_counts=True)
    colors = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=1)
    return pixels, colors.astype(np.uint8), counts.astype(np.int64), True


def _palette_table(pal: Palette) -> np.ndarray:
    """A 2^24 bool table, True at the packed value of each palette colour (16 MiB, one per
    palette in a process): testing a megapixel is one gather instead of a sort."""
    key = pal.digest
    table = _tables.get(key)
    if table is None:
        table = np.zeros(1 << 24, bool)
        table[_packed(pal.colors)] = True
        _tables.clear()  # one palette per run; do not keep old ones
        _tables[key] = table
    return table


_tables: dict[str, np.ndarray] = {}


def _packed(colors: np.ndarray) -> np.ndarray:
    c = colors[:, :3].astype(np.uint32)
    return (c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]


def _in_palette(colors: np.ndarray, palette_colors: np.ndarray) -> np.ndarray:
    return np.isin(_packed(colors), _packed(palette_colors))


def _with_nearest(colors, tally, pal, metric: str) -> tuple[OffColor, ...]:
    if len(colors) == 0:
        return ()
    index, _ = nearest(to_space(colors, metric), to_space(pal.colors, metric), metric)
    return tuple(OffColor(tuple(map(int, c)), int(n), tuple(map(int, pal.colors[i])), int(i))
                 for c, n, i in zip(colors, tally, index))


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(rgb)
