"""Result records, counts and the exit status of a conversion."""

from __future__ import annotations

import json
from dataclasses import dataclass

OK, SKIPPED, ERROR = "ok", "skipped", "error"


@dataclass(frozen=True)
class Result:
    """What became of one input; small and picklable, sent back by workers."""

    input: str
    output: str
    status: str  # ok | skipped | error
    error: str | None = None  # the reason, for errors (and for skips that have one)
    pixels: int = 0  # pixels read (every frame)
    seconds: float = 0.0  # wall time in the worker
    warnings: tuple[str, ...] = ()  # PalcliWarning messages raised while converting
    redone: str | None = None  # --skip-existing: why an existing output was made again

    def record(self) -> dict:
        """The report line: the keys the SPEC names, and 'redone' when an existing output was
        made again under --skip-existing (why)."""
        rec = {"input": self.input, "output": self.output, "status": self.status,
               "error": self.error, "pixels": self.pixels, "seconds": round(self.seconds, 6)}
        if self.redone:
            rec["redone"] = self.redone
        return rec

    def json_line(self) -> str:
        return json.dumps(self.record()) + "\n"


class Report:
    """Counts results as they come; the exit status and summary of the whole run."""

    def __init__(self):
        self.counts = {OK: 0, SKIPPED: 0, ERROR: 0}

    def add(self, result: Result) -> None:
        self.counts[result.status] += 1

    @property
    def failed(self) -> int:
        return self.counts[ERROR]

    def exit_code(self) -> int:
        """0 when every input was converted or skipped, 1 when any failed."""
        return 1 if self.counts[ERROR] else 0

    def summary(self) -> str:
        c = self.counts
        parts = [f"{c[OK]} converted"]
        if c[SKIPPED]:
            parts.append(f"{c[SKIPPED]} skipped")
        if c[ERROR]:
            parts.append(f"{c[ERROR]} failed")
        return ", ".join(parts)
