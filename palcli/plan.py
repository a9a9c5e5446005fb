"""Planning a conversion: which inputs, which outputs, what to skip. Paths only, never pixels.

    plan = make_plan(["photos/", "extra.jpg"], "out/", fmt=None)
    plan.tasks      # [Task("photos/a.jpg", "out/a.png", "png"), ...]
    plan.conflicts  # [(Task, reason)]: inputs that would overwrite another's output
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from . import storage
from .errors import PalcliWarning, UsageError
from .outputs import (DEFAULT_FORMAT, FORMAT_CHOICES, LOSSY_SUFFIXES, OUTPUTS, SAME,
                      format_of_suffix, keep_format, suffix_for, writable_suffixes)

if TYPE_CHECKING:
    from .cube import CubeRef
    from .dither import DitherParams
    from .palette import Palette

STDIO = "-"
STAMP_VERSION = 1  # bump when the bytes palcli writes for the same settings change


@dataclass(frozen=True)
class Task:
    """One conversion: input path (or "-"), output path (or "-"), output format."""

    input: str
    output: str
    format: str = "png"  # png|gif|webp|bmp|tiff, or "same" for stdin (decided once decoded)
    redo: str | None = None  # --skip-existing: why an existing output is made again


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

    def stamp(self, fmt: str) -> str:
        """The settings an output in format fmt is made with, as a short deterministic key
        written into it (see outputs.OutputFormat.stamp): --skip-existing compares it."""
        d = self.dither
        text = repr((STAMP_VERSION, self.palette.colors.tobytes().hex(), self.metric, d.mode,
                     d.strength, d.serpentine, d.space, getattr(d, "clamp", None),
                     self.alpha_threshold, self.rgb, fmt))
        return "palcli:" + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class Plan:
    tasks: list[Task] = field(default_factory=list)  # to convert
    skipped: list[Task] = field(default_factory=list)  # --skip-existing: output up to date
    conflicts: list[tuple[Task, str]] = field(default_factory=list)  # not converted, and why
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (directory, reason)
    under_output: int = 0  # images left alone because they lie in the output directory

    def __len__(self) -> int:
        """Records the run will give: one per input found, one per unreadable directory."""
        return len(self.tasks) + len(self.skipped) + len(self.conflicts) + len(self.unreadable)


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


def make_plan(inputs, output: str, fmt: str | None = None, *, skip_existing: bool = False,
              keep_suffix: bool = False, stamp=None) -> Plan:
    """Expand INPUT... OUTPUT into tasks. Raises UsageError (before anything is written) for
    a missing input, an OUTPUT that cannot hold the inputs, or no image found at all.

    keep_suffix: output names keep the input's suffix before the output's (ball.gif ->
    ball.gif.png), so that same-stem inputs never share an output. skip_existing leaves alone
    an output newer than its input that carries stamp(format) (Settings.stamp), when given.
    """
    inputs = [str(i) for i in inputs]
    output = str(output)
    if not inputs:
        raise UsageError("no INPUT given")
    if fmt is not None and fmt not in FORMAT_CHOICES:
        raise UsageError(f"format must be one of {', '.join(FORMAT_CHOICES)}; got {fmt!r}")
    for inp in inputs:
        if inp != STDIO and not storage.lexists(inp):
            raise UsageError(f"{inp}: no such file or directory")
    if STDIO in inputs and len(inputs) > 1:
        raise UsageError("'-' (standard input) must be the only INPUT")
    single = len(inputs) == 1 and (inputs[0] == STDIO or not storage.isdir(inputs[0]))
    if output == STDIO:
        if not single:
            raise UsageError("OUTPUT '-' (standard output) takes exactly one input file")
        return _checked([Task(inputs[0], STDIO, fmt or DEFAULT_FORMAT)], skip_existing, stamp)
    to_dir = not single or storage.isdir(output) or output.endswith(("/", os.sep))
    if single and not to_dir:
        task = Task(inputs[0], output, _file_format(output, fmt, inputs[0]))
        return _checked([task], skip_existing, stamp)
    if inputs[0] == STDIO:
        raise UsageError("give OUTPUT a file name when INPUT is '-' (standard input)")
    if storage.exists(output) and not storage.isdir(output):
        raise UsageError(f"{output}: not a directory (several inputs need an output directory)")
    if not storage.exists(output) and format_of_suffix(os.path.splitext(output)[1]):
        raise UsageError(f"{output}: several inputs need an output directory, and this "
                         f"names an image file (end it with '/' for a directory)")
    found = _DirTasks(inputs, output, fmt or DEFAULT_FORMAT, keep_suffix)
    plan = _checked(list(found), skip_existing, stamp)
    plan.unreadable, plan.under_output = found.unreadable, found.under_output
    if not len(plan):
        raise UsageError(f"no images found under {', '.join(inputs)}")
    for directory in found.empty:
        warnings.warn(f"{directory}: no image files found", PalcliWarning, stacklevel=2)
    return plan


def output_name(rel: str, fmt: str, keep_suffix: bool = False) -> str:
    """rel with its suffix replaced by the format's ('same' keeps palette-safe suffixes;
    keep_suffix appends the format's suffix instead)."""
    stem, suffix = os.path.splitext(rel)
    if fmt == SAME:
        fmt = _kept_format(suffix)
        if format_of_suffix(suffix) == fmt:
            return rel
    return (rel if keep_suffix else stem) + suffix_for(fmt)


