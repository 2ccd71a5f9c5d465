"""What a run knows about a target's attachments: counts from a listing taken before any
upload of this run, and what this run has stored itself (with turns for same-name uploads).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

from kombo_cli.api.targets import CANDIDATE, Target
from kombo_cli.upload.plan import AttachmentPlan


def is_own_file(item: dict[str, Any]) -> bool:
    """Whether a file in a candidate's listing is the candidate's own: Kombo lists their
    applications' files too, with an `application_id`; an upload to the candidate has none."""
    return item.get("application_id") is None


class Listing:
    """How many attachments of each name a target had before this run added any.

    Only the counts are kept, so a long run remembers thousands of targets cheaply. For a
    candidate, only the candidate's own files count (see `is_own_file`).
    """

    def __init__(self, attachments: list[dict[str, Any]], own_files_only: bool = False) -> None:
        self._counts = Counter(
            item["file_name"]
            for item in attachments
            if isinstance(item.get("file_name"), str) and (not own_files_only or is_own_file(item))
        )

    def count(self, name: str) -> int:
        return self._counts.get(name, 0)


class Ledger:
    """What this run has attached so far, per target and name. Thread-safe.

    When a reply is lost, the listing shows files this run stored a moment ago under the
    same name; the ledger keeps them from being mistaken for the lost upload. Uploads of
    one name to one target also take turns (see `turn`), so at any check every earlier
    one of them is already counted here. It keeps one small count per target and name.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], int] = {}
        # Locks for the turns being taken now, with how many want each; dropped when idle.
        self._turns: dict[tuple[str, str, str], tuple[threading.RLock, int]] = {}

    def count(self, plan: AttachmentPlan) -> int:
        with self._lock:
            return self._counts.get(_key(plan), 0)

    def record(self, plan: AttachmentPlan) -> None:
        with self._lock:
            self._counts[_key(plan)] = self._counts.get(_key(plan), 0) + 1

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
            listing = Listing(fetch(), own_files_only=target.kind == CANDIDATE)
            with self._lock:
                self._listings[target] = listing
            return listing
