"""Whether a listing shows an upload whose reply was lost: stored, not stored, or unknown.

Decided by counting, never by name alone: against a listing taken before the upload when
the run has one, otherwise by the listed files' dates, never counting what this run stored
itself or, for a candidate, the files of the candidate's applications.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from kombo_cli.api.targets import CANDIDATE
from kombo_cli.upload.ledger import Listing, is_own_file
from kombo_cli.upload.plan import AttachmentPlan

# ATS clocks and ours disagree by a little: a listed file dated up to this long before the
# upload started may still be this upload. Anything older is an earlier file.
CLOCK_SKEW = timedelta(minutes=2)


class Found(Enum):
    STORED = "stored"
    NOT_STORED = "not_stored"
    UNKNOWN = "unknown"


def judge_listing(
    attachments: list[dict[str, Any]],
    plan: AttachmentPlan,
    attempt_started_at: datetime,
    listed_before: Listing | None,
    stored_earlier_this_run: int,
) -> tuple[Found, str]:
    """Whether the listing shows this upload, and a few words saying how that was decided."""
    matches = [item for item in attachments if _is_match(item, plan)]
    where = f"the {plan.target.kind}'s attachments"
    if listed_before is not None:
        # Exact: more files of this name than before the run and its own earlier uploads.
        expected = listed_before.count(plan.name) + stored_earlier_this_run
        if len(matches) > expected:
            return Found.STORED, f"{where} list one more {plan.name} than before"
        return Found.NOT_STORED, ""
    earliest_possible = attempt_started_at - CLOCK_SKEW
    dates = [_parse_time(item.get("remote_created_at")) for item in matches]
    recent = sum(1 for date in dates if date is not None and date >= earliest_possible)
    undated = sum(1 for date in dates if date is None)
    if recent > stored_earlier_this_run and not undated:
        return Found.STORED, f"{plan.name} is among {where}, dated since the upload began"
    if recent + undated <= stored_earlier_this_run:
        # Every match is older than this upload, or one this run stored itself.
        return Found.NOT_STORED, ""
    return Found.UNKNOWN, (
        f"{where} list a {plan.name} without a date, so it cannot be told apart from an"
        " earlier file of the same name"
    )


def _is_match(item: dict[str, Any], plan: AttachmentPlan) -> bool:
    """A listed attachment that could be this upload: same name, and, for a candidate, one
    of the candidate's own files."""
    if item.get("file_name") != plan.name:
        return False
    return plan.target.kind != CANDIDATE or is_own_file(item)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        # Anything from year 1 in a far time zone to text that is no date at all.
        return None
