"""Every command and sub-command has --help and is named in README.md.

Commands are found by walking the click tree, so a command added anywhere is covered.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from palcli.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def command_paths(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path] if path else []
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "palcli")
        for name in command.list_commands(ctx):
            paths += command_paths(command.get_command(ctx, name), path + (name,))
    return paths


COMMANDS = command_paths(cli)


def test_the_tree_walk_finds_the_commands():
    assert {("palette",), ("palette", "list"), ("palette", "show"), ("palette", "convert")} <= set(COMMANDS)
    assert {("convert",), ("cache",), ("preview",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", [()] + COMMANDS, ids=lambda p: " ".join(("palcli",) + p))
def test_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    # A real description, not just the usage line.
    assert len(result.stdout.strip().splitlines()) > 3


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(("palcli",) + p))
def test_command_is_named_in_the_readme(path):
    name = " ".join(("palcli",) + path)
    assert re.search(rf"{re.escape(name)}(?![\w-])", README), f"README.md does not mention '{name}'"
