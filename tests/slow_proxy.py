"""A slow link on 127.0.0.1: a TCP proxy that takes what the client sends at a fixed rate.

`SlowProxy(server_url, rate_bytes_s=80_000)` listens on a port of its own and forwards each
connection to the server behind it, reading from the client no faster than the rate (the
answers come back at full speed). Its receive buffer is kept small, so a client feels the
rate within a few kilobytes instead of filling megabytes of loopback buffers first.

`stall_after_bytes=N` makes it stop reading a connection for good once N bytes of it have
passed: the client's sends then block, as behind a link that went dead. Connections that
send fewer bytes (a listing, say) are not affected.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

# The smallest receive buffer Linux grants is about 4.5 KiB; 16 KiB keeps the kernel from
# absorbing much more than a few pieces of a body while still letting the rate through.
_RECEIVE_BUFFER = 16 * 1024


class SlowProxy:
    def __init__(
        self,
        server_url: str,
        *,
        rate_bytes_s: float | None = None,
        stall_after_bytes: int | None = None,
    ) -> None:
        parts = urlsplit(server_url)
        assert parts.hostname is not None and parts.port is not None
        self._server_url = parts
        self._upstream = (parts.hostname, parts.port)
        self.rate_bytes_s = rate_bytes_s
        self.stall_after_bytes = stall_after_bytes
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before listen(): accepted sockets inherit it, and the window is agreed then.
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        # Bytes taken from clients, all connections together.
        self.bytes_from_clients = 0
        # Set when a connection has reached `stall_after_bytes` and is no longer read.
        self.stalled = threading.Event()

    @property
    def url(self) -> str:
        """The server's URL (path included) with the proxy's port in it."""
        return urlunsplit(self._server_url._replace(netloc=f"127.0.0.1:{self.port}"))

    def __enter__(self) -> SlowProxy:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            # Wakes the accept() in progress, which close() alone would leave waiting.
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._client_to_server, client, upstream)
            self._spawn(self._server_to_client, upstream, client)

    def _client_to_server(self, client: socket.socket, upstream: socket.socket) -> None:
        passed = 0
        # Read in small steps so the rate holds over fractions of a second too.
        step = max(1024, int(self.rate_bytes_s / 20)) if self.rate_bytes_s else 65536
        due = time.monotonic()
        try:
            while not self._stopping.is_set():
                if self.stall_after_bytes is not None and passed >= self.stall_after_bytes:
                    self.stalled.set()
                    # Never read again: the client's sends block until it gives up.
                    self._stopping.wait()
                    return
                wanted = step
                if self.stall_after_bytes is not None:
                    wanted = min(wanted, self.stall_after_bytes - passed)
                data = client.recv(wanted)
                if not data:
                    upstream.shutdown(socket.SHUT_WR)
                    return
                upstream.sendall(data)
                passed += len(data)
                with self._lock:
                    self.bytes_from_clients += len(data)
                if self.rate_bytes_s:
                    # No credit for idle time: a pause does not buy a burst later.
                    now = time.monotonic()
                    due = max(due, now) + len(data) / self.rate_bytes_s
                    time.sleep(max(0.0, due - now))
        except OSError:
            return

    def _server_to_client(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    client.shutdown(socket.SHUT_WR)
                    return
                client.sendall(data)
        except OSError:
            return
