"""The loopback Kombo the tests talk to: `kombo sandbox`'s server, recording every request.

Tests get a fresh server with its own data directory, a key that looks like a real one
(so leak checks mean something), every request as it arrived (`requests`, downloads of a
listed `data_url` from /files/ included), and replies they script (`queue`, used up by
downloads too). Both are built on the sandbox's one extension point,
`SandboxServer.respond`: the override here records the request, then answers it with the
next scripted reply, if any, instead of the sandbox's own answer.

Kombo's OpenAPI document judges what the server saw (tests/contract/judge.py): when it
stops, a request kombo sent or a reply of the sandbox's own that breaks the document fails
the test. `contract=False` leaves requests unjudged, for tests that send wrong ones.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from kombo_cli.sandbox.config import DEFAULT_CONCURRENCY_LIMIT, SandboxConfig
from kombo_cli.sandbox.contract import error_envelope, json_bytes, kombo_id, log_url
from kombo_cli.sandbox.exchange import Reply, Request
from kombo_cli.sandbox.server import SandboxServer
from kombo_cli.sandbox.store import StoredAttachment
from tests.contract.judge import ContractJudge, Exchange

DEFAULT_API_KEY = "ks_test_Zx9vQ2mN7pL4rT8wK3jH6fD1"
DEFAULT_INTEGRATION_ID = "test:integration"

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_INTEGRATION_ID",
    "KomboServer",
    "RecordedRequest",
    "ScriptedResponse",
    "StoredAttachment",
    "error_envelope",
    "kombo_id",
    "log_url",
]


@dataclass
class RecordedRequest:
    method: str
    # The request target as sent, query included.
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    # False when the client went away before sending the whole body; nothing was processed.
    complete: bool = True

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ScriptedResponse:
    """A reply the next request gets instead of the sandbox's own."""

    status: int = 200
    body: Union[bytes, dict[str, Any], None] = None  # noqa: UP007 - read at run time on 3.9
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop_connection: bool = False
    # Process the request normally first (validate and store), then send this reply; a
    # request the sandbox refuses gets the refusal instead.
    store: bool = False
    # Send the headers and half the body, then close: an answer cut off in transit.
    cut_off: bool = False
    # Only for a request with this method ("POST": the next upload); others pass it by.
    method: Union[str, None] = None  # noqa: UP007 - read at run time on 3.9

    def reply(self) -> Reply:
        headers = [
            (key, value)
            for key, value in self.headers.items()
            # The server frames every reply itself; a wrong scripted length would hang clients.
            if key.lower() != "content-length"
        ]
        has_content_type = any(key.lower() == "content-type" for key, _ in headers)
        if isinstance(self.body, dict):
            body = json_bytes(self.body)
            if not has_content_type:
                headers.append(("Content-Type", "application/json"))
        elif isinstance(self.body, bytes):
            body = self.body
        elif self.body is None:
            body = b""
        else:
            raise TypeError(f"ScriptedResponse.body must be bytes, dict or None, not {self.body!r}")
        close = any(
            key.lower() == "connection" and value.strip().lower() == "close"
            for key, value in headers
        )
        return Reply(
            status=self.status,
            body=body,
            headers=headers,
            close=close,
            delay_s=self.delay_s,
            drop_connection=self.drop_connection,
            cut_off=self.cut_off,
        )


class _AttachmentList(list):  # type: ignore[type-arg]
    """A snapshot of the stored attachments whose `append` stores for real."""

    def __init__(self, server: KomboServer) -> None:
        super().__init__(server.store.all())
        self._server = server

    def append(self, attachment: StoredAttachment) -> None:
        self._server.store.append(attachment)
        super().append(attachment)


class KomboServer(SandboxServer):
    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        integration_id: str = DEFAULT_INTEGRATION_ID,
        known_ids: set[str] | None = None,
        latency_s: float = 0.0,
        concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT,
        undated: bool = False,
        rename_as: str | None = None,
        contract: bool = True,
        **config: Any,
    ) -> None:
        self._data_dir = tempfile.TemporaryDirectory(prefix="kombo-test-")
        super().__init__(
            SandboxConfig(
                data_dir=Path(self._data_dir.name),
                api_key=api_key,
                integration_id=integration_id,
                # Tests name ids without caring which kind they are.
                known_ids=None
                if known_ids is None
                else {"candidate": set(known_ids), "application": set(known_ids)},
                latency_s=latency_s,
                concurrency_limit=concurrency_limit,
                undated=undated,
                rename_as=rename_as,
                **config,
            )
        )
        # Every request as it arrived, bodies included, in arrival order.
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._requests_changed = threading.Condition(self._lock)
        self._scripted: deque[ScriptedResponse] = deque()
        self.contract = ContractJudge(check_requests=contract)

    @property
    def attachments(self) -> list[StoredAttachment]:
        return _AttachmentList(self)

    def stop(self) -> None:
        """Stop, then raise AssertionError if what the server saw broke Kombo's document."""
        self._stop()
        self.contract.assert_kept()

    def __exit__(self, *exc_info: object) -> None:
        self._stop()
        # A test already failing is not buried under what its failure may have caused.
        if exc_info[0] is None:
            self.contract.assert_kept()

    def _stop(self) -> None:
        super().stop()
        self._data_dir.cleanup()

    def queue(self, *responses: ScriptedResponse) -> None:
        """Answer the next requests with these, in order, instead of the sandbox's replies."""
        with self._lock:
            self._scripted.extend(responses)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._requests_changed:
            while len(self.requests) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{r.method} {r.path}" for r in self.requests]
                    raise AssertionError(
                        f"expected at least {n} request(s) within {timeout}s, "
                        f"got {len(self.requests)}: {seen}"
                    )
                self._requests_changed.wait(remaining)

    def respond(self, request: Request) -> Reply | None:
        recorded = self._record(request)
        # A script replaces what the routes would answer, so a request that never reaches
        # them (cut short, or with a body that cannot be delimited) does not use one up.
        if not request.routable:
            return super().respond(request)
        with self._lock:
            scripted = None
            if self._scripted and self._scripted[0].method in (None, request.method):
                scripted = self._scripted.popleft()
        if scripted is None:
            return self._judged(recorded, super().respond(request))
        if scripted.store:
            normal = super().respond(request)
            if normal is None or not normal.stored:
                return self._judged(recorded, normal)
        self._judged(recorded, None)
        return scripted.reply()

    def _judged(self, recorded: RecordedRequest, reply: Reply | None) -> Reply | None:
        """Note the exchange for the contract check; `reply` None: only the request counts."""
        self.contract.note(
            Exchange(
                recorded.method,
                recorded.path,
                recorded.headers,
                recorded.body,
                None if reply is None else reply.status,
                [] if reply is None else list(reply.headers),
                b"" if reply is None else reply.body,
            )
        )
        return reply

    def _record(self, request: Request) -> RecordedRequest:
        recorded = RecordedRequest(
            request.method,
            request.target,
            list(request.headers.items()),
            request.body.to_bytes(),
            request.complete,
        )
        with self._requests_changed:
            self.requests.append(recorded)
            self._requests_changed.notify_all()
        return recorded
