"""The CLI shell: one error line and exit 2 for a library error, help everywhere, version."""

import subprocess
import sys

from click.testing import CliRunner

from palcli.cli import ExitCode, cli


def test_exit_codes_are_the_specs():
    assert [int(c) for c in ExitCode] == [0, 1, 2, 130, 143]


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert "palcli" in result.output


def test_unknown_palette_is_one_error_line_and_exit_2():
    result = CliRunner().invoke(cli, ["palette", "show", "no-such-palette-anywhere"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines() if hasattr(result, "stderr") else result.output.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("palcli: error: no-such-palette-anywhere")
    assert "Traceback" not in result.output


def test_help_does_not_import_numba():
    code = ("import sys; from palcli.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'numba' not in sys.modules, 'palcli --help imported numba'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_an_interrupt_swallowed_on_its_way_up_still_ends_the_run_with_130(capsys):
    # A KeyboardInterrupt raised inside a finaliser (Dask's and asyncio's __del__ run at any
    # moment) is only printed there; the signal is remembered and decides the outcome anyway.
    import signal

    from palcli.cli._signals import SIGNALLED
    from palcli.cli._shell import boundary

    def run():
        SIGNALLED.append(signal.SIGINT)  # the handler ran; its exception went nowhere
        return 0

    assert boundary(run) == 130
    assert capsys.readouterr().err.strip() == "palcli: interrupted"
    assert boundary(lambda: 0) == 0  # the next command in this process starts afresh
