"""palcli cache: show, clear and fill the cube cache."""

from __future__ import annotations

import click

from ..metrics import DEFAULT_METRIC, METRICS


def _mib(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MiB"


@click.group(name="cache")
def cache() -> None:
    """The cache of colour cubes (one per palette and metric)."""


@cache.command()
def info() -> None:
    """Print the cache dir and each cached cube's palette, metric and size."""
    from ..cache import cache_info

    ci = cache_info()
    click.echo(f"cache dir: {ci.dir}")
    for c in ci.cubes:
        if c.ok:
            click.echo(f"  {c.palette}  {c.metric}  {c.colors} colours  {_mib(c.size)}  "
                       f"{c.path.name}")
        else:
            click.echo(f"  (unreadable, rebuilt on use)  {_mib(c.size)}  {c.path.name}")
    click.echo(f"{len(ci.cubes)} cube{'s' * (len(ci.cubes) != 1)}, {_mib(ci.size)}")


@cache.command()
def clear() -> None:
    """Delete every cached cube (only palcli's own files)."""
    from ..cache import cache_dir, cache_info, clear_cache
    from ..cube import forget

    n = len(cache_info().cubes)
    freed = clear_cache()
    forget()
    click.echo(f"removed {n} cube{'s' * (n != 1)} ({_mib(freed)}) from {cache_dir()}")


@cache.command()
@click.argument("palette")
@click.option("-m", "--metric", type=click.Choice(list(METRICS)), default=DEFAULT_METRIC,
              show_default=True, help="Distance the cube is built for.")
def build(palette: str, metric: str) -> None:
    """Build (or verify) the cube for PALETTE and METRIC ahead of a conversion."""
    from ..cube import get_cube
    from ..palette import load_palette

    pal = load_palette(palette)
    cube = get_cube(pal, metric)
    where = str(cube.path) if cube.path is not None else "memory only"
    click.echo(f"{pal.name} ({len(pal)} colours, {metric}): {where}")
