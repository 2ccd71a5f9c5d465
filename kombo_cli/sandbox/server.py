"""The sandbox HTTP server: Kombo's paths, headers, envelopes and limits on a local port.

Standard library only (threaded, HTTP/1.1 keep-alive). Large bodies are spooled to a
temporary file and memory-mapped, and the base64 is decoded straight to disk: a 100 MB
upload costs a few MB of the process's own memory, plus page cache for the mapped file,
which the system can reclaim at any time. The same server backs `kombo sandbox` and the project's
own tests; tests additionally record every request and can script replies.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import mimetypes
import mmap
import random
import re
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Union
from urllib.parse import parse_qs, unquote

from kombo_cli.sandbox import candidate_queries
from kombo_cli.sandbox.base64_decoder import decode_base64_span
from kombo_cli.sandbox.contract import (
    Invalid,
    error_envelope,
    json_bytes,
    kombo_id,
    now_iso,
    validate_attachment_document,
)
from kombo_cli.sandbox.integration import check_api_key_data, environment_id, integration_details
from kombo_cli.sandbox.sample_candidates import sample_candidates
from kombo_cli.sandbox.store import AttachmentStore, StoredAttachment
from kombo_cli.sandbox.upload_body import DATA_PLACEHOLDER, BodyError, parse_body

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_INTEGRATION_ID = "sandbox:local"
DEFAULT_CONCURRENCY_LIMIT = 30

_READ_CHUNK = 1024 * 1024
# Bodies up to this size stay in memory; larger ones are spooled to disk.
_IN_MEMORY_BODY_LIMIT = 4 * 1024 * 1024
# Matched against the RAW path (query split off), so an encoded "/" inside an id can never
# turn one path segment into several and reach a different route.
_ATTACHMENT_ROUTE = re.compile(r"^/v1/ats/(candidates|applications)/([^/?#]+)/attachments$")
_INTEGRATION_ROUTE = re.compile(r"^/v1/integrations/(.+)$")
# RFC 3986 pchar: a client that forgets to percent-encode an id is caught here.
_PCHAR_SEGMENT = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
_CHUNK_SIZE_LINE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_LOAD_BALANCER_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class SandboxConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    api_key: str = DEFAULT_API_KEY
    integration_id: str = DEFAULT_INTEGRATION_ID
    # None: the seeded sample candidates.
    candidates: list[dict[str, Any]] | None = None
    # Only these ids exist, per kind ("candidate", "application"); None accepts any id.
    known_ids: dict[str, set[str]] | None = None
    latency_s: float = 0.0
    fail_rate: float = 0.0
    ambiguous_rate: float = 0.0
    concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT
    # Tests keep every request, bodies included; a long-running sandbox must not.
    record_requests: bool = False
    random_seed: int | None = None


@dataclass
class RecordedRequest:
    method: str
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
        import json

        return json.loads(self.body)


@dataclass
class ScriptedResponse:
    """A reply the next request gets instead of the normal one (for tests and rehearsals)."""

    status: int = 200
    body: Union[bytes, dict[str, Any], None] = None  # noqa: UP007 - read at run time on 3.9
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop_connection: bool = False
    # Process the request normally first (validate and store), then send this reply.
    store: bool = False
    # Send the headers and half the body, then close: an answer cut off in transit.
    cut_off: bool = False


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    stored: bool = False
    concurrency_headers: bool = False
    # (limit, remaining) as the limiter saw this request when it arrived.
    concurrency: tuple[int, int] | None = None
    delay_s: float = 0.0
    drop_connection: bool = False
    cut_off: bool = False


class _Body:
    """A request body, in memory or spooled to an anonymous temporary file."""

    def __init__(self) -> None:
        self._memory = bytearray()
        self._file: BinaryIO | None = None
        self._map: mmap.mmap | None = None
        self.size = 0
        # Set when the body could not be spooled; it is then counted but not kept.
        self.spool_error: OSError | None = None

    def fail(self, chunk: bytes, error: OSError) -> None:
        self.spool_error = self.spool_error or error
        self.size += len(chunk)

    def write(self, chunk: bytes, spool_dir: Path) -> None:
        if self.spool_error is not None:
            self.size += len(chunk)
            return
        if self._file is None and self.size + len(chunk) > _IN_MEMORY_BODY_LIMIT:
            self._file = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - closed in close()
            self._file.write(self._memory)
            self._memory = bytearray()
        if self._file is not None:
            self._file.write(chunk)
        else:
            self._memory += chunk
        self.size += len(chunk)

    def view(self) -> bytes | bytearray | mmap.mmap:
        if self._file is None:
            return self._memory
        if self._map is None:
            self._file.flush()
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def to_bytes(self) -> bytes:
        if self.spool_error is not None or not self.size:
            return b""
        return bytes(self.view()[:])

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        if self._file is not None:
            self._file.close()


def _error_reply(
    status: int,
    code: str | None,
    title: str | None,
    message: str,
    headers: list[tuple[str, str]] | None = None,
) -> _Reply:
    return _Reply(
        status=status,
        body=json_bytes(error_envelope(message, code, title)),
        headers=[("Content-Type", "application/json"), *(headers or [])],
    )


def _input_invalid(message: str, status: int = 400) -> _Reply:
    return _error_reply(status, "PLATFORM.INPUT_INVALID", "Input invalid", message)


def _route_not_found(method: str, path: str) -> _Reply:
    return _error_reply(404, None, "Not found", f"No route matches {method} {path}.")


def _method_not_allowed(method: str, path: str, allow: str) -> _Reply:
    return _error_reply(
        405,
        "PLATFORM.INPUT_INVALID",
        "Method not allowed",
        f"Method {method} is not allowed on {path}; allowed: {allow}.",
        headers=[("Allow", allow)],
    )


def _success_reply(data: Any, warnings: bool = True) -> _Reply:
    payload: dict[str, Any] = {"status": "success", "data": data}
    if warnings:
        payload["warnings"] = []
    return _Reply(
        status=200, body=json_bytes(payload), headers=[("Content-Type", "application/json")]
    )


def _listing_item(attachment: StoredAttachment, kind: str) -> dict[str, Any]:
    item: dict[str, Any] = {"id": attachment.id}
    if kind == "candidate":
        item["application_id"] = None
        item["candidate_id"] = attachment.target_id
    item.update(
        type=attachment.type,
        remote_id=attachment.remote_id,
        data_url=attachment.data_url or f"https://resources.kombo.dev/{attachment.id}",
        file_name=attachment.name,
        # Kombo takes the type of a data_url upload from the download; the sandbox never
        # downloads, so it goes by the name's extension.
        content_type=attachment.content_type
        or mimetypes.guess_type(attachment.name)[0]
        or "application/octet-stream",
        remote_created_at=attachment.created_at,
        remote_updated_at=attachment.created_at,
    )
    return item


def _is_json_media_type(value: str | None) -> bool:
    if value is None:
        return False
    return value.split(";", 1)[0].strip().lower() == "application/json"


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # A restarted sandbox must be able to take its port back at once.
    allow_reuse_address = True
    # socketserver's default backlog of 5 refuses connections when a client opens a few
    # dozen at once (Kombo allows 30 actions in flight); leave room for bursts.
    request_queue_size = 128

    def __init__(self, sandbox: SandboxServer, address: tuple[str, int]) -> None:
        self.sandbox = sandbox
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or disconnect (and stop() tearing sockets down) are
        # expected, not server failures.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Otherwise a garbled request line is treated as HTTP/0.9 and answered without a status
    # line, which no client can parse.
    default_request_version = "HTTP/1.1"
    # A stuck client must not pin a thread forever.
    timeout = 60
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK would add ~40 ms to every reply.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def version_string(self) -> str:
        return "kombo-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        self.server.sandbox._log(format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Also called for requests too malformed to have a method or a target.
        method_and_target = " ".join(getattr(self, "requestline", "").split()[:2])
        self.server.sandbox._log(f"{method_and_target} -> {code}")

    def setup(self) -> None:
        super().setup()
        self.server.sandbox._track_connection(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._untrack_connection(self.connection)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Used by http.server for malformed request lines, oversized headers and unknown
        # methods; answer with Kombo's envelope too so clients only ever see one shape.
        body = json_bytes(error_envelope(message or explain or f"HTTP {code}", None, None))
        self.close_connection = True
        try:
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)
        except OSError:
            pass

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET
    do_HEAD = do_GET
    do_OPTIONS = do_GET

    def _raw_target(self) -> str:
        # self.path may be normalised by http.server (e.g. leading "//"); the route must be
        # decided on the request target exactly as the client sent it.
        words = self.requestline.split()
        return words[1] if len(words) >= 2 else getattr(self, "path", "")

    def _read_exact(self, length: int, body: _Body) -> bool:
        spool_dir = self.server.sandbox.spool_dir
        while body.size < length:
            try:
                chunk = self.rfile.read(min(_READ_CHUNK, length - body.size))
            except OSError:
                return False
            if not chunk:
                return False
            try:
                body.write(chunk, spool_dir)
            except OSError as exc:
                # Disk full or read-only: keep reading so the client still gets an answer.
                body.fail(chunk, exc)
        return True

    def _read_chunked(self, body: _Body) -> bool:
        # Decoded only so a recording shows what the client sent and the connection stays
        # in sync; the request itself is then refused with 411.
        try:
            while True:
                line = self.rfile.readline(65537)
                if not line.endswith(b"\n"):
                    return False
                size_text = line.split(b";", 1)[0].strip()
                if not _CHUNK_SIZE_LINE.fullmatch(size_text):
                    return False
                size = int(size_text, 16)
                if size == 0:
                    break
                if not self._read_exact(body.size + size, body):
                    return False
                if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                    return False
            while True:
                trailer = self.rfile.readline(65537)
                if not trailer.endswith(b"\n"):
                    return False
                if trailer in (b"\r\n", b"\n"):
                    return True
        except OSError:
            return False

    def _read_body(self, body: _Body) -> tuple[bool, str]:
        """(complete, framing); framing is length, chunked, none, bad-length or
        bad-transfer-encoding."""
        transfer_encodings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if transfer_encodings:
            if transfer_encodings[-1].split(",")[-1].strip().lower() != "chunked":
                return True, "bad-transfer-encoding"
            return self._read_chunked(body), "chunked"
        if not lengths:
            return True, "none"
        if len(lengths) != 1 or not re.fullmatch(r"[0-9]{1,15}", lengths[0].strip()):
            return True, "bad-length"
        return self._read_exact(int(lengths[0].strip()), body), "length"

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        body = _Body()
        try:
            complete, framing = self._read_body(body)
            sandbox._record(self.command, self._raw_target(), self.headers, body, complete)
            if not complete:
                # The client went away mid-body (or sent broken chunking): nothing to answer.
                self.close_connection = True
                return
            # Admission is decided once the request has been read, atomically; a refused
            # request does no work and so does not occupy a slot. The headers report the
            # limiter's state at that moment, not after the reply's latency.
            is_action = bool(_ATTACHMENT_ROUTE.match(self._raw_target().partition("?")[0]))
            admitted = sandbox._enter_action() if is_action else True
            concurrency = sandbox._concurrency_state()
            try:
                reply = self._choose_reply(body, framing, admitted)
                reply.concurrency = concurrency
                self._send(reply)
            finally:
                if is_action and admitted:
                    sandbox._leave_action()
        finally:
            body.close()

    def _choose_reply(self, body: _Body, framing: str, admitted: bool) -> _Reply:
        sandbox = self.server.sandbox
        if framing in ("bad-length", "bad-transfer-encoding"):
            # The body cannot be delimited, so neither a script nor keep-alive can apply.
            reply = _input_invalid(
                "Invalid Content-Length header."
                if framing == "bad-length"
                else "Unsupported Transfer-Encoding."
            )
            reply.close = True
            return reply
        request = _Request(self.command, self._raw_target(), self.headers, body, framing, admitted)
        scripted = sandbox._pop_scripted()
        if scripted is None:
            return sandbox._process(request)
        if scripted.store:
            normal = sandbox._process(request)
            if not normal.stored:
                return normal
        return _scripted_reply(scripted)

    def _send(self, reply: _Reply) -> None:
        sandbox = self.server.sandbox
        delay = sandbox.config.latency_s + reply.delay_s
        if delay > 0 and sandbox._stop_event.wait(delay):
            self.close_connection = True
            return
        if sandbox._stop_event.is_set():
            self.close_connection = True
            return
        if reply.drop_connection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        for key, value in reply.headers:
            self.send_header(key, value)
        if reply.concurrency_headers and reply.concurrency is not None:
            limit, remaining = reply.concurrency
            self.send_header("Concurrency-Limit", str(limit))
            self.send_header("Concurrency-Remaining", str(remaining))
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.close:
            self.send_header("Connection", "close")
        self.end_headers()
        if reply.cut_off:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        self.wfile.flush()


@dataclass
class _Request:
    method: str
    target: str
    headers: http.client.HTTPMessage
    body: _Body
    framing: str
    admitted: bool

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]


def _scripted_reply(scripted: ScriptedResponse) -> _Reply:
    headers = [
        (key, value)
        for key, value in scripted.headers.items()
        # The server frames every reply itself; a wrong scripted length would hang clients.
        if key.lower() != "content-length"
    ]
    has_content_type = any(key.lower() == "content-type" for key, _ in headers)
    if isinstance(scripted.body, dict):
        body = json_bytes(scripted.body)
        if not has_content_type:
            headers.append(("Content-Type", "application/json"))
    elif isinstance(scripted.body, bytes):
        body = scripted.body
    elif scripted.body is None:
        body = b""
    else:
        raise TypeError(f"ScriptedResponse.body must be bytes, dict or None, not {scripted.body!r}")
    close = any(
        key.lower() == "connection" and value.strip().lower() == "close" for key, value in headers
    )
    return _Reply(
        status=scripted.status,
        body=body,
        headers=headers,
        close=close,
        delay_s=scripted.delay_s,
        drop_connection=scripted.drop_connection,
        cut_off=scripted.cut_off,
    )


class SandboxServer:
    """A strict Kombo API on a local port. Use as a context manager or call start()/stop()."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = AttachmentStore(config.data_dir)
        self.spool_dir = config.data_dir
        self.candidates = sample_candidates() if config.candidates is None else config.candidates
        self.environment_id = environment_id()
        self.created_at = now_iso()
        self.requests: list[RecordedRequest] = []
        # Exceptions raised by the sandbox's own code (answered with a 500).
        self.errors: list[BaseException] = []
        self.on_log: Any = None
        self._random = random.Random(config.random_seed)
        self._lock = threading.Lock()
        self._requests_changed = threading.Condition(self._lock)
        self._scripted: deque[ScriptedResponse] = deque()
        self._in_flight = 0
        # For tests and rehearsals: the most actions ever in flight at once, and how many
        # were refused for going over the concurrency limit.
        self.peak_in_flight = 0
        self.concurrency_refusals = 0
        self._stop_event = threading.Event()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        return int(self._httpd.server_address[1])

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
        if self._httpd is not None:
            raise RuntimeError("the sandbox is already started")
        self._stop_event.clear()
        self._httpd = _HTTPServer(self, (self.config.host, self.config.port))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            # Short poll: stop() waits for the loop to notice.
            kwargs={"poll_interval": 0.05},
            name="kombo-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd = self._httpd
        if httpd is None:
            return
        # Wakes handlers sleeping in a delay; they then close without answering.
        self._stop_event.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections.items())
        for connection, _ in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2.0
        for _, thread in connections:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(2.0)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- hooks for tests and rehearsals --------------------------------------------------

    def queue(self, *responses: ScriptedResponse) -> None:
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

    # -- internals used by the handler -------------------------------------------------

    def _log(self, line: str) -> None:
        if self.on_log is not None:
            # A closed stderr must not cost a client its answer.
            with contextlib.suppress(Exception):
                self.on_log(line)

    def _track_connection(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections[connection] = threading.current_thread()

    def _untrack_connection(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.pop(connection, None)

    def _record(
        self,
        method: str,
        target: str,
        headers: http.client.HTTPMessage,
        body: _Body,
        complete: bool,
    ) -> None:
        if not self.config.record_requests:
            return
        request = RecordedRequest(method, target, list(headers.items()), body.to_bytes(), complete)
        with self._requests_changed:
            self.requests.append(request)
            self._requests_changed.notify_all()

    def _pop_scripted(self) -> ScriptedResponse | None:
        with self._lock:
            return self._scripted.popleft() if self._scripted else None

    def _enter_action(self) -> bool:
        with self._lock:
            if self._in_flight >= self.config.concurrency_limit:
                self.concurrency_refusals += 1
                return False
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            return True

    def _leave_action(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _concurrency_state(self) -> tuple[int, int]:
        with self._lock:
            limit = self.config.concurrency_limit
            return limit, max(0, limit - self._in_flight)

    def _process(self, request: _Request) -> _Reply:
        try:
            return self._route(request)
        except Exception as exc:  # a bug in the sandbox must surface, not hang the client
            self.errors.append(exc)
            traceback.print_exc()
            return _error_reply(
                500, "PLATFORM.UNKNOWN_ERROR", "Unknown error", f"kombo sandbox bug: {exc!r}"
            )

    def _route(self, request: _Request) -> _Reply:
        path, method, headers = request.path, request.method, request.headers
        authorizations = headers.get_all("Authorization") or []
        if not authorizations:
            return _error_reply(
                401,
                "PLATFORM.AUTHENTICATION_INVALID",
                "Authentication invalid",
                "No API key was provided. Send it as 'Authorization: Bearer <API key>'.",
            )
        scheme, _, presented = authorizations[0].partition(" ")
        # The scheme is case-insensitive (RFC 7235); the key itself is not.
        if (
            len(authorizations) != 1
            or scheme.lower() != "bearer"
            or presented != self.config.api_key
        ):
            return _error_reply(
                401,
                "PLATFORM.AUTHENTICATION_INVALID",
                "Authentication invalid",
                "The provided API key is invalid or has expired.",
            )

        if path == "/v1/ats" or path.startswith("/v1/ats/"):
            integration_ids = headers.get_all("X-Integration-Id") or []
            if not integration_ids:
                return _error_reply(
                    404,
                    "PLATFORM.INTEGRATION_NOT_FOUND",
                    "Integration not found",
                    "The X-Integration-Id header is missing.",
                )
            if len(integration_ids) != 1 or integration_ids[0] != self.config.integration_id:
                problem = (
                    "Send exactly one X-Integration-Id header."
                    if len(integration_ids) != 1
                    else f"No integration with ID '{integration_ids[0]}' exists here."
                )
                return _error_reply(
                    404, "PLATFORM.INTEGRATION_NOT_FOUND", "Integration not found", problem
                )

        if path == "/v1/check-api-key":
            if method != "GET":
                return _method_not_allowed(method, path, "GET")
            if request.query:
                return _input_invalid("This endpoint does not accept query parameters.")
            return _success_reply(check_api_key_data(self.environment_id), warnings=False)

        integration = _INTEGRATION_ROUTE.match(path)
        if integration is not None:
            return self._integration_route(request, unquote(integration.group(1)))

        if path == "/v1/ats/candidates":
            if method != "GET":
                return _method_not_allowed(method, path, "GET")
            return self._candidates_route(request)

        match = _ATTACHMENT_ROUTE.match(path)
        if match is None:
            return _route_not_found(method, path)
        reply = self._attachments_route(request, match.group(1), match.group(2))
        reply.concurrency_headers = True
        return reply

    def _integration_route(self, request: _Request, integration_id: str) -> _Reply:
        if request.method != "GET":
            return _method_not_allowed(request.method, request.path, "GET")
        if integration_id != self.config.integration_id:
            return _error_reply(
                404,
                "PLATFORM.INTEGRATION_NOT_FOUND",
                "Integration not found",
                f"No integration with ID '{integration_id}' exists in this environment.",
            )
        data = integration_details(integration_id, created_at=self.created_at)
        return _success_reply(data, warnings=False)

    def _candidates_route(self, request: _Request) -> _Reply:
        try:
            query = parse_qs(request.query, keep_blank_values=True, strict_parsing=False)
            page = candidate_queries.query_candidates(self.candidates, query)
        except Invalid as exc:
            return _input_invalid(exc.message, exc.status)
        return _success_reply(page, warnings=False)

    def _attachments_route(self, request: _Request, collection: str, raw_id: str) -> _Reply:
        method, path = request.method, request.path
        if not _PCHAR_SEGMENT.fullmatch(raw_id):
            return _input_invalid(f"The path segment {raw_id!r} is not correctly percent-encoded.")
        try:
            target_id = unquote(raw_id, errors="strict")
        except UnicodeDecodeError:
            return _input_invalid(f"The path segment {raw_id!r} does not decode to UTF-8.")
        # Real servers resolve dot segments (some also after decoding "%2e"), so "." and
        # ".." never name a candidate; this also keeps "/candidates/../attachments" a 404.
        if target_id in (".", ".."):
            return _route_not_found(method, path)
        kind = "candidate" if collection == "candidates" else "application"

        if method not in ("GET", "POST"):
            return _method_not_allowed(method, path, "GET, POST")
        known_ids = self.config.known_ids
        if known_ids is not None and target_id not in known_ids.get(kind, set()):
            return _error_reply(
                404, None, "Not found", f"The {kind} with ID '{target_id}' could not be found."
            )
        if not request.admitted:
            return _error_reply(
                429,
                "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
                "Concurrency limit exceeded",
                "Too many concurrent actions for this integration "
                f"(limit {self.config.concurrency_limit}).",
            )
        if request.query:
            return _input_invalid("This endpoint does not accept query parameters.")

        if method == "GET":
            if request.body.size:
                return _input_invalid("GET requests must not have a body.")
            return _success_reply({"results": self._listing(kind, target_id)})

        if not _is_json_media_type(request.headers.get("Content-Type")):
            return _input_invalid(
                "The request body must be sent with Content-Type: application/json.", status=415
            )
        # Kombo itself may accept chunked uploads; the sandbox refuses them on purpose so
        # clients are held to sending a Content-Length (proxies in front of Kombo are not
        # guaranteed to pass chunked bodies on).
        if request.framing != "length":
            reply = _error_reply(
                411,
                "PLATFORM.INPUT_INVALID",
                "Length required",
                "The request must carry a Content-Length header; "
                "chunked transfer encoding is not accepted.",
            )
            reply.close = request.framing == "chunked"
            return reply
        rehearsal = self._rehearsed_failure()
        if rehearsal is not None:
            return rehearsal
        try:
            if request.body.spool_error is not None:
                raise request.body.spool_error
            self._store_upload(kind, target_id, request.body)
        except Invalid as exc:
            return _input_invalid(exc.message, status=exc.status)
        except OSError as exc:
            # The sandbox's own disk, not the client, is at fault: say so plainly.
            return _error_reply(
                500,
                "PLATFORM.UNKNOWN_ERROR",
                "Unknown error",
                f"The sandbox could not store the upload in {self.config.data_dir}:"
                f" {exc.strerror or exc}.",
            )
        if self.config.ambiguous_rate and self._random.random() < self.config.ambiguous_rate:
            # Stored, then answered as a failure: the case that makes naive retries duplicate.
            reply = _error_reply(
                500, "PLATFORM.UNKNOWN_ERROR", "Unknown error", "An unexpected error occurred."
            )
        else:
            reply = _success_reply({})
        reply.stored = True
        return reply

    def _listing(self, kind: str, target_id: str) -> list[dict[str, Any]]:
        """Kombo lists a candidate's own files and those of all their applications."""
        items = [_listing_item(a, kind) for a in self.store.for_target(kind, target_id)]
        if kind == "candidate":
            for application_id in self._applications_of(target_id):
                for attachment in self.store.for_target("application", application_id):
                    item = _listing_item(attachment, "candidate")
                    item["application_id"] = application_id
                    item["candidate_id"] = target_id
                    items.append(item)
        return items

    def _applications_of(self, candidate_id: str) -> list[str]:
        for candidate in self.candidates:
            if candidate.get("id") == candidate_id:
                return [a["id"] for a in candidate.get("applications") or []]
        return []

    def _rehearsed_failure(self) -> _Reply | None:
        """--fail-rate: a share of uploads refused before anything is stored."""
        if not self.config.fail_rate or self._random.random() >= self.config.fail_rate:
            return None
        retry_after = [("Retry-After", "1")]
        if self._random.random() < 0.5:
            return _Reply(
                503,
                _LOAD_BALANCER_503,
                [("Content-Type", "text/html"), *retry_after],
            )
        return _error_reply(
            429,
            "PLATFORM.RATE_LIMIT_EXCEEDED",
            "Rate limit exceeded",
            "Too many requests; retry after the time given in Retry-After.",
            headers=retry_after,
        )

    def _store_upload(self, kind: str, target_id: str, body: _Body) -> StoredAttachment:
        buffer = body.view()
        try:
            parsed = parse_body(buffer)
        except BodyError as exc:
            raise Invalid(str(exc)) from None
        upload = validate_attachment_document(kind, parsed.document, DATA_PLACEHOLDER)
        attachment = StoredAttachment(
            target_kind=kind,
            target_id=target_id,
            name=upload.name,
            type=upload.type,
            content_type=upload.content_type,
            data_url=upload.data_url,
            remote_fields=upload.remote_fields,
        )
        with self.store.new_file(kind, target_id) as (handle, temp):
            if upload.has_data:
                assert parsed.data_span is not None
                try:
                    attachment.size = decode_base64_span(buffer, parsed.data_span, handle)
                except BodyError as exc:
                    raise Invalid(str(exc)) from None
                suffix = ""
            else:
                assert upload.data_url is not None
                text = upload.data_url + "\n"
                handle.write(text.encode("utf-8"))
                attachment.size = 0
                suffix = ".url.txt"
            handle.flush()
            self.store.commit(temp, attachment, suffix)
        return attachment


__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CONCURRENCY_LIMIT",
    "DEFAULT_INTEGRATION_ID",
    "RecordedRequest",
    "SandboxConfig",
    "SandboxServer",
    "ScriptedResponse",
    "StoredAttachment",
    "error_envelope",
    "kombo_id",
]
