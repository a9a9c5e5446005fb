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
@click.option("--verify", is_flag=True, help="Also check every cube's checksum (reads them whole).")
def info(verify: bool) -> None:
    """Print the cache dir and each cached cube's palette, metric, colours and size."""
    from ..cache import cache_info, cache_max

    ci = cache_info(verify=verify)
    click.echo(f"cache dir: {ci.dir}")
    cubes = sorted(ci.cubes, key=lambda c: (not c.ok, c.palette or "", c.metric or ""))
    rows = [(c.palette or "?", c.metric or "?", "?" if c.colors is None else str(c.colors),
             _mib(c.size), "ok" if c.ok else "damaged, rebuilt on use", c.path.name)
            for c in cubes]
    if rows:
        header = ("palette", "metric", "colours", "size", "state", "file")
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
        for row in [header] + rows:
            click.echo("  " + "  ".join(f"{v:>{w}}" if i in (2, 3) else f"{v:<{w}}"
                                        for i, (v, w) in enumerate(zip(row, widths))).rstrip())
    limit = cache_max()
    bound = f" of {_mib(limit)} (PALCLI_CACHE_MAX)" if limit else " (no limit: PALCLI_CACHE_MAX=0)"
    click.echo(f"{len(ci.cubes)} cube{'s' * (len(ci.cubes) != 1)}, {_mib(ci.size)}{bound}")


@cache.command()
@click.option("--older-than", "days", type=click.FloatRange(min=0), default=None,
              metavar="DAYS", help="Only cubes not used for this many days (and not in use).")
def clear(days: float | None) -> int:
    """Delete every cached cube (only palcli's own files), or those unused for DAYS."""
    from ..cache import cache_dir, cache_info, clear_cache, evict
    from ..cube import forget
    from ._shell import console

    if days is not None:
        removed = evict(cache_dir(), 0, older_than=days * 86400)
        forget()
        click.echo(f"removed {len(removed)} cube{'s' * (len(removed) != 1)} unused for "
                   f"{days:g} days from {cache_dir()}")
        return 0
    before = len(cache_info().cubes)
    freed, failed = clear_cache()
    forget()
    n = before - len(cache_info().cubes)
    click.echo(f"removed {n} cube{'s' * (n != 1)} ({_mib(freed)}) from {cache_dir()}")
    for path, reason in failed:
        console.error(f"cannot remove {path}: {reason}")
    return 1 if failed else 0


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
    how = "built" if cube.built else "found in the cache"
    where = str(cube.path) if cube.path is not None else "kept in memory only"
    click.echo(f"{pal.name} ({len(pal)} colours, {metric}): {how}, {where}")
