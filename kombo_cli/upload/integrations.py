"""A run across customers: one lane per integration, each with its own client and limit.

Kombo limits actions in flight per integration, and everything kombo remembers about a
target (its listing, this run's uploads to it, an address looked up) is about one
customer's ATS. So each integration a run names gets its own `Connection` (a client that
sends its `X-Integration-Id`, an adaptive limit that only its answers move, its email
lookups and its run memory), all over one pool of connections. `--concurrency` caps
the run as a whole: it is the number of workers, shared fairly between the lanes (see
`fair_queue`).

An integration that answers with a setup error (its key or the customer's setup: 401,
403, a 409 `INTEGRATION.*`, an integration Kombo does not know) stops its own lane: its
other rows are reported as not sent, without a request, and the other lanes go on. A
refused key, or a server that cannot be reached at all (`reachability`), stops every lane.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Callable

import requests

from kombo_cli.api.client import KomboClient, pooled_session
from kombo_cli.api.defaults import DEFAULT_CONCURRENCY
from kombo_cli.api.retry import RetryPolicy
from kombo_cli.api.throttle import AdaptiveLimit, ThrottledClient
from kombo_cli.errors import ApiError, IntegrationStopped, KomboError, WrongBaseUrl
from kombo_cli.upload.fair_queue import UNLIMITED
from kombo_cli.upload.files import LocalFile
from kombo_cli.upload.journal import Journal
from kombo_cli.upload.ledger import RunMemory
from kombo_cli.upload.lookup import CandidateLookup
from kombo_cli.upload.plan import RunDefaults
from kombo_cli.upload.reachability import ServerWatch
from kombo_cli.upload.request import Entry
from kombo_cli.upload.resume import Resumption, journal_scope
from kombo_cli.upload.run import AttachPipeline, RunObserver

# Codes that say no request to this integration can succeed until someone acts: the key,
# the environment's allowlist, or the customer's connection and setup.
_STOPPING_CODES = frozenset(
    {
        "PLATFORM.AUTHENTICATION_INVALID",
        "PLATFORM.IP_NOT_WHITELISTED",
        "PLATFORM.INTEGRATION_NOT_FOUND",
        "INTEGRATION.AUTHENTICATION_INVALID",
        "INTEGRATION.INACTIVE",
        "INTEGRATION.QA_FAILED",
        "INTEGRATION.SETUP_SYNC_PENDING",
        "INTEGRATION.SETUP_INCOMPLETE",
    }
)
# About one action, model or permission, not the integration: a candidate's attachments
# may be disabled while an application's are not, a row by ID needs no candidate model, and
# reading attachments is another permission than adding them.
_NARROW_PREFIXES = ("INTEGRATION.ACTION_", "INTEGRATION.MODEL_", "INTEGRATION.PERMISSION_")


# Codes about the key or this machine, not one integration: every integration would give
# the same answer, so the whole run stops.
_RUN_STOPPING_CODES = frozenset({"PLATFORM.AUTHENTICATION_INVALID", "PLATFORM.IP_NOT_WHITELISTED"})


def stops_run(error: KomboError | None) -> bool:
    """Whether Kombo's answer means no request of the run, to any integration, can succeed."""
    return isinstance(error, ApiError) and error.code in _RUN_STOPPING_CODES


def stops_integration(error: KomboError | None) -> bool:
    """Whether Kombo's answer means no other request to the integration can succeed."""
    if not isinstance(error, ApiError) or isinstance(error, WrongBaseUrl):
        return False
    code = error.code or ""
    if code in _STOPPING_CODES:
        return True
    if code.startswith(_NARROW_PREFIXES):
        return False
    return error.http_status in (401, 403) or (
        error.http_status == 409 and code.startswith("INTEGRATION.")
    )


@dataclass(frozen=True)
class Connection:
    """One integration's parts, kept for as long as the Kombo object that made them."""

    client: KomboClient
    api: ThrottledClient
    lookup: CandidateLookup
    memory: RunMemory


