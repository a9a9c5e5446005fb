"""The palcli command line: a thin click layer over the library.

Commands live in palcli.cli.<name> and are imported only when invoked (see _shell.COMMANDS).
Every command runs inside one error boundary (_shell.Group.main): palcli errors become one
'palcli: error: ...' line and exit 2, Ctrl-C exit 130, SIGTERM exit 143.
"""

import signal
import sys


def main() -> None:
    """The console script: signals are routed before anything heavy is imported, so an
    interrupt at any moment ends in the same line and exit status."""
    from ..errors import Terminated
    from ._signals import on_signal

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        from ._shell import cli

        code = cli.main(prog_name="palcli", standalone_mode=False)
    except KeyboardInterrupt:  # before the boundary was entered
        sys.stderr.write("palcli: interrupted\n")
        code = 130
    except Terminated:
        sys.stderr.write("palcli: terminated\n")
        code = 143
    # The outcome is decided: a signal during the interpreter's shutdown must not change it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(code)


def __getattr__(name):
    # `from palcli.cli import cli, ExitCode` without importing click for the entry point.
    if name in ("cli", "ExitCode"):
        from . import _shell

        return getattr(_shell, name)
    raise AttributeError(name)
