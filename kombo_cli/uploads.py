"""One item, start to finish: find the target, plan the upload, skip or deliver it.

An `UploadRun` holds what every item of one `kombo attach` shares (the throttled client,
the retry policy, the ledger of what this run stored, the email lookups and the listings
taken for --skip-existing) and turns each item into an `ItemResult`. It may be called from
several threads at once; it never prints, but hands notices to callbacks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from kombo_cli.attach import (
    AttachmentApi,
    AttachmentOutcome,
    AttachmentPlan,
    plan_attachment,
    plan_url_attachment,
)
from kombo_cli.body import ProgressCallback
from kombo_cli.delivery import DeliveryState, Ledger, Listing, Stage, deliver
from kombo_cli.errors import InternalError, Interrupted, KomboError, UsageError
from kombo_cli.files import STDIN_ARGUMENT, LocalFile
from kombo_cli.items import APPLICATION, CANDIDATE, EMAIL, AttachItem, BadRow, Entry
from kombo_cli.lookup import CandidateLookup
from kombo_cli.retry import OnRetry, RetryNotice, RetryPolicy, call_idempotent
from kombo_cli.targets import Target

SKIPPED = "skipped"
SUCCESS = "success"
ERROR = "error"


@dataclass(frozen=True)
class ItemResult:
    entry: Entry
    status: str
    target: Target | None = None
    plan: AttachmentPlan | None = None
    outcome: AttachmentOutcome | None = None
    error: KomboError | None = None


class ProgressHooks:
    """What a progress display wants to hear; the default hears nothing."""

    def started(self, key: object, label: str, size: int | None) -> ProgressCallback | None:
        return None

    def finished(self, key: object) -> None:
        pass


class UploadRun:
    def __init__(
        self,
        # None for a --dry-run without credentials, which never sends.
        client: AttachmentApi | None,
        policy: RetryPolicy,
        *,
        lookup: CandidateLookup | None,
        default_type: str,
        skip_existing: bool,
        stdin_file: LocalFile | None = None,
        on_notice: Callable[[str, RetryNotice], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        progress: ProgressHooks | None = None,
        name_items: bool = True,
    ) -> None:
        self.client = client
        self.policy = policy
        self.lookup = lookup
        self.default_type = default_type
        self.skip_existing = skip_existing
        self.stdin_file = stdin_file
        self.ledger = Ledger()
        self._on_notice = on_notice
        self._on_warning = on_warning
        self.progress = progress or ProgressHooks()
        # Warnings say which item they are about, unless there is only the one.
        self.name_items = name_items
        # Kept for the whole run, never refreshed: a listing taken again after this run's own
        # uploads would count them twice when a lost reply is checked (see delivery).
        self._listings: dict[Target, Listing] = {}
        self._listing_locks: dict[Target, threading.Lock] = {}
        self._lock = threading.Lock()
        self._states: dict[int, DeliveryState] = {}

    # -- the parts, also used by --dry-run ------------------------------------------------

    def resolve_target(self, item: AttachItem) -> Target:
        if item.target_kind == EMAIL:
            if self.lookup is None:
                raise InternalError("An email address reached the upload without a lookup.")
            return self.lookup.candidate(item.target_value)
        return Target.parse(item.target_value, application=item.target_kind == APPLICATION)

    def plan(self, item: AttachItem, target: Target) -> AttachmentPlan:
        attachment_type = item.type or self.default_type
        if item.url is not None:
            plan = plan_url_attachment(
                target,
                item.url,
                attachment_type=attachment_type,
                name=item.name,
                content_type=item.content_type,
                remote_fields=item.remote_fields,
            )
        else:
            assert item.file is not None
            plan = plan_attachment(
                target,
                item.file,
                attachment_type=attachment_type,
                name=item.name,
                content_type=item.content_type,
                remote_fields=item.remote_fields,
                local_file=self.stdin_file if item.file == STDIN_ARGUMENT else None,
            )
        if self._on_warning is not None:
            for note in plan.notes:
                self._on_warning(f"{item.label}: {note}" if self.name_items else note)
        return plan

    # -- one item -------------------------------------------------------------------------

    def process(self, entry: Entry) -> ItemResult:
        """Never raises (except Interrupted): every outcome becomes an ItemResult."""
        if isinstance(entry, BadRow):
            return ItemResult(entry, ERROR, error=UsageError(entry.message))
        assert self.client is not None
        target: Target | None = None
        plan: AttachmentPlan | None = None
        try:
            target = self.resolve_target(entry)
            plan = self.plan(entry, target)
            listing = self.listing(target) if self.skip_existing else None
            # The turn is taken before the check, so of two items with one name for one
            # target the second sees the first's upload.
            with self.ledger.turn(plan):
                if listing is not None and listing.count(plan.name) + self.ledger.count(plan):
                    return ItemResult(entry, SKIPPED, target, plan)
                return self._deliver(entry, target, plan, listing)
        except Interrupted:
            raise
        except KomboError as error:
            return ItemResult(entry, ERROR, target, plan, error=error)

    def _deliver(
        self, entry: AttachItem, target: Target, plan: AttachmentPlan, listing: Listing | None
    ) -> ItemResult:
        key = object()
        on_progress = self.progress.started(key, plan.name, plan.size)
        state = DeliveryState()
        with self._lock:
            self._states[id(entry)] = state
        try:
            outcome = deliver(
                self.client,
                plan,
                self.policy,
                on_progress=on_progress,
                on_retry=self._retry_callback(plan.name),
                listed_before=listing,
                ledger=self.ledger,
                state=state,
            )
            state.stage = Stage.DONE
        except KomboError:
            with self._lock:
                self._states.pop(id(entry), None)
            raise
        finally:
            self.progress.finished(key)
        # The state stays until the result is reported (see `reported`): Ctrl-C in between
        # must not call a stored upload "not stored".
        return ItemResult(entry, SUCCESS, target, plan, outcome)

    def reported(self, entry: Entry) -> None:
        """The entry's result has been shown; its delivery state is no longer needed."""
        with self._lock:
            self._states.pop(id(entry), None)

    def waiting_to_retry(self, entry: Entry) -> bool:
        with self._lock:
            state = self._states.get(id(entry))
        return state is not None and state.stage is Stage.WAITING

    def certainly_not_stored(self, entry: Entry) -> bool:
        """True while nothing of the entry can have been stored: it has not started sending,
        or it waits to retry after a refusal."""
        with self._lock:
            state = self._states.get(id(entry))
        return state is None or state.stage in (Stage.QUEUED, Stage.WAITING)

    def _retry_callback(self, subject: str) -> OnRetry | None:
        if self._on_notice is None:
            return None
        notice = self._on_notice
        return lambda retry: notice(subject, retry)

    def listing(self, target: Target) -> Listing:
        """The target's attachments before this run added any (--skip-existing)."""
        with self._lock:
            lock = self._listing_locks.setdefault(target, threading.Lock())
        # One listing per target even when several items for it start together.
        with lock:
            with self._lock:
                cached = self._listings.get(target)
            if cached is not None:
                return cached
            client = self.client
            assert client is not None
            attachments = call_idempotent(
                lambda: client.list_attachments(target),
                self.policy,
                what="listing the attachments",
                on_retry=self._retry_callback(str(target)),
            )
            listing = Listing(attachments, own_files_only=target.kind == CANDIDATE)
            with self._lock:
                self._listings[target] = listing
            return listing
