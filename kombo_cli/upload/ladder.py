"""The evidence ladder around one ambiguous failure: wait, look, and look again if need be.

Called when an upload may or may not have been stored (see `retry.classify`). It lists the
target's attachments and asks `evidence` what they show. After a failure Kombo itself did
not answer (a timeout, a proxy's error page, a dropped connection) Kombo may still be
storing the file, so an "absent" is only believed after a second, later look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kombo_cli.api.client import ApiResponse, RequestBody
from kombo_cli.api.downloads import FileDigest
from kombo_cli.api.retry import (
    OnRetry,
    RetryNotice,
    RetryPolicy,
    Sleep,
    call_idempotent,
    describe_failure,
)
from kombo_cli.api.targets import Target
from kombo_cli.errors import ApiError, Interrupted, KomboError, NetworkError
from kombo_cli.upload.evidence import Doubt, Fetch, Look, Sibling, Sought, Verdict, look_for
from kombo_cli.upload.ledger import DigestCache, Ledger, Listing, OwnUpload
from kombo_cli.upload.plan import AttachmentPlan


class AttachmentApi(Protocol):
    """The calls an upload needs: KomboClient, or a throttled wrapper around it."""

    def add_attachment(self, target: Target, body: RequestBody) -> ApiResponse: ...

    def list_attachments(self, target: Target) -> list[dict[str, Any]]: ...

    def stored_file_digest(self, url: str, limit_bytes: int) -> FileDigest | None: ...


# The second look comes this many settle delays after the first.
SECOND_LOOK_FACTOR = 3


@dataclass(frozen=True)
class Situation:
    """What the ladder needs to know about the upload in question."""

    plan: AttachmentPlan
    upload: OwnUpload
    started_at: datetime
    snapshot: Listing | None
    sha256: str | None


def kombo_answered(error: KomboError) -> bool:
    """An error answer from Kombo itself (its JSON envelope): it has finished with the
    request. A bare 502 or a dropped connection may come from a proxy while Kombo works on."""
    return isinstance(error, ApiError) and error.code is not None


def may_still_be_processing(error: KomboError) -> bool:
    """The client stopped waiting, or a gateway did: Kombo may still be storing the file."""
    if isinstance(error, NetworkError):
        return error.timed_out
    if isinstance(error, ApiError):
        return error.http_status in (504, 524) or error.code == "PLATFORM.TASK_TIMED_OUT"
    return False


def settle(
    api: AttachmentApi,
    situation: Situation,
    policy: RetryPolicy,
    ledger: Ledger,
    fetch: Fetch,
    *,
    error: KomboError | None,
    on_retry: OnRetry | None,
    sleep: Sleep,
) -> Look:
    """Look for the upload after `error` (None: an upload a journal left unfinished).

    A listing that cannot be read is an UNKNOWN look, never a guess."""
    reason = describe_failure(error) if error is not None else "an earlier run stopped"
    kind = situation.plan.target.kind
    _notify(on_retry, reason, f"checking the {kind}'s attachments in {policy.settle_delay_s:.1f} s")
    pause(sleep, policy.settle_delay_s, situation.plan)
    found = look(api, situation, policy, ledger, fetch, on_retry, sleep)
    needs_second_look = error is None or not kombo_answered(error)
    if (found.verdict is Verdict.ABSENT and needs_second_look) or found.settles_later:
        wait = policy.settle_delay_s * SECOND_LOOK_FACTOR
        _notify(on_retry, reason, f"not settled yet; looking again in {wait:.1f} s")
        pause(sleep, wait, situation.plan)
        found = look(api, situation, policy, ledger, fetch, on_retry, sleep)
    return found


def look(
    api: AttachmentApi,
    situation: Situation,
    policy: RetryPolicy,
    ledger: Ledger,
    fetch: Fetch,
    on_retry: OnRetry | None,
    sleep: Sleep,
    *,
    compare_first: bool = False,
) -> Look:
    plan = situation.plan
    try:
        attachments: list[dict[str, Any]] = call_idempotent(
            lambda: api.list_attachments(plan.target),
            policy,
            what="listing the attachments",
            on_retry=on_retry,
            sleep=sleep,
        )
    except KomboError as list_error:
        return Look(
            Verdict.UNKNOWN,
            f"the {plan.target.kind}'s attachments could not be listed to check"
            f" ({describe_failure(list_error)})",
            doubt=Doubt.UNLISTED,
        )
    sought = Sought(
        name=plan.name,
        target_kind=plan.target.kind,
        sha256=situation.sha256,
        size=plan.size,
        started_at=situation.started_at,
    )
    siblings = [
        Sibling(other.sha256(), other.size, other.stored, other.began_at)
        for other in ledger.others(situation.upload)
    ]
    return look_for(
        attachments, sought, situation.snapshot, siblings, fetch, compare_first=compare_first
    )


def pause(sleep: Sleep, seconds: float, plan: AttachmentPlan) -> None:
    """Sleep while the upload's fate is open; Ctrl-C meanwhile says so."""
    try:
        sleep(seconds)
    except KeyboardInterrupt:
        raise Interrupted(
            f"Interrupted while checking whether {plan.name} was stored.",
            hint=f"check the {plan.target.kind}'s attachments with `kombo attachments list"
            f" {plan.target.shell_argument}` before running the command again",
        ) from None


def _notify(on_retry: OnRetry | None, reason: str, next_step: str) -> None:
    if on_retry is not None:
        on_retry(RetryNotice(reason, next_step))


def cached_fetch(
    client: AttachmentApi,
    cache: DigestCache,
    policy: RetryPolicy,
    *,
    on_retry: OnRetry | None,
    sleep: Sleep,
) -> Fetch:
    """What evidence fetches with: the client's downloads, retried like any read (a proxy's
    502 on one download should not leave an outcome unknown), each file's hash kept for
    the run."""

    def fetch(url: str, limit_bytes: int) -> str | None:
        known, digest = cache.get(url, limit_bytes)
        if known:
            return digest
        found = call_idempotent(
            lambda: client.stored_file_digest(url, limit_bytes),
            policy,
            what="fetching a listed file to compare",
            on_retry=on_retry,
            sleep=sleep,
        )
        digest = found.sha256 if found is not None else None
        cache.put(url, limit_bytes, digest)
        return digest

    return fetch
