"""How `kombo attach` shows what happens: each result, the summary, progress and notices.

Results go to stdout (a line, or its JSON object with --json), everything else to stderr.
Lines are printed from the main thread only; worker threads reach the screen only through
the console's lock (warnings, retry notices) and the progress bars.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from kombo_cli.api.retry import RetryNotice
from kombo_cli.ui.console import Console
from kombo_cli.ui.progress import Advance, BatchProgress, batch_progress, upload_progress
from kombo_cli.ui.text import human_duration, human_size
from kombo_cli.upload.result import ERROR, JOURNAL, PLANNED, PLANNED_SKIP, SKIPPED, AttachResult
from kombo_cli.upload.run import RunObserver
from kombo_cli.upload.tally import Counts, Tally


class ConsoleObserver(RunObserver):
    """Warnings and retry notices on stderr, as they happen (from any thread)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def warning(self, message: str) -> None:
        self.console.warning(message)

    def retrying(self, subject: str, notice: RetryNotice) -> None:
        self.console.notice(f"{subject}: {notice.reason}; {notice.next_step}")


@dataclass(frozen=True)
class ShardShown:
    """With --shard K/N: which shard ran, its rows, and the manifest's."""

    index: int
    count: int
    rows: int
    of: int

    def to_json(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count, "rows": self.rows}

    def __str__(self) -> str:
        rows = "row" if self.of == 1 else "rows"
        return f"shard {self.index}/{self.count}: {self.rows} of {self.of} {rows}"


