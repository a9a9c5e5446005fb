"""palcli palette: list the built-in palettes, show one, convert between palette formats,
extract one from images, export one as a lookup table."""

from __future__ import annotations

import os
import sys

import click

from ..extract import DEFAULT_METRIC as EXTRACT_METRIC
from ..metrics import DEFAULT_METRIC, METRICS


@click.group(name="palette")
def palette() -> None:
    """List, show, convert, extract and export palettes.

    PALETTE arguments are a file (.gpl, .json, .hex, .txt, .pal, .act, .ase, .png, .gif,
    .bmp), a built-in name (see 'palcli palette list') or inline hex ("#000000,#ffffff").
    """


@palette.command(name="list")
def list_() -> None:
    """List the built-in palettes: name and number of colours."""
    from .. import builtin
    from ..palette import load_palette

    names = builtin.names()
    width = max((len(n) for n in names), default=0)
    for name in names:
        click.echo(f"{name:<{width}}  {len(load_palette(name)):>4} colours")


@palette.command(name="show")
@click.argument("spec", metavar="PALETTE")
def show(spec: str) -> None:
    """Print a palette's name, size and colours (with swatches on a colour terminal).

    Each colour is one line: its index, hex value and, when the file names it, its name.
    """
    from ..palette import load_palette

    from ._shell import printable

    pal = load_palette(spec)
    click.echo(f"name: {printable(pal.name)}")
    click.echo(f"colours: {len(pal)}")
    swatches = _use_swatches()
    width = len(str(len(pal) - 1))
    rows = zip(pal.colors.tolist(), pal.hex(), pal.names)
    for i, ((r, g, b), hex_, label) in enumerate(rows):
        swatch = f"\x1b[48;2;{r};{g};{b}m    \x1b[0m " if swatches else ""
        label = f"  {printable(label)}" if label else ""
        click.echo(f"{i:>{width}} {swatch}{hex_}{label}", color=swatches or None)


def _use_swatches() -> bool:
    # Escape codes only for a person at a terminal: never into a pipe or a file, and not
    # when the user opted out of colour (https://no-color.org).
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


@palette.command(name="convert")
@click.argument("source", metavar="IN")
@click.argument("target", metavar="OUT", type=click.Path(dir_okay=False, allow_dash=True))
def convert(source: str, target: str) -> None:
    """Convert palette IN to the file OUT, in the format OUT's suffix names ('-': a GIMP
    palette on standard output).

    Writable: .gpl, .json, .hex, .pal (JASC), .act (at most 256 colours) and .png (a swatch
    image). A malformed IN is an error (exit 2) and OUT is left untouched.
    """
    from ..palette import load_palette

    _save(load_palette(source), target)


@palette.command(name="extract")
@click.argument("inputs", nargs=-1, required=True, metavar="IMAGE_OR_DIR...")
@click.option("-n", "--colors", "n", type=click.IntRange(1, 65536), required=True,
              help="Number of colours in the palette (--include colours among them).")
@click.option("-o", "--output", required=True, metavar="OUT",
              help="Palette file to write, in the format its suffix names; '-' writes .gpl to "
                   "standard output.")
@click.option("-m", "--metric", type=click.Choice(list(METRICS)), default=EXTRACT_METRIC,
              show_default=True, help="The mapping the palette is refined for.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the clustering: the same inputs and seed give the same palette.")
@click.option("--include", metavar="PALETTE", default=None,
              help="Colours to keep as they are (first in the palette), e.g. '#000,#fff'.")
@click.option("--alpha-threshold", type=click.IntRange(0, 255), default=128, show_default=True,
              help="Pixels with alpha below this are transparent and ignored.")
def extract(inputs, n, output, metric, seed, include, alpha_threshold) -> None:
    """Extract an N-colour palette from images and directories of images.

    Every visible pixel of every input (directories are searched as 'palcli convert' searches
    them; every frame of an animation) is pooled into one histogram of colours, clustered in
    the metric's space (k-means++ from a fixed seed, then k-means and geometric medians) and
    refined with palcli's exact nearest-colour mapping under --metric. The extracted colours
    are ordered dark to light and named 'extract 1', 'extract 2', ... Images with fewer
    distinct colours than N give exactly their own colours.
    """
    from ..errors import UsageError
    from ..extract import extract_palette, read_histogram
    from ..formats import check_writable
    from ..inputs import image_files
    from ..palette import load_palette

    stdout = output == "-"
    if not stdout:
        check_writable(output)
    fixed = load_palette(include) if include is not None else None
    files, unreadable = image_files(inputs)
    for directory, reason in unreadable[:1]:  # the palette would silently miss its images
        raise UsageError(f"{directory}: {reason}")
    hist = read_histogram(files, alpha_threshold=alpha_threshold)
    name = "extract" if stdout else os.path.splitext(os.path.basename(output))[0]
    _save(extract_palette(hist, n, metric=metric, seed=seed, include=fixed, name=name), output)


@palette.command(name="lut")
@click.argument("spec", metavar="PALETTE")
@click.option("-o", "--output", required=True, metavar="OUT.png|OUT.cube",
              type=click.Path(dir_okay=False), help="Hald CLUT image (.png) or 3D LUT (.cube).")
@click.option("-m", "--metric", type=click.Choice(list(METRICS)), default=DEFAULT_METRIC,
              show_default=True, help="Colour distance used to pick the nearest.")
@click.option("--level", type=click.IntRange(2, 16), default=16, show_default=True,
              help="Grid of level^2 steps per channel. 16 (256 steps) is exact; lower levels "
                   "are smaller and approximate.")
def lut(spec, output, metric, level) -> None:
    """Write the palette's mapping as a lookup table for other tools (ffmpeg, editors).

    OUT.png is a Hald CLUT: level^3 x level^3 pixels (4096 x 4096 at level 16), red varying
    fastest, then green, then blue. At level 16 it holds palcli's exact answer for every sRGB
    colour, so applying it with nearest interpolation (ffmpeg: haldclut=interp=nearest) maps
    exactly as 'palcli convert' does. Lower levels sample fewer colours: the result is
    approximate, and with interpolation it is not even made of palette colours.

    OUT.cube is a 3D LUT of level^2 steps per channel (ffmpeg: lut3d=file=OUT.cube:
    interp=nearest); level 16 is exact and 450 MB, level 8 (64 steps) is what many editors
    accept.
    """
    from ..lut import write_lut

    write_lut(spec, output, metric=metric, level=level)


def _save(pal, output: str) -> None:
    """Write pal to the file output, or as .gpl to standard output for '-'."""
    if output == "-":
        from ..formats import gpl

        sys.stdout.buffer.write(gpl.write(pal))
        sys.stdout.buffer.flush()
    else:
        from ..palette import save_palette

        save_palette(pal, output)
