"""palcli convert: map images and directories of images onto a palette."""

from __future__ import annotations

import sys

import click

from .dither import DEFAULT_DITHER_SPACE, DITHER_SPACES, DITHERS
from .metrics import DEFAULT_METRIC, METRICS
from .plan import FORMATS


@click.command(name="convert")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.argument("output", metavar="OUTPUT")
@click.option("-p", "--palette", required=True,
              help="Palette: a file, a built-in name (see 'palcli palette list') or inline "
                   "hex colours '#000000,#ffffff'.")
@click.option("-m", "--metric", type=click.Choice(list(METRICS)),
              default=DEFAULT_METRIC, show_default=True,
              help="Colour distance used to pick the nearest.")
@click.option("-d", "--dither", type=click.Choice(DITHERS),
              default="none", show_default=True, help="Dithering method.")
@click.option("--dither-strength", type=click.FloatRange(0.0, 1.0), default=1.0,
              show_default=True, help="How much of the error to diffuse (0..1).")
@click.option("--no-serpentine", is_flag=True,
              help="Scan every row left to right when diffusing (default: alternate).")
@click.option("--dither-space",
              type=click.Choice(DITHER_SPACES), default=DEFAULT_DITHER_SPACE, show_default=True,
              help="Where diffused dither error is accumulated.")
@click.option("--dither-clamp", type=click.FloatRange(0.0, 1.0), default=None, metavar="0..1",
              help="Cap the error a pixel receives in error diffusion, as a fraction of the "
                   "full range (e.g. 0.25) [default: no cap].")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: all cores].")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format [default: png, or an output file's suffix]; 'same' keeps "
                   "PNG, GIF, BMP, TIFF and WebP inputs' formats and writes PNG for others.")
@click.option("--rgb", is_flag=True, help="Write RGB(A) images instead of indexed ones.")
@click.option("--alpha-threshold", type=click.IntRange(0, 255), default=128, show_default=True,
              help="Pixels with alpha below this become the transparent entry.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=None,
              help="Refuse images with more pixels [default: Pillow's decompression-bomb "
                   "limit].")
@click.option("--skip-existing", is_flag=True,
              help="Leave outputs that are newer than their input alone.")
@click.option("--dry-run", is_flag=True, help="Print the planned INPUT -> OUTPUT pairs; write "
                                              "nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no warnings.")
@click.option("--report", "report_path", metavar="FILE|-", default=None,
              help="Write one JSON line per input (input, output, status, error, pixels, "
                   "seconds) to FILE, or to standard output with '-'.")
@click.option("--fail-fast", is_flag=True, help="Stop starting new inputs after the first error.")
@click.pass_context
def convert(ctx, inputs, output, palette, metric, dither, dither_strength, no_serpentine,
            dither_space, dither_clamp, jobs, fmt, rgb, alpha_threshold, max_pixels, skip_existing, dry_run,
            quiet, report_path, fail_fast):
    """Map every pixel of each INPUT onto the palette and write OUTPUT.

    INPUT is an image, a directory (searched recursively for images) or '-' for standard input.
    OUTPUT is a file for one input, a directory for several or for a directory (the tree is
    mirrored), or '-' for standard output. Default output: an indexed PNG carrying exactly the
    palette.

    Exit status: 0 all done or skipped, 1 some inputs failed, 2 usage or palette error,
    130 interrupted, 143 terminated.
    """
    from .cli import ExitCode
    from .executors import Terminated, terminate_raises

    try:
        with terminate_raises():
            code = _convert(inputs, output, palette, metric, dither, dither_strength,
                            not no_serpentine, dither_space, dither_clamp, jobs, fmt, rgb, alpha_threshold,
                            max_pixels, skip_existing, dry_run, quiet, report_path, fail_fast)
    except KeyboardInterrupt:
        click.echo("palcli: interrupted", err=True)
        code = ExitCode.INTERRUPTED
    except Terminated:
        click.echo("palcli: terminated", err=True)
        code = ExitCode.TERMINATED
    ctx.exit(int(code))


def _convert(inputs, output, palette, metric, dither, dither_strength, serpentine, dither_space,
             dither_clamp, jobs, fmt, rgb, alpha_threshold, max_pixels, skip_existing, dry_run, quiet,
             report_path, fail_fast) -> int:
    from .cli import echo_error
    from .errors import UsageError
    from .palette import load_palette
    from .plan import STDIO, Settings, make_plan
    from .report import ERROR, Report, Result

    if quiet:
        import warnings

        from .errors import PalcliWarning

        warnings.simplefilter("ignore", PalcliWarning)
    if report_path == STDIO and output == STDIO:
        raise UsageError("--report - and OUTPUT - cannot both use standard output")
    pal = load_palette(palette)
    plan = make_plan(inputs, output, fmt, skip_existing=skip_existing)
    small = {t.format for t in plan.tasks} & {"gif", "bmp"}
    if len(pal) > 256 and small:
        raise UsageError(f"{min(small).upper()} holds at most 256 colours; the palette has "
                         f"{len(pal)}")
    if dry_run:
        for task in plan.tasks:
            click.echo(f"{task.input} -> {task.output}")
        for task in plan.skipped:
            click.echo(f"{task.input} -> {task.output} (skipped: output is up to date)")
        for task, reason in plan.conflicts:
            echo_error(f"{task.input}: {reason}")
        return 0
    settings = Settings(pal, metric, dither, dither_strength, serpentine, dither_space,
                        dither_clamp, rgb, alpha_threshold, max_pixels)
    stream = None
    if report_path == STDIO:
        stream = sys.stdout
    elif report_path is not None:
        try:
            stream = open(report_path, "w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{report_path}: cannot write the report: {exc.strerror}") from None
    bar = None
    try:
        report = Report(stream)
        for task in plan.skipped:
            report.add(Result(task.input, task.output, "skipped", "output is up to date"))
        for task, reason in plan.conflicts:
            echo_error(f"{task.input}: {reason}")
            report.add(Result(task.input, task.output, ERROR, reason))
        if plan.tasks:
            bar = _progress_bar(len(plan.tasks), quiet)
            _run(plan.tasks, settings, jobs, fail_fast, report, bar)
        if bar is not None:
            bar.close()
            click.echo(f"palcli: {report.summary()}", err=True)
        return report.exit_code()
    finally:
        if bar is not None:
            bar.close()
        if stream is not None and stream is not sys.stdout:
            stream.close()


def _run(tasks, settings, jobs, fail_fast, report, bar) -> None:
    import warnings

    from .cache import get_cube
    from .errors import PalcliWarning
    from .executors import run
    from .report import ERROR

    get_cube(settings.palette, settings.metric)  # built (or mapped) once, before any worker
    results = run(tasks, settings, jobs=jobs, fail_fast=fail_fast)
    try:
        for result in results:
            report.add(result)
            for message in result.warnings:
                warnings.warn(message, PalcliWarning, stacklevel=1)
            if result.status == ERROR:
                _echo(f"palcli: error: {result.input}: {result.error}", bar)
            if bar is not None:
                bar.update()
    finally:
        results.close()


def _echo(line: str, bar) -> None:
    if bar is not None:
        bar.write(line, file=sys.stderr)
    else:
        click.echo(line, err=True)


def _progress_bar(total: int, quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: workers may be forked later
    return tqdm(total=total, unit="img", file=sys.stderr, leave=False)
