"""Deliver one attachment exactly once: retry what is safe, look before retrying the rest.

Kombo cannot deduplicate uploads and does not say which attachment a POST created. When
an upload fails in a way that leaves its fate open (a 5xx other than Kombo's own 503, a
timeout, a connection lost or an answer cut off after the first byte went out), the
evidence ladder (`ladder`, `evidence`) looks for it among the target's attachments:

- Stored (a new attachment id, or a file with the same bytes): it is not sent again.
- Absent: it is sent again, within the retry budget.
- Unknown: it stops with exit 6 and says what to check, rather than risk a duplicate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Callable

from kombo_cli.api.retry import (
    OnRetry,
    Retryability,
    RetryNotice,
    RetryPolicy,
    Sleep,
    classify,
    describe_failure,
    gave_up,
)
from kombo_cli.errors import Interrupted, KomboError, OutcomeUnknown, VerifyMismatch
from kombo_cli.upload.body import ProgressCallback
from kombo_cli.upload.delivery_state import DeliveryState, RewindableProgress, Stage
from kombo_cli.upload.evidence import CONTENT, REPLY, Fetch, Look, Verdict
from kombo_cli.upload.ladder import (
    AttachmentApi,
    Situation,
    cached_fetch,
    may_still_be_processing,
    settle,
)
from kombo_cli.upload.ledger import DigestCache, Ledger, Listing
from kombo_cli.upload.plan import AttachmentPlan
from kombo_cli.upload.verify import Verification, verify

__all__ = ["AttachmentApi", "Delivered", "DeliveryState", "Stage", "Unfinished", "deliver"]

Clock = Callable[[], datetime]
# Told when an attempt is about to send its first byte: when it began, and the snapshot.
OnSending = Callable[[datetime], None]


@dataclass(frozen=True)
class Delivered:
    """How an upload was stored."""

    # The SHA-256 of the bytes sent; None for a data_url upload (no local bytes were read).
    sha256: str | None
    # None when Kombo's reply was lost and the upload was confirmed by evidence instead.
    http_status: int | None
    elapsed_s: float
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attempts: int = 1
    # "reply" (Kombo's answer), "id" (a new attachment id) or "content" (the same bytes).
    confirmed_by: str = REPLY
    # With --verify: whether the stored bytes were found to be the ones sent.
    verification: Verification | None = None

    @property
    def confirmed_by_listing(self) -> bool:
        return self.confirmed_by != REPLY


@dataclass(frozen=True)
class Unfinished:
    """An attempt an earlier run began and never finished (from a journal)."""

    started_at: datetime
    snapshot: Listing | None
    # Kombo may still have been working on it when the earlier run gave up (a timeout):
    # not sent again before this moment, even if not listed.
    not_before: datetime | None = None


def deliver(
    client: AttachmentApi,
    plan: AttachmentPlan,
    policy: RetryPolicy,
    *,
    on_progress: ProgressCallback | None = None,
    on_retry: OnRetry | None = None,
    on_sending: OnSending | None = None,
    listed_before: Listing | None = None,
    ledger: Ledger | None = None,
    digests: DigestCache | None = None,
    unfinished: Unfinished | None = None,
    verify_stored: bool = False,
    state: DeliveryState | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock | None = None,
) -> Delivered:
    """Upload `plan`, retrying per `policy`, never storing it twice.

    Raises the last KomboError when giving up, OutcomeUnknown when the upload may have
    been stored and the evidence cannot tell, and Interrupted on Ctrl-C during a pause.
    `listed_before` is the target's listing from before this run's first upload there;
    `ledger` holds this run's other uploads; `unfinished` is an attempt an earlier run left
    open, settled by the evidence ladder before anything is sent. With `verify_stored`, the
    stored file is found and its bytes compared (VerifyMismatch when they differ; the upload
    is counted as stored all the same).
    """
    delivery = _Delivery(
        client,
        plan,
        policy,
        ledger or Ledger(),
        cached_fetch(client, digests or DigestCache(), policy, on_retry=on_retry, sleep=sleep),
        listed_before,
        state or DeliveryState(),
        sleep,
        clock or (lambda: datetime.now(timezone.utc)),
        on_retry,
        on_sending,
        verify_stored,
        resumed=unfinished is not None,
    )
    return delivery.run(on_progress, unfinished)


class _Delivery:
    def __init__(
        self,
        client: AttachmentApi,
        plan: AttachmentPlan,
        policy: RetryPolicy,
        ledger: Ledger,
        fetch: Fetch,
        snapshot: Listing | None,
        state: DeliveryState,
        sleep: Sleep,
        now: Clock,
        on_retry: OnRetry | None,
        on_sending: OnSending | None,
        verify_after: bool = False,
        resumed: bool = False,
    ) -> None:
        self.client = client
        self.plan = plan
        self.policy = policy
        self.ledger = ledger
        self.fetch = fetch
        self.snapshot = snapshot
        self.state = state
        self.sleep = sleep
        self.now = now
        self.on_retry = on_retry
        self.on_sending = on_sending
        self.verify = verify_after
        # When the attempt that was stored began (what --verify looks for).
        self.attempt_started_at = now()
        self.started = time.monotonic()
        # An attempt an earlier run left open is in the ledger already (from the journal).
        self.upload = ledger.resume(plan) if resumed else ledger.begin(plan)

    def run(self, on_progress: ProgressCallback | None, unfinished: Unfinished | None) -> Delivered:
        try:
            delivered = self._run(on_progress, unfinished)
        except (OutcomeUnknown, Interrupted):
            # May be stored: it stays among this run's uploads to the target.
            raise
        except KomboError:
            self.ledger.not_stored(self.upload)
            raise
        self.ledger.stored(self.upload)
        if self.verify:
            delivered = self._verified(delivered)
        return delivered

    def _verified(self, delivered: Delivered) -> Delivered:
        """Raises VerifyMismatch when the ATS lists other bytes than were sent."""
        plan = self.plan
        if delivered.confirmed_by == CONTENT:
            # Confirmed by the stored bytes themselves.
            return replace(delivered, verification=Verification(True))
        checked = verify(
            self.client,
            Situation(plan, self.upload, self.attempt_started_at, self.snapshot, delivered.sha256),
            self.policy,
            self.ledger,
            self.fetch,
            on_retry=self.on_retry,
            sleep=self.sleep,
        )
        if checked.verified is False:
            raise VerifyMismatch(
                f"{plan.name} was stored, but the stored file is not the one sent: {checked.note}.",
                hint=f"compare with `kombo attachments list {plan.target.shell_argument}`; it"
                " was not sent again",
                delivered=replace(delivered, verification=checked),
            )
        return replace(delivered, verification=checked)

    def _run(
        self, on_progress: ProgressCallback | None, unfinished: Unfinished | None
    ) -> Delivered:
        plan = self.plan
        if unfinished is not None:
            # What --verify looks for, if the earlier attempt is found stored.
            self.attempt_started_at = unfinished.started_at
            self.state.stage = Stage.CHECKING
            look = settle(
                self.client,
                self._situation(unfinished.started_at, unfinished.snapshot, plan.sha256()),
                self.policy,
                self.ledger,
                self.fetch,
                error=None,
                on_retry=self.on_retry,
                sleep=self.sleep,
            )
            if look.verdict is Verdict.STORED:
                return self._found(
                    look, attempt=0, reason="an earlier run stopped before Kombo answered"
                )
            if look.verdict is Verdict.UNKNOWN:
                raise _unknown(plan, "an earlier run stopped while sending it", look.explanation)
            if unfinished.not_before is not None and self.now() < unfinished.not_before:
                raise _unknown(
                    plan,
                    "an earlier attempt timed out",
                    f"it is not among the {plan.target.kind}'s attachments yet, but Kombo may"
                    " still be working on it",
                    hint="run the command again with the same --journal after"
                    f" {unfinished.not_before:%H:%M} UTC",
                )
        progress = RewindableProgress(on_progress)
        retries_used = 0
        while True:
            attempt = retries_used + 1
            attempt_started_at = self.attempt_started_at = self.now()
            # A data_url body has no file bytes to watch: it goes out as soon as it can.
            self.state.stage = Stage.QUEUED if plan.local_file is not None else Stage.SENDING
            progress.start_attempt(self.state)
            body = plan.body(progress)
            if self.on_sending is not None:
                self.on_sending(attempt_started_at)
            try:
                response = self.client.add_attachment(plan.target, body)
            except KomboError as error:
                error.attempts = attempt
                verdict = classify(error, idempotent=False)
                if verdict is Retryability.NEVER:
                    raise
                if verdict is Retryability.SAFE:
                    if retries_used >= self.policy.retries:
                        raise gave_up(error) from None
                    retries_used += 1
                    wait = self.policy.delay_s(retries_used, getattr(error, "retry_after_s", None))
                    _notify(self.on_retry, error, f"retrying in {wait:.1f} s")
                    self.state.stage = Stage.WAITING
                    _pause_to_retry(self.sleep, wait, plan)
                    continue
                # CHECK_FIRST: the file may be in the ATS already. Look before sending again.
                self.state.stage = Stage.CHECKING
                look = settle(
                    self.client,
                    self._situation(
                        attempt_started_at, self.snapshot, body.sha256 or plan.sha256()
                    ),
                    self.policy,
                    self.ledger,
                    self.fetch,
                    error=error,
                    on_retry=self.on_retry,
                    sleep=self.sleep,
                )
                if look.verdict is Verdict.STORED:
                    return self._found(
                        look,
                        attempt,
                        f"the reply to the upload was lost ({describe_failure(error)})",
                    )
                if look.verdict is Verdict.UNKNOWN:
                    failure = f"the upload failed ({describe_failure(error)})"
                    raise _unknown(plan, failure, look.explanation, attempts=attempt) from None
                if may_still_be_processing(error):
                    # Kombo may still be storing it after the client (or a gateway) stopped
                    # waiting: a file not listed yet can appear later.
                    raise _still_working(
                        plan,
                        f"the upload failed ({describe_failure(error)})",
                        f"it is not among the {plan.target.kind}'s attachments yet, but Kombo"
                        " may still be working on it",
                        hint=f"check with `kombo attachments list {plan.target.shell_argument}`"
                        " in a few minutes (or run the command again with the same --journal),"
                        " and raise --timeout if the ATS is slow",
                        attempts=attempt,
                    ) from None
                if retries_used >= self.policy.retries:
                    error.hint = (
                        f"it was not stored (the {plan.target.kind}'s attachments do not list"
                        " it); run the command again later"
                    )
                    raise gave_up(error) from None
                retries_used += 1
                _notify(
                    self.on_retry,
                    error,
                    f"{plan.name} is not among the attachments; sending it again",
                )
                continue
            return Delivered(
                # Computed while streaming, so it describes exactly the bytes that were
                # sent; a server that answers before reading the whole body leaves it unset.
                sha256=body.sha256 or plan.sha256(),
                http_status=response.http_status,
                elapsed_s=time.monotonic() - self.started,
                warnings=response.warnings,
                notes=response.notes,
                attempts=attempt,
            )

    def _situation(
        self, started_at: datetime, snapshot: Listing | None, sha256: str | None
    ) -> Situation:
        return Situation(self.plan, self.upload, started_at, snapshot, sha256)

    def _found(self, look: Look, attempt: int, reason: str) -> Delivered:
        assert look.confirmed_by is not None
        return Delivered(
            sha256=self.plan.sha256(),
            http_status=None,
            elapsed_s=time.monotonic() - self.started,
            notes=[f"{reason}, but {look.explanation}, so it was not sent again"],
            attempts=attempt,
            confirmed_by=look.confirmed_by,
        )


def _unknown(
    plan: AttachmentPlan,
    failure: str,
    why: str,
    hint: str | None = None,
    attempts: int = 0,
) -> OutcomeUnknown:
    unknown = OutcomeUnknown(
        f"{plan.name} may or may not have been stored: {failure} and {why}.",
        hint=hint
        or f"look for it with `kombo attachments list {plan.target.shell_argument}` before"
        " running the command again",
    )
    unknown.attempts = attempts
    return unknown


def _still_working(
    plan: AttachmentPlan, failure: str, why: str, hint: str, attempts: int
) -> OutcomeUnknown:
    """An unknown outcome that a journal marks as "Kombo may still be working on it"."""
    unknown = _unknown(plan, failure, why, hint=hint, attempts=attempts)
    unknown.kombo_may_be_working = True
    return unknown


def _notify(on_retry: OnRetry | None, error: KomboError, next_step: str) -> None:
    if on_retry is not None:
        on_retry(RetryNotice(describe_failure(error), next_step))


def _pause_to_retry(sleep: Sleep, seconds: float, plan: AttachmentPlan) -> None:
    """Sleep before a retry of a refused upload; Ctrl-C meanwhile: it was not stored."""
    try:
        sleep(seconds)
    except KeyboardInterrupt:
        raise Interrupted(
            f"Interrupted while waiting to retry {plan.name}; it was not stored.",
            hint="run the command again",
        ) from None
