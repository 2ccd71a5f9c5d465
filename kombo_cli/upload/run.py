"""One request, start to finish: find the target, plan the upload, then skip, deliver or preview.

An `AttachPipeline` holds what every request of one run shares (the throttled client, the
retry policy, the ledger of what this run stored, the email lookups and the listings taken
for --skip-existing) and turns each entry into an `AttachResult`, for a real run or a dry
one. It may be called from several threads at once; it never prints, but tells a
`RunObserver` what is worth telling.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Callable

from kombo_cli.api.retry import OnRetry, RetryNotice, RetryPolicy, call_idempotent
from kombo_cli.api.targets import APPLICATION, CANDIDATE, Target
from kombo_cli.errors import (
    ConfigError,
    Interrupted,
    KomboError,
    OutcomeUnknown,
    UsageError,
    VerifyMismatch,
)
from kombo_cli.upload import send_gate
from kombo_cli.upload.body import ProgressCallback
from kombo_cli.upload.delivery import AttachmentApi, DeliveryState, Stage, Unfinished, deliver
from kombo_cli.upload.files import LocalFile
from kombo_cli.upload.ledger import Listing, RunMemory
from kombo_cli.upload.lookup import CandidateLookup
from kombo_cli.upload.other_kind import OtherKindCheck
from kombo_cli.upload.plan import AttachmentPlan, RunDefaults, plan_request
from kombo_cli.upload.request import EMAIL, AttachRequest, Entry, RowProblem
from kombo_cli.upload.result import (
    ERROR,
    JOURNAL,
    PLANNED,
    PLANNED_SKIP,
    SKIPPED,
    SUCCESS,
    AttachResult,
)
from kombo_cli.upload.resume import Resumption


class RunObserver:
    """What a run has to tell, as it happens; the default hears nothing. Called from the
    threads that do the work, so an implementation must be thread-safe."""

    def warning(self, message: str) -> None:
        """Something worth knowing that does not stop the upload (a plan's notes)."""

    def retrying(self, subject: str, notice: RetryNotice) -> None:
        """A request failed and is retried or checked; `notice` says why and what next."""

    def upload_started(self, key: object, label: str, size: int | None) -> ProgressCallback | None:
        """An upload begins; the callback, if any, hears the bytes sent."""
        return None

    def upload_finished(self, key: object) -> None:
        """The upload begun with `key` has ended, stored or not."""


class AttachPipeline:
    def __init__(
        self,
        # None when there are no credentials: a --dry-run without --resolve never sends.
        api: AttachmentApi | None,
        find_candidates: CandidateLookup | None,
        policy: RetryPolicy,
        *,
        defaults: RunDefaults,
        skip_existing: bool = False,
        stdin_file: LocalFile | None = None,
        observer: RunObserver | None = None,
        name_items: bool = True,
        memory: RunMemory | None = None,
        list_first: bool = False,
        resumption: Resumption | None = None,
        verify: bool = False,
    ) -> None:
        self._api = api
        self._lookup = find_candidates
        self.policy = policy
        self.defaults = defaults
        self.skip_existing = skip_existing
        self.stdin_file = stdin_file
        self.observer = observer or RunObserver()
        # Warnings say which item they are about, unless there is only the one.
        self.name_items = name_items
        self.memory = memory or RunMemory()
        self.ledger = self.memory.ledger
        # Every target's listing is taken before its first upload (identity evidence).
        self.list_first = list_first
        # Targets (as requested) that more than one entry names: they get a listing first.
        self._shared: set[tuple[str, str]] = set()
        self.resumption = resumption
        # --verify: compare the stored bytes after each accepted upload.
        self.verify = verify
        # The integration, when a row named one other than the run's own: hints that name a
        # command say it.
        self.named_integration: str | None = None
        # The integration retry notices name: by default the one a row named.
        self.integration_in_notices: Callable[[], str | None] = lambda: self.named_integration
        # Why no more of this pipeline's requests are sent, once its integration (or the
        # key) was refused for good; None while they are.
        self.stopped_by: Callable[[], KomboError | None] = lambda: None
        if resumption is not None:
            resumption.remember_stored(self.ledger)
        # After a 404: whether the ID is the other kind's (one lookup per target).
        self.other_kind = OtherKindCheck(lambda target: self.api().list_attachments(target))
        self._lock = threading.Lock()
        # Where each upload under way stands, for what Ctrl-C should say about it.
        self._states: dict[object, DeliveryState] = {}

    # -- the parts --------------------------------------------------------------------------

    def api(self) -> AttachmentApi:
        if self._api is None:
            raise _no_credentials()
        return self._api

    def find_candidate(self, email: str) -> Target:
        """The one candidate with this address (LookupFailed, exit 5, when there is not)."""
        if self._lookup is None:
            raise _no_credentials()
        return self._lookup.candidate(email, self._retry_callback("candidate lookup"))

    def resolve_target(self, request: AttachRequest) -> Target:
        if request.target_kind == EMAIL:
            target = self.find_candidate(request.target_value)
        else:
            application = request.target_kind == APPLICATION
            target = Target.parse(request.target_value, application=application)
        return target.in_integration(self.named_integration)

    def plan(self, request: AttachRequest, target: Target) -> AttachmentPlan:
        plan = plan_request(request, target, self.defaults, self.stdin_file)
        for note in plan.notes:
            self.observer.warning(f"{request.label}: {note}" if self.name_items else note)
        return plan

    def listing(self, target: Target) -> Listing:
        """The target's attachments before this run added any (--skip-existing)."""

        def fetch() -> list[dict[str, Any]]:
            stopped = self.stopped_by()
            if stopped is not None:
                # Stopped while this row waited for another's try at the same listing.
                raise stopped
            api = self.api()
            return call_idempotent(
                lambda: api.list_attachments(target),
                self.policy,
                what="listing the attachments",
                on_retry=self._retry_callback(str(target)),
            )

        return self.memory.listing(target, fetch)

    def expect_repeated(self, targets: Iterable[tuple[str, str]]) -> None:
        """Targets (kind, value as requested) that several entries of the run name: each is
        listed before its first upload, so a lost reply there is settled by identity."""
        self._shared.update(targets)

    def _wants_listing(self, entry: AttachRequest) -> bool:
        return (
            self.skip_existing
            or self.list_first
            or (entry.target_kind, entry.target_value) in self._shared
        )

    # -- one entry, for real ----------------------------------------------------------------

    def process(self, entry: Entry, token: object = None) -> AttachResult:
        """Never raises (except Interrupted): every outcome becomes an AttachResult.

        `token` stands for this piece of work in `reported` and `certainly_not_stored`
        (the same request may be attached twice in one run)."""
        if isinstance(entry, RowProblem):
            return AttachResult(ERROR, entry, error=UsageError(entry.message))
        target: Target | None = None
        plan: AttachmentPlan | None = None
        item = self.resumption.item(entry) if self.resumption is not None else None
        try:
            record = self.resumption.last(item) if self.resumption and item else None
            recorded_target = Resumption.stored_target(record)
            if recorded_target is not None:
                # Planned against the recorded target: an email is not looked up again.
                plan = plan_request(entry, recorded_target, self.defaults, self.stdin_file)
                if Resumption.stored_before(record, plan):
                    return AttachResult(SKIPPED, entry, recorded_target, plan, skip_reason=JOURNAL)
            stopped = self.stopped_by()
            if stopped is not None:
                # Its integration (or the key) was refused for good: nothing is sent. What
                # an earlier run left half-sent stays "may be stored", not "not sent".
                raise Resumption.still_open(record, entry, stopped) or stopped
            try:
                target = self.resolve_target(entry)
                plan = self.plan(entry, target)
                listing = self.listing(target) if self._wants_listing(entry) else None
            except KomboError as error:
                # An upload an earlier run left half-sent may be stored: a failure before
                # it could be looked for leaves it unknown, not failed.
                raise Resumption.still_open(record, entry, error) or error from None
            # The one place the turn is taken, before the check: of two items with one name
            # for one target, the second sees the first's upload, whether it skips or sends.
            with self.ledger.turn(plan):
                if (
                    self.skip_existing
                    and listing is not None
                    and listing.count(plan.name) + self.ledger.count(plan)
                ):
                    return AttachResult(SKIPPED, entry, target, plan)
                unfinished = Resumption.unfinished(record, plan)
                return self._deliver(
                    entry, target, plan, listing, token or object(), item, unfinished
                )
        except Interrupted:
            raise
        except KomboError as error:
            error = self.other_kind.explain(error, entry, target)
            return AttachResult(ERROR, entry, target, plan, error=error)

    def _deliver(
        self,
        entry: AttachRequest,
        target: Target,
        plan: AttachmentPlan,
        listing: Listing | None,
        token: object,
        item: str | None = None,
        unfinished: Unfinished | None = None,
    ) -> AttachResult:
        key = object()
        resumption = self.resumption
        on_sending = None
        if resumption is not None and item is not None:

            def on_sending(started_at: datetime) -> None:
                assert resumption is not None and item is not None
                resumption.sending(item, plan, listing, started_at)

        on_progress = self.observer.upload_started(key, plan.name, plan.size)
        state = DeliveryState()
        with self._lock:
            self._states[token] = state
        try:
            delivered = deliver(
                self.api(),
                plan,
                self.policy,
                on_progress=on_progress,
                on_retry=self._retry_callback(entry.label if self.name_items else plan.name),
                on_sending=on_sending,
                listed_before=listing,
                ledger=self.ledger,
                digests=self.memory.digests,
                unfinished=unfinished,
                verify_stored=self.verify,
                state=state,
            )
            state.stage = Stage.DONE
        except VerifyMismatch as mismatch:
            # Stored, with other bytes than were sent: never to be sent again. The state
            # stays until the result is reported, as for any stored upload.
            state.stage = Stage.DONE
            if resumption is not None and item is not None:
                resumption.stored(item, plan, mismatch.delivered)
            raise
        except KomboError as error:
            if not isinstance(error, (OutcomeUnknown, Interrupted)):
                # Certainly not stored. An unknown outcome keeps its state (CHECKING) until
                # reported: Ctrl-C in between must not call it "not stored".
                with self._lock:
                    self._states.pop(token, None)
            # Ctrl-C's gate refusing the upload before a byte went out is a failure like
            # any other: recorded, a rerun sends it without first looking for it.
            refused = isinstance(token, send_gate.Work) and token.refused
            known_failure = refused or not isinstance(error, Interrupted)
            if resumption is not None and item is not None and known_failure:
                resumption.failed(item, error)
            raise
        finally:
            self.observer.upload_finished(key)
        if resumption is not None and item is not None:
            try:
                resumption.stored(item, plan, delivered)
            except UsageError as error:
                # Stored all the same: reporting it as failed would invite a second copy.
                self.observer.warning(
                    f"{entry.label}: stored, but {error.message[0].lower()}{error.message[1:]}"
                )
        # The state stays until the result is reported (see `reported`): Ctrl-C in between
        # must not call a stored upload "not stored".
        return AttachResult(SUCCESS, entry, target, plan, delivered)

    # -- one entry, dry ---------------------------------------------------------------------

    def preview(
        self,
        entry: Entry,
        *,
        resolve: bool,
        request_preview: Callable[[AttachmentPlan], dict[str, Any] | None],
    ) -> AttachResult:
        """What `process` would do, sending nothing. Without `resolve`, email addresses are
        not looked up and listings not taken (no request at all); `request_preview`, when
        it returns a request, is shown for the single file of a dry run."""
        if isinstance(entry, RowProblem):
            return AttachResult(ERROR, entry, error=UsageError(entry.message))
        stopped = self.stopped_by() if resolve else None
        if stopped is not None:
            return AttachResult(ERROR, entry, error=stopped)
        try:
            if entry.target_kind == EMAIL and not resolve:
                # A stand-in target, only to plan the file; the email is shown instead.
                plan = self.plan(entry, Target(CANDIDATE, "unresolved"))
                return AttachResult(PLANNED, entry, None, plan)
            target = self.resolve_target(entry)
            plan = self.plan(entry, target)
            if self.skip_existing and resolve and self.listing(target).count(plan.name):
                return AttachResult(PLANNED_SKIP, entry, target, plan)
            return AttachResult(PLANNED, entry, target, plan, preview=request_preview(plan))
        except Interrupted:
            raise
        except KomboError as error:
            return AttachResult(ERROR, entry, error=error)

    # -- what Ctrl-C needs to know ----------------------------------------------------------

    def reported(self, token: object) -> None:
        """The work's result has been shown; its delivery state is no longer needed."""
        with self._lock:
            self._states.pop(token, None)

    def checking(self, token: object) -> bool:
        """The work is looking for an upload whose fate is open: it may be stored."""
        with self._lock:
            state = self._states.get(token)
        return state is not None and state.stage is Stage.CHECKING

    def waiting_to_retry(self, token: object) -> bool:
        with self._lock:
            state = self._states.get(token)
        return state is not None and state.stage is Stage.WAITING

    def certainly_not_stored(self, token: object) -> bool:
        """True while nothing of the work can have been stored: it has not started sending,
        or it waits to retry after a refusal."""
        with self._lock:
            state = self._states.get(token)
        return state is None or state.stage in (Stage.QUEUED, Stage.WAITING)

    def _retry_callback(self, subject: str) -> OnRetry:
        observer = self.observer
        integration = self.integration_in_notices()
        if integration is not None:
            # Which customer's ATS is struggling.
            subject = f"{subject} in {integration}"
        return lambda notice: observer.retrying(subject, notice)


def _no_credentials() -> ConfigError:
    # Only a run made for a dry run without credentials has no client; it never sends.
    return ConfigError("KOMBO_API_KEY or KOMBO_INTEGRATION_ID is not set.")
