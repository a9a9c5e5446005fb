"""palcli convert: map images and directories of images onto a palette."""

from __future__ import annotations

import logging
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import click

from ..batch import EXECUTORS
from ..dither import DEFAULT_DITHER_SPACE, DITHER_SPACES, DITHERS
from ..errors import PalcliWarning
from ..metrics import DEFAULT_METRIC, METRICS
from ..outputs import FORMAT_CHOICES
from ._signals import raise_if_signalled
from ._shell import ReportFile, console, progress


@dataclass(frozen=True)
class ConvertOptions:
    """The convert command's options, as parsed."""

    inputs: tuple[str, ...]
    output: str
    palette: str
    metric: str = DEFAULT_METRIC
    dither: str = "none"
    dither_strength: float = 1.0
    serpentine: bool = True
    dither_space: str = DEFAULT_DITHER_SPACE
    dither_clamp: float | None = None
    jobs: int = 0  # 0: every core
    fmt: str | None = None
    keep_suffix: bool = False
    rgb: bool = False
    alpha_threshold: int = 128
    max_pixels: int | None = None
    skip_existing: bool = False
    dry_run: bool = False
    quiet: bool = False
    report: str | None = None
    fail_fast: bool = False
    executor: str = "local"
    scheduler: str | None = None


@click.command(name="convert")
@click.argument("paths", nargs=-1, metavar="INPUT... OUTPUT")
@click.option("-p", "--palette", required=True,
              help="Palette: a file, a built-in name (see 'palcli palette list') or inline "
                   "hex colours '#000000,#ffffff'.")
@click.option("-m", "--metric", type=click.Choice(list(METRICS)),
              default=DEFAULT_METRIC, show_default=True,
              help="Colour distance used to pick the nearest.")
@click.option("-d", "--dither", type=click.Choice(list(DITHERS)),
              default="none", show_default=True, help="Dithering method.")
@click.option("--dither-strength", type=click.FloatRange(0.0, 1.0), default=1.0,
              show_default=True, help="How much of the error to diffuse (0..1).")
@click.option("--no-serpentine", "serpentine", is_flag=True, flag_value=False, default=True,
              help="Scan every row left to right when diffusing (default: alternate).")
@click.option("--dither-space",
              type=click.Choice(DITHER_SPACES), default=DEFAULT_DITHER_SPACE, show_default=True,
              help="Where diffused dither error is accumulated.")
@click.option("--dither-clamp", type=click.FloatRange(0.0, 1.0), default=None, metavar="0..1",
              help="Cap the error a pixel receives in error diffusion, as a fraction of the "
                   "full range (e.g. 0.1) [default: no cap].")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0,
              help="Worker processes; 0 means all cores [default: 0].")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMAT_CHOICES), default=None,
              help="Output format [default: png, or an output file's suffix]; 'same' keeps "
                   "PNG, GIF, BMP, TIFF and WebP inputs' formats and writes PNG for others.")
@click.option("--keep-suffix", is_flag=True,
              help="Keep each input's suffix in its output's name (ball.gif -> ball.gif.png), "
                   "so that inputs differing only in suffix never share an output.")
@click.option("--rgb", is_flag=True,
              help="Write RGB(A) images instead of indexed ones (alpha levels kept as they are).")
@click.option("--alpha-threshold", type=click.IntRange(0, 255), default=128, show_default=True,
              help="Pixels with alpha below this become the transparent entry.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=None,
              help="Refuse images with more pixels [default: Pillow's decompression-bomb "
                   "limit].")
@click.option("--skip-existing", is_flag=True,
              help="Leave alone outputs newer than their input and made with the same settings "
                   "(palette, metric, dither, format...).")
@click.option("--dry-run", is_flag=True, help="Print the planned INPUT -> OUTPUT pairs; write "
                                              "nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no warnings.")
@click.option("--report", metavar="FILE|-", default=None,
              help="Write one JSON line per input (input, output, status, error, pixels, "
                   "seconds) to FILE, or to standard output with '-'.")
@click.option("--fail-fast", is_flag=True, help="Stop starting new inputs after the first error.")
@click.option("--executor", type=click.Choice(list(EXECUTORS)), default="local", show_default=True,
              help="Run the tasks in local processes, or on an existing Dask cluster "
                   "(pip install 'palcli[dask]').")
@click.option("--scheduler", metavar="ADDRESS", envvar="DASK_SCHEDULER_ADDRESS", default=None,
              help="The Dask scheduler of --executor dask, such as tcp://host:8786 "
                   "[default: $DASK_SCHEDULER_ADDRESS].")
def convert(paths, **options) -> int:
    """Map every pixel of each INPUT onto the palette and write OUTPUT.

    INPUT is an image, a directory (searched recursively for images) or '-' for standard input.
    OUTPUT is a file for one input, a directory for several or for a directory (the tree is
    mirrored), or '-' for standard output. Default output: an indexed PNG carrying exactly the
    palette.

    Exit status: 0 all done or skipped, 1 some inputs failed, 2 usage or palette error,
    130 interrupted, 143 terminated.
    """
    if len(paths) < 2:
        missing = "OUTPUT" if paths else "INPUT... OUTPUT"
        raise click.UsageError(f"Missing argument '{missing}'.")
    return run(ConvertOptions(tuple(paths[:-1]), paths[-1], **options))


