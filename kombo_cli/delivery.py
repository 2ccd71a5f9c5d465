"""Deliver one attachment exactly once: retry what is safe, look before retrying the rest.

Kombo cannot deduplicate uploads and does not say which attachment a POST created. When
an upload fails in a way that leaves its fate open (500, 502, 504, a read timeout, a
connection lost after the body went out), this module waits a moment, lists the target's
attachments and looks for the file's name. Found: the upload worked and is not sent again.
Not found: it is sent again, within the retry budget. The list cannot be read: it stops
and says the outcome is unknown, rather than risk a duplicate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from kombo_cli.attach import AttachmentOutcome, AttachmentPlan, upload
from kombo_cli.body import ProgressCallback
from kombo_cli.client import KomboClient
from kombo_cli.errors import Interrupted, KomboError, OutcomeUnknown
from kombo_cli.files import sha256_of
from kombo_cli.retry import (
    OnRetry,
    Retryability,
    RetryNotice,
    RetryPolicy,
    Sleep,
    call_idempotent,
    classify,
    describe_failure,
)

# ATS clocks and ours disagree by a little; a match dated this much before the upload
# started is still taken to be this upload.
CLOCK_SKEW = timedelta(minutes=10)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Listing:
    """The target's attachments as listed before this upload (e.g. by --skip-existing)."""

    attachments: list[dict[str, Any]]

    def count(self, name: str) -> int:
        return sum(1 for item in self.attachments if item.get("file_name") == name)


def deliver(
    client: KomboClient,
    plan: AttachmentPlan,
    policy: RetryPolicy,
    *,
    on_progress: ProgressCallback | None = None,
    on_retry: OnRetry | None = None,
    listed_before: Listing | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock | None = None,
) -> AttachmentOutcome:
    """Upload `plan`, retrying per `policy`, never storing it twice.

    Raises the last KomboError when giving up, OutcomeUnknown when the upload may have
    been stored but the listing that would tell cannot be read, and Interrupted on Ctrl-C
    during a pause.
    """
    now = clock or (lambda: datetime.now(timezone.utc))
    progress = _RewindableProgress(on_progress)
    started = time.monotonic()
    retries_used = 0
    while True:
        attempt = retries_used + 1
        attempt_started_at = now()
        progress.start_attempt()
        try:
            outcome = upload(client, plan, progress if on_progress else None)
            return replace(outcome, attempts=attempt, elapsed_s=time.monotonic() - started)
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
                _notify(on_retry, error, f"retrying in {wait:.1f} s", wait, attempt)
                _pause(sleep, wait, plan, stored=False)
                continue

            # CHECK_FIRST: the file may be in the ATS already. Look before sending again.
            _notify(
                on_retry,
                error,
                f"checking the {plan.target.kind}'s attachments in {policy.settle_delay_s:.1f} s",
                policy.settle_delay_s,
                attempt,
            )
            _pause(sleep, policy.settle_delay_s, plan, stored=None)
            found = _look_for_upload(
                client, plan, policy, error, attempt_started_at, listed_before, on_retry, sleep
            )
            if found is not None:
                return AttachmentOutcome(
                    plan=plan,
                    sha256=sha256_of(plan.local_file),
                    http_status=None,
                    elapsed_s=time.monotonic() - started,
                    notes=[found],
                    attempts=attempt,
                    confirmed_by_listing=True,
                )
            if retries_used >= policy.retries:
                error.hint = (
                    f"it was not stored (the {plan.target.kind}'s attachments do not list it);"
                    " run the command again later"
                )
                raise _gave_up(error) from None
            retries_used += 1
            _notify(
                on_retry,
                error,
                f"{plan.name} is not among the attachments; sending it again",
                0.0,
                attempt,
            )


def _look_for_upload(
    client: KomboClient,
    plan: AttachmentPlan,
    policy: RetryPolicy,
    error: KomboError,
    attempt_started_at: datetime,
    listed_before: Listing | None,
    on_retry: OnRetry | None,
    sleep: Sleep,
) -> str | None:
    """A note saying the upload was found by listing, or None when it is not there."""
    target = plan.target
    try:
        attachments = call_idempotent(
            lambda: client.list_attachments(target),
            policy,
            what="listing the attachments",
            on_retry=on_retry,
            sleep=sleep,
        )
    except KomboError as list_error:
        raise OutcomeUnknown(
            f"{plan.name} may or may not have been stored: the upload failed"
            f" ({describe_failure(error)}) and the {target.kind}'s attachments could not be"
            f" listed to check ({describe_failure(list_error)}).",
            hint=f"look for it with `kombo attachments list {target.shell_argument}` before"
            " running the command again",
        ) from None
    matches = [item for item in attachments if item.get("file_name") == plan.name]
    if not matches:
        return None
    found = (
        f"the reply to the upload was lost ({describe_failure(error)}), but {plan.name} is"
        f" among the {target.kind}'s attachments, so it was not sent again"
    )
    if listed_before is not None:
        if len(matches) <= listed_before.count(plan.name):
            return (
                found + "; an attachment with this name was there before this upload, so the"
                " match may be the earlier file"
            )
        return found
    dates = [_parse_time(item.get("remote_created_at")) for item in matches]
    known = [date for date in dates if date is not None]
    if known and len(known) == len(dates) and max(known) < attempt_started_at - CLOCK_SKEW:
        return (
            found + f"; the listed file is dated {max(known):%Y-%m-%d %H:%M} UTC, before this"
            " upload, so it may be an earlier copy"
        )
    return found


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _gave_up(error: KomboError) -> KomboError:
    if error.attempts > 1:
        error.message = f"{error.message.rstrip('.')}; gave up after {error.attempts} attempts."
    return error


def _notify(
    on_retry: OnRetry | None, error: KomboError, next_step: str, wait_s: float, attempt: int
) -> None:
    if on_retry is not None:
        on_retry(RetryNotice(describe_failure(error), next_step, wait_s, attempt))


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
    """Forwards bytes sent to a progress display, and winds it back when a retry starts."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self._on_progress = on_progress
        self._sent = 0

    def start_attempt(self) -> None:
        if self._on_progress is not None and self._sent:
            self._on_progress(-self._sent)
        self._sent = 0

    def __call__(self, sent: int) -> None:
        self._sent += sent
        if self._on_progress is not None:
            self._on_progress(sent)
