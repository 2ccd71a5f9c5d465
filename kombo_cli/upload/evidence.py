"""Whether a listing shows an upload whose reply was lost: stored, absent, or unknown.

The Kombo API promises neither the stored file's name (an ATS may rename it) nor a date
(`remote_created_at` may be null), so neither decides. The evidence, strongest first:

- Identity: with a listing taken before the upload (a snapshot), the attachment ids that
  are new since. More new ids than this run's other uploads to the target can account for
  means this upload was stored, whatever the new file is called.
- Content: the files that could be this upload (new ids with a snapshot; without one,
  files of the same name, undated files and files dated since the upload began) are
  fetched from their `data_url` and hashed. A file with the same SHA-256 as the local file
  means the file is attached. The fetching is bounded (`MAX_FILES_COMPARED`,
  `MAX_BYTES_COMPARED`), and a file is read no further than the largest file it could be.
- Absence: everything that could be this upload is accounted for as something else (this
  run's other uploads, or, without a snapshot, a file with other bytes that is older or
  undated). Only then may the caller send the upload again.

Anything else is unknown. The ATS is taken to store the bytes it was given (what
`--verify` checks): a file with other bytes is not this upload, unless identity says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from kombo_cli.api.targets import CANDIDATE
from kombo_cli.upload.compare import (
    MAX_BYTES_COMPARED,
    MAX_FILES_COMPARED,
    Comparer,
    Fetch,
    Listed,
    Sibling,
    Sought,
)
from kombo_cli.upload.ledger import Listing, is_own_file

__all__ = [
    "CONTENT",
    "ID",
    "MAX_BYTES_COMPARED",
    "MAX_FILES_COMPARED",
    "REPLY",
    "Doubt",
    "Fetch",
    "Look",
    "Sibling",
    "Sought",
    "Verdict",
    "look_for",
]

# ATS clocks and ours disagree by a little: a listed file dated up to this long before the
# upload started may still be this upload.
CLOCK_SKEW = timedelta(minutes=2)
ID = "id"
CONTENT = "content"
REPLY = "reply"


class Verdict(Enum):
    STORED = "stored"
    ABSENT = "absent"
    UNKNOWN = "unknown"


class Doubt(Enum):
    """Why a look is UNKNOWN."""

    # A file that could be this upload has other bytes (the ATS changed it, or someone
    # else uploaded one).
    OTHER_BYTES = "other_bytes"
    # Files that could be this upload could not be compared (not fetched, or no bytes).
    UNCOMPARED = "uncompared"
    # The listing lags behind this run, or another upload of this run is under way.
    NOT_SETTLED = "not_settled"
    # The listing could not be read.
    UNLISTED = "unlisted"


@dataclass(frozen=True)
class Look:
    """What one look at the target's attachments found."""

    verdict: Verdict
    # For STORED, how it was found (a clause after "but"); for UNKNOWN, why not (after
    # "and"); empty for ABSENT.
    explanation: str = ""
    # For STORED: ID or CONTENT.
    confirmed_by: str | None = None
    # For UNKNOWN: why.
    doubt: Doubt | None = None

    @property
    def settles_later(self) -> bool:
        """A later look may settle it (the listing lags behind this run's own uploads, or
        another upload of this run to the target is still under way)."""
        return self.doubt is Doubt.NOT_SETTLED


def look_for(
    attachments: list[dict[str, Any]],
    sought: Sought,
    snapshot: Listing | None,
    siblings: list[Sibling],
    fetch: Fetch,
    *,
    compare_first: bool = False,
) -> Look:
    """Whether `attachments` (a fresh listing of the target) show the sought upload.

    `compare_first` (for --verify) compares bytes even where identity alone would do."""
    listed = [_parse(item) for item in attachments if _is_own(item, sought)]
    comparer = Comparer(fetch, sought, siblings)
    if (
        snapshot is not None
        and snapshot.complete
        and snapshot.before_any_upload
        and all(item.id for item in listed)
    ):
        return _by_identity(listed, sought, snapshot, siblings, comparer, compare_first)
    return _by_content(listed, sought, siblings, comparer)


def _by_identity(
    listed: list[Listed],
    sought: Sought,
    snapshot: Listing,
    siblings: list[Sibling],
    comparer: Comparer,
    compare_first: bool,
) -> Look:
    # An ATS may list one file twice: one new id is one new attachment. Newest first, so
    # that within the bounds the likeliest files are compared.
    unique = {item.id: item for item in listed if item.id not in snapshot.ids}
    new = sorted(unique.values(), key=_newest_first)
    siblings = [s for s in siblings if s.began_at is None or s.began_at >= snapshot.taken_at]
    comparer = comparer.among(siblings)
    where = f"the {sought.target_kind}'s attachments"
    if len(new) > len(siblings) and not compare_first:
        return Look(
            Verdict.STORED,
            f"{where} list {_count(len(new), 'new attachment')} since they were listed before"
            " the upload, more than this run's other uploads there account for",
            ID,
        )
    identical, left = comparer.sort_out(new)
    if identical:
        return Look(
            Verdict.STORED, f"{where} list {_named(identical)} with the same bytes", CONTENT
        )
    if left.identical_unsettled:
        return _same_bytes_under_way(where)
    if compare_first and left.unchecked:
        # --verify: a file not compared is no evidence that the bytes differ.
        return Look(
            Verdict.UNKNOWN,
            f"{_named(left.unchecked)} could not be compared ({left.why_unchecked})",
            doubt=Doubt.UNCOMPARED,
        )
    stored_left = sum(1 for sibling in left.siblings if sibling.stored)
    maybe_left = len(left.siblings) - stored_left
    if len(left.files) > stored_left + maybe_left:
        return Look(
            Verdict.STORED,
            f"{where} list {_named(left.files)}, new since they were listed before the upload"
            " and not from this run's other uploads",
            ID,
        )
    if len(left.files) < stored_left:
        return Look(
            Verdict.UNKNOWN,
            f"{where} do not list all of this run's stored uploads yet",
            doubt=Doubt.NOT_SETTLED,
        )
    if len(left.files) > stored_left:
        return Look(
            Verdict.UNKNOWN,
            f"{where} list {_named(left.files)}, which may be this upload or another one of"
            " this run still under way",
            doubt=Doubt.NOT_SETTLED,
        )
    return Look(Verdict.ABSENT)


