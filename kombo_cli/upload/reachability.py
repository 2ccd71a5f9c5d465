"""Whether the server can be reached at all, judged across the whole run.

When no connection can be made (refused, a name that does not resolve, a connect timeout,
a proxy or a certificate that fails), every row would retry on its own and fail the same
way, one after another: minutes of the same sentence for a long manifest. So a row that
could not connect after all its retries stops the run, when nothing shows the server is
there: the rows not yet tried are reported as such (`CLI.RUN_STOPPED`, with the network
error's exit code and hint). A certificate that does not verify stops it at once, as no
retry can change that.

A base URL that is not Kombo's API (an answer that the path is no route, most often for a
URL without /v1) stops the run the same way, unless some request of the run succeeded.

What shows the server is there, and keeps a row's failure its own: any answer (even an
error) since the row began; or another request still on its way that has been so for
longer than connecting may take, so it did connect (an upload to a slow ATS can wait
minutes for its answer while a crowded server refuses new connections).
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import requests
from requests.adapters import BaseAdapter

from kombo_cli.api.adapter_layer import AdapterLayer, Timeout
from kombo_cli.errors import KomboError, NetworkError


class ServerWatch:
    """When the server last answered, and what is on its way to it now. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_answer = float("-inf")
        # Whether any request over the session was answered with success: then the base
        # URL does lead to Kombo's API, whatever one 404 says.
        self.succeeded = False
        # Each request on its way: when it set out, and the longest its connecting may
        # take (addresses tried one after another: twice the connect timeout, and a second).
        self._on_the_way: dict[int, tuple[float, float]] = {}

    @classmethod
    def over(cls, session: requests.Session) -> ServerWatch:
        """A watch over `session`'s requests, put in front of its pools (call once per
        session: its owner keeps the watch)."""
        watch = cls()
        for prefix, adapter in list(session.adapters.items()):
            session.mount(prefix, _WatchedAdapter(adapter, watch))
        return watch

    def unreachable(self, error: KomboError | None, started: float) -> bool:
        """Whether `error`, ending a row begun at `started` (time.monotonic()), shows that
        no request of the run can reach the server."""
        if not isinstance(error, NetworkError) or not error.unreachable:
            return False
        if not error.transient:
            return True
        now = time.monotonic()
        with self._lock:
            connected = any(now - since > longest for since, longest in self._on_the_way.values())
            return self._last_answer < started and not connected

    def set_out(self, key: int, connect_timeout_s: float | None) -> None:
        """A request sets out (called by the adapter in front of the pools)."""
        longest = float("inf") if connect_timeout_s is None else 2 * connect_timeout_s + 1
        with self._lock:
            self._on_the_way[key] = (time.monotonic(), longest)

    def arrived(self, key: int, answered: bool, succeeded: bool = False) -> None:
        """The request is back: `answered` by the server (with success, `succeeded`), or
        failed on the way."""
        with self._lock:
            del self._on_the_way[key]
            if answered:
                self._last_answer = time.monotonic()
            if succeeded:
                self.succeeded = True


class _WatchedAdapter(AdapterLayer):
    def __init__(self, inner: BaseAdapter, watch: ServerWatch) -> None:
        super().__init__(inner)
        self._watch = watch

    def around(
        self,
        request: requests.PreparedRequest,
        timeout: Timeout,
        forward: Callable[[], requests.Response],
    ) -> requests.Response:
        key = id(request)
        self._watch.set_out(key, timeout[0] if isinstance(timeout, tuple) else timeout)
        response: requests.Response | None = None
        try:
            response = forward()
            return response
        finally:
            succeeded = response is not None and 200 <= response.status_code < 300
            self._watch.arrived(key, response is not None, succeeded)