def run(o: ConvertOptions) -> int:
    """Plan, then convert; print what the user asked for. Returns the exit code."""
    from ..batch import convert_batch, make_settings
    from ..dither import DitherParams
    from ..outputs import check_palette_fits
    from ..palette import load_palette
    from ..plan import make_plan
    from ..report import ERROR

    console.quiet = o.quiet
    _check_streams(o)
    if o.executor == "dask":
        _check_dask(o)
    pal = load_palette(o.palette)
    dither = DitherParams(o.dither, o.dither_strength, o.serpentine, o.dither_space,
                          o.dither_clamp)
    settings = make_settings(pal, o.metric, dither, rgb=o.rgb,
                             alpha_threshold=o.alpha_threshold, max_pixels=o.max_pixels)
    plan = make_plan(o.inputs, o.output, o.fmt, skip_existing=o.skip_existing,
                     keep_suffix=o.keep_suffix, stamp=settings.stamp)
    for fmt in sorted({t.format for t in plan.tasks} - {"same"}):
        check_palette_fits(fmt, len(pal))
    if plan.under_output:
        console.warning(f"{plan.under_output} image{'s' * (plan.under_output != 1)} under "
                        f"{o.output} (the output directory) were not converted")
    if o.dry_run:
        return _dry_run(plan)
    with _executor_options(o) as options, ReportFile(o.report, plan) as report_file, \
            progress(len(plan), o.quiet) as bar:
        def on_result(result) -> None:
            report_file.write(result)
            for message in result.warnings:
                warnings.warn(message, PalcliWarning, stacklevel=1)  # said once per run
            if result.status == ERROR:
                console.error(f"{result.input}: {result.error}")
            if bar is not None:
                bar.update()
            raise_if_signalled()  # a Ctrl-C that a finaliser swallowed stops the batch here

        report = convert_batch(plan, settings, jobs=o.jobs or None, executor=o.executor,
                               fail_fast=o.fail_fast, on_result=on_result, **options)
    if bar is not None:
        console.line(f"palcli: {report.summary()}")
    return max(report.exit_code(), report_file.exit_code())


def _check_streams(o: ConvertOptions) -> None:
    """Refusals about standard input and output, before anything is read or written."""
    from ..errors import UsageError
    from ..plan import STDIO

    if o.report == STDIO and o.output == STDIO:
        raise UsageError("--report - and OUTPUT - cannot both use standard output")
    if o.output == STDIO and sys.stdout is not None and sys.stdout.isatty():
        raise UsageError("standard output is a terminal: redirect it (> out.png) or give "
                         "OUTPUT a file name; image bytes are not written to a terminal")
    if STDIO in o.inputs and sys.stdin is not None and sys.stdin.isatty():
        raise UsageError("standard input is a terminal: pipe an image into it (< in.png) or "
                         "give INPUT a file name")


def _check_dask(o: ConvertOptions) -> None:
    from ..errors import UsageError
    from ..executors_dask import require
    from ..plan import STDIO

    require()
    if not o.scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS (or $DASK_SCHEDULER_ADDRESS)")
    if STDIO in (*o.inputs, o.output):
        raise UsageError("'-' (standard input or output) needs --executor local")


@contextmanager
def _executor_options(o: ConvertOptions):
    """What the executor needs besides the tasks: for dask, a client connected before the
    first task (an unreachable scheduler is a usage error), closed at the end."""
    if o.executor != "dask":
        yield {}
        return
    from ..executors_dask import connect

    with _dask_log_lines():
        client = connect(o.scheduler)
        try:
            yield {"client": client}
        finally:
            client.close()


class _OneLine(logging.Handler):
    """Dask's own log records as one warning line each, without their tracebacks (a lost
    scheduler is already an error record per input)."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        if message:
            console.warning(f"dask: {message.splitlines()[0]}")


@contextmanager
def _dask_log_lines():
    """While the block runs, the loggers Dask sets up (its own, and its comms' tornado) write
    _OneLine."""
    import distributed  # noqa: F401 - it sets its loggers up when imported

    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name.split(".")[0] in ("distributed", "tornado")]
    saved = [logger.handlers for logger in loggers]
    for logger in loggers:
        if logger.handlers:
            logger.handlers = [_OneLine(logging.WARNING)]
    try:
        yield
    finally:
        for logger, handlers in zip(loggers, saved):
            logger.handlers = handlers


def _dry_run(plan) -> int:
    """The planned pairs on stdout, conflicts as error lines; the exit code the real run's
    planning would give."""
    for task in plan.tasks:
        click.echo(f"{task.input} -> {task.output}" + (f" (redone: {task.redo})" if task.redo
                                                        else ""))
    for task in plan.skipped:
        click.echo(f"{task.input} -> {task.output} (skipped: output is up to date)")
    for task, reason in plan.conflicts:
        console.error(f"{task.input}: {reason}")
    return 1 if plan.conflicts else 0
