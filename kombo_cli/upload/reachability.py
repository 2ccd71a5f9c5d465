"""Whether the server can be reached at all, judged across the whole run.

When no connection can be made (refused, a name that does not resolve, a connect timeout,
a proxy or a certificate that fails), every row would retry on its own and fail the same
way, one after another: minutes of the same sentence for a long manifest. So a row that
could not reach the server after all its retries, while no request of the run got any
answer from it in that time, stops the run: the rows not yet sent are reported as not sent
(`CLI.RUN_STOPPED`), with the network error's exit code and hint. A certificate that does
not verify stops it at once, as no retry can change that. Any answer from the server
meanwhile (even an error) shows that it is there: the row's failure is then its own.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from kombo_cli.errors import KomboError, NetworkError


class ServerWatch:
    """When the server last answered any request of the run. Thread-safe: a float is
    written and read whole."""

    def __init__(self, session: requests.Session | None) -> None:
        self._last_answer = float("-inf")
        if session is not None:
            session.hooks["response"].append(self._answered)

    def _answered(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last_answer = time.monotonic()

    def unreachable(self, error: KomboError | None, started: float) -> bool:
        """Whether `error`, ending a row begun at `started` (time.monotonic()), shows that
        no request of the run can reach the server."""
        if not isinstance(error, NetworkError) or not error.unreachable:
            return False
        return not error.transient or self._last_answer < started
