"""What a run writes to its journal and what it makes of one an earlier run left.

The pipeline asks three questions of an item before it sends anything: was it stored by
an earlier run (skip it, no call), was it left half-sent (settle it by evidence first), or
neither (send it). It then records each step as it happens. See `journal` for the format.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from kombo_cli.api.downloads import origin
from kombo_cli.api.retry import describe_failure
from kombo_cli.api.targets import Target
from kombo_cli.errors import KomboError, OutcomeUnknown
from kombo_cli.upload.delivery import Delivered, Unfinished
from kombo_cli.upload.journal import (
    FAILED,
    SENDING,
    STORED,
    UNKNOWN,
    Journal,
    Record,
    time_text,
)
from kombo_cli.upload.ledger import Ledger, Listing, OwnUpload
from kombo_cli.upload.plan import AttachmentPlan
from kombo_cli.upload.request import AttachRequest

# After a timed-out attempt Kombo may go on storing the file for a while (its own limit on
# an action): a rerun sooner than this does not send it again, even if it is not listed.
STILL_WORKING = timedelta(minutes=10)


class Resumption:
    """One run's use of a journal. Thread-safe, as the journal is."""

    def __init__(self, journal: Journal, scope: str = "") -> None:
        self.journal = journal
        # The API and integration this run talks to: a journal kept across integrations
        # (or regions) never lets one's records stand for another's.
        self.scope = scope

    @classmethod
    def open(cls, path: Path, warn: Callable[[str], None], scope: str = "") -> Resumption:
        """Open the journal at `path`; a damaged line (left by a killed run) is reported."""
        journal = Journal.open(path)
        damaged = journal.damaged_lines
        if damaged:
            lines = "1 damaged line" if damaged == 1 else f"{damaged} damaged lines"
            warn(f"{path}: {lines} ignored (a run killed while writing leaves one)")
        return cls(journal, scope)

    def remember_stored(self, ledger: Ledger) -> None:
        """Put what earlier runs stored, or may have stored, into this run's ledger, so
        that evidence for a lost reply does not take one of them for it.

        The uploads they left open ("sending", "unknown") go in as "may be stored": one
        of them may be in the listing although its item has not been settled yet, and
        left out it would count as a new attachment no upload of this run accounts for,
        which "confirms" whichever open upload is settled first. Each is taken over by
        its own item's delivery when that item is settled (see `Ledger.resume`)."""
        for record in self.journal.earlier_in(self.scope):
            if record.target is None or record.name is None:
                continue
            upload = OwnUpload(record.target, record.name, record.size, _known(record.sha256))
            upload.stored = record.event == STORED
            upload.left_open = not upload.stored
            if record.started_at is not None:
                upload.began_at = record.started_at
            ledger.add(upload)

    def item(self, request: AttachRequest) -> str:
        source = request.url if request.url is not None else os.path.abspath(request.path or "")
        # A name or type given for the row makes it another item than the same file with
        # others (only when given, so a plain row keeps its key).
        details = [request.name, request.type] if request.name or request.type else []
        return self.journal.item(
            request.target_kind, request.target_value, source, self.scope, *details
        )

    def last(self, item: str) -> Record | None:
        return self.journal.last(item)

    @staticmethod
    def still_open(
        record: Record | None, request: AttachRequest, error: KomboError
    ) -> OutcomeUnknown | None:
        """For an item an earlier run left half-sent, `error` (raised before it could be
        looked for) as an unknown outcome; None for any other item."""
        if record is None or record.event not in (SENDING, UNKNOWN):
            return None
        return OutcomeUnknown(
            f"{request.label} may or may not have been stored: an earlier run stopped while"
            f" sending it, and it could not be looked for now ({describe_failure(error)}).",
            hint="run the same command again with the same --journal",
        )

    @staticmethod
    def stored_target(record: Record | None) -> Target | None:
        """Where the journal says an earlier run stored the item, if it says so."""
        return record.target if record is not None and record.event == STORED else None

    @staticmethod
    def stored_before(record: Record | None, plan: AttachmentPlan) -> bool:
        """The journal says an earlier run stored these very bytes."""
        if record is None or record.event != STORED or record.target != plan.target:
            return False
        if plan.data_url is not None:
            # No local bytes: the item's key already names the URL.
            return True
        return record.sha256 is not None and record.sha256 == plan.sha256()

    @staticmethod
    def unfinished(record: Record | None, plan: AttachmentPlan) -> Unfinished | None:
        """The attempt an earlier run left open for these bytes, if any."""
        if record is None or record.event not in (SENDING, UNKNOWN):
            return None
        if record.started_at is None or record.target != plan.target:
            return None
        if plan.data_url is None and record.sha256 != plan.sha256():
            # The file changed since: the earlier attempt was of other bytes.
            return None
        snapshot = None
        if record.snapshot is not None and record.snapshot_at is not None:
            snapshot = Listing.of_ids(record.snapshot, record.snapshot_at)
        not_before = record.started_at + STILL_WORKING if record.pending else None
        return Unfinished(record.started_at, snapshot, not_before)

    def sending(
        self, item: str, plan: AttachmentPlan, snapshot: Listing | None, started_at: datetime
    ) -> None:
        usable = snapshot is not None and snapshot.complete and snapshot.before_any_upload
        self.journal.write(
            item,
            SENDING,
            scope=self.scope,
            target=plan.target.to_json(),
            source=plan.source,
            name=plan.name,
            size=plan.size,
            sha256=plan.sha256(),
            started_at=time_text(started_at),
            snapshot=sorted(snapshot.ids) if usable and snapshot is not None else None,
            snapshot_at=time_text(snapshot.taken_at) if usable and snapshot is not None else None,
        )

    def stored(self, item: str, plan: AttachmentPlan, delivered: Delivered) -> None:
        self.journal.write(
            item,
            STORED,
            scope=self.scope,
            target=plan.target.to_json(),
            name=plan.name,
            size=plan.size,
            sha256=delivered.sha256 or plan.sha256(),
            confirmed_by=delivered.confirmed_by,
            verified=None if delivered.verification is None else delivered.verification.verified,
        )

    def failed(self, item: str, error: KomboError) -> None:
        if isinstance(error, OutcomeUnknown):
            pending = True if error.kombo_may_be_working else None
            self.journal.write(item, UNKNOWN, code=error.local_code, pending=pending)
        else:
            self.journal.write(item, FAILED, code=_code(error))


def journal_scope(base_url: str) -> str:
    """The API a journal's records are for, spelled one way: `HTTPS://API.kombo.dev:443/v1/`
    and `https://api.kombo.dev/v1` are the same API."""
    found = origin(base_url)
    if found is None:
        return base_url
    scheme, host, port = found
    return f"{scheme}://{host}:{port}{urlsplit(base_url).path.rstrip('/')}"


def _known(digest: str | None) -> Callable[[], str | None]:
    return lambda: digest


def _code(error: KomboError) -> str:
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else error.local_code
