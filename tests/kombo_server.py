"""A strict, real HTTP stand-in for the Kombo unified ATS API, for tests.

The server listens on 127.0.0.1 (random free port) and implements the parts of the Kombo
contract the CLI uses: the attachment routes, check-api-key, the error envelope and the
concurrency headers. It is deliberately stricter than the real API where the real API's
leniency is unknown: a lenient fake would hide client bugs. Every request is recorded byte
for byte so tests can assert exactly what the client sent.

Usage::

    with KomboServer() as server:
        run_cli("--base-url", server.base_url, ...)
        assert server.attachments[0].data == b"..."
"""

# The annotations use typing.Optional/Union instead of `X | None` so that
# typing.get_type_hints() on these dataclasses also works on Python 3.9.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import base64
import binascii
import contextlib
import http.client
import http.server
import json
import mimetypes
import re
import secrets
import socket
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional, Union
from urllib.parse import unquote, urlsplit

DEFAULT_API_KEY = "ks_test_Zx9vQ2mN7pL4rT8wK3jH6fD1"
DEFAULT_INTEGRATION_ID = "test:integration"
DEFAULT_CONCURRENCY_LIMIT = 30

ATTACHMENT_TYPES = ("CV", "COVER_LETTER", "OTHER")
ORACLE_DOCUMENT_CATEGORIES = (
    "IRC_CANDIDATE_RESUME",
    "IRC_CANDIDATE_COVERLETTER",
    "MISC",
    "IRC_INTERNAL",
)

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_READ_CHUNK = 1024 * 1024
# Matched against the RAW path (query split off), so an encoded "/" inside an id can never
# turn one path segment into several and reach a different route.
_ATTACHMENT_ROUTE = re.compile(r"^/v1/ats/(candidates|applications)/([^/?#]+)/attachments$")
# RFC 3986 pchar: a client that forgets to percent-encode an id must be caught here.
_PCHAR_SEGMENT = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
_CONTENT_TYPE = re.compile(r"[\w.-]+/[\w.-]+", re.ASCII)
_CHUNK_SIZE_LINE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def kombo_id() -> str:
    """A random 24-character base58 id in Kombo's format."""
    return "".join(secrets.choice(_BASE58) for _ in range(24))


def _now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _remote_id() -> str:
    return str(secrets.randbelow(900_000_000) + 100_000_000)


def log_url() -> str:
    """A dashboard log link like the ones Kombo puts in error envelopes."""
    return f"https://app.kombo.dev/test/logs?interactionId={kombo_id()}"


def error_envelope(
    message: str,
    code: Optional[str] = None,
    title: Optional[str] = None,
    log_url_value: Optional[str] = "",
) -> dict[str, Any]:
    """Kombo's error envelope; use it to script realistic errors with ``queue``.

    ``log_url_value=""`` (the default) generates a fresh realistic log URL; pass ``None``
    for the "minimal error response" that has no log URL.
    """
    return {
        "status": "error",
        "error": {
            "code": code,
            "title": title,
            "message": message,
            "log_url": log_url() if log_url_value == "" else log_url_value,
        },
    }


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    # False when the client went away before sending the whole body; nothing was processed.
    complete: bool = True

    def header(self, name: str) -> Optional[str]:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StoredAttachment:
    target_kind: str
    target_id: str
    name: str
    type: str
    content_type: Optional[str] = None
    data: Optional[bytes] = None
    data_url: Optional[str] = None
    remote_fields: Optional[dict[str, Any]] = None
    # Kombo assigns these; the GET listing must show the same values every time.
    id: str = field(default_factory=kombo_id)
    remote_id: str = field(default_factory=_remote_id)
    created_at: str = field(default_factory=_now_iso)


@dataclass
class ScriptedResponse:
    status: int = 200
    body: Union[bytes, dict[str, Any], None] = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop_connection: bool = False
    store: bool = False


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    stored: bool = False
    concurrency_headers: bool = False
    delay_s: float = 0.0
    drop_connection: bool = False


