"""The palcli error tree. The CLI turns these into one line and an exit code."""

from __future__ import annotations


class PalcliError(Exception):
    """Base of every error palcli raises on purpose."""


class PaletteError(PalcliError, ValueError):
    """A palette that cannot be read: names the source and, for text formats, the line."""

    def __init__(self, source: str, reason: str, line: int | None = None):
        self.source = str(source)
        self.reason = reason
        self.line = line
        where = self.source if line is None else f"{self.source}:{line}"
        super().__init__(f"{where}: {reason}")


class ImageError(PalcliError, ValueError):
    """An input image that cannot be read or converted."""

    def __init__(self, source: str, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class UsageError(PalcliError, ValueError):
    """Arguments that do not fit together (raised before anything is written)."""


class PalcliWarning(UserWarning):
    """A warning the CLI prints as one 'palcli: warning: ...' line on stderr."""


class Terminated(BaseException):
    """SIGTERM, raised in the main thread by the command line's handler, as KeyboardInterrupt
    is for SIGINT: clean-up runs on the way out."""
