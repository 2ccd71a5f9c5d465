"""Kombo's limit on actions in flight per integration: admission, and what it has seen.

Kombo counts attachment reads and uploads against a limit per integration and refuses one
over it with 429 PLATFORM.CONCURRENCY_LIMIT_EXCEEDED. A request is admitted or refused once
it has been read, and an admitted one holds its slot until its reply has gone out. Each
integration has a limiter of its own: one integration's actions never take another's slots.
"""

from __future__ import annotations

import threading

from kombo_cli.sandbox.config import SandboxConfig


class ConcurrencyLimiter:
    """One integration's slots. Thread-safe; the limit is read from the config on every
    admission."""

    def __init__(self, config: SandboxConfig, integration_id: str) -> None:
        self._config = config
        self._integration_id = integration_id
        self._lock = threading.Lock()
        self._in_flight = 0
        # The most actions ever in flight at once, and how many were refused for going over
        # the limit: what a client's throttling did, for tests and rehearsals to check.
        self.peak_in_flight = 0
        self.refusals = 0

    @property
    def limit(self) -> int:
        return self._config.limit_for(self._integration_id)

    def try_enter(self) -> bool:
        """Take a slot if one is free; a refused request does no work, so it takes none."""
        with self._lock:
            if self._in_flight >= self.limit:
                self.refusals += 1
                return False
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def state(self) -> tuple[int, int]:
        """(limit, remaining) now, as Kombo reports them in Concurrency-* headers."""
        with self._lock:
            limit = self.limit
            return limit, max(0, limit - self._in_flight)


class ConcurrencyLimits:
    """A limiter per served integration, and the actions in flight across all of them."""

    def __init__(self, config: SandboxConfig) -> None:
        self.by_integration = {
            integration_id: ConcurrencyLimiter(config, integration_id)
            for integration_id in config.integration_ids
        }
        self._lock = threading.Lock()
        self._in_flight = 0
        self.peak_in_flight = 0

    def try_enter(self, limiter: ConcurrencyLimiter) -> bool:
        if not limiter.try_enter():
            return False
        with self._lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        return True

    def leave(self, limiter: ConcurrencyLimiter) -> None:
        with self._lock:
            self._in_flight -= 1
        limiter.leave()

    @property
    def refusals(self) -> int:
        return sum(limiter.refusals for limiter in self.by_integration.values())
