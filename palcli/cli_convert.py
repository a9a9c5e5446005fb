"""palcli convert: not yet written."""

import click


@click.command(name="convert")
def convert() -> None:
    """Not yet written."""
    raise click.ClickException("'palcli convert' is not written yet")
