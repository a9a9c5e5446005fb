"""palcli cache: not yet written."""

import click


@click.command(name="cache")
def cache() -> None:
    """Not yet written."""
    raise click.ClickException("'palcli cache' is not written yet")
