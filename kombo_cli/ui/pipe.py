"""Lines to a pipe or file whose reader may stall, written so that the writer never hangs.

A result line goes straight to the stream's file descriptor, in pieces no larger than the
pipe writes atomically, each only once the descriptor can take it. While the reader does
not read, the writer looks again every tenth of a second and asks whether to give up, so
Ctrl-C is never stuck behind a full pipe; and a line is either written whole or, when given
up before its first byte, not at all (its result can then be named elsewhere).
"""

from __future__ import annotations

import os
import select
import time
from typing import Callable, TextIO

# Writes of up to this many bytes to a pipe are atomic (POSIX guarantees at least 512).
_PIECE = getattr(select, "PIPE_BUF", 512)
_STEP_S = 0.1


def raw_fd(stream: TextIO) -> int | None:
    """The stream's file descriptor, where it can be watched this way; else None."""
    if os.name == "nt":  # select() takes sockets only there
        return None
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # a StringIO: nothing can stall
        return None


def write_line(stream: TextIO, fd: int, text: str, give_up: Callable[[], bool]) -> bool:
    """Write `text` and a newline in the stream's encoding; False if given up unwritten.

    `give_up` is asked only before the first byte: a line once begun is finished."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    line = text + "\n"
    try:
        data = line.encode(encoding, getattr(stream, "errors", None) or "strict")
    except UnicodeEncodeError:
        # A terminal in a legacy encoding: "…" and accents become "?", not a crash.
        data = line.encode(encoding, "replace")
    sent = 0
    while sent < len(data):
        if not _writable(fd, give_up if sent == 0 else None):
            return False
        try:
            sent += os.write(fd, data[sent : sent + _PIECE])
        except BlockingIOError:  # a descriptor someone else made non-blocking
            continue
    return True


def _writable(fd: int, give_up: Callable[[], bool] | None) -> bool:
    while True:
        last_look = give_up is not None and give_up()
        _, ready, _ = select.select([], [fd], [], 0 if last_look else _STEP_S)
        if ready:
            return True
        if last_look:
            return False


def reader_took_it(fd: int, wait_s: float) -> bool | None:
    """Whether the reader took everything written to the pipe `fd` so far; asked after
    Ctrl-C, which stops a `| tee` or `| cat` too. False when the reader is gone and left
    bytes unread (a line written in the instant it died, which nobody will see); True when
    it took them, or this cannot be told; None when it is alive but still has not read
    them after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        unread = unread_bytes(fd)
        if not unread:
            return True
        if reader_gone(fd):
            return False
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


def unread_bytes(fd: int) -> int | None:
    """Bytes written to the pipe and not yet read (None where this cannot be asked)."""
    try:
        import fcntl
        import struct
        import termios

        answer = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", answer)[0])
    except (ImportError, OSError, ValueError):
        return None


def reader_gone(fd: int) -> bool:
    """A pipe whose every reader has closed reports an error condition to its writer."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False
