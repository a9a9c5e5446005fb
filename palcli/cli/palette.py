"""palcli palette: list the built-in palettes, show one, convert between palette formats."""

from __future__ import annotations

import os
import sys

import click


@click.group(name="palette")
def palette() -> None:
    """List, show and convert palettes.

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
    """Print a palette's name, size and colours (with swatches on a colour terminal)."""
    from ..palette import load_palette

    from ._shell import printable

    pal = load_palette(spec)
    click.echo(f"name: {printable(pal.name)}")
    click.echo(f"colours: {len(pal)}")
    swatches = _use_swatches()
    width = len(str(len(pal) - 1))
    for i, ((r, g, b), hex_) in enumerate(zip(pal.colors.tolist(), pal.hex())):
        swatch = f"\x1b[48;2;{r};{g};{b}m    \x1b[0m " if swatches else ""
        click.echo(f"{i:>{width}} {swatch}{hex_}", color=swatches or None)


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
    from ..formats import gpl
    from ..palette import load_palette, save_palette

    pal = load_palette(source)
    if target == "-":
        sys.stdout.buffer.write(gpl.write(pal))
        sys.stdout.buffer.flush()
    else:
        save_palette(pal, target)
