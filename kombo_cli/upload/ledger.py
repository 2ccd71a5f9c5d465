"""What a run knows about a target's attachments: counts from a listing taken before any
upload of this run, and what this run has stored itself (with turns for same-name uploads).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from kombo_cli.api.targets import CANDIDATE, Target
from kombo_cli.upload.plan import AttachmentPlan


def is_own_file(item: dict[str, Any]) -> bool:
    """Whether a file in a candidate's listing is the candidate's own: Kombo lists their
    applications' files too, with an `application_id`; an upload to the candidate has none."""
    return item.get("application_id") is None


class Listing:
    """A target's attachments before this run added any: the ids, and how many of each name.

    The ids let a lost reply be settled by identity (an id that is new since). Only ids and
    counts are kept, so a long run remembers thousands of targets cheaply. For a candidate,
    only the candidate's own files count (see `is_own_file`).
    """

    def __init__(self, attachments: list[dict[str, Any]], own_files_only: bool = False) -> None:
        own = [item for item in attachments if not own_files_only or is_own_file(item)]
        self._counts = Counter(
            item["file_name"] for item in own if isinstance(item.get("file_name"), str)
        )
        self.ids = frozenset(item["id"] for item in own if isinstance(item.get("id"), str))
        # A listed file without an id cannot be told apart later: no identity evidence then.
        self.complete = len(self.ids) == len(own)
        self.before_any_upload = True
        self.taken_at = datetime.now(timezone.utc)

    @classmethod
    def of_ids(cls, ids: frozenset[str], taken_at: datetime) -> Listing:
        """A snapshot as a journal recorded it: ids only."""
        listing = cls([])
        listing.ids = ids
        listing.taken_at = taken_at
        return listing

    def count(self, name: str) -> int:
        return self._counts.get(name, 0)


@dataclass(eq=False)
class OwnUpload:
    """One upload of this run to a target, from its first attempt until the run ends (or
    one an earlier run stored, read from a journal)."""

    target: Target
    name: str
    size: int | None
    # Reads the file's SHA-256 when evidence first needs it (None for a data_url upload).
    read_sha256: Callable[[], str | None]
    # True once Kombo's reply (or the evidence ladder) confirmed it; until then it may or
    # may not be stored.
    stored: bool = False
    began_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # Left open by an earlier run (read from a journal) and not yet taken over by this
    # run's delivery of the same item (see `Ledger.resume`).
    left_open: bool = False
    _sha256: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, plan: AttachmentPlan) -> OwnUpload:
        return cls(plan.target, plan.name, plan.size, plan.sha256)

    def sha256(self) -> str | None:
        if self._sha256 is None:
            self._sha256 = self.read_sha256()
        return self._sha256


