"""The sandbox's HTTP/1.1 transport: a threaded server that reads requests and sends replies.

Standard library only: one thread per connection, keep-alive. It knows nothing of Kombo.
Once a request's body is read (see request_body), the request goes to the `answer`
callable the transport was made with, together with a `send` callable; `answer` calls
`send` once, with the `Reply` or with None to close the connection without answering.
Handing over `send` rather than taking a return value lets the caller hold something, such
as a concurrency slot, until the reply has gone out.

A reply can be sent late (`delay_s`), not at all (`drop_connection`), half way (`cut_off`)
or with "Connection: close": the behaviours of real networks that a client must survive.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

from kombo_cli.sandbox.contract import error_envelope, json_bytes
from kombo_cli.sandbox.exchange import Reply, Request
from kombo_cli.sandbox.request_body import SpooledBody, read_body

# Optional, not "X | None": these aliases are evaluated at run time, on Python 3.9 too.
SendReply = Callable[[Optional[Reply]], None]
Answer = Callable[[Request, SendReply], None]

# RFC 9110's token: the characters a request method may be made of.
_METHOD_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# How often the serving loop checks whether stop() asked it to end.
_POLL_INTERVAL_S = 0.05
# How long stop() waits for connection threads and the serving loop to end.
_STOP_GRACE_S = 2.0


class HTTPTransport(http.server.ThreadingHTTPServer):
    """Listens on `address` as soon as it is made; serve_in_background() starts answering."""

    daemon_threads = True
    # A restarted sandbox must be able to take its port back at once.
    allow_reuse_address = True
    # socketserver's default backlog of 5 refuses connections when a client opens a few
    # dozen at once (Kombo allows 30 actions in flight); leave room for bursts.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        answer: Answer,
        spool_dir: Path,
        log: Callable[[str], None],
    ) -> None:
        self.answer = answer
        self.spool_dir = spool_dir
        self.log = log
        # Set by stop(): wakes replies waiting out a delay, which then close unanswered.
        self.stopping = threading.Event()
        self._connections_lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._serving_thread: threading.Thread | None = None
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def serve_in_background(self) -> None:
        self._serving_thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_S},
            name="kombo-sandbox",
            daemon=True,
        )
        self._serving_thread.start()

    def stop(self) -> None:
        """Stop listening and end every connection, even one in the middle of a reply."""
        self.stopping.set()
        self.shutdown()
        self.server_close()
        with self._connections_lock:
            connections = list(self._connections.items())
        for connection, _ in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _STOP_GRACE_S
        for _, thread in connections:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._serving_thread is not None:
            self._serving_thread.join(_STOP_GRACE_S)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or disconnect (and stop() tearing sockets down) are
        # expected, not server failures.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def track_connection(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections[connection] = threading.current_thread()

    def untrack_connection(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(connection, None)


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
    server: HTTPTransport

    def version_string(self) -> str:
        return "kombo-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Also called for requests too malformed to have a method or a target.
        method_and_target = " ".join(getattr(self, "requestline", "").split()[:2])
        self.server.log(f"{method_and_target} -> {code}")

    def setup(self) -> None:
        super().setup()
        self.server.track_connection(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack_connection(self.connection)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Used by http.server for malformed request lines, oversized headers and unknown
        # methods; answer with Kombo's envelope too so clients only ever see one shape.
        body = json_bytes(
            error_envelope(message or explain or f"HTTP {code}", None, None, log_url_value=None)
        )
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

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server looks up do_<METHOD> and answers 501 when there is none. Every method
        # goes to the routes instead, which know the paths: 405 with Allow on a known one
        # (TRACE, QUERY, ...), 404 elsewhere, as Kombo's paths would answer. Only a method
        # that is not an RFC 9110 token is malformed, a 400.
        if name.startswith("do_") and _METHOD_TOKEN.fullmatch(name[3:]):
            return self._exchange
        raise AttributeError(name)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if not _METHOD_TOKEN.fullmatch(self.command):
            self.send_error(400, "Bad request method")
            return False
        return True

    def _raw_target(self) -> str:
        # self.path may be normalised by http.server (e.g. leading "//"); the route must be
        # decided on the request target exactly as the client sent it.
        words = self.requestline.split()
        return words[1] if len(words) >= 2 else getattr(self, "path", "")

    def _exchange(self) -> None:
        body = SpooledBody(self.server.spool_dir)
        self._replied = False
        try:
            complete, framing = read_body(self.rfile, self.headers, body)
            request = Request(
                self.command, self._raw_target(), self.headers, body, framing, complete
            )
            self.server.answer(request, self._send)
            if not self._replied:
                # Nothing was sent, so the client would wait for an answer that never comes.
                self.close_connection = True
        finally:
            body.close()

    def _send(self, reply: Reply | None) -> None:
        self._replied = True
        if reply is None:
            self.close_connection = True
            return
        stopping = self.server.stopping
        if reply.delay_s > 0 and stopping.wait(reply.delay_s):
            self.close_connection = True
            return
        if stopping.is_set():
            self.close_connection = True
            return
        if reply.drop_connection:
            self._close_now()
            return
        self.send_response(reply.status)
        for key, value in reply.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.close:
            self.send_header("Connection", "close")
        self.end_headers()
        if reply.cut_off:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self._close_now()
            return
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        self.wfile.flush()

    def _close_now(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
