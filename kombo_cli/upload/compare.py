"""Fetch the listed files that could be an upload, within bounds, and sort them by bytes:
the sought upload's, another upload of this run's, or neither. What the bytes prove is
`evidence`'s to say."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from kombo_cli.errors import KomboError

# At most this many listed files are fetched to compare contents in one look...
MAX_FILES_COMPARED = 20
# ...and at most this many bytes in all.
MAX_BYTES_COMPARED = 256 * 1024 * 1024


@dataclass(frozen=True)
class Sought:
    """The upload being looked for."""

    name: str
    target_kind: str
    # None for a data_url upload: there are no local bytes to compare.
    sha256: str | None
    size: int | None
    started_at: datetime


@dataclass(frozen=True)
class Sibling:
    """Another upload of this run to the same target."""

    sha256: str | None
    size: int | None
    # Confirmed stored; otherwise it may or may not be (under way, or unknown).
    stored: bool
    # When its first attempt began: one begun before a snapshot was taken is in it.
    began_at: datetime | None = None


# Fetches a listed file's bytes from its data_url: its SHA-256, or None when it is longer
# than the limit. Raises KomboError when it cannot be fetched.
Fetch = Callable[[str, int], "str | None"]


@dataclass(frozen=True)
class Listed:
    id: str | None
    name: str
    created_at: datetime | None
    data_url: str | None


@dataclass
class Left:
    """What content could not attribute: files, and the siblings not matched to any."""

    files: list[Listed]
    siblings: list[Sibling]
    unchecked: list[Listed]
    why_unchecked: str
    # Files with the sought bytes that an upload of the same bytes still under way may
    # account for: neither proof nor disproof yet.
    identical_unsettled: int = 0


class Comparer:
    """Fetches candidates within the bounds and sorts them: this upload's bytes, a sibling's
    bytes, or neither."""

    def __init__(self, fetch: Fetch, sought: Sought, siblings: list[Sibling]) -> None:
        self._fetch = fetch
        self._sought = sought
        self._siblings = siblings
        sizes = [size for size in [sought.size, *(s.size for s in siblings)] if size is not None]
        # No file longer than any this run sent there can match one of them.
        self._limit = max(sizes, default=0)

    def among(self, siblings: list[Sibling]) -> Comparer:
        return Comparer(self._fetch, self._sought, siblings)

    def sort_out(self, files: list[Listed]) -> tuple[list[Listed], Left]:
        """(files identical to the sought upload beyond what siblings of the same bytes
        account for, what is left)."""
        siblings = sorted(self._siblings, key=lambda s: not s.stored)
        wanted = Counter(s.sha256 for s in siblings if s.sha256)
        if not wanted and self._sought.sha256 is None:
            return [], Left(list(files), siblings, [], "")
        files_left, bytes_left = MAX_FILES_COMPARED, MAX_BYTES_COMPARED
        identical: list[Listed] = []
        unmatched: list[Listed] = []
        unchecked: list[Listed] = []
        why = ""
        for item in files:
            if item.data_url is None:
                unchecked.append(item)
                why = "no download address is listed"
                continue
            if files_left == 0 or bytes_left < self._limit:
                unchecked.append(item)
                why = f"at most {MAX_FILES_COMPARED} files are fetched to compare"
                continue
            files_left -= 1
            bytes_left -= self._limit
            try:
                digest = self._fetch(item.data_url, self._limit)
            except KomboError as error:
                unchecked.append(item)
                why = error.message.rstrip(".")
                continue
            if digest is not None and digest == self._sought.sha256:
                identical.append(item)
            elif digest is not None and wanted[digest] > 0:
                wanted[digest] -= 1
                siblings = _without_one(siblings, digest)
            else:
                unmatched.append(item)
        # Siblings with the sought bytes account for as many identical files first: stored
        # ones for certain (they come first); ones still under way only perhaps.
        unsettled = 0
        for sibling in [s for s in siblings if s.sha256 == self._sought.sha256]:
            if not identical:
                break
            identical.pop()
            siblings = _without_one(siblings, self._sought.sha256)
            unsettled += 0 if sibling.stored else 1
        # A file that could not be compared may still be a sibling's (or this upload's).
        left = Left(unmatched + unchecked, siblings, unchecked, why, unsettled)
        return identical, left


def _without_one(siblings: list[Sibling], sha256: str | None) -> list[Sibling]:
    """`siblings` less the first (stored ones come first) with these bytes."""
    for index, sibling in enumerate(siblings):
        if sibling.sha256 == sha256:
            return siblings[:index] + siblings[index + 1 :]
    return siblings
