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
    """Counts results as they come; the exit status and summary of the whole run.
    on_result(result), when given, is called with each result as it is added."""

    def __init__(self, on_result=None):
        self.counts = {OK: 0, SKIPPED: 0, ERROR: 0}
        self.on_result = on_result

    def add(self, result: Result) -> None:
        self.counts[result.status] += 1
        if self.on_result is not None:
            self.on_result(result)

    def add_all(self, results) -> None:
        """Add every result an executor yields; close it however this ends (an interrupt then
        stops its workers, and no output is left partial)."""
        try:
            for result in results:
                self.add(result)
        finally:
            results.close()

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