class Connections:
    """The clients of one key, one per integration, made when first needed. Thread-safe."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        policy: RetryPolicy,
        *,
        timeout_s: float,
        concurrency: int,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self._policy = policy
        self._timeout_s = timeout_s
        self._concurrency = concurrency
        self._lock = threading.Lock()
        self._made: dict[str, Connection] = {}
        self._general: KomboClient | None = None
        # One pool for every integration: --concurrency connections at most, in all.
        self.session: requests.Session | None = (
            None if api_key is None else pooled_session(concurrency, timeout_s)
        )
        # Whether the server answers at all, seen from every request over the pool.
        self.watch = ServerWatch() if self.session is None else ServerWatch.over(self.session)

    def general(self) -> KomboClient | None:
        """A client for requests about no one integration (the key, an integration's
        details): it sends no X-Integration-Id. None without a key."""
        if self._api_key is None:
            return None
        with self._lock:
            if self._general is None:
                self._general = KomboClient(
                    self.base_url,
                    self._api_key,
                    None,
                    read_timeout_s=self._timeout_s,
                    session=self.session,
                )
            return self._general

    def get(self, integration_id: str) -> Connection | None:
        """The integration's connection; None without a key (a dry run sends nothing)."""
        if self._api_key is None:
            return None
        with self._lock:
            made = self._made.get(integration_id)
            if made is None:
                made = self._make(self._api_key, integration_id)
                self._made[integration_id] = made
            return made

    def _make(self, api_key: str, integration_id: str) -> Connection:
        client = KomboClient(
            self.base_url,
            api_key,
            integration_id,
            read_timeout_s=self._timeout_s,
            session=self.session,
        )
        # Each integration starts at a few uploads in flight and grows towards its own
        # Concurrency-Limit (slow start), never above the run's cap.
        start = min(self._concurrency, DEFAULT_CONCURRENCY)
        limit = AdaptiveLimit(self._concurrency, start=start)
        lookup = CandidateLookup(client, self._policy)
        return Connection(client, ThrottledClient(client, limit), lookup, RunMemory())

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class Lane:
    """One integration's share of a run: its pipeline, its limit, and whether it stopped."""

    def __init__(
        self, integration_id: str | None, pipeline: AttachPipeline, limit: AdaptiveLimit | None
    ) -> None:
        self.integration_id = integration_id
        self.pipeline = pipeline
        self.limit = limit
        self._stopped: IntegrationStopped | None = None
        self._lock = threading.Lock()

    def stop(self, cause: KomboError, cause_label: str) -> None:
        """The integration refused a request for good: send none of its other rows."""
        with self._lock:
            if self._stopped is None:
                self._stopped = IntegrationStopped(self.integration_id, cause, cause_label)

    @property
    def stopped(self) -> IntegrationStopped | None:
        """Why the lane's rows are no longer sent, or None while they are."""
        return self._stopped

    @property
    def capacity(self) -> int:
        """How many of its rows may be worked on at once: what its limit allows now."""
        return self.limit.limit if self.limit is not None else UNLIMITED


