"""Deliver one attachment exactly once: retry what is safe, look before retrying the rest.

Kombo cannot deduplicate uploads and does not say which attachment a POST created. When
an upload fails in a way that leaves its fate open (500, 502, 504, a read timeout, a
connection lost or an answer cut off after the body went out), this module waits a
moment, lists the target's attachments and looks for this upload (see `evidence`).

- Found: the upload worked and is not sent again.
- Not found: it is sent again, within the retry budget; after a proxy failure or a
  dropped connection only once a second, later look also misses it.
- Unknown (the list cannot be read, a same-name file has no date, or a timed-out upload is
  not listed yet and Kombo may still be storing it): it stops with exit 6 and says how to
  check, rather than risk a duplicate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Callable, Protocol

from kombo_cli.api.client import ApiResponse, RequestBody
from kombo_cli.api.retry import (
    OnRetry,
    Retryability,
    RetryNotice,
    RetryPolicy,
    Sleep,
    call_idempotent,
    classify,
    describe_failure,
)
from kombo_cli.api.targets import Target
from kombo_cli.errors import ApiError, Interrupted, KomboError, NetworkError, OutcomeUnknown
from kombo_cli.upload.body import ProgressCallback
from kombo_cli.upload.evidence import Found, judge_listing
from kombo_cli.upload.ledger import Ledger, Listing
from kombo_cli.upload.plan import AttachmentPlan

Clock = Callable[[], datetime]


class AttachmentApi(Protocol):
    """The two calls an upload needs: KomboClient, or a throttled wrapper around it."""

    def add_attachment(self, target: Target, body: RequestBody) -> ApiResponse: ...

    def list_attachments(self, target: Target) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Delivered:
    """How an upload was stored."""

    # The SHA-256 of the bytes sent; None for a data_url upload (no local bytes were read).
    sha256: str | None
    # None when Kombo's reply was lost and the upload was confirmed by listing instead.
    http_status: int | None
    elapsed_s: float
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attempts: int = 1
    confirmed_by_listing: bool = False


class Stage(Enum):
    """Where a delivery stands, for what Ctrl-C should say about it."""

    # Not a byte of the file sent yet (waiting for a slot, connecting): not stored.
    QUEUED = "queued"
    SENDING = "sending"
    # Refused before any work and waiting to retry: certainly not stored.
    WAITING = "waiting"
    # The reply was lost; waiting or listing to find out whether it was stored.
    CHECKING = "checking"
    # Stored; the result is on its way to being reported.
    DONE = "done"


@dataclass
class DeliveryState:
    stage: Stage = Stage.QUEUED


def deliver(
    client: AttachmentApi,
    plan: AttachmentPlan,
    policy: RetryPolicy,
    *,
    on_progress: ProgressCallback | None = None,
    on_retry: OnRetry | None = None,
    listed_before: Listing | None = None,
    ledger: Ledger | None = None,
    state: DeliveryState | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock | None = None,
) -> Delivered:
    """Upload `plan`, retrying per `policy`, never storing it twice.

    Raises the last KomboError when giving up, OutcomeUnknown when the upload may have
    been stored and listing cannot tell, and Interrupted on Ctrl-C during a pause. When
    uploads run in parallel, the caller holds `ledger.turn(plan)` around this call, so
    that every earlier upload of the same name to the same target is counted in `ledger`
    whenever a lost reply is checked.
    """
    ledger = ledger or Ledger()
    delivered = _deliver(
        client,
        plan,
        policy,
        on_progress,
        on_retry,
        listed_before,
        ledger,
        state or DeliveryState(),
        sleep,
        clock,
    )
    ledger.record(plan)
    return delivered


def _deliver(
    client: AttachmentApi,
    plan: AttachmentPlan,
    policy: RetryPolicy,
    on_progress: ProgressCallback | None,
    on_retry: OnRetry | None,
    listed_before: Listing | None,
    ledger: Ledger,
    state: DeliveryState,
    sleep: Sleep,
    clock: Clock | None,
) -> Delivered:
    now = clock or (lambda: datetime.now(timezone.utc))
    progress = _RewindableProgress(on_progress)
    started = time.monotonic()
    retries_used = 0
    while True:
        attempt = retries_used + 1
        attempt_started_at = now()
        # A data_url body has no file bytes to watch: it goes out as soon as it can.
        state.stage = Stage.QUEUED if plan.local_file is not None else Stage.SENDING
        progress.start_attempt(state)
        body = plan.body(progress)
        try:
            response = client.add_attachment(plan.target, body)
        except KomboError as error:
            error.attempts = attempt
            verdict = classify(error, idempotent=False)
            if verdict is Retryability.NEVER:
                raise
            if verdict is Retryability.SAFE:
                if retries_used >= policy.retries:
                    raise _gave_up(error) from None
                retries_used += 1
                wait = policy.delay_s(retries_used, getattr(error, "retry_after_s", None))
                _notify(on_retry, error, f"retrying in {wait:.1f} s")
                state.stage = Stage.WAITING
                _pause(sleep, wait, plan, stored=False)
                continue

            # CHECK_FIRST: the file may be in the ATS already. Look before sending again.
            state.stage = Stage.CHECKING
            _notify(
                on_retry,
                error,
                f"checking the {plan.target.kind}'s attachments in {policy.settle_delay_s:.1f} s",
            )
            _pause(sleep, policy.settle_delay_s, plan, stored=None)
            attachments = _list_or_give_up(client, plan, policy, error, on_retry, sleep)
            found, explanation = judge_listing(
                attachments, plan, attempt_started_at, listed_before, ledger.count(plan)
            )
            if (
                found is Found.NOT_STORED
                and not _kombo_answered(error)
                and not _may_still_be_processing(error)
            ):
                # A proxy failed or the connection dropped: Kombo itself may still be
                # storing the file. Look once more, later, before sending it again.
                wait = policy.settle_delay_s * 3
                _notify(on_retry, error, f"not listed yet; looking again in {wait:.1f} s")
                _pause(sleep, wait, plan, stored=None)
                attachments = _list_or_give_up(client, plan, policy, error, on_retry, sleep)
                found, explanation = judge_listing(
                    attachments, plan, attempt_started_at, listed_before, ledger.count(plan)
                )
            if found is Found.STORED:
                return Delivered(
                    sha256=plan.sha256(),
                    http_status=None,
                    elapsed_s=time.monotonic() - started,
                    notes=[
                        f"the reply to the upload was lost ({describe_failure(error)}), but"
                        f" {explanation}, so it was not sent again"
                    ],
                    attempts=attempt,
                    confirmed_by_listing=True,
                )
            if found is Found.UNKNOWN:
                raise _unknown(plan, error, explanation) from None
            if _may_still_be_processing(error):
                # Kombo may still be storing it: a file not listed yet can appear later, and
                # sending it again now could make two.
                raise _unknown(
                    plan,
                    error,
                    f"it is not among the {plan.target.kind}'s attachments yet, but Kombo may"
                    " still be working on it",
                    hint=f"check with `kombo attachments list {plan.target.shell_argument}` in a"
                    " few minutes, and raise --timeout if the ATS is slow",
                ) from None
            if retries_used >= policy.retries:
                error.hint = (
                    f"it was not stored (the {plan.target.kind}'s attachments do not list it);"
                    " run the command again later"
                )
                raise _gave_up(error) from None
            retries_used += 1
            _notify(on_retry, error, f"{plan.name} is not among the attachments; sending it again")
            continue
        return Delivered(
            # Computed while streaming, so it describes exactly the bytes that were sent; a
            # server that answers before reading the whole body leaves it unset.
            sha256=body.sha256 or plan.sha256(),
            http_status=response.http_status,
            elapsed_s=time.monotonic() - started,
            warnings=response.warnings,
            notes=response.notes,
            attempts=attempt,
        )


def _kombo_answered(error: KomboError) -> bool:
    """An error answer from Kombo itself (its JSON envelope): it has finished with the
    request. A bare 502 or a dropped connection may come from a proxy while Kombo works on."""
    return isinstance(error, ApiError) and error.code is not None


def _may_still_be_processing(error: KomboError) -> bool:
    if isinstance(error, NetworkError):
        return error.timed_out
    if isinstance(error, ApiError):
        return error.http_status == 504 or error.code == "PLATFORM.TASK_TIMED_OUT"
    return False


def _list_or_give_up(
    client: AttachmentApi,
    plan: AttachmentPlan,
    policy: RetryPolicy,
    error: KomboError,
    on_retry: OnRetry | None,
    sleep: Sleep,
) -> list[dict[str, Any]]:
    target = plan.target
    try:
        return call_idempotent(
            lambda: client.list_attachments(target),
            policy,
            what="listing the attachments",
            on_retry=on_retry,
            sleep=sleep,
        )
    except KomboError as list_error:
        raise _unknown(
            plan,
            error,
            f"the {target.kind}'s attachments could not be listed to check"
            f" ({describe_failure(list_error)})",
        ) from None


def _unknown(
    plan: AttachmentPlan, error: KomboError, why: str, hint: str | None = None
) -> OutcomeUnknown:
    unknown = OutcomeUnknown(
        f"{plan.name} may or may not have been stored: the upload failed"
        f" ({describe_failure(error)}) and {why}.",
        hint=hint
        or f"look for it with `kombo attachments list {plan.target.shell_argument}` before"
        " running the command again",
    )
    unknown.attempts = error.attempts
    return unknown


def _gave_up(error: KomboError) -> KomboError:
    if error.attempts > 1:
        error.message = f"{error.message.rstrip('.')}; gave up after {error.attempts} attempts."
    return error


def _notify(on_retry: OnRetry | None, error: KomboError, next_step: str) -> None:
    if on_retry is not None:
        on_retry(RetryNotice(describe_failure(error), next_step))


def _pause(sleep: Sleep, seconds: float, plan: AttachmentPlan, stored: bool | None) -> None:
    """Sleep; Ctrl-C meanwhile says truthfully whether the file may have been stored."""
    try:
        sleep(seconds)
    except KeyboardInterrupt:
        if stored is False:
            raise Interrupted(
                f"Interrupted while waiting to retry {plan.name}; it was not stored.",
                hint="run the command again",
            ) from None
        raise Interrupted(
            f"Interrupted while checking whether {plan.name} was stored.",
            hint=f"check the {plan.target.kind}'s attachments with `kombo attachments list"
            f" {plan.target.shell_argument}` before running the command again",
        ) from None


class _RewindableProgress:
    """Forwards bytes sent to a progress display, winds it back when a retry starts, and
    notes when the first bytes of an attempt go out."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self._on_progress = on_progress
        self._sent = 0
        self._state: DeliveryState | None = None

    def start_attempt(self, state: DeliveryState) -> None:
        if self._on_progress is not None and self._sent:
            self._on_progress(-self._sent)
        self._sent = 0
        self._state = state

    def __call__(self, sent: int) -> None:
        if self._state is not None and self._state.stage is Stage.QUEUED:
            # The first piece of the file has gone out: from now on it may be stored.
            self._state.stage = Stage.SENDING
        self._sent += sent
        if self._on_progress is not None:
            self._on_progress(sent)
