"""The palcli command line: a thin click layer over the library.

Every library error becomes one 'palcli: error: ...' line and an exit code, here in one place.
Sub-commands live in cli_<name>.py modules and are registered below.
"""

from __future__ import annotations

import sys
import warnings
from enum import IntEnum

import click

from . import __version__
from .errors import PalcliError, PalcliWarning


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # some inputs failed; the others were converted
    USAGE = 2  # bad arguments or palette; nothing written
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM


def echo_error(message: str) -> None:
    click.echo(f"palcli: error: {message}", err=True)


def echo_warning(message: str) -> None:
    click.echo(f"palcli: warning: {message}", err=True)


class PalcliUsageError(click.ClickException):
    """A library error surfaced by a command: one line, exit 2."""

    exit_code = ExitCode.USAGE

    def show(self, file=None) -> None:
        echo_error(self.message)


class Group(click.Group):
    # Sub-commands run inside this invoke, so this one catch covers every command.
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PalcliError as exc:
            raise PalcliUsageError(str(exc)) from None


def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, PalcliWarning):
        echo_warning(str(message))
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="palcli")
def cli() -> None:
    """Map images exactly onto a fixed palette."""
    warnings.showwarning = _show_warning
    warnings.simplefilter("once", PalcliWarning)


def _register() -> None:
    from .cli_cache import cache
    from .cli_convert import convert
    from .cli_palette import palette
    from .cli_preview import preview

    for command in (convert, palette, cache, preview):
        cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="palcli")


if __name__ == "__main__":
    sys.exit(main())
