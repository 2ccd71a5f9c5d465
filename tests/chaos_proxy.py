"""A fault-injecting HTTP proxy for rehearsing what a network between kombo and Kombo does.

It sits between a client and a Kombo-compatible server (in the tests, a `KomboServer`) and,
for each request, draws a fault from a seeded random generator with configurable weights.
It is independent of the sandbox's own rehearsals (kombo_cli/sandbox/faults.py): the
server behind it answers normally and the proxy decides what the client gets.

    with KomboServer() as server, ChaosProxy(server.base_url, seed=7) as proxy:
        # point the client at proxy.base_url (e.g. KOMBO_BASE_URL), run it, then:
        proxy.counts            # {"pass": 131, "drop_after": 12, ...} over all requests
        proxy.upload_counts     # the same, for POSTs to .../attachments only
        proxy.forwarded_uploads # upload POSTs that reached the server (it may have stored)
        print(proxy.summary())

Uploads (POST /v1/ats/{candidates|applications}/{id}/attachments) draw from
`upload_weights`; every other request (listings, downloads, lookups) from `other_weights`,
by default mostly "pass" with some "502_before". A weight map names faults from FAULTS;
names left out have weight 0. The client's Host header is passed on unchanged, so the
data_urls the sandbox lists point at the proxy and downloads go through it too.

The faults (FAULTS):
    pass             forward, and relay the server's reply
    drop_before      read the whole request, close without forwarding: nothing reached the server
    502_before       read the whole request, answer a bare 502 without forwarding
    reset_upload     read part of the body, then close with a TCP RST (SO_LINGER 0); not forwarded
    drop_after       forward (the server may store), then close without replying
    hold             forward, then hold the reply `hold_s` seconds (longer than the client's
                     timeout, so it gives up), then send it to whoever is still there
    502_after, 520_after, 524_after
                     forward, then answer that status with a bare Cloudflare-like body
                     ("error code: 520") instead of the server's reply
    503_html_after   forward, then answer an HTML 503 page instead of the server's reply
    cut_off          forward, then send the server's status line and headers (with its
                     Content-Length) and half the body, and close

Every forwarded request goes on its own connection to the server, and the proxy never
retries one: what reached the server is exactly what `events` says was forwarded. A
chunked request body is passed on with a Content-Length. With
several clients at once the draws follow arrival order, so a seed repeats a run exactly
only when requests arrive one at a time.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import random
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

FAULTS = (
    "pass",
    "drop_before",
    "502_before",
    "reset_upload",
    "drop_after",
    "hold",
    "502_after",
    "520_after",
    "524_after",
    "503_html_after",
    "cut_off",
)
# The faults under which the request reached the server.
FORWARDING = frozenset(
    {"pass", "drop_after", "hold", "502_after", "520_after", "524_after", "503_html_after"}
    | {"cut_off"}
)
DEFAULT_UPLOAD_WEIGHTS: dict[str, float] = {
    "pass": 10,
    "drop_before": 1,
    "502_before": 1,
    "reset_upload": 1,
    "drop_after": 1,
    "hold": 1,
    "502_after": 1,
    "520_after": 1,
    "524_after": 1,
    "503_html_after": 1,
    "cut_off": 1,
}
DEFAULT_OTHER_WEIGHTS: dict[str, float] = {"pass": 9, "502_before": 1}

_UPLOAD_PATH = re.compile(r"^/v1/ats/(?:candidates|applications)/[^/?#]+/attachments$")
# Hop-by-hop headers (RFC 9110 7.6.1) and the framing the proxy sets itself.
_NOT_FORWARDED = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "expect", "content-length"}
)
_HTML_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class ProxyEvent:
    """One request the proxy handled: what it drew and what the server answered, if asked."""

    method: str
    path: str
    upload: bool
    fault: str
    # The server's status when the request was forwarded and answered; None otherwise.
    upstream_status: int | None = None


class ChaosProxy:
    """A threaded proxy on 127.0.0.1; use as a context manager, or start() and stop()."""

    def __init__(
        self,
        upstream: str,
        *,
        seed: int | None = 0,
        upload_weights: Mapping[str, float] | None = None,
        other_weights: Mapping[str, float] | None = None,
        hold_s: float = 5.0,
        upstream_timeout_s: float = 60.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """`upstream` is the server's URL, such as `KomboServer.base_url`; its path (/v1) is
        kept in `base_url` and requests are forwarded with their paths unchanged."""
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self._path_prefix = parts.path.rstrip("/")
        self.upload_weights = _checked(upload_weights or DEFAULT_UPLOAD_WEIGHTS)
        self.other_weights = _checked(other_weights or DEFAULT_OTHER_WEIGHTS)
        self.hold_s = hold_s
        self.upstream_timeout_s = upstream_timeout_s
        self.events: list[ProxyEvent] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._server = _ProxyServer((host, port), self)
        self._thread: threading.Thread | None = None

    # -- what it did ---------------------------------------------------------------------

    @property
    def counts(self) -> dict[str, int]:
        """How many requests got each fault, over all requests."""
        with self._lock:
            return dict(Counter(event.fault for event in self.events))

    @property
    def upload_counts(self) -> dict[str, int]:
        """How many upload POSTs got each fault."""
        with self._lock:
            return dict(Counter(event.fault for event in self.events if event.upload))

    @property
    def forwarded_uploads(self) -> int:
        """Upload POSTs that reached the server (each may have been stored)."""
        with self._lock:
            return sum(1 for e in self.events if e.upload and e.fault in FORWARDING)

    def summary(self) -> str:
        """One line per fault: "fault: uploads (all requests)", for a test's report."""
        uploads, everything = self.upload_counts, self.counts
        return "\n".join(
            f"{fault}: {uploads.get(fault, 0)} uploads ({everything[fault]} requests)"
            for fault in FAULTS
            if fault in everything
        )

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.url}{self._path_prefix}"

    def start(self) -> ChaosProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, cut held replies short, and end every open connection."""
        self.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()
        self._server.close_all()

    def __enter__(self) -> ChaosProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- used by the handler -------------------------------------------------------------

    def draw(self, method: str, path: str) -> tuple[bool, str]:
        upload = method == "POST" and _UPLOAD_PATH.match(path.partition("?")[0]) is not None
        weights = self.upload_weights if upload else self.other_weights
        with self._lock:
            [fault] = self._random.choices(list(weights), list(weights.values()))
        return upload, fault

    def record(self, event: ProxyEvent) -> None:
        with self._lock:
            self.events.append(event)


def _checked(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown faults {unknown}; known: {list(FAULTS)}")
    kept = {fault: float(weight) for fault, weight in weights.items() if weight > 0}
    if not kept:
        raise ValueError("at least one fault needs a weight above 0")
    return kept


class _ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], proxy: ChaosProxy) -> None:
        self.proxy = proxy
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_all(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up, and the faults' own closes, are the point here.
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120
    server: _ProxyServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _target(self) -> str:
        # self.path may be normalised by http.server; forward the target exactly as sent.
        words = self.requestline.split()
        return words[1] if len(words) >= 2 else self.path

    def _handle(self) -> None:
        proxy = self.server.proxy
        target = self._target()
        upload, fault = proxy.draw(self.command, target)
        # Recorded before the client hears anything, so what it saw is already counted.
        recorded = False

        def record(status: int | None = None) -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                proxy.record(ProxyEvent(self.command, target, upload, fault, status))

        try:
            if fault == "reset_upload":
                self._read_part_of_body()
                record()
                self._reset()
                return
            body = self._read_body()
            if fault in ("drop_before", "502_before"):
                record()
                if fault == "drop_before":
                    self._drop()
                else:
                    self._send_bare(502)
                return
            try:
                status, reason, headers, reply_body = self._forward(target, body)
            except OSError:
                # The server itself is unreachable: what a real gateway would say.
                fault = "502_before" if fault == "pass" else fault
                record()
                self._send_bare(502)
                return
            record(status)
            self._deliver(fault, status, reason, headers, reply_body)
        finally:
            record()

    # -- the request ---------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _read_part_of_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1:
            self.rfile.read(length // 2)

    def _forward(self, target: str, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        connection = http.client.HTTPConnection(
            proxy.upstream_host, proxy.upstream_port, timeout=proxy.upstream_timeout_s
        )
        try:
            connection.putrequest(self.command, target, skip_host=True, skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in _NOT_FORWARDED:
                    connection.putheader(key, value)  # Host included, as the client sent it
            if body or self.command in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.putheader("Connection", "close")
            connection.endheaders(body or None)
            response = connection.getresponse()
            reply_body = response.read()
            return response.status, response.reason, response.getheaders(), reply_body
        finally:
            connection.close()

    # -- the reply -----------------------------------------------------------------------

    def _deliver(
        self, fault: str, status: int, reason: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        if fault == "drop_after":
            self._drop()
        elif fault == "hold":
            self.server.proxy.stopping.wait(self.server.proxy.hold_s)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._relay(status, reason, headers, body)
        elif fault == "cut_off":
            self._relay(status, reason, headers, body, cut_off=True)
        elif fault == "503_html_after":
            self._send(503, [("Content-Type", "text/html"), ("Server", "nginx")], _HTML_503)
        elif fault.endswith("_after"):
            self._send_bare(int(fault.partition("_")[0]))
        else:
            self._relay(status, reason, headers, body)

    def _relay(
        self,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        body: bytes,
        cut_off: bool = False,
    ) -> None:
        self.send_response_only(status, reason)
        for key, value in headers:
            if key.lower() not in _NOT_FORWARDED:
                self.send_header(key, value)
        declared = dict((k.lower(), v) for k, v in headers).get("content-length")
        head = self.command == "HEAD"
        self.send_header("Content-Length", declared if head and declared else str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if cut_off:
            self.wfile.write(body[: len(body) // 2])
            self._drop()
        elif not head:
            self.wfile.write(body)

    def _send_bare(self, status: int) -> None:
        # Cloudflare's compact error: plain text, its Server and a Ray ID.
        ray = f"{random.getrandbits(64):016x}-FRA"
        headers = [
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("Server", "cloudflare"),
            ("CF-RAY", ray),
        ]
        self._send(status, headers, f"error code: {status}".encode())

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self) -> None:
        """Close the connection (FIN) without a reply, or without the rest of one."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _reset(self) -> None:
        """Close the connection with a TCP RST: linger 0, closed at once."""
        self.close_connection = True
        connection = self.connection
        with contextlib.suppress(OSError):
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # detach() leaves the socket object (and its readers) without the descriptor, so
            # nothing later shuts it down with a FIN or closes a descriptor reused elsewhere.
            self.server.track(connection, False)
            socket.socket(fileno=connection.detach()).close()