class Ledger:
    """What this run has sent to each target: stored, or possibly stored. Thread-safe.

    When a reply is lost, the listing shows files this run stored a moment ago, or is
    storing right now; the ledger keeps them from being mistaken for the lost upload (see
    evidence). Uploads of one name to one target also take turns (see `turn`), so that
    --skip-existing sees an earlier upload of the same name.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uploads: dict[Target, list[OwnUpload]] = {}
        # Locks for the turns being taken now, with how many want each; dropped when idle.
        self._turns: dict[tuple[str, str, str], tuple[threading.RLock, int]] = {}

    def count(self, plan: AttachmentPlan) -> int:
        """How many uploads of this name to this target this run has stored."""
        with self._lock:
            uploads = self._uploads.get(plan.target, [])
            return sum(1 for upload in uploads if upload.stored and upload.name == plan.name)

    def has_uploads(self, target: Target) -> bool:
        with self._lock:
            return bool(self._uploads.get(target))

    def begin(self, plan: AttachmentPlan) -> OwnUpload:
        """An upload is about to be sent: from now on it may be stored."""
        return self.add(OwnUpload.of(plan))

    def resume(self, plan: AttachmentPlan) -> OwnUpload:
        """An upload an earlier run left open is settled and, if absent, sent again: it
        takes over the entry the journal put in (else that entry would stand for another
        upload with the same bytes, and hide this one's file), or begins one."""
        sha256 = plan.sha256()
        with self._lock:
            for upload in self._uploads.get(plan.target, []):
                if upload.left_open and upload.name == plan.name and upload.sha256() == sha256:
                    upload.left_open = False
                    return upload
        return self.begin(plan)

    def add(self, upload: OwnUpload) -> OwnUpload:
        with self._lock:
            self._uploads.setdefault(upload.target, []).append(upload)
        return upload

    def stored(self, upload: OwnUpload) -> None:
        with self._lock:
            upload.stored = True

    def not_stored(self, upload: OwnUpload) -> None:
        """Certainly not stored (refused, or found absent before it is sent again)."""
        with self._lock:
            uploads = self._uploads.get(upload.target, [])
            if upload in uploads:
                uploads.remove(upload)

    def others(self, upload: OwnUpload) -> list[OwnUpload]:
        """This run's other uploads to the same target that are or may be stored."""
        with self._lock:
            return [other for other in self._uploads.get(upload.target, []) if other is not upload]

    @contextmanager
    def turn(self, plan: AttachmentPlan) -> Iterator[None]:
        """Hold the turn for this target and name (re-entrant within one thread)."""
        key = _key(plan)
        with self._lock:
            lock, waiting = self._turns.get(key, (threading.RLock(), 0))
            self._turns[key] = (lock, waiting + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, waiting = self._turns[key]
                if waiting == 1:
                    del self._turns[key]
                else:
                    self._turns[key] = (lock, waiting - 1)


def _key(plan: AttachmentPlan) -> tuple[str, str, str]:
    return (plan.target.kind, plan.target.id, plan.name)


class RunMemory:
    """What one run remembers: the ledger of its uploads, and each target's listing taken
    before its first upload there. Thread-safe; shared by every request of the run.

    Listings are kept for the whole run and never refreshed: one taken again after this
    run's own uploads would count them twice when a lost reply is checked (see evidence).
    """

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.digests = DigestCache()
        self._lock = threading.Lock()
        self._listings: dict[Target, Listing] = {}
        self._listing_locks: dict[Target, threading.Lock] = {}

    def listing(self, target: Target, fetch: Callable[[], list[dict[str, Any]]]) -> Listing:
        """The target's listing, fetched once (the first caller fetches; others wait)."""
        with self._lock:
            lock = self._listing_locks.setdefault(target, threading.Lock())
        with lock:
            with self._lock:
                cached = self._listings.get(target)
            if cached is not None:
                return cached
            uploaded_before = self.ledger.has_uploads(target)
            # Read before the request goes out: anything begun after this is not in it.
            taken_at = datetime.now(timezone.utc)
            listing = Listing(fetch(), own_files_only=target.kind == CANDIDATE)
            # Taken before any upload of this run to the target began: only then are all of
            # this run's uploads there new ids since (see evidence).
            listing.before_any_upload = not uploaded_before and not self.ledger.has_uploads(target)
            listing.taken_at = taken_at
            with self._lock:
                self._listings[target] = listing
            return listing


class DigestCache:
    """SHA-256s of listed files already fetched this run, by data_url. Thread-safe.

    A file found longer than a limit is remembered as such: it is longer than any smaller
    limit too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str | None, int]] = {}

    def get(self, url: str, limit_bytes: int) -> tuple[bool, str | None]:
        """(whether the answer is known, the SHA-256 or None for "longer than the limit")."""
        with self._lock:
            found = self._known.get(url)
        if found is None:
            return False, None
        digest, longer_than = found
        if digest is not None:
            return True, digest
        return (limit_bytes <= longer_than), None

    def put(self, url: str, limit_bytes: int, digest: str | None) -> None:
        with self._lock:
            self._known[url] = (digest, limit_bytes)
