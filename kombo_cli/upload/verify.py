"""--verify: after Kombo accepted an upload, find the stored file and compare its bytes.

The same evidence as for a lost reply (see `evidence`), read the other way round: a listed
file with the same SHA-256 verifies the upload; a file that can only be this upload but
has other bytes is a mismatch; anything else (not listed yet after a second look, not
downloadable, an upload by URL) leaves it unverified, and says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from kombo_cli.api.retry import OnRetry, RetryNotice, RetryPolicy, Sleep
from kombo_cli.upload.evidence import CONTENT, Doubt, Fetch, Look, Verdict
from kombo_cli.upload.ladder import SECOND_LOOK_FACTOR, AttachmentApi, Situation, look, pause
from kombo_cli.upload.ledger import Ledger


@dataclass(frozen=True)
class Verification:
    # True: the stored bytes are the ones sent; False: they differ; None: not known.
    verified: bool | None
    # For False, what differs; for None, why it could not be verified.
    note: str = ""


def verify(
    api: AttachmentApi,
    situation: Situation,
    policy: RetryPolicy,
    ledger: Ledger,
    fetch: Fetch,
    *,
    on_retry: OnRetry | None,
    sleep: Sleep,
) -> Verification:
    """Look for the stored file (twice when it is not listed yet) and compare its bytes."""
    if situation.sha256 is None:
        return Verification(None, "an upload by URL has no local bytes to compare with")
    kind = situation.plan.target.kind
    found = look(api, situation, policy, ledger, fetch, on_retry, sleep, compare_first=True)
    if _needs_second_look(found):
        wait = policy.settle_delay_s * SECOND_LOOK_FACTOR
        if on_retry is not None:
            on_retry(RetryNotice("verifying", f"not listed yet; looking again in {wait:.1f} s"))
        pause(sleep, wait, situation.plan)
        found = look(api, situation, policy, ledger, fetch, on_retry, sleep, compare_first=True)
    if found.verdict is Verdict.STORED and found.confirmed_by == CONTENT:
        return Verification(True)
    if found.verdict is Verdict.STORED or found.doubt is Doubt.OTHER_BYTES:
        # A file that is new since the upload, and no other upload's, with other bytes.
        return Verification(False, found.explanation)
    if found.verdict is Verdict.ABSENT:
        return Verification(None, f"it is not among the {kind}'s attachments yet")
    return Verification(None, found.explanation)


def _needs_second_look(found: Look) -> bool:
    return found.verdict is Verdict.ABSENT or found.settles_later