class AttachView(ConsoleObserver):
    """Renders one `kombo attach` run; `single` for one file without a manifest, `several`
    when a manifest's rows go to more than one integration (each result line names it)."""

    def __init__(
        self,
        console: Console,
        *,
        single: bool,
        shard: ShardShown | None = None,
        several: bool = False,
    ) -> None:
        super().__init__(console)
        self.single = single
        self.shard = shard
        self.several = several
        self._bars: BatchProgress | None = None
        self._single_bars: dict[object, ExitStack] = {}
        self._stopping = False

    # -- while the work runs (any thread) ----------------------------------------------------

    def upload_started(self, key: object, label: str, size: int | None) -> Advance | None:
        if self._bars is not None:
            return self._bars.started(key, label, size)
        if not self.single or size is None:
            return None
        # A single upload shows the one-file progress bar (files of 1 MiB or more).
        stack = ExitStack()
        self._single_bars[key] = stack
        return stack.enter_context(upload_progress(self.console, label, size))

    def upload_finished(self, key: object) -> None:
        if self._bars is not None:
            self._bars.finished(key)
        stack = self._single_bars.pop(key, None)
        if stack is not None:
            stack.close()

    @contextmanager
    def live_display(self, total: int | None) -> Iterator[None]:
        """The batch's bars on a terminal, for the length of the run."""
        if self.single:
            yield
            return
        with batch_progress(self.console, total) as bars:
            self._bars = bars
            try:
                yield
            finally:
                self._bars = None

    # -- results (main thread) ---------------------------------------------------------------

    def report(self, result: AttachResult) -> bool:
        """Show a result; False when its line on stdout was given up unwritten (a reader
        that stopped reading, after Ctrl-C): it must then not be counted."""
        console = self.console
        shown = True
        if result.status == ERROR:
            shown = self._report_error(result)
        else:
            self._delivery_notes(result)
            if console.json_mode:
                shown = console.json(result.to_json(), about=result)
            elif not console.quiet:
                shown = console.out(*self._line(result), about=result)
        if self._bars is not None:
            self._bars.item_done()
        return shown

    def _delivery_notes(self, result: AttachResult) -> None:
        """What Kombo and the delivery had to say about a stored upload, on stderr."""
        delivered = result.delivered
        if delivered is None:
            return
        if delivered.http_status is not None:
            self.console.detail(
                f"Kombo answered HTTP {delivered.http_status} in {delivered.elapsed_s:.2f} s"
            )
        # In a batch, say which upload a note is about.
        about = "" if self.single else f"{result.entry.label}: "
        for warning in delivered.warnings:
            self.console.warning(f"{about}Kombo: {warning}")
        for note in delivered.notes:
            self.console.warning(f"{about}{note}")
        verification = delivered.verification
        if verification is not None and verification.verified is None:
            name = result.plan.name if result.plan is not None else "the upload"
            self.console.warning(f"{name} could not be verified: {verification.note}")

    def _line(self, result: AttachResult) -> tuple[str, str | None]:
        """The human line of a result that is not an error, and its style."""
        plan = result.plan
        assert plan is not None
        if result.status == SKIPPED and result.skip_reason == JOURNAL:
            return f"Skipped {plan.name}: the journal records it as stored by an earlier run", None
        where = self._where(result)
        if result.status == SKIPPED:
            return (
                f"Skipped {plan.name}: {plan.target}{where} already has an attachment of that name",
                None,
            )
        if result.status == PLANNED_SKIP:
            return (
                f"Would skip {plan.name}: {plan.target}{where} already has an attachment of"
                " that name",
                None,
            )
        if result.status == PLANNED:
            if result.preview is not None:
                return _preview_text(result.preview), None
            size = f", {human_size(plan.size)}" if plan.size is not None else ""
            email = result.unresolved_email
            if email is not None:
                return (
                    f"Would attach {plan.source} as {plan.name} to the candidate with email"
                    f" {email} (not looked up; add --resolve)",
                    None,
                )
            return (
                f"Would attach {plan.source} as {plan.name} to {plan.target}{where}"
                f" ({plan.type}, {plan.content_type_text}{size})",
                None,
            )
        delivered = result.delivered
        assert delivered is not None
        details = [plan.type, plan.content_type_text]
        details.append(human_size(plan.size) if plan.size is not None else f"from {plan.source}")
        if delivered.verification is not None and delivered.verification.verified:
            details.append("verified")
        timing = (
            f" in {human_duration(delivered.elapsed_s)}"
            if not self.single and result.line is not None
            else ""
        )
        return (
            f"Attached {plan.name} to {plan.target}{where} ({', '.join(details)}){timing}",
            "green",
        )

    def _where(self, result: AttachResult) -> str:
        """Which customer's ATS, when the run goes to several."""
        if not self.several or result.integration_id is None:
            return ""
        return f" in {result.integration_id}"

    def _report_error(self, result: AttachResult) -> bool:
        error = result.error
        assert error is not None
        label = "" if self.single else result.entry.label_for(error.message)
        integration = result.integration_id
        if self.several and integration is not None and integration not in error.message:
            label = f"{label} in {integration}" if label else integration
        self.console.error(error, label)
        return self.console.json(result.to_json()) if self.console.json_mode else True

    # -- after Ctrl-C ----------------------------------------------------------------------------

    def stopping(self) -> None:
        """Ctrl-C was pressed: no retry will happen, so none is announced. Only sets a flag
        (called from the signal handler)."""
        self._stopping = True

    def retrying(self, subject: str, notice: RetryNotice) -> None:
        if not self._stopping:
            super().retrying(subject, notice)

    def waiting(self, uploads: int) -> None:
        if not self.console.quiet:
            self.console.err(
                f"Interrupted: waiting a moment for {uploads} upload"
                f"{'' if uploads == 1 else 's'} being sent (Ctrl-C again to stop at once)",
                "yellow",
            )

    # -- the end -------------------------------------------------------------------------------

    def summary(
        self,
        tally: Tally,
        not_attempted: int = 0,
        because: str = "--fail-fast",
        unreported: int = 0,
        maybe_stored: int = 0,
    ) -> None:
        """The counts; `not_attempted` items were left undone (`because` says why),
        `unreported` uploads were stored but their lines could not be written (after
        Ctrl-C stopped stdout's reader too), and `maybe_stored` were cut off by Ctrl-C with
        their fate open: together with the counted ones, every item."""
        console = self.console
        if console.json_mode:
            counts: dict[str, object] = {
                "succeeded": tally.succeeded,
                "skipped": tally.skipped,
                "failed": tally.failed,
                "elapsed_s": round(tally.elapsed_s, 3),
                "not_attempted": not_attempted,
            }
            # Sorted, so that two runs of one manifest print the same.
            counts["by_integration"] = {
                integration: own.to_json()
                for integration, own in sorted(tally.by_integration.items())
            }
            if self.shard is not None:
                counts["shard"] = self.shard.to_json()
            console.json({"summary": counts})
        if console.json_mode or (console.quiet and not tally.failed):
            if not_attempted and not console.quiet:
                console.err(f"{not_attempted} not attempted ({because})")
            return
        if len(tally.by_integration) > 1:
            # One line per customer, then the run's; sorted, so a rerun reads the same.
            for integration, own in sorted(tally.by_integration.items()):
                console.err(
                    f"{integration}: {', '.join(_counts_text(own))}",
                    "red" if own.failed else None,
                )
        parts = _counts_text(tally)
        if unreported:
            parts[0] = (
                f"{tally.succeeded + unreported} attached ({unreported} not reported on"
                " standard output)"
            )
        if maybe_stored:
            parts.append(f"{maybe_stored} may or may not have been stored")
        if not_attempted:
            parts.append(f"{not_attempted} not attempted ({because})")
        console.err(
            f"{self._shard_prefix}{', '.join(parts)} in {human_duration(tally.elapsed_s)}",
            "red" if tally.failed else "green",
        )

    def dry_run_summary(self, tally: Tally) -> None:
        if self.single:
            self.console.detail("Dry run: nothing was sent.")
            return
        if not self.console.quiet or tally.failed:
            skips = f", {tally.skipped} would be skipped" if tally.skipped else ""
            self.console.err(
                f"{self._shard_prefix}{'dry run' if self.shard else 'Dry run'}:"
                f" {tally.succeeded} would be attached{skips},"
                f" {tally.failed} with"
                " problems; nothing was sent.",
                "red" if tally.failed else None,
            )

    @property
    def _shard_prefix(self) -> str:
        return "" if self.shard is None else f"{self.shard}; "


def _counts_text(counts: Counts) -> list[str]:
    parts = [f"{counts.succeeded} attached"]
    if counts.skipped:
        parts.append(f"{counts.skipped} skipped")
    parts.append(f"{counts.failed} failed")
    return parts


def _preview_text(preview: dict[str, object]) -> str:
    headers = preview["headers"]
    assert isinstance(headers, dict)
    lines = [f"{preview['method']} {preview['url']}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["", json.dumps(preview["body"], indent=2, ensure_ascii=False), ""]
    return "\n".join(lines)
