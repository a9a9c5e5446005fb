"""palcli palette: not yet written."""

import click


@click.command(name="palette")
def palette() -> None:
    """Not yet written."""
    raise click.ClickException("'palcli palette' is not written yet")
