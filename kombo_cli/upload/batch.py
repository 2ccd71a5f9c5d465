"""A run of many requests: workers, the tally and exit code, and what Ctrl-C leaves behind.

`BatchRun.results()` hands each result to the caller's thread as it finishes (real runs
on `workers` threads; dry runs on one, in file order) and counts it. After Ctrl-C,
`finish_after_interrupt()` stops the workers and returns what finished meanwhile, and
`interruption()` says truthfully which uploads may have been stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Callable

from kombo_cli.api.defaults import DEFAULT_CONCURRENCY
from kombo_cli.errors import ExitCode, Interrupted, KomboError
from kombo_cli.upload.files import STDIN_ARGUMENT
from kombo_cli.upload.plan import AttachmentPlan
from kombo_cli.upload.request import AttachRequest, Entry
from kombo_cli.upload.result import ERROR, PLANNED_SKIP, SKIPPED, AttachResult
from kombo_cli.upload.run import AttachPipeline
from kombo_cli.upload.workers import Runner


@dataclass
class Tally:
    succeeded: int = 0
    skipped: int = 0
    failed: int = 0
    first_failure: KomboError | None = None
    # The upload phase: from when the first item starts to when the last one is done.
    first_started: float | None = None
    last_finished: float | None = None

    def start(self) -> None:
        self.first_started = time.monotonic()

    def add(self, result: AttachResult) -> None:
        self.last_finished = time.monotonic()
        if result.status == ERROR:
            self.failed += 1
            self.first_failure = self.first_failure or result.error
        elif result.status in (SKIPPED, PLANNED_SKIP):
            self.skipped += 1
        else:
            self.succeeded += 1

    @property
    def count(self) -> int:
        return self.succeeded + self.skipped + self.failed

    @property
    def elapsed_s(self) -> float:
        if self.first_started is None or self.last_finished is None:
            return 0.0
        return self.last_finished - self.first_started

    def exit_code(self, single: bool, total: int | None) -> int:
        """0 when nothing failed; one request's own code when it was the only one; else 7."""
        if self.failed == 0:
            return ExitCode.SUCCESS
        if single or (total == 1 and self.count == 1):
            assert self.first_failure is not None
            return self.first_failure.exit_code
        return ExitCode.PARTIAL


class _Job:
    """One entry's place in the run (an entry may be listed twice)."""

    __slots__ = ("entry",)

    def __init__(self, entry: Entry) -> None:
        self.entry = entry


class BatchRun:
    def __init__(
        self,
        pipeline: AttachPipeline,
        *,
        workers: int = DEFAULT_CONCURRENCY,
        fail_fast: bool = False,
        dry_run: bool = False,
        resolve: bool = False,
        request_preview: Callable[[AttachmentPlan], dict[str, Any] | None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.tally = Tally()
        self._runner: Runner[_Job, AttachResult] = Runner(
            self._work,
            # A dry run reads files and maybe looks things up: in file order, one at a time.
            workers=1 if dry_run else workers,
            stop_after=(lambda result: result.status == ERROR) if fail_fast else None,
        )
        self._dry_run = dry_run
        self._resolve = resolve
        self._request_preview = request_preview or (lambda _plan: None)
        self._in_flight_at_interrupt: list[_Job] = []

    def _work(self, job: _Job) -> AttachResult:
        if self._dry_run:
            return self.pipeline.preview(
                job.entry, resolve=self._resolve, request_preview=self._request_preview
            )
        return self.pipeline.process(job.entry, token=job)

    def results(self, entries: Iterable[Entry]) -> Iterator[AttachResult]:
        """Each entry's result, on the caller's thread, as it finishes."""
        self.tally.start()
        for finished in self._runner.run(_Job(entry) for entry in entries):
            self.tally.add(finished.result)
            yield finished.result
            # Shown by now: Ctrl-C from here on cannot leave it unsaid.
            self.pipeline.reported(finished.item)

    def not_attempted(self, total: int | None) -> int:
        """Items never started because --fail-fast stopped the run."""
        if not self._runner.stopped or total is None:
            return 0
        return total - self.tally.count

    def finish_after_interrupt(self) -> list[AttachResult]:
        """After Ctrl-C: start nothing more, and return (and count) the results that finished
        in the last moment, so they are reported rather than left unsaid."""
        self._runner.stop()
        in_flight = self._runner.in_flight()
        drained = []
        for finished in self._runner.drain():
            self.tally.add(finished.result)
            drained.append(finished.result)
            in_flight = [job for job in in_flight if job is not finished.item]
        self._in_flight_at_interrupt = in_flight
        return drained

    def interruption(self, single: bool) -> Interrupted:
        """Ctrl-C: say which uploads may have been stored, and that the others were not.

        Speaks of the uploads `finish_after_interrupt()` found in flight: call that first."""
        pipeline = self.pipeline
        in_flight = self._in_flight_at_interrupt
        maybe = [job.entry for job in in_flight if not pipeline.certainly_not_stored(job)]
        if not maybe:
            if single and in_flight:
                shown = _shown(in_flight[0].entry)
                return Interrupted(
                    f"Interrupted while waiting to retry {shown}; it was not stored."
                    if pipeline.waiting_to_retry(in_flight[0])
                    else f"Interrupted before {shown} was sent; it was not stored.",
                    hint="run the command again",
                )
            return Interrupted(
                "Interrupted; no upload was being sent, so nothing more was stored.",
                hint=None if single else "run the same command again with --skip-existing",
            )
        hint = (
            f"check with `kombo attachments list {_list_argument(maybe[0])}` before running"
            " the command again"
            if single
            else "run the same command again with --skip-existing to attach only what is missing"
        )
        if len(maybe) == 1:
            return Interrupted(
                f"Interrupted while attaching {_shown(maybe[0])}; it may or may not have been"
                " stored.",
                hint=hint,
            )
        names = [_shown(entry) for entry in maybe]
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return Interrupted(
            f"Interrupted with {len(names)} uploads being sent ({listed});"
            " they may or may not have been stored.",
            hint=hint,
        )


def _list_argument(entry: Entry) -> str:
    return entry.list_argument if isinstance(entry, AttachRequest) else "CANDIDATE_ID"


def _shown(entry: Entry) -> str:
    return "standard input" if entry.label == STDIN_ARGUMENT else entry.label
