"""A run of many requests: workers, the tally and exit code, and what Ctrl-C leaves behind.

`BatchRun.results()` hands each result to the caller's thread as it finishes (real runs
on `workers` threads; dry runs on one, in file order) and counts it once the caller comes
back for the next: a result is counted only after it has been shown.

Ctrl-C (`interrupt()`, which a signal handler may call) starts nothing more: no worker
takes a new item, and no upload attempt, first or retry, gets through the send gate (see
`send_gate`). `finish_after_interrupt()` then gives the uploads on the wire a moment to
finish, shows what finished, and `interruption()` names every upload that may have been
stored without its result being shown: those cut off on the wire or while checking, and
those stored whose line could not be written.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator, Iterable
from typing import Any, Callable

from kombo_cli.api.defaults import DEFAULT_CONCURRENCY
from kombo_cli.errors import Interrupted, OutcomeUnknown
from kombo_cli.upload import send_gate
from kombo_cli.upload.files import STDIN_ARGUMENT
from kombo_cli.upload.integrations import Lane, Lanes
from kombo_cli.upload.plan import AttachmentPlan
from kombo_cli.upload.request import AttachRequest, Entry, RowProblem
from kombo_cli.upload.result import ERROR, SUCCESS, AttachResult
from kombo_cli.upload.run import AttachPipeline
from kombo_cli.upload.tally import Tally
from kombo_cli.upload.workers import Finished, Runner, Sharing

# After Ctrl-C, how long uploads already on the wire get to finish before they are named
# as "may or may not have been stored" and left behind.
INTERRUPT_GRACE_S = 2.0


class _Job(send_gate.Work):
    """One entry's place in the run (an entry may be listed twice), in its integration's lane."""

    __slots__ = ("entry", "finished", "lane")

    def __init__(self, entry: Entry, gate: send_gate.Gate, lane: Lane) -> None:
        super().__init__(gate)
        self.entry = entry
        self.lane = lane
        self.finished: float | None = None

    @property
    def pipeline(self) -> AttachPipeline:
        return self.lane.pipeline


class BatchRun:
    def __init__(
        self,
        lanes: Lanes,
        *,
        workers: int = DEFAULT_CONCURRENCY,
        fail_fast: bool = False,
        dry_run: bool = False,
        resolve: bool = False,
        request_preview: Callable[[AttachmentPlan], dict[str, Any] | None] | None = None,
    ) -> None:
        self.lanes = lanes
        self.tally = Tally()
        self._runner: Runner[_Job, AttachResult] = Runner(
            self._work,
            # A dry run reads files and maybe looks things up: in file order, one at a time.
            workers=1 if dry_run else workers,
            stop_after=(lambda result: result.status == ERROR) if fail_fast else None,
            # The workers are shared between integrations, each up to its own limit.
            sharing=None if dry_run else Sharing(_lane_of, lanes.capacity),
        )
        self._dry_run = dry_run
        self._resolve = resolve
        self._request_preview = request_preview or (lambda _plan: None)
        self._gate = send_gate.Gate()
        # Without the gate (no client to send with) the pipeline's own stages decide what
        # may have been stored.
        self._gated = not dry_run and _install_gate(lanes)
        self.interrupted = False
        # Results handed out (or about to be) whose line has not been shown yet.
        self._unshown: dict[_Job, AttachResult] = {}
        self._cut_short: list[_Job] = []
        self._in_flight_at_interrupt: list[_Job] = []
        self._maybe_stored: list[Entry] = []
        self._stored_unshown: list[AttachResult] = []
        # Shown and counted, but perhaps lost with a reader that Ctrl-C stopped too.
        self._stored_perhaps_unseen: list[AttachResult] = []

    def _work(self, job: _Job) -> AttachResult:
        lane = job.lane
        started = time.monotonic()
        try:
            result = self._outcome(job)
        finally:
            job.finished = time.monotonic()
        self.lanes.refused(lane, result.error, job.entry.label, started)
        entry = job.entry
        if isinstance(entry, RowProblem) and entry.unreadable_integration:
            # Its integration_id could not be read: it is no customer's failure.
            return result
        return dataclasses.replace(result, integration_id=lane.integration_id)

    def _outcome(self, job: _Job) -> AttachResult:
        if self._dry_run:
            return job.pipeline.preview(
                job.entry, resolve=self._resolve, request_preview=self._request_preview
            )
        with send_gate.working_on(job):
            try:
                return job.pipeline.process(job.entry, token=job)
            except Interrupted as error:
                # Ctrl-C closed the gate before this attempt went out: not stored.
                job.refused = True
                return AttachResult(ERROR, job.entry, error=error)

    def results(self, entries: Iterable[Entry]) -> Generator[AttachResult, None, None]:
        """Each entry's result, on the caller's thread, as it finishes. A result counts once
        the caller asks for the next one (it has been shown by then). After `interrupt()`
        the iteration ends; `finish_after_interrupt()` collects the rest."""
        self.tally.start()
        runner = self._runner
        lanes = self.lanes
        jobs = (_Job(entry, self._gate, lanes.for_entry(entry)) for entry in entries)
        for finished in runner.run(jobs):
            if self._take(finished):
                yield finished.result
                self._shown(finished.item)

    def _take(self, finished: Finished[_Job, AttachResult]) -> bool:
        """Note a result as handed out but not shown; False for work Ctrl-C cut short."""
        job = finished.item
        if job.refused:
            self._cut_short.append(job)
        else:
            self._unshown[job] = finished.result
        self._runner.release(job)
        return not job.refused

    def _shown(self, job: _Job) -> None:
        result = self._unshown.pop(job)
        self.tally.add(result, job.finished)
        # Shown by now: Ctrl-C from here on cannot leave it unsaid.
        job.pipeline.reported(job)

    def not_attempted(self, total: int | None) -> int:
        """Items never started because --fail-fast stopped the run."""
        if not self._runner.stopped or total is None:
            return 0
        return total - self.tally.count

    def left_undone(self, total: int | None) -> int:
        """After Ctrl-C: items neither shown nor named as possibly stored (never started,
        or certainly not stored). Speaks of what `finish_after_interrupt()` found."""
        if total is None:
            return 0
        named = len(self._maybe_stored) + len(self._stored_unshown)
        return max(0, total - self.tally.count - named)

    def interrupt(self) -> None:
        """Ctrl-C: no item and no upload attempt starts any more. Only sets flags, so a
        signal handler may call it."""
        self.interrupted = True
        self._gate.close()
        self._runner.halt()

    def finish_after_interrupt(
        self,
        show: Callable[[AttachResult], bool] | None = None,
        *,
        until: float | None = None,
        waiting: Callable[[int], None] | None = None,
    ) -> list[AttachResult]:
        """After Ctrl-C: start nothing more; until the monotonic time `until` (default:
        INTERRUPT_GRACE_S from now) wait for the uploads that may have been stored; show
        each result that comes with `show` (which says whether its line was written), and
        count those shown. Returns them. `waiting` hears how many uploads are waited for.
        Without `show`, every result returned counts as shown."""
        self.interrupt()
        runner = self._runner
        deadline = time.monotonic() + INTERRUPT_GRACE_S if until is None else until
        shown: list[AttachResult] = []

        def offer(job: _Job) -> None:
            result = self._unshown[job]
            if show is None or show(result):
                self._shown(job)
                shown.append(result)

        # A result the caller could not show before: its reader may be back.
        for job in list(self._unshown):
            offer(job)
        announced = False
        while True:
            finished = runner.next_finished(timeout=0.05)
            if finished is not None:
                if self._take(finished):
                    offer(finished.item)
                continue
            pending = [job for job in runner.in_flight() if self._may_be_stored(job)]
            if not pending or time.monotonic() >= deadline:
                break
            if waiting is not None and not announced:
                waiting(len(pending))
                announced = True
        # Whatever is still out there is judged now. Nothing new can go out any more, and
        # work judged not stored never sent anything, or waits to retry after a refusal.
        in_flight = [job for job in runner.in_flight() if job not in self._unshown]
        runner.abandon()
        self._in_flight_at_interrupt = in_flight
        self._maybe_stored = [job.entry for job in in_flight if self._may_be_stored(job)]
        for result in self._unshown.values():
            if result.status == SUCCESS:
                self._stored_unshown.append(result)
            elif isinstance(result.error, OutcomeUnknown):
                self._maybe_stored.append(result.entry)
        return shown

    def finished_anyway(self, total: int | None) -> bool:
        """After Ctrl-C (and `finish_after_interrupt()`): every item was done and shown all
        the same, nothing cut short or left open. The run then ends as if never stopped:
        calling it interrupted would invite a rerun of work that is complete."""
        return (
            total is not None
            and self.tally.count == total
            and not self._cut_short
            and not self._maybe_stored
            and not self._stored_unshown
            and not self._stored_perhaps_unseen
        )

    def lost_on_the_way(self, lost: list[object], perhaps_lost: list[object]) -> None:
        """After Ctrl-C: results shown, as far as could be told, whose lines a reader stopped
        by the same Ctrl-C never read (`lost`), or took in that instant and may have died
        with (`perhaps_lost`). Stored uploads among them are named instead, or as well."""
        for result in lost:
            if isinstance(result, AttachResult) and result.status == SUCCESS:
                self.tally.unreport(result)
                self._stored_unshown.append(result)
        self._stored_perhaps_unseen += [
            result
            for result in perhaps_lost
            if isinstance(result, AttachResult) and result.status == SUCCESS
        ]

    @property
    def maybe_stored(self) -> int:
        """After Ctrl-C: uploads cut off with their fate open (named in the interruption)."""
        return len(self._maybe_stored)

    @property
    def stored_unreported(self) -> int:
        """After Ctrl-C: uploads stored whose result line could not be written."""
        return len(self._stored_unshown)

    def _may_be_stored(self, job: _Job) -> bool:
        pipeline = job.pipeline
        if pipeline.checking(job):
            # Looking for an upload whose fate is open (perhaps one an earlier run left
            # half-sent, so nothing went out in this run).
            return True
        if not self._gated:
            return not pipeline.certainly_not_stored(job)
        return job.sent and not job.refused and not pipeline.waiting_to_retry(job)

    def interruption(self, single: bool) -> Interrupted:
        """Ctrl-C: say which uploads may have been stored, and that the others were not.

        Speaks of what `finish_after_interrupt()` found: call that first."""
        maybe = self._maybe_stored
        stored = self._stored_unshown
        perhaps = self._stored_perhaps_unseen
        listed = {
            "may_have_been_stored": [
                _entry_json(entry, self.lanes.default_integration) for entry in maybe
            ],
            "stored_not_reported": [result.to_json() for result in stored],
            "stored_perhaps_not_shown": [result.to_json() for result in perhaps],
        }
        if not maybe and not stored and not perhaps:
            interrupted = self._nothing_stored(single)
            interrupted.listed = listed
            return interrupted
        hint = (
            self._rerun_hint()
            if not single
            else f"check with `kombo attachments list {_list_argument(maybe[0])}` before"
            " running the command again"
            if maybe
            else "it is attached: do not send it again"
        )
        if single:
            message = (
                f"Interrupted while attaching {_shown(maybe[0])}; it may or may not have been"
                " stored."
                if maybe
                else f"Interrupted after {_shown(stored[0].entry)} was attached; the result"
                " could not be written to standard output."
                if stored
                else f"Interrupted after {_shown(perhaps[0].entry)} was attached; the result"
                " was written as standard output's reader stopped, and may not have been"
                " shown."
            )
            return Interrupted(message, hint=hint, listed=listed)
        parts = []
        if maybe:
            parts.append(f"{_count(maybe, 'upload')} may or may not have been stored")
        if stored:
            parts.append(
                f"{_count(stored, 'upload')} {'was' if len(stored) == 1 else 'were'} stored"
                " but not reported on standard output"
            )
        if perhaps:
            parts.append(
                f"{_count(perhaps, 'stored upload')} {'was' if len(perhaps) == 1 else 'were'}"
                " reported as standard output's reader stopped, and may not have been shown"
            )
        details = [f"may have been stored: {_shown(entry)}" for entry in maybe]
        details += [f"stored, not reported: {_shown(result.entry)}" for result in stored]
        details += [f"stored, perhaps not shown: {_shown(result.entry)}" for result in perhaps]
        return Interrupted(
            f"Interrupted; {'; '.join(parts)}.", hint=hint, listed=listed, details=details
        )

    def _nothing_stored(self, single: bool) -> Interrupted:
        work = self._in_flight_at_interrupt + self._cut_short
        if single and work:
            shown = _shown(work[0].entry)
            return Interrupted(
                f"Interrupted while waiting to retry {shown}; it was not stored."
                if work[0].pipeline.waiting_to_retry(work[0])
                else f"Interrupted before {shown} was sent; it was not stored.",
                hint="run the command again",
            )
        return Interrupted(
            "Interrupted; no upload was being sent, so nothing more was stored.",
            hint=None if single else self._rerun_hint(),
        )

    def _rerun_hint(self) -> str:
        return self.lanes.rerun_hint()


def _install_gate(lanes: Lanes) -> bool:
    """Mount the send gate in the HTTP session every lane's uploads go through."""
    session = lanes.session
    if session is None:  # no credentials: this run sends nothing
        return False
    send_gate.install(session)
    return True


def _lane_of(job: _Job) -> str | None:
    return job.lane.integration_id


def _entry_json(entry: Entry, own_integration: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if isinstance(entry, AttachRequest):
        payload = {"target": entry.target_json(), **entry.source_json()}
    integration = entry.integration_id or own_integration
    if integration is not None:
        # Which customer's ATS to look in.
        payload["integration_id"] = integration
    if entry.line is not None:
        payload["line"] = entry.line
    return payload


def _count(items: list[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _list_argument(entry: Entry) -> str:
    return entry.list_argument if isinstance(entry, AttachRequest) else "CANDIDATE_ID"


def _shown(entry: Entry) -> str:
    if entry.label == STDIN_ARGUMENT:
        return "standard input"
    named = f" in {entry.integration_id}" if entry.integration_id is not None else ""
    return f"{entry.label}{named}"
