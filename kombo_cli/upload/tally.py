"""What a run has done so far: counts for the summary, per integration too, and the exit code."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kombo_cli.errors import ExitCode, KomboError
from kombo_cli.upload.result import ERROR, PLANNED_SKIP, SKIPPED, AttachResult


@dataclass
class Counts:
    succeeded: int = 0
    skipped: int = 0
    failed: int = 0

    def to_json(self) -> dict[str, int]:
        return {"succeeded": self.succeeded, "skipped": self.skipped, "failed": self.failed}


@dataclass
class Tally(Counts):
    first_failure: KomboError | None = None
    # The upload phase: from when the first item starts to when the last one is done.
    first_started: float | None = None
    last_finished: float | None = None
    # The same counts for each integration results went to, in the order first seen.
    by_integration: dict[str, Counts] = field(default_factory=dict)

    def start(self) -> None:
        self.first_started = time.monotonic()

    def add(self, result: AttachResult, finished: float | None = None) -> None:
        self.last_finished = finished or time.monotonic()
        own = self._own_counts(result)
        for counts in (self, own) if own is not None else (self,):
            if result.status == ERROR:
                counts.failed += 1
            elif result.status in (SKIPPED, PLANNED_SKIP):
                counts.skipped += 1
            else:
                counts.succeeded += 1
        if result.status == ERROR:
            self.first_failure = self.first_failure or result.error

    def unreport(self, result: AttachResult) -> None:
        """A success counted already turned out not to be shown (its reader went away)."""
        self.succeeded -= 1
        own = self._own_counts(result)
        if own is not None:
            own.succeeded -= 1

    def _own_counts(self, result: AttachResult) -> Counts | None:
        if result.integration_id is None:
            return None
        return self.by_integration.setdefault(result.integration_id, Counts())

    @property
    def count(self) -> int:
        return self.succeeded + self.skipped + self.failed

    @property
    def elapsed_s(self) -> float:
        if self.first_started is None:
            return 0.0
        # Nothing counted yet (Ctrl-C before the first result was shown): until now.
        finished = self.last_finished if self.last_finished is not None else time.monotonic()
        return finished - self.first_started

    def exit_code(self, single: bool, total: int | None) -> int:
        """0 when nothing failed; one request's own code when it was the only one; else 7."""
        if self.failed == 0:
            return ExitCode.SUCCESS
        if single or (total == 1 and self.count == 1):
            assert self.first_failure is not None
            return self.first_failure.exit_code
        return ExitCode.PARTIAL
