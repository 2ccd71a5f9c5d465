"""Rehearsed failures: `--latency-ms`, `--fail-rate` and `--ambiguous-rate`.

They let a client's retries be tried before a real outage tries them: every reply can come
late, a share of uploads is refused as an overloaded Kombo would refuse them (nothing
stored, Retry-After given), and a share is stored and then answered with a 500, the case
in which a naive retry stores the file twice.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.exchange import Reply
from kombo_cli.sandbox.replies import error_reply, success_reply, unknown_error


class FaultInjector:
    """The rates are read from the config on every request; `random_seed` makes runs repeat."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._random = random.Random(config.random_seed)

    def delayed(self, reply: Reply) -> Reply:
        """The reply, held back by the configured latency on top of any delay of its own."""
        return replace(reply, delay_s=self._config.latency_s + reply.delay_s)

    def refusal_before_storing(self) -> Reply | None:
        """--fail-rate: the refusal a share of uploads gets before anything is stored."""
        fail_rate = self._config.fail_rate
        if not fail_rate or self._random.random() >= fail_rate:
            return None
        retry_after = [("Retry-After", "1")]
        if self._random.random() < 0.5:
            # Kombo's own 503 (its JSON envelope) is documented as refused before any work;
            # a load balancer's HTML 503 could come after forwarding, so it is not rehearsed
            # as a refusal.
            return error_reply(
                503,
                "REMOTE.SERVICE_UNAVAILABLE",
                "Service unavailable",
                "The ATS is unavailable; retry after the time given in Retry-After.",
                headers=retry_after,
            )
        return error_reply(
            429,
            "PLATFORM.RATE_LIMIT_EXCEEDED",
            "Rate limit exceeded",
            "Too many requests; retry after the time given in Retry-After.",
            headers=retry_after,
        )

    def answer_after_storing(self, warnings: Sequence[str] = ()) -> Reply:
        """The answer to a stored upload: success, or under --ambiguous-rate sometimes a 500."""
        ambiguous_rate = self._config.ambiguous_rate
        if ambiguous_rate and self._random.random() < ambiguous_rate:
            return unknown_error("An unexpected error occurred.")
        return success_reply({}, warnings)
