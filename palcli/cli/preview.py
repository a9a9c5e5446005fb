"""palcli preview: a labelled contact sheet to choose a metric and a dither by eye."""

from __future__ import annotations

import os
import sys

import click

from ..dither import DEFAULT_DITHER_SPACE, DITHER_SPACES, DITHERS
from ..metrics import METRICS


@click.command(name="preview")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
@click.option("-p", "--palette", required=True, help="Palette: built-in name, file or inline hex.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the sheet (PNG; '-' for stdout).")
@click.option("-m", "--metric", "metrics", multiple=True, type=click.Choice(list(METRICS)),
              help="A metric to show (repeat for several) [default: all].")
@click.option("-d", "--dither", "dithers", multiple=True, type=click.Choice(list(DITHERS)),
              help="A dither mode to show (repeat for several) [default: all].")
@click.option("--tile", type=click.IntRange(16, 4096), default=256, show_default=True,
              help="Longest side of each picture, in pixels.")
@click.option("--dither-strength", type=click.FloatRange(0.0, 1.0), default=1.0,
              show_default=True, help="0 (no dither) .. 1 (full).")
@click.option("--no-serpentine", is_flag=True, help="Scan every row left to right.")
@click.option("--dither-space", type=click.Choice(list(DITHER_SPACES)), default=None,
              help=f"Where diffused error is accumulated [default: {DEFAULT_DITHER_SPACE}].")
@click.option("--dither-clamp", type=click.FloatRange(0.0, 1.0), default=None, metavar="0..1",
              help="Cap the error a pixel receives in error diffusion, as a fraction of the "
                   "full range [default: no cap].")
@click.option("--alpha-threshold", type=click.IntRange(0, 255), default=128, show_default=True,
              help="Pixels with alpha below this are drawn transparent (a checkerboard).")
def preview(image, palette, output, metrics, dithers, tile, dither_strength, no_serpentine,
            dither_space, dither_clamp, alpha_threshold) -> None:
    """Render IMAGE under each metric (rows) and dither mode (columns) into one labelled sheet."""
    from ..errors import UsageError
    from ..images import open_image
    from ..palette import load_palette
    from ..preview import contact_sheet

    if output != "-" and os.path.splitext(output)[1].lower() not in ("", ".png"):
        raise UsageError(f"{output}: the preview sheet is a PNG; give -o a name ending in .png")
    if output != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise UsageError(f"{output}: cannot write there (no such directory)")
    pal = load_palette(palette)
    img, _ = open_image(image)
    sheet = contact_sheet(img, pal, metrics or None, dithers or None, tile=tile,
                          dither_strength=dither_strength, serpentine=not no_serpentine,
                          dither_space=dither_space, dither_clamp=dither_clamp,
                          alpha_threshold=alpha_threshold)
    if output == "-":
        sheet.save(sys.stdout.buffer, format="PNG")
        sys.stdout.buffer.flush()
        return
    _save_atomic(sheet, output)


def _save_atomic(sheet, output: str) -> None:
    """Never a half-written sheet: a temp file beside output, then a rename."""
    from ..atomic import write_atomic
    from ..errors import UsageError

    try:
        write_atomic(output, lambda f: sheet.save(f, format="PNG"), follow=True)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write there ({exc.strerror or exc})") from None
