"""How many requests a batch keeps in flight, adapted to what Kombo says.

Kombo limits in-flight actions per integration (30 by default, fewer for fragile ATSs) and
reports `Concurrency-Limit` / `Concurrency-Remaining` on every action. Other clients of the
same integration share that budget, so the number that works is found at run time, the way
TCP finds a sending rate: additive increase, multiplicative decrease.

- A request refused with PLATFORM.CONCURRENCY_LIMIT_EXCEEDED halves the limit, once per
  "generation", so a burst of refusals from requests sent together counts once.
- When Kombo reports few slots remaining and others are using them too, the limit drops by
  one and stops growing. (When this batch alone fills the integration, refusals say when
  it is too much.)
- After as many successes in a row as the current limit, it grows by one, up to what the
  user asked for and never above Kombo's own Concurrency-Limit.
- A limit made with a `start` below its ceiling begins there and grows by one per success
  (doubling every round trip, TCP's slow start) until the first sign of crowding: a run
  across many integrations, each allowed far more than one integration could take, does
  not open with a burst of refusals from an integration whose limit is low.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kombo_cli.api.client import ApiResponse, KomboClient, RequestBody
from kombo_cli.api.downloads import FileDigest
from kombo_cli.api.targets import Target
from kombo_cli.errors import ApiError

CONCURRENCY_REFUSED = "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"


@dataclass(frozen=True)
class Ticket:
    """One request's place: the limit's generation when it went out, and how many of this
    run's requests were in flight then, itself included."""

    generation: int
    in_flight: int


class AdaptiveLimit:
    """A counting gate whose size changes with Kombo's answers. Thread-safe."""

    def __init__(self, ceiling: int, start: int | None = None) -> None:
        if ceiling < 1 or (start is not None and start < 1):
            raise ValueError("ceiling and start must be at least 1")
        self.ceiling = ceiling
        self.limit = ceiling if start is None else min(start, ceiling)
        self._slow_start = self.limit < ceiling
        self.in_flight = 0
        self.peak_in_flight = 0
        self.refusals = 0
        self._generation = 0
        self._successes = 0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[Ticket]:
        """Hold one of the `limit` places while a request is in flight; yields its ticket."""
        with self._changed:
            while self.in_flight >= self.limit:
                self._changed.wait()
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            ticket = Ticket(self._generation, self.in_flight)
        try:
            yield ticket
        finally:
            with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def refused(self, ticket: Ticket) -> None:
        """Kombo refused a request for being one too many: halve the limit (once per burst)."""
        with self._changed:
            self.refusals += 1
            self._slow_start = False
            if ticket.generation == self._generation:
                self._set_limit(self.limit // 2)

    def succeeded(self, headers: Mapping[str, str], ticket: Ticket | None = None) -> None:
        """A request went through; Kombo's headers say how much room is left.

        Call it while the request still holds its slot, with its ticket. Kombo counted what
        was in flight when it took the request in: this run's share of that is the number
        in flight when the request went out, not now, when answers to the requests sent
        with it may have come back already (counting those as other clients' would take
        this run's own load for crowding).
        """
        kombo_limit = _header_int(headers, "Concurrency-Limit")
        remaining = _header_int(headers, "Concurrency-Remaining")
        with self._changed:
            if kombo_limit is not None and kombo_limit < self.ceiling:
                self.ceiling = max(1, kombo_limit)
                self._set_limit(min(self.limit, self.ceiling))
            ours = ticket.in_flight if ticket is not None else self.in_flight
            others = (
                kombo_limit - remaining - ours
                if kombo_limit is not None and remaining is not None
                else 0
            )
            low_water = _low_water_mark(kombo_limit)
            if remaining is not None and remaining <= low_water and others > low_water:
                # Other clients of the integration are near its limit too: leave them room.
                self._slow_start = False
                self._set_limit(self.limit - 1)
                return
            self._successes += 1
            grow = self._slow_start or self._successes >= self.limit
            if grow and self.limit < self.ceiling:
                self.limit += 1
                self._successes = 0
                self._changed.notify_all()

    def _set_limit(self, value: int) -> None:
        value = max(1, value)
        if value != self.limit:
            self.limit = value
            self._generation += 1
            self._successes = 0
            self._changed.notify_all()


def _low_water_mark(kombo_limit: int | None) -> int:
    # One free slot in ten, and at least one, is kept for everyone else.
    return max(1, (kombo_limit or 30) // 10)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


class ThrottledClient:
    """A KomboClient whose attachment actions pass through an AdaptiveLimit."""

    def __init__(self, client: KomboClient, limit: AdaptiveLimit) -> None:
        self.client = client
        self.limit = limit

    def add_attachment(self, target: Target, body: RequestBody) -> ApiResponse:
        with self._slot() as ticket:
            response = self.client.add_attachment(target, body)
            # Still inside the slot, so the limiter counts this request as in flight.
            self.limit.succeeded(response.headers, ticket)
        return response

    def list_attachments(self, target: Target) -> list[dict[str, Any]]:
        # Kombo counts reading attachments as an action, so it takes a place too, and its
        # success lets the limit grow as an upload's does (a rerun with --skip-existing
        # may list far more than it sends).
        with self._slot() as ticket:
            return self.client.list_attachments(
                target, on_answer=lambda headers: self.limit.succeeded(headers, ticket)
            )

    def stored_file_digest(self, url: str, limit_bytes: int) -> FileDigest | None:
        # A download of a stored file is not an action on the ATS: no place needed.
        return self.client.stored_file_digest(url, limit_bytes)

    @contextmanager
    def _slot(self) -> Iterator[Ticket]:
        """A place in the limit for one action; a refusal for too many halves the limit."""
        with self.limit.slot() as ticket:
            try:
                yield ticket
            except ApiError as error:
                if error.code == CONCURRENCY_REFUSED:
                    self.limit.refused(ticket)
                raise