def _by_content(
    listed: list[Listed], sought: Sought, siblings: list[Sibling], comparer: Comparer
) -> Look:
    where = f"the {sought.target_kind}'s attachments"
    candidates = [item for item in listed if _could_be(item, sought)]
    if not candidates:
        return Look(Verdict.ABSENT)
    if sought.sha256 is None:
        return Look(
            Verdict.UNKNOWN,
            f"{where} list {_named(candidates)}, and an upload by URL has no local bytes to"
            " compare with",
            doubt=Doubt.UNCOMPARED,
        )
    identical, left = comparer.sort_out(_most_likely_first(candidates, sought))
    if identical:
        return Look(
            Verdict.STORED, f"{where} list {_named(identical)} with the same bytes", CONTENT
        )
    if left.identical_unsettled:
        return _same_bytes_under_way(where)
    if left.unchecked:
        return Look(
            Verdict.UNKNOWN,
            f"{_named(left.unchecked)} could not be compared ({left.why_unchecked})",
            doubt=Doubt.UNCOMPARED,
        )
    recent = [item for item in left.files if _is_recent(item.created_at, sought.started_at)]
    # A file of this run's would have matched its bytes; only an upload by URL (no bytes
    # to match) can account for a recent file with other bytes.
    by_url = sum(1 for sibling in left.siblings if sibling.sha256 is None)
    if len(recent) > by_url:
        return Look(
            Verdict.UNKNOWN,
            f"{where} list {_named(recent)}, dated about when the upload began or later, but"
            " with other bytes (the ATS may have changed the file, or someone else uploaded"
            " one)",
            doubt=Doubt.OTHER_BYTES,
        )
    return Look(Verdict.ABSENT)


def _same_bytes_under_way(where: str) -> Look:
    return Look(
        Verdict.UNKNOWN,
        f"{where} list a file with the same bytes, which another upload of the same file in"
        " this run, still under way, may have stored",
        doubt=Doubt.NOT_SETTLED,
    )


def _is_own(item: dict[str, Any], sought: Sought) -> bool:
    """For a candidate, only the candidate's own files, not their applications'."""
    return sought.target_kind != CANDIDATE or is_own_file(item)


def _parse(item: dict[str, Any]) -> Listed:
    identity = item.get("id")
    name = item.get("file_name")
    url = item.get("data_url")
    return Listed(
        id=identity if isinstance(identity, str) and identity else None,
        name=name if isinstance(name, str) else "",
        created_at=_parse_time(item.get("remote_created_at")),
        data_url=url if isinstance(url, str) and url else None,
    )


def _newest_first(item: Listed) -> tuple[bool, float]:
    moment = item.created_at
    return (moment is None, -moment.timestamp() if moment is not None else 0.0)


def _could_be(item: Listed, sought: Sought) -> bool:
    return (
        item.name == sought.name
        or item.created_at is None
        or _is_recent(item.created_at, sought.started_at)
    )


def _most_likely_first(items: list[Listed], sought: Sought) -> list[Listed]:
    return sorted(items, key=lambda item: (item.name != sought.name, item.created_at is None))


def _is_recent(moment: datetime | None, started_at: datetime) -> bool:
    """Dated since the upload began, allowing for the ATS's clock, or, for a date without
    a time of day, dated that day or the day before (time zones)."""
    if moment is None:
        return False
    earliest = started_at - CLOCK_SKEW
    if moment >= earliest:
        return True
    midnight = moment.hour == moment.minute == moment.second == moment.microsecond == 0
    return midnight and moment.date() >= earliest.date() - timedelta(days=1)


def _named(items: list[Listed]) -> str:
    names = [
        f"{item.name or 'a file without a name'}" + (f" (id {item.id})" if item.id else "")
        for item in items[:3]
    ]
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return ", ".join(names) + more


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            # A time of day without a zone is the ATS's local time, anywhere from UTC-12 to
            # UTC+14: taken at its latest, so a file that could be recent counts as recent.
            # (A bare midnight is a day-only date, which `_is_recent` widens itself.)
            is_midnight = moment.time() == datetime.min.time()
            moment = moment.replace(tzinfo=timezone.utc)
            if not is_midnight:
                moment += timedelta(hours=12)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        # Anything from year 1 in a far time zone to text that is no date at all.
        return None
