"""Connections on which --timeout bounds a stall in either direction.

urllib3 gives a request two timeouts: the connect timeout, which it also leaves on the
socket while the request is being sent, and the read timeout, which it sets only once the
request is out and the answer is awaited. An upload is mostly sending, so on a slow link
the short connect timeout, not --timeout, decided when it failed.

The connections here keep the connect timeout for connecting (and a TLS handshake or a
proxy's CONNECT), then set the socket's timeout to the stall timeout (the client's read
timeout) before each piece of the request is sent. A send that makes no progress for that
long raises SendStalled, which `network_errors` reports as a timeout. Before the answer is
awaited, they also wait for the request to leave this machine (on Linux, which says how
much of it the peer has not acknowledged): the kernel can hold megabytes of it, draining
at the link's pace, and the read timeout must not count that time as the server's.

The socket timeout bounds one whole send (`sendall`), which is why the body goes out in
small pieces (`kombo_cli.upload.body`). Works with urllib3 1.26 and 2.x. A SOCKS proxy
keeps urllib3's own connections.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from functools import cache
from typing import Any

from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, ProxyManager

from kombo_cli.api.defaults import DEFAULT_TIMEOUT_S


class SendStalled(socket.timeout):
    """Sending the request made no progress for `timeout_s` seconds."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"sending made no progress for {timeout_s:g} s")
        self.timeout_s = timeout_s


class StallBoundedHTTPConnection(HTTPConnection):
    """An HTTP connection whose sends time out after `stall_timeout_s` without progress."""

    # Set by the subclass `_pool_classes` makes for each timeout.
    stall_timeout_s: float = DEFAULT_TIMEOUT_S
    _connecting = False

    def connect(self) -> None:
        # A proxy tunnel is set up with send() inside connect(): that is still connecting.
        self._connecting = True
        try:
            super().connect()
        finally:
            self._connecting = False

    def send(self, data: Any) -> None:
        if self._connecting:
            super().send(data)
            return
        if self.sock is None:
            # http.client would connect inside send(); connect first, with the connect
            # timeout, so that only sending gets the stall timeout.
            self.connect()
        assert self.sock is not None
        self.sock.settimeout(self.stall_timeout_s)
        try:
            super().send(data)
        except socket.timeout as exc:
            raise SendStalled(self.stall_timeout_s) from exc

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        # Before waiting for the answer, wait for the request to leave: the kernel may still
        # hold megabytes of it, which drain at the link's pace, and the read timeout would
        # count that draining as the server's silence.
        if self.sock is not None:
            _wait_until_sent(self.sock, self.stall_timeout_s)
        return super().getresponse(*args, **kwargs)


class StallBoundedHTTPSConnection(StallBoundedHTTPConnection, HTTPSConnection):
    """The same over TLS: HTTPSConnection's connect(), StallBoundedHTTPConnection's send()."""


def _wait_until_sent(sock: Any, stall_timeout_s: float) -> None:
    """Return once the peer has acknowledged every byte written to `sock`, or as soon as it
    starts answering (an early error reply); raise SendStalled if none is acknowledged for
    `stall_timeout_s`. Where the system cannot say what is queued, return at once."""
    queued = _queued_bytes(sock)
    if not queued:
        return
    last_progress = time.monotonic()
    while queued:
        try:
            readable, _, _ = select.select([sock], [], [], 0.05)
        except (OSError, ValueError):
            return
        if readable:
            return
        now_queued = _queued_bytes(sock)
        if now_queued is None:
            return
        if now_queued < queued:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > stall_timeout_s:
            raise SendStalled(stall_timeout_s)
        queued = now_queued


def _queued_bytes(sock: Any) -> int | None:
    """Bytes written to a TCP socket and not yet acknowledged (Linux: SIOCOUTQ, which is
    TIOCOUTQ); None where that cannot be asked."""
    try:
        import fcntl
        import termios

        answer = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except (ImportError, AttributeError, OSError, ValueError):
        return None
    return int(struct.unpack("i", answer)[0])


@cache
def _pool_classes(stall_timeout_s: float) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes, per scheme, whose connections send with `stall_timeout_s`."""

    class Connection(StallBoundedHTTPConnection):
        pass

    class SecureConnection(StallBoundedHTTPSConnection):
        pass

    Connection.stall_timeout_s = stall_timeout_s
    SecureConnection.stall_timeout_s = stall_timeout_s

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = SecureConnection

    return {"http": Pool, "https": SecurePool}


class StallBoundedAdapter(HTTPAdapter):
    """requests' HTTPAdapter, with connections (direct or through an HTTP proxy) on which
    sending times out after `stall_timeout_s` seconds without progress."""

    # What pickling keeps (requests' own list, plus the timeout).
    __attrs__ = [*HTTPAdapter.__attrs__, "stall_timeout_s"]  # noqa: RUF012

    def __init__(self, stall_timeout_s: float, **kwargs: Any) -> None:
        # Set first: HTTPAdapter.__init__ calls init_poolmanager.
        self.stall_timeout_s = stall_timeout_s
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        _install(self.poolmanager, self.stall_timeout_s)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> ProxyManager:
        manager: ProxyManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            _install(manager, self.stall_timeout_s)
        return manager


def _install(manager: PoolManager, stall_timeout_s: float) -> None:
    # A copy per manager: the dict urllib3 starts with is shared by every PoolManager.
    manager.pool_classes_by_scheme = dict(_pool_classes(stall_timeout_s))