def _file_format(output: str, fmt: str | None, source: str) -> str:
    """The format of a single output file: -f, else its suffix's. A suffix that names another
    format, or no format palcli writes, is refused (nothing else would match the bytes)."""
    suffix = os.path.splitext(output)[1].lower()
    named = format_of_suffix(suffix)
    chosen = fmt or named or DEFAULT_FORMAT
    if chosen == SAME and source == STDIO:
        return SAME  # decided once the input is decoded
    if chosen == SAME:
        chosen = _kept_format(os.path.splitext(source)[1])
    if suffix and named is None:
        why = ("a lossy format, which cannot hold palette colours exactly"
               if suffix in LOSSY_SUFFIXES else "not a format palcli writes")
        raise UsageError(f"{output}: {suffix} is {why}; palcli writes {writable_suffixes()}")
    if named is not None and named != chosen:
        raise UsageError(f"{output}: the suffix {suffix} is not the output format's "
                         f"({chosen}: {', '.join(OUTPUTS[chosen].suffixes)})")
    return SAME if fmt == SAME else chosen


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


class _DirTasks:
    """The tasks for several inputs into an output directory, found lazily by walking; after
    the walk, `unreadable` lists (directory, reason) and `under_output` counts the images left
    alone because they lie in the output directory."""

    def __init__(self, inputs: list[str], output: str, fmt: str, keep_suffix: bool):
        self.inputs, self.output, self.fmt, self.keep_suffix = inputs, output, fmt, keep_suffix
        self.unreadable: list[tuple[str, str]] = []
        self.under_output = 0
        self.empty: list[str] = []  # input directories without an image

    def __iter__(self):
        out_real = os.path.realpath(self.output)
        is_image = _SuffixTest()
        for inp in self.inputs:
            if not storage.isdir(inp):
                yield self._task(inp, os.path.basename(inp))
                continue
            if os.path.realpath(inp) == out_real:
                raise UsageError(f"{self.output}: the output directory is also an input "
                                 f"directory")
            found = False
            names = (storage.walk(inp, self.output, is_image) if storage.is_url(inp)
                     else _walk(inp, out_real, is_image, self))
            for rel in names:
                found = True
                yield self._task(os.path.join(inp, rel), rel)
            if not found:
                self.empty.append(inp)

    def _task(self, src: str, rel: str) -> Task:
        name = output_name(rel, self.fmt, self.keep_suffix)
        return Task(src, os.path.join(self.output, name), _resolve_same(self.fmt, rel))