class _Invalid(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def _error_reply(
    status: int,
    code: Optional[str],
    title: Optional[str],
    message: str,
    headers: Optional[list[tuple[str, str]]] = None,
) -> _Reply:
    return _Reply(
        status=status,
        body=_json_bytes(error_envelope(message, code, title)),
        headers=[("Content-Type", "application/json"), *(headers or [])],
    )


def _input_invalid(message: str, status: int = 400) -> _Reply:
    return _error_reply(status, "PLATFORM.INPUT_INVALID", "Input invalid", message)


def _route_not_found(method: str, path: str) -> _Reply:
    return _error_reply(404, None, "Not found", f"No route matches {method} {path}.")


def _success_reply(data: dict[str, Any], warnings: bool = True) -> _Reply:
    payload: dict[str, Any] = {"status": "success", "data": data}
    if warnings:
        payload["warnings"] = []
    return _Reply(
        status=200,
        body=_json_bytes(payload),
        headers=[("Content-Type", "application/json")],
    )


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Invalid("The request body is not valid UTF-8.") from exc
    try:
        payload = json.loads(
            text,
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except ValueError as exc:
        raise _Invalid(f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(payload, dict):
        raise _Invalid("The request body must be a JSON object.")
    return payload


def _check_keys(value: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
    for key in value:
        if key not in allowed:
            raise _Invalid(f"Unknown field '{where}.{key}'; allowed fields: {', '.join(allowed)}.")


def _expect_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(f"'{where}' must be an object.")
    return value


def _expect_string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"'{where}' must be a string.")
    return value


def _check_content_type(value: Any) -> str:
    content_type = _expect_string(value, "attachment.content_type")
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise _Invalid(
            f"'attachment.content_type' must match ^[\\w.-]+\\/[\\w.-]+$, got {content_type!r}."
        )
    # Kombo's docs forbid the generic type for both data and data_url uploads: the ATS
    # needs the real type to display or accept the file.
    if content_type.lower() == "application/octet-stream":
        raise _Invalid(
            "'attachment.content_type' must be the file's real MIME type, "
            "not application/octet-stream."
        )
    return content_type


def _decode_strict_base64(value: str) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError as exc:
        raise _Invalid("'attachment.data' contains non-ASCII characters.") from exc
    try:
        decoded = base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise _Invalid(
            f"'attachment.data' is not valid standard base64 (padded, no whitespace): {exc}."
        ) from exc
    # Non-zero trailing bits ("QR==") decode fine but no correct encoder produces them.
    if base64.b64encode(decoded) != raw:
        raise _Invalid("'attachment.data' is not canonical standard base64.")
    if not decoded:
        raise _Invalid("'attachment.data' is empty; the file must contain at least 1 byte.")
    return decoded


def _check_data_url(value: Any) -> str:
    data_url = _expect_string(value, "attachment.data_url")
    parts = urlsplit(data_url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() for ch in data_url)
    ):
        raise _Invalid(f"'attachment.data_url' must be an absolute http(s) URL, got {data_url!r}.")
    return data_url


def _check_remote_fields(kind: str, value: Any) -> dict[str, Any]:
    remote_fields = _expect_object(value, "remote_fields")
    allowed: tuple[str, ...] = ("greenhouse", "workable")
    if kind == "application":
        allowed = ("oracle", *allowed)
    _check_keys(remote_fields, "remote_fields", allowed)

    if "greenhouse" in remote_fields:
        greenhouse = _expect_object(remote_fields["greenhouse"], "remote_fields.greenhouse")
        _check_keys(greenhouse, "remote_fields.greenhouse", ("post_headers",))
        if "post_headers" in greenhouse:
            where = "remote_fields.greenhouse.post_headers"
            post_headers = _expect_object(greenhouse["post_headers"], where)
            _check_keys(post_headers, where, ("On-Behalf-Of",))
            on_behalf_of = post_headers.get("On-Behalf-Of")
            if on_behalf_of is not None and not isinstance(on_behalf_of, str):
                raise _Invalid(f"'{where}.On-Behalf-Of' must be a string or null.")

    if "workable" in remote_fields:
        where = "remote_fields.workable"
        workable = _expect_object(remote_fields["workable"], where)
        _check_keys(workable, where, ("on_behalf_of_user_remote_id",))
        if "on_behalf_of_user_remote_id" in workable:
            _expect_string(
                workable["on_behalf_of_user_remote_id"], f"{where}.on_behalf_of_user_remote_id"
            )

    if "oracle" in remote_fields:
        where = "remote_fields.oracle"
        oracle = _expect_object(remote_fields["oracle"], where)
        _check_keys(
            oracle,
            where,
            ("override_document_category", "multi_post_to_all_current_applications"),
        )
        category = oracle.get("override_document_category")
        if "override_document_category" in oracle and category not in ORACLE_DOCUMENT_CATEGORIES:
            raise _Invalid(
                f"'{where}.override_document_category' must be one of "
                f"{', '.join(ORACLE_DOCUMENT_CATEGORIES)}."
            )
        multi_post = oracle.get("multi_post_to_all_current_applications")
        if "multi_post_to_all_current_applications" in oracle and not isinstance(multi_post, bool):
            raise _Invalid(f"'{where}.multi_post_to_all_current_applications' must be a boolean.")
    return remote_fields


def _validate_attachment_body(kind: str, target_id: str, body: bytes) -> StoredAttachment:
    payload = _parse_json_object(body)
    for key in payload:
        if key not in ("attachment", "remote_fields"):
            raise _Invalid(
                f"Unknown field '{key}' in the request body; allowed fields: "
                "attachment, remote_fields."
            )
    if "attachment" not in payload:
        raise _Invalid("Missing required field 'attachment'.")
    attachment = _expect_object(payload["attachment"], "attachment")
    _check_keys(attachment, "attachment", ("name", "type", "content_type", "data_url", "data"))

    name = attachment.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Invalid("'attachment.name' is required and must be a non-empty string.")
    attachment_type = attachment.get("type")
    if attachment_type not in ATTACHMENT_TYPES:
        raise _Invalid(f"'attachment.type' must be one of {', '.join(ATTACHMENT_TYPES)}.")

    has_data = "data" in attachment
    has_data_url = "data_url" in attachment
    if has_data and has_data_url:
        raise _Invalid(
            "Provide exactly one of 'attachment.data' and 'attachment.data_url', not both."
        )
    if not has_data and not has_data_url:
        raise _Invalid(
            "Provide exactly one of 'attachment.data' and 'attachment.data_url'; neither was given."
        )

    content_type: Optional[str] = None
    data: Optional[bytes] = None
    data_url: Optional[str] = None
    if has_data:
        encoded = _expect_string(attachment["data"], "attachment.data")
        if "content_type" not in attachment:
            raise _Invalid("'attachment.content_type' is required when 'attachment.data' is used.")
        content_type = _check_content_type(attachment["content_type"])
        data = _decode_strict_base64(encoded)
    else:
        data_url = _check_data_url(attachment["data_url"])
        if "content_type" in attachment:
            content_type = _check_content_type(attachment["content_type"])

    remote_fields: Optional[dict[str, Any]] = None
    if "remote_fields" in payload:
        remote_fields = _check_remote_fields(kind, payload["remote_fields"])

    return StoredAttachment(
        target_kind=kind,
        target_id=target_id,
        name=name,
        type=attachment_type,
        content_type=content_type,
        data=data,
        data_url=data_url,
        remote_fields=remote_fields,
    )


def _listing_item(attachment: StoredAttachment, kind: str) -> dict[str, Any]:
    item: dict[str, Any] = {"id": attachment.id}
    if kind == "candidate":
        item["application_id"] = None
        item["candidate_id"] = attachment.target_id
    content_type = attachment.content_type
    if content_type is None:
        # Kombo would have taken it from the download; guess like an ATS would.
        content_type = mimetypes.guess_type(attachment.name)[0] or "application/pdf"
    item.update(
        type=attachment.type,
        remote_id=attachment.remote_id,
        data_url=f"https://resources.kombo.dev/{attachment.id}",
        file_name=attachment.name,
        content_type=content_type,
        remote_created_at=attachment.created_at,
        remote_updated_at=attachment.created_at,
    )
    return item


def _is_json_media_type(value: Optional[str]) -> bool:
    if value is None:
        return False
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type == "application/json"


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, kombo: KomboServer) -> None:
        self.kombo = kombo
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or disconnect on purpose (and stop() tearing sockets down)
        # are part of the tests, not server failures.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Otherwise a garbled request line is treated as HTTP/0.9 and answered without a status
    # line, which no client can parse.
    default_request_version = "HTTP/1.1"
    # A stuck client must not pin a thread forever; stop() also tears sockets down.
    timeout = 30
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK would add ~40 ms to every reply.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def version_string(self) -> str:
        return "kombo-test-server"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.kombo._track_connection(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.kombo._untrack_connection(self.connection)

    def send_error(
        self, code: int, message: Optional[str] = None, explain: Optional[str] = None
    ) -> None:
        # Used by http.server for malformed request lines, oversized headers and unknown
        # methods; answer with Kombo's envelope too so clients only ever see one shape.
        body = _json_bytes(error_envelope(message or explain or f"HTTP {code}", None, None))
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
        # self.path may be normalised by http.server (e.g. leading "//"); tests need the
        # request target exactly as the client sent it.
        words = self.requestline.split()
        return words[1] if len(words) >= 2 else self.path

    def _read_exact(self, length: int) -> tuple[bytes, bool]:
        buffer = bytearray()
        while len(buffer) < length:
            try:
                chunk = self.rfile.read(min(_READ_CHUNK, length - len(buffer)))
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
        return bytes(buffer), len(buffer) == length

    def _read_chunked(self) -> tuple[bytes, bool]:
        # Decoded only so the recording shows what the client sent and the connection stays
        # in sync; the request itself is then refused with 411.
        buffer = bytearray()
        try:
            while True:
                line = self.rfile.readline(65537)
                if not line.endswith(b"\n"):
                    return bytes(buffer), False
                size_text = line.split(b";", 1)[0].strip()
                if not _CHUNK_SIZE_LINE.fullmatch(size_text):
                    return bytes(buffer), False
                size = int(size_text, 16)
                if size == 0:
                    break
                data, ok = self._read_exact(size)
                buffer += data
                if not ok or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                    return bytes(buffer), False
            while True:
                trailer = self.rfile.readline(65537)
                if not trailer.endswith(b"\n"):
                    return bytes(buffer), False
                if trailer in (b"\r\n", b"\n"):
                    return bytes(buffer), True
        except OSError:
            return bytes(buffer), False

    def _read_body(self) -> tuple[bytes, bool, str]:
        """Returns (body, complete, framing); framing is one of
        "length", "chunked", "none", "bad-length", "bad-transfer-encoding"."""
        transfer_encodings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if transfer_encodings:
            if transfer_encodings[-1].split(",")[-1].strip().lower() != "chunked":
                return b"", True, "bad-transfer-encoding"
            body, complete = self._read_chunked()
            return body, complete, "chunked"
        if not lengths:
            return b"", True, "none"
        if len(lengths) != 1 or not re.fullmatch(r"[0-9]{1,15}", lengths[0].strip()):
            return b"", True, "bad-length"
        body, complete = self._read_exact(int(lengths[0].strip()))
        return body, complete, "length"

    def _dispatch(self) -> None:
        kombo = self.server.kombo
        method = self.command
        target = self._raw_target()
        body, complete, framing = self._read_body()
        kombo._record(
            RecordedRequest(
                method=method,
                path=target,
                headers=list(self.headers.items()),
                body=body,
                complete=complete,
            )
        )
        if not complete:
            # The client went away mid-body (or sent broken chunking): nothing to answer.
            self.close_connection = True
            return

        # Admission is decided on arrival, atomically, like Kombo's limiter; a refused
        # request does no work and so does not occupy a slot.
        is_action = bool(_ATTACHMENT_ROUTE.match(target.partition("?")[0]))
        admitted = kombo._enter_action() if is_action else True
        try:
            reply = self._choose_reply(method, target, body, framing, admitted)
            self._send(reply)
        finally:
            if is_action and admitted:
                kombo._leave_action()

    def _choose_reply(
        self, method: str, target: str, body: bytes, framing: str, admitted: bool
    ) -> _Reply:
        kombo = self.server.kombo
        if framing in ("bad-length", "bad-transfer-encoding"):
            # The body cannot be delimited, so neither a script nor keep-alive can apply.
            reply = _input_invalid(
                "Invalid Content-Length header."
                if framing == "bad-length"
                else "Unsupported Transfer-Encoding."
            )
            reply.close = True
            return reply
        scripted = kombo._pop_scripted()
        if scripted is None:
            return kombo._process(method, target, self.headers, body, framing, admitted)
        if scripted.store:
            normal = kombo._process(method, target, self.headers, body, framing, admitted)
            if not normal.stored:
                return normal
        return _scripted_reply(scripted)

    def _send(self, reply: _Reply) -> None:
        kombo = self.server.kombo
        delay = kombo.latency_s + reply.delay_s
        if delay > 0 and kombo._stop_event.wait(delay):
            self.close_connection = True
            return
        if kombo._stop_event.is_set():
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
        if reply.concurrency_headers:
            limit, remaining = kombo._concurrency_state()
            self.send_header("Concurrency-Limit", str(limit))
            self.send_header("Concurrency-Remaining", str(remaining))
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        self.wfile.flush()


def _scripted_reply(scripted: ScriptedResponse) -> _Reply:
    headers = [
        (key, value)
        for key, value in scripted.headers.items()
        # The server frames every reply itself; a wrong scripted length would hang clients.
        if key.lower() != "content-length"
    ]
    has_content_type = any(key.lower() == "content-type" for key, _ in headers)
    if isinstance(scripted.body, dict):
        body = _json_bytes(scripted.body)
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
    )


class KomboServer:
    """A strict Kombo API on loopback. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        integration_id: str = DEFAULT_INTEGRATION_ID,
        known_ids: Optional[set[str]] = None,
        latency_s: float = 0.0,
        concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT,
    ) -> None:
        self.api_key = api_key
        self.integration_id = integration_id
        self.known_ids = known_ids
        self.latency_s = latency_s
        self.concurrency_limit = concurrency_limit
        self.environment_id = kombo_id()
        self.requests: list[RecordedRequest] = []
        self.attachments: list[StoredAttachment] = []
        # Exceptions raised by the server's own code (answered with a 500); a test that
        # sees an unexpected 500 should look here.
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._requests_changed = threading.Condition(self._lock)
        self._scripted: deque[ScriptedResponse] = deque()
        self._in_flight = 0
        self._stop_event = threading.Event()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("KomboServer is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> KomboServer:
        if self._httpd is not None:
            raise RuntimeError("KomboServer is already started")
        self._stop_event.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            # Short poll: stop() waits for the loop to notice, once per test.
            kwargs={"poll_interval": 0.01},
            name="kombo-test-server",
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

    def __enter__(self) -> KomboServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

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

    def _track_connection(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections[connection] = threading.current_thread()

    def _untrack_connection(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.pop(connection, None)

    def _record(self, request: RecordedRequest) -> None:
        with self._requests_changed:
            self.requests.append(request)
            self._requests_changed.notify_all()

    def _pop_scripted(self) -> Optional[ScriptedResponse]:
        with self._lock:
            return self._scripted.popleft() if self._scripted else None

    def _enter_action(self) -> bool:
        with self._lock:
            if self._in_flight >= self.concurrency_limit:
                return False
            self._in_flight += 1
            return True

    def _leave_action(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _concurrency_state(self) -> tuple[int, int]:
        with self._lock:
            return self.concurrency_limit, max(0, self.concurrency_limit - self._in_flight)

    def _process(
        self,
        method: str,
        target: str,
        headers: http.client.HTTPMessage,
        body: bytes,
        framing: str,
        admitted: bool,
    ) -> _Reply:
        try:
            return self._route(method, target, headers, body, framing, admitted)
        except Exception as exc:  # a bug in this fake must surface, not hang the client
            self.errors.append(exc)
            traceback.print_exc()
            return _error_reply(
                500, "PLATFORM.UNKNOWN_ERROR", "Unknown error", f"kombo_server bug: {exc!r}"
            )

    def _route(
        self,
        method: str,
        target: str,
        headers: http.client.HTTPMessage,
        body: bytes,
        framing: str,
        admitted: bool,
    ) -> _Reply:
        path, _, query = target.partition("?")

        authorizations = headers.get_all("Authorization") or []
        if not authorizations:
            return _error_reply(
                401,
                "PLATFORM.AUTHENTICATION_INVALID",
                "Authentication invalid",
                "No API key was provided. Send it as 'Authorization: Bearer <API key>'.",
            )
        if len(authorizations) != 1 or authorizations[0] != f"Bearer {self.api_key}":
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
            if len(integration_ids) != 1 or integration_ids[0] != self.integration_id:
                return _error_reply(
                    404,
                    "PLATFORM.INTEGRATION_NOT_FOUND",
                    "Integration not found",
                    f"No integration with ID '{integration_ids[0]}' exists in this environment.",
                )

        if path == "/v1/check-api-key":
            if method != "GET":
                return _method_not_allowed(method, path, "GET")
            if query:
                return _input_invalid("This endpoint does not accept query parameters.")
            return _success_reply({"environment_id": self.environment_id}, warnings=False)

        match = _ATTACHMENT_ROUTE.match(path)
        if match is None:
            return _route_not_found(method, path)
        reply = self._attachments_route(
            method, path, query, match.group(1), match.group(2), headers, body, framing, admitted
        )
        reply.concurrency_headers = True
        return reply

    def _attachments_route(
        self,
        method: str,
        path: str,
        query: str,
        collection: str,
        raw_id: str,
        headers: http.client.HTTPMessage,
        body: bytes,
        framing: str,
        admitted: bool,
    ) -> _Reply:
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
        if self.known_ids is not None and target_id not in self.known_ids:
            return _error_reply(
                404, None, "Not found", f"The {kind} with ID '{target_id}' could not be found."
            )
        if not admitted:
            return _error_reply(
                429,
                "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED",
                "Concurrency limit exceeded",
                f"Too many concurrent actions for this integration "
                f"(limit {self.concurrency_limit}).",
            )
        if query:
            return _input_invalid("This endpoint does not accept query parameters.")

        if method == "GET":
            if body:
                return _input_invalid("GET requests must not have a body.")
            with self._lock:
                results = [
                    _listing_item(attachment, kind)
                    for attachment in self.attachments
                    if attachment.target_kind == kind and attachment.target_id == target_id
                ]
            return _success_reply({"results": results})

        if not _is_json_media_type(headers.get("Content-Type")):
            return _input_invalid(
                "The request body must be sent with Content-Type: application/json.", status=415
            )
        # Kombo itself may accept chunked uploads; this fake refuses them on purpose so the
        # CLI is held to sending a Content-Length (it knows the size up front, and proxies
        # in front of Kombo are not guaranteed to handle chunked bodies).
        if framing != "length":
            reply = _error_reply(
                411,
                "PLATFORM.INPUT_INVALID",
                "Length required",
                "The request must carry a Content-Length header; "
                "chunked transfer encoding is not accepted.",
            )
            reply.close = framing == "chunked"
            return reply
        try:
            attachment = _validate_attachment_body(kind, target_id, body)
        except _Invalid as exc:
            return _input_invalid(exc.message, status=exc.status)
        with self._lock:
            self.attachments.append(attachment)
        reply = _success_reply({})
        reply.stored = True
        return reply


def _method_not_allowed(method: str, path: str, allow: str) -> _Reply:
    return _error_reply(
        405,
        "PLATFORM.INPUT_INVALID",
        "Method not allowed",
        f"Method {method} is not allowed on {path}; allowed: {allow}.",
        headers=[("Allow", allow)],
    )
