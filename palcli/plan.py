"""Planning a conversion: which inputs, which outputs, what to skip. Paths only, never pixels.

    plan = make_plan(["photos/", "extra.jpg"], "out/", fmt=None)
    plan.tasks      # [Task("photos/a.jpg", "out/a.png", "png"), ...]
    plan.conflicts  # [(Task, reason)]: inputs that would overwrite another's output
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import storage
from .errors import PalcliWarning, UsageError
from .outputs import DEFAULT_FORMAT, FORMAT_CHOICES, SAME, format_of_suffix, keep_format, suffix_for

if TYPE_CHECKING:
    from .cube import CubeRef
    from .dither import DitherParams
    from .palette import Palette

STDIO = "-"


@dataclass(frozen=True)
class Task:
    """One conversion: input path (or "-"), output path (or "-"), output format."""

    input: str
    output: str
    format: str = "png"  # png|gif|webp|bmp|tiff, or "same" for stdin (decided once decoded)


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs besides the task; picklable and the same for every task.
    Made once, from checked values: workers use it as it is."""

    palette: Palette
    metric: str
    dither: DitherParams
    cube: CubeRef  # how a worker obtains the cube (see palcli.cube.resolve)
    rgb: bool = False
    alpha_threshold: int = 128
    max_pixels: int | None = None  # None: Pillow's Image.MAX_IMAGE_PIXELS


@dataclass
class Plan:
    tasks: list[Task] = field(default_factory=list)  # to convert
    skipped: list[Task] = field(default_factory=list)  # --skip-existing: output up to date
    conflicts: list[tuple[Task, str]] = field(default_factory=list)  # not converted, and why

    def __len__(self) -> int:
        return len(self.tasks) + len(self.skipped) + len(self.conflicts)


# Suffixes of formats Pillow always reads (its first-loaded plugins). Files with these are
# images without asking Pillow, so the parent of a worker pool need not import it at all.
COMMON_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp"})


def image_suffixes() -> frozenset[str]:
    """Every file suffix Pillow registers a reader for, lower case ('.jpg', '.png', ...)."""
    from PIL import Image

    Image.init()
    return frozenset(s.lower() for s, f in Image.registered_extensions().items()
                     if f in Image.OPEN)


class _SuffixTest:
    """Is a suffix an image suffix? Asks Pillow's full registry (~40 plugins to import) only
    for a suffix outside the common ones."""

    def __init__(self):
        self.known = COMMON_SUFFIXES
        self.complete = False

    def __call__(self, suffix: str) -> bool:
        suffix = suffix.lower()
        if suffix not in self.known and not self.complete:
            self.known, self.complete = image_suffixes(), True
        return suffix in self.known


def make_plan(inputs, output: str, fmt: str | None = None, *,
              skip_existing: bool = False) -> Plan:
    """Expand INPUT... OUTPUT into tasks. Raises UsageError (before anything is written) for
    a missing input or an OUTPUT that cannot hold the inputs."""
    inputs = [str(i) for i in inputs]
    output = str(output)
    if not inputs:
        raise UsageError("no INPUT given")
    if fmt is not None and fmt not in FORMAT_CHOICES:
        raise UsageError(f"format must be one of {', '.join(FORMAT_CHOICES)}; got {fmt!r}")
    for inp in inputs:
        if inp != STDIO and not storage.exists(inp):
            raise UsageError(f"{inp}: no such file or directory")
    if STDIO in inputs and len(inputs) > 1:
        raise UsageError("'-' (standard input) must be the only INPUT")
    single = len(inputs) == 1 and (inputs[0] == STDIO or not storage.isdir(inputs[0]))
    if output == STDIO:
        if not single:
            raise UsageError("OUTPUT '-' (standard output) takes exactly one input file")
        return _checked([Task(inputs[0], STDIO, fmt or DEFAULT_FORMAT)], skip_existing)
    to_dir = not single or storage.isdir(output) or output.endswith(("/", os.sep))
    if single and not to_dir:
        out_fmt = fmt or format_of_suffix(os.path.splitext(output)[1]) or DEFAULT_FORMAT
        if inputs[0] == STDIO:
            return _checked([Task(STDIO, output, out_fmt)], skip_existing)
        return _checked([Task(inputs[0], output, _resolve_same(out_fmt, inputs[0]))],
                        skip_existing)
    if inputs[0] == STDIO:
        raise UsageError("give OUTPUT a file name when INPUT is '-' (standard input)")
    if storage.exists(output) and not storage.isdir(output):
        raise UsageError(f"{output}: not a directory (several inputs need an output directory)")
    return _checked(list(_dir_tasks(inputs, output, fmt or DEFAULT_FORMAT)), skip_existing)


