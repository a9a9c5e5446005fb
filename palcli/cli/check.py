"""palcli check: fail when an image has a visible pixel off the palette (for CI and pre-commit)."""

from __future__ import annotations

import click

from ..metrics import DEFAULT_METRIC, METRICS
from ._signals import raise_if_signalled
from ._shell import console, progress


@click.command(name="check")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-p", "--palette", required=True,
              help="Palette: a file, a built-in name (see 'palcli palette list') or inline "
                   "hex colours '#000000,#ffffff'.")
@click.option("-m", "--metric", type=click.Choice(list(METRICS)), default=DEFAULT_METRIC,
              show_default=True, help="Colour distance that names the nearest palette colours.")
@click.option("--alpha-threshold", type=click.IntRange(0, 255), default=128, show_default=True,
              help="Pixels with alpha below this are transparent and not checked.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=None,
              help="Refuse images with more pixels [default: Pillow's decompression-bomb "
                   "limit].")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: all cores].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no warnings.")
@click.option("--report", metavar="FILE|-", default=None,
              help="Write one JSON line per input (input, output, status, error, pixels, "
                   "seconds) to FILE, or to standard output with '-'.")
@click.option("--fail-fast", is_flag=True, help="Stop starting new inputs after the first error.")
def check(inputs, palette, metric, alpha_threshold, max_pixels, jobs, quiet, report,
          fail_fast) -> int:
    """Check that every visible pixel of each INPUT is a colour of the palette.

    INPUT is an image, a directory (searched recursively for images, as convert does) or '-'
    for standard input. Each image that is off the palette, or cannot be read, gets one line
    on stderr, e.g. 'palcli: error: art/hero.png: 3 pixels off the palette: #ff0001 x2
    (nearest #ff004d), #0a0a0a x1 (nearest #000000)'. An indexed PNG whose colour table is
    all palette colours (convert's output) passes without decoding its pixels.

    Exit status: 0 every image passes, 1 some image is off the palette or unreadable, 2 usage
    or palette error, 130 interrupted, 143 terminated.
    """
    from ..check import CheckSettings, check_batch
    from ..inputs import image_files
    from ..palette import load_palette
    from ..plan import STDIO, Plan, Task
    from ..report import ERROR
    from ._shell import ReportFile  # --report exactly as convert writes it

    console.quiet = quiet
    settings = CheckSettings(load_palette(palette), metric, alpha_threshold, max_pixels)
    files, unreadable = image_files(inputs, stdin=True)
    read_only = Plan([Task(f, STDIO) for f in files])  # what --report may not overwrite
    with ReportFile(report, read_only) as report_file, \
            progress(len(files) + len(unreadable), quiet) as bar:
        def on_result(result) -> None:
            report_file.write(result)
            for message in result.warnings:
                console.warning(message)
            if result.status == ERROR:
                console.error(f"{result.input}: {result.error}")
            if bar is not None:
                bar.update()
            raise_if_signalled()  # a Ctrl-C that a finaliser swallowed stops the batch here

        outcome = check_batch(files, settings, jobs=jobs, fail_fast=fail_fast,
                              unreadable=unreadable, on_result=on_result)
    if bar is not None:
        c = outcome.counts
        console.line(f"palcli: {c['ok']} passed, {c['error']} off the palette or unreadable")
    return max(outcome.exit_code(), report_file.exit_code())
