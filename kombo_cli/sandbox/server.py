"""The sandbox server: Kombo's API on a local port, put together and started.

`SandboxServer` wires the layers: the HTTP transport (http_transport) reads each request,
the concurrency limiter admits it or not, `respond` chooses the reply (the routes, guarded
against the sandbox's own bugs), the rehearsals (faults) may hold it back, and the
transport sends it. Standard library only. The same server backs `kombo sandbox`, its
`--demo`, the benchmarks and the project's tests.

Extending it: `respond(request)` is the one place a request turns into a reply, and a
subclass may override it, for instance to look at every request or to answer some of them
itself. It runs on the request's own thread once the body has been read and, for an
attachment action, once the concurrency limiter has admitted or refused it
(`request.admitted`, by the limiter of the integration its X-Integration-Id names); an
admitted action holds its slot until the reply has been sent. It
is called for every request whose request line and headers could be parsed (the transport
answers the others itself), including one whose client went away mid-body
(`request.complete` is False; answer None) and one whose body could not be delimited
(`request.routable` is False). The reply it returns is sent after the configured latency
plus its own `delay_s`.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from typing import Any

from kombo_cli.sandbox.concurrency import ConcurrencyLimits
from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.contract import now_iso
from kombo_cli.sandbox.exchange import Reply, Request
from kombo_cli.sandbox.faults import FaultInjector
from kombo_cli.sandbox.http_transport import HTTPTransport, SendReply
from kombo_cli.sandbox.integration import environment_id
from kombo_cli.sandbox.replies import undelimited_body, unknown_error
from kombo_cli.sandbox.routes import KomboRoutes, is_action
from kombo_cli.sandbox.served import ServedIntegrations
from kombo_cli.sandbox.store import AttachmentStore


class SandboxServer:
    """A strict Kombo API on a local port. Use as a context manager or call start()/stop().

    Raises StoreError when made with a data folder that cannot hold uploads.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = AttachmentStore(config.data_dir, config.integration_id)
        self._limits = ConcurrencyLimits(config)
        self._integrations = ServedIntegrations(config, self._limits)
        # Each integration's candidates, by integration ID, and the default one's.
        self.candidates_by_integration: dict[str, list[dict[str, Any]]] = {
            integration.id: integration.candidates
            for integration in self._integrations.by_id.values()
        }
        self.candidates = self._integrations.default.candidates
        self.environment_id = environment_id()
        self.created_at = now_iso()
        # Exceptions raised by the sandbox's own code (answered with a 500).
        self.errors: list[BaseException] = []
        # Called with one line per request answered; `kombo sandbox` prints them.
        self.on_log: Callable[[str], None] | None = None
        self._faults = FaultInjector(config)
        self._routes = KomboRoutes(
            config,
            self.store,
            self._integrations,
            self.environment_id,
            self.created_at,
            self._faults,
            own_origin=lambda: self.url,
        )
        self._transport: HTTPTransport | None = None

    # -- what the sandbox has seen -------------------------------------------------------

    @property
    def peak_in_flight(self) -> int:
        """The most actions ever in flight at once, all integrations together."""
        return self._limits.peak_in_flight

    @property
    def concurrency_refusals(self) -> int:
        """How many actions were refused for going over a concurrency limit, in all."""
        return self._limits.refusals

    @property
    def peak_in_flight_by_integration(self) -> dict[str, int]:
        """The most actions ever in flight at once, per integration ID."""
        limiters = self._limits.by_integration
        return {key: limiter.peak_in_flight for key, limiter in limiters.items()}

    @property
    def concurrency_refusals_by_integration(self) -> dict[str, int]:
        """How many actions each integration refused for going over its limit."""
        limiters = self._limits.by_integration
        return {key: limiter.refusals for key, limiter in limiters.items()}

    @property
    def concurrency_limits(self) -> dict[str, int]:
        """Each integration's concurrency limit now, per integration ID."""
        return {key: self.config.limit_for(key) for key in self.config.integration_ids}

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._transport is None:
            raise RuntimeError("the sandbox is not started")
        return self._transport.port

    @property
    def url(self) -> str:
        """A URL clients on this machine can use: loopback when bound to every interface."""
        host = self.config.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "[::1]"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> SandboxServer:
        """Listen and answer in background threads; raises OSError if the port is taken."""
        if self._transport is not None:
            raise RuntimeError("the sandbox is already started")
        self._transport = HTTPTransport(
            (self.config.host, self.config.port), self._answer, self.config.data_dir, self._log
        )
        self._transport.serve_in_background()
        return self

    def stop(self) -> None:
        """Stop at once: replies still waiting out a delay are never sent."""
        transport = self._transport
        if transport is None:
            return
        transport.stop()
        self._transport = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the extension point -------------------------------------------------------------

    def respond(self, request: Request) -> Reply | None:
        """The reply to one request, or None to close the connection without one.

        See the module docstring for when it is called; override it to extend the sandbox.
        """
        if not request.complete:
            # The client went away mid-body (or sent broken chunking): nothing to answer.
            return None
        if not request.routable:
            # The body cannot be delimited, so the connection cannot be kept either.
            return undelimited_body(request.framing)
        try:
            return self._routes.answer(request)
        except Exception as exc:  # a bug in the sandbox must surface, not hang the client
            self.errors.append(exc)
            traceback.print_exc()
            return unknown_error(f"kombo sandbox bug: {exc!r}")

    # -- wiring ----------------------------------------------------------------------------

    def _answer(self, request: Request, send: SendReply) -> None:
        # Admission is decided once the request has been read, atomically; a refused request
        # does no work and so does not occupy a slot. The headers report the limiter's state
        # at that moment, not after the reply's latency. A request that names no integration
        # served, or one set to fail, is refused before any work, so it takes no slot.
        integration = self._integrations.of_request(request.headers)
        limiter = None
        if (
            request.complete
            and is_action(request.path)
            and integration is not None
            and integration.id not in self.config.integration_errors
        ):
            limiter = integration.limiter
            request.admitted = self._limits.try_enter(limiter)
            request.concurrency = limiter.state()
        try:
            reply = self.respond(request)
            send(None if reply is None else self._faults.delayed(reply))
        finally:
            if limiter is not None and request.admitted:
                self._limits.leave(limiter)

    def _log(self, line: str) -> None:
        if self.on_log is not None:
            # A closed stderr must not cost a client its answer.
            with contextlib.suppress(Exception):
                self.on_log(line)