class Lanes:
    """The lanes of one run, made as rows name their integrations. Thread-safe."""

    def __init__(
        self,
        make_lane: Callable[[str | None], Lane],
        default_integration: str | None,
        *,
        session: requests.Session | None = None,
        watch: ServerWatch | None = None,
        journaled: bool = False,
    ) -> None:
        self._make_lane = make_lane
        self.default_integration = default_integration
        # The pool every lane sends through (None when nothing can be sent).
        self.session = session
        # Whether the run keeps a journal (what a rerun should be told).
        self.journaled = journaled
        self._lock = threading.Lock()
        self._lanes: dict[Hashable, Lane] = {}
        # Set when the key itself is refused, or the server cannot be reached: no lane's
        # rows are sent any more.
        self.stopped_all: IntegrationStopped | None = None
        self._server = watch or ServerWatch()

    def refused(self, lane: Lane, error: KomboError | None, label: str, started: float) -> None:
        """A row of `lane`, begun at `started` (time.monotonic()), ended with `error`
        (`label` names it): if no other request to the integration (or, for the key or an
        unreachable server, to any) can succeed, stop sending them."""
        if self._server.unreachable(error, started):
            assert error is not None
            stopped = IntegrationStopped(None, error, label, whole_run=True)
            rerun = f"once it can be reached, {self.rerun_hint()}"
            stopped.hint = f"{error.hint}; {rerun}" if error.hint else rerun
            self._stop_all(stopped)
            return
        if isinstance(error, WrongBaseUrl) and not self._server.succeeded:
            # No route at that URL: every row's request would get the same answer.
            self._stop_all(IntegrationStopped(None, error, label, whole_run=True))
            return
        if error is None or not stops_integration(error):
            return
        named = lane.pipeline.named_integration
        unknown = isinstance(error, ApiError) and error.code == "PLATFORM.INTEGRATION_NOT_FOUND"
        if named is not None and unknown:
            # The hint for the run's own integration would send the user to the wrong
            # setting: this integration comes from the manifest.
            error.hint = f"check the integration_id {named} in the manifest's rows"
        lane.stop(error, label)
        if stops_run(error):
            self._stop_all(IntegrationStopped(None, error, label, whole_run=True))

    def rerun_hint(self) -> str:
        """How to finish the run's work later without sending anything twice."""
        if self.journaled:
            return "run the same command again with the same --journal to finish the rest"
        return "run the same command again with --skip-existing to attach only what is missing"

    def _stop_all(self, why: IntegrationStopped) -> None:
        with self._lock:
            if self.stopped_all is None:
                self.stopped_all = why

    @property
    def several(self) -> bool:
        """Whether the run has gone to more than one integration so far."""
        return len(self._lanes) > 1

    def for_entry(self, entry: Entry) -> Lane:
        return self.lane(entry.integration_id or self.default_integration)

    def lane(self, integration_id: str | None) -> Lane:
        with self._lock:
            lane = self._lanes.get(integration_id)
            if lane is None:
                lane = self._make_lane(integration_id)
                self._lanes[integration_id] = lane
            return lane

    def capacity(self, key: Hashable) -> int:
        # Without the lock: asked on every hand-out, it must not wait while another lane is
        # being made (a dict read is atomic).
        lane = self._lanes.get(key)
        return lane.capacity if lane is not None else 1


@dataclass(frozen=True)
class RunOptions:
    """What every lane's pipeline of one run shares (see AttachPipeline)."""

    defaults: RunDefaults
    policy: RetryPolicy
    observer: RunObserver
    skip_existing: bool = False
    stdin_file: LocalFile | None = None
    name_items: bool = True
    list_first: bool = False
    verify: bool = False
    # Targets (kind, value) several entries name: listed before their first upload.
    repeated_targets: frozenset[tuple[str, str]] = frozenset()


def run_lanes(
    connections: Connections,
    default_integration: str | None,
    options: RunOptions,
    *,
    journal: Journal | None = None,
) -> Lanes:
    """The lanes of one run over `connections`; with a journal, each lane keeps its own
    records in it (kept per API and integration: one never stands for another's)."""

    def make_lane(integration_id: str | None) -> Lane:
        connection = connections.get(integration_id) if integration_id else None
        resumption = None
        if journal is not None:
            scope = f"{journal_scope(connections.base_url)} {integration_id}"
            resumption = Resumption(journal, scope)
        pipeline = AttachPipeline(
            connection.api if connection is not None else None,
            connection.lookup if connection is not None else None,
            options.policy,
            defaults=options.defaults,
            skip_existing=options.skip_existing,
            stdin_file=options.stdin_file,
            observer=options.observer,
            name_items=options.name_items,
            memory=connection.memory if connection is not None else None,
            list_first=options.list_first,
            resumption=resumption,
            verify=options.verify,
        )
        pipeline.expect_repeated(options.repeated_targets)
        if integration_id != default_integration:
            pipeline.named_integration = integration_id
        # Retry notices name the integration when it is not the run's own, or when the
        # run goes to several.
        pipeline.integration_in_notices = lambda: (
            integration_id if integration_id != default_integration or lanes.several else None
        )
        limit = connection.api.limit if connection is not None else None
        lane = Lane(integration_id, pipeline, limit)
        pipeline.stopped_by = lambda: lanes.stopped_all or lane.stopped
        return lane

    lanes = Lanes(
        make_lane,
        default_integration,
        session=connections.session,
        watch=connections.watch,
        journaled=journal is not None,
    )
    return lanes
