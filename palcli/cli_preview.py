"""palcli preview: not yet written."""

import click


@click.command(name="preview")
def preview() -> None:
    """Not yet written."""
    raise click.ClickException("'palcli preview' is not written yet")
