"""The last check before an upload goes on the wire: after Ctrl-C, no new upload starts.

A run's uploads are sent from its worker threads. Each worker says which piece of work it
is doing (`working_on`); the gate, mounted in front of the HTTP connection pool, lets a
POST of that work through only while the run has not been interrupted, and notes that the
work has sent something (`Work.sent`), so that what Ctrl-C says about it is the truth:

- work that never got a POST through cannot have stored anything, and after Ctrl-C it
  never will (the attempt is refused before a byte goes out, whether it was waiting for
  a slot, to retry, or had not started yet);
- work that did may have been stored, until its result says otherwise.

Requests of threads that are not a run's workers, and GETs, pass untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

from requests import PreparedRequest, Response, Session

from kombo_cli.api.adapter_layer import AdapterLayer, Timeout
from kombo_cli.errors import Interrupted

_local = threading.local()


class Gate:
    """Open until `close()`; closing only sets a flag, so a signal handler may do it."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Work:
    """One piece of a run's work, as the gate sees it."""

    __slots__ = ("gate", "refused", "sent")

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        # A POST of this work went through the gate (it may have been stored).
        self.sent = False
        # A POST of this work was refused because the run was interrupted.
        self.refused = False


@contextmanager
def working_on(work: Work) -> Iterator[None]:
    """The current thread sends on behalf of `work` for the length of the block."""
    _local.work = work
    try:
        yield
    finally:
        _local.work = None


def install(session: Session) -> None:
    """Put the gate in front of every connection pool of `session` (once)."""
    for prefix, adapter in list(session.adapters.items()):
        if not isinstance(adapter, _GatedAdapter):
            session.mount(prefix, _GatedAdapter(adapter))


class _GatedAdapter(AdapterLayer):
    def around(
        self, request: PreparedRequest, timeout: Timeout, forward: Callable[[], Response]
    ) -> Response:
        work: Work | None = getattr(_local, "work", None)
        if work is not None and request.method == "POST":
            # Noted before the gate is read: whatever gets through after Ctrl-C is counted.
            had_sent = work.sent
            work.sent = True
            if work.gate.closed:
                work.sent = had_sent
                work.refused = True
                raise Interrupted("Interrupted before the upload was sent; it was not stored.")
        return forward()