def output_name(rel: str, fmt: str) -> str:
    """rel with its suffix replaced by the format's ('same' keeps palette-safe suffixes)."""
    stem, suffix = os.path.splitext(rel)
    if fmt == SAME:
        fmt = _kept_format(suffix)
        return rel if format_of_suffix(suffix) == fmt else stem + suffix_for(fmt)
    return stem + suffix_for(fmt)


def _kept_format(suffix: str) -> str:
    """The format `-f same` writes for an input suffix: the input's own where palcli writes it
    (as Pillow reads the suffix), else PNG."""
    if not suffix:
        return DEFAULT_FORMAT
    from PIL import Image

    Image.init()
    return keep_format(Image.registered_extensions().get(suffix.lower()))


def _resolve_same(fmt: str, path: str) -> str:
    return _kept_format(os.path.splitext(path)[1]) if fmt == SAME else fmt


def _dir_tasks(inputs: list[str], output: str, fmt: str):
    out_real = os.path.realpath(output)
    is_image = None
    for inp in inputs:
        if not storage.isdir(inp):
            name = output_name(os.path.basename(inp), fmt)
            yield Task(inp, os.path.join(output, name), _resolve_same(fmt, inp))
            continue
        if os.path.realpath(inp) == out_real:
            raise UsageError(f"{output}: the output directory is also an input directory")
        is_image = is_image or _SuffixTest()
        found = False
        names = (storage.walk(inp, output, is_image) if storage.is_url(inp)
                 else _walk(inp, out_real, is_image))
        for rel in names:
            found = True
            src = os.path.join(inp, rel)
            yield Task(src, os.path.join(output, output_name(rel, fmt)), _resolve_same(fmt, rel))
        if not found:
            warnings.warn(f"{inp}: no image files found", PalcliWarning, stacklevel=3)


def _walk(top: str, out_real: str, is_image):
    """Relative paths of the image files under top, sorted, never entering out_real."""
    for dirpath, dirnames, filenames in os.walk(top):
        # Prune the output directory (it may lie inside an input directory) before descending.
        dirnames[:] = sorted(d for d in dirnames
                             if os.path.realpath(os.path.join(dirpath, d)) != out_real)
        rel_dir = os.path.relpath(dirpath, top)
        for name in sorted(filenames):
            if is_image(os.path.splitext(name)[1]):
                yield name if rel_dir == os.curdir else os.path.join(rel_dir, name)


def _checked(tasks: list[Task], skip_existing: bool) -> Plan:
    """Sort tasks into to-do, skipped (--skip-existing) and conflicts (shared outputs)."""
    plan = Plan()
    owner: dict[str, Task] = {}
    for task in tasks:
        if task.output == STDIO:
            plan.tasks.append(task)
            continue
        key = os.path.normcase(os.path.realpath(task.output))
        if task.input != STDIO and key == os.path.normcase(os.path.realpath(task.input)):
            plan.conflicts.append((task, f"{task.output} would overwrite the input itself"))
            owner.setdefault(key, task)
        elif key in owner:
            plan.conflicts.append((task, f"{task.output} is also the output of "
                                         f"{owner[key].input}"))
        else:
            owner[key] = task
            if skip_existing and _up_to_date(task):
                plan.skipped.append(task)
            else:
                plan.tasks.append(task)
    return plan


def _up_to_date(task: Task) -> bool:
    if task.input == STDIO:
        return False
    if storage.is_url(task.input) or storage.is_url(task.output):
        return storage.up_to_date(task.input, task.output)
    try:
        return os.stat(task.output).st_mtime_ns >= os.stat(task.input).st_mtime_ns
    except OSError:
        return False
