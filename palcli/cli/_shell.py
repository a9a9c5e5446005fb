"""What every command shares: exit codes, the one error boundary, stderr lines, the progress bar.

The boundary (Group.main) maps outcomes to exit codes in one place: palcli errors -> 2 with one
'palcli: error: ...' line, Ctrl-C -> 130, SIGTERM -> 143. Inside it, PalcliWarnings and palcli's
log messages become 'palcli: warning: ...' and 'palcli: ...' lines on stderr (written through
the progress bar when one is shown); both are routed only while a command runs.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import warnings
from contextlib import contextmanager
from enum import IntEnum
from importlib import import_module

import click

from .. import __version__
from ..errors import PalcliError, PalcliWarning, Terminated
from ._signals import raise_if_signalled


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # some inputs failed; the others were converted
    USAGE = 2  # bad arguments or palette; nothing written
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """text with control characters escaped ('\\n', '\\x1b'): a file or palette name cannot
    split a line (and so forge another file's), nor send escapes to the terminal."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class Console:
    """stderr lines of the running command; through the progress bar while one is shown.
    Every line is made printable."""

    def __init__(self):
        self.bar = None
        self.quiet = False

    def line(self, text: str) -> None:
        text = printable(text)
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            click.echo(text, err=True)

    def error(self, message: str) -> None:
        self.line(f"palcli: error: {message}")

    def warning(self, message: str) -> None:
        if not self.quiet:
            self.line(f"palcli: warning: {message}")

    def note(self, message: str) -> None:
        if not self.quiet:
            self.line(f"palcli: {message}")


console = Console()


@contextmanager
def progress(total: int, quiet: bool):
    """A tqdm bar on stderr while the block runs, when stderr is a terminal and not quiet."""
    if quiet or total == 0 or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: workers may be forked later
    bar = tqdm(total=total, unit="img", file=sys.stderr, leave=False)
    console.bar = bar
    try:
        yield bar
    finally:
        console.bar = None
        bar.close()


class _LogLines(logging.Handler):
    """palcli's log records as 'palcli: ...' lines (DEBUG too under PALCLI_DEBUG=1)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            console.warning(record.getMessage())
        else:
            console.note(record.getMessage())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, PalcliWarning):
        console.warning(str(message))
    else:
        _default_show(message, category, filename, lineno, file, line)


_default_show = warnings.showwarning


@contextmanager
def _routed():
    """Warnings and log records to the console while a command runs; restored after."""
    logger = logging.getLogger("palcli")
    handler = _LogLines()
    previous_level = logger.level
    logger.setLevel(logging.DEBUG if os.environ.get("PALCLI_DEBUG") else logging.INFO)
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("once", PalcliWarning)
            warnings.showwarning = _show_warning  # restored by catch_warnings
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        console.quiet = False


@contextmanager
def _signals_raise():
    """While active, SIGINT and SIGTERM raise KeyboardInterrupt and Terminated in the main
    thread (so clean-up runs), and are remembered (see palcli.cli.SIGNALLED)."""
    from ._signals import SIGNALLED, on_signal

    SIGNALLED.clear()  # a command run in-process after another starts afresh
    try:
        previous = [signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)]
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for s, handler in zip((signal.SIGINT, signal.SIGTERM), previous):
            signal.signal(s, handler)


def silence_stdout() -> None:
    """Standard output's reader has gone (a closed pipe): send what is left, and the flush at
    exit, to /dev/null instead of raising again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def boundary(run) -> int:
    """run() inside the boundary; its outcome as an exit code, with the one line it deserves."""
    try:
        with _signals_raise(), _routed():
            try:
                code = run()
                raise_if_signalled()  # one lost on its way up still decides the outcome
            except click.Abort as exc:  # click turns Ctrl-C into Abort
                if isinstance(exc.__context__, KeyboardInterrupt):
                    raise KeyboardInterrupt from None
                raise
        return int(code or 0)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        console.error("aborted")
        return ExitCode.FAILED
    except PalcliError as exc:
        console.error(str(exc))
        return ExitCode.USAGE
    except KeyboardInterrupt:
        console.line("palcli: interrupted")
        return ExitCode.INTERRUPTED
    except Terminated:
        console.line("palcli: terminated")
        return ExitCode.TERMINATED
    except BrokenPipeError:  # `palcli palette show nes | head -1`: quietly, as SIGPIPE would
        silence_stdout()
        return 128 + signal.SIGPIPE


# Commands: name -> module under palcli.cli; each module defines a click command of that name.
COMMANDS = {"convert": "convert", "palette": "palette", "cache": "cache",
            "preview": "preview", "check": "check"}


class Group(click.Group):
    """The palcli group: commands imported when used, and every run inside boundary()."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        module = COMMANDS.get(name)
        if module is None:
            return None
        return getattr(import_module(f"{__package__}.{module}"), name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        code = boundary(lambda: super(Group, self).main(args, prog_name, complete_var,
                                                        standalone_mode=False, **extra))
        if standalone_mode:
            sys.exit(code)
        return code


def _versions(ctx, param, value) -> None:
    """--version: palcli's and its engines' versions and the cache dir, as black and ruff do."""
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    from ..cache import cache_dir

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    click.echo(f"palcli {__version__}")
    click.echo(f"numpy {of('numpy')}, Pillow {of('pillow')}, numba {of('numba')}")
    click.echo(f"Python {sys.version.split()[0]}")
    click.echo(f"cache dir: {cache_dir()}")
    ctx.exit(0)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_versions,
              help="Print the versions of palcli, numpy, Pillow and numba, and the cache dir.")
def cli() -> None:
    """Map images exactly onto a fixed palette."""


class ReportFile:
    """--report: JSON lines to standard output ('-') or to FILE. A FILE is written under a temp
    name as the run goes and renamed at the end, so an existing report is replaced whole; it may
    not be one of the run's inputs or outputs. A write that fails (a full disk) is said once and
    the batch goes on; the run then exits 1."""

    def __init__(self, path: str | None, plan):
        self.path, self.stream, self.tmp, self.failed = path, None, None, None
        if path is not None and path != "-":
            _refuse_report_clash(path, plan)

    def __enter__(self):
        from ..atomic import temp_name
        from ..errors import UsageError

        if self.path == "-":
            self.stream = sys.stdout
        elif self.path is not None:
            try:
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                self.tmp = temp_name(self.path)
                fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | getattr(os, "O_NOFOLLOW", 0), 0o666)
                self.stream = os.fdopen(fd, "w", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"{self.path}: cannot write the report: "
                                 f"{exc.strerror or exc}") from None
        return self

    def write(self, result) -> None:
        if self.stream is None or self.failed:
            return
        try:
            self.stream.write(result.json_line())
            self.stream.flush()
        except BrokenPipeError:
            if self.stream is not sys.stdout:
                raise
            # `--report - | head -1`: the reader has what it wanted; convert the rest quietly.
            silence_stdout()
            self.stream = None
        except OSError as exc:
            self.failed = exc.strerror or str(exc)
            console.error(f"{self.path or '-'}: cannot write the report: {self.failed}")

    def __exit__(self, *exc_info):
        if self.tmp is None:
            return False
        try:
            self.stream.close()
            if not self.failed:
                os.replace(self.tmp, self.path)
        except OSError as exc:
            if not self.failed:
                self.failed = exc.strerror or str(exc)
                console.error(f"{self.path}: cannot write the report: {self.failed}")
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
        return False

    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _refuse_report_clash(path: str, plan) -> None:
    from ..errors import UsageError

    target = os.path.realpath(path)
    for task in plan.tasks + plan.skipped + [t for t, _ in plan.conflicts]:
        for role, p in (("an input", task.input), ("an output", task.output)):
            if p != "-" and os.path.realpath(p) == target:
                raise UsageError(f"--report {path} is {role} of this run; choose another file")