def find_images(inputs) -> tuple[list[str], list[tuple[str, str]]]:
    """The image files INPUT... names, for commands that read images and write none: files as
    given, directories walked as convert walks them. Returns the files, each once, and the
    (directory, reason) of directories the walk could not read. UsageError for a missing input
    or when there is no image at all."""
    inputs = [str(i) for i in inputs]
    for inp in inputs:
        if not os.path.lexists(inp):
            raise UsageError(f"{inp}: no such file or directory")
    found = _DirTasks(inputs, os.devnull, DEFAULT_FORMAT, False)  # collects what the walk saw
    is_image = _SuffixTest()
    files = []
    for inp in inputs:
        if os.path.isdir(inp):
            files += [os.path.join(inp, rel) for rel in _walk(inp, None, is_image, found)]
        else:
            files.append(inp)
    if not files and not found.unreadable:
        raise UsageError(f"no images found under {', '.join(inputs)}")
    return list(dict.fromkeys(files)), found.unreadable


def _walk(top: str, out_real: str | None, is_image, found: _DirTasks):
    """Relative paths of the image files under top, sorted, depth first, without recursion
    (trees of any depth). Names starting with '.' are skipped, as black and ripgrep do; the
    output directory is not entered (its images are counted in found.under_output); a
    directory that cannot be listed goes to found.unreadable."""
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        path = os.path.join(top, rel_dir) if rel_dir else top
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            found.unreadable.append((path, f"cannot read the directory: "
                                           f"{(exc.strerror or str(exc)).lower()}"))
            continue
        subdirs = []
        for e in entries:
            if e.name.startswith("."):
                continue
            rel = os.path.join(rel_dir, e.name) if rel_dir else e.name
            if _is_dir(e):
                if os.path.realpath(e.path) == out_real:
                    found.under_output += _count_images(e.path, is_image)
                else:
                    subdirs.append(rel)
            elif is_image(os.path.splitext(e.name)[1]):
                yield rel
        stack.extend(reversed(subdirs))


def _is_dir(entry) -> bool:
    try:
        return entry.is_dir()  # follows a symlink, as os.walk's listing does
    except OSError:
        return False


def _count_images(top: str, is_image) -> int:
    n = 0
    for _dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        n += sum(1 for f in filenames if not f.startswith(".") and is_image(os.path.splitext(f)[1]))
    return n


def _checked(tasks: list[Task], skip_existing: bool, stamp=None) -> Plan:
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
            plan.conflicts.append((task, _shared_output(task, owner[key])))
        else:
            owner[key] = task
            redo = _redo(task, stamp) if skip_existing else ""
            if redo is None:
                plan.skipped.append(task)
            else:
                plan.tasks.append(replace(task, redo=redo or None))
    return plan


def _shared_output(task: Task, first: Task) -> str:
    reason = f"{task.output} is also the output of {first.input}"
    stem, suffix = os.path.splitext(task.input)
    other_stem, other_suffix = os.path.splitext(first.input)
    if stem == other_stem:  # same name, another suffix: say the ways out
        keep = f"--keep-suffix names this output {os.path.basename(task.input)}" \
               f"{os.path.splitext(task.output)[1]}"
        if _kept_format(suffix) != _kept_format(other_suffix):
            keep = "-f same keeps each input's format; " + keep
        reason += f" ({keep})"
    return reason


def _redo(task: Task, stamp) -> str | None:
    """Why an output must be made (again): '' when there is none yet, a reason when it is out
    of date; None when it is up to date (newer than its input and made with these settings)."""
    if task.input == STDIO:
        return ""
    try:  # a URL's times come from its filesystem
        newer = storage.mtime_ns(task.output) < storage.mtime_ns(task.input)
    except OSError:
        return ""
    if newer:
        return "the input is newer than the output"
    if stamp is None:
        return None
    fmt = task.format if task.format != SAME else format_of_suffix(
        os.path.splitext(task.output)[1]) or DEFAULT_FORMAT
    from .images import read_stamp  # Pillow: only when there are outputs to look at

    found = read_stamp(storage.open_input(task.output) if storage.is_url(task.output)
                       else task.output)
    if found == stamp(fmt):
        return None
    return ("the output was made with other settings" if found
            else "the output carries no settings stamp")
