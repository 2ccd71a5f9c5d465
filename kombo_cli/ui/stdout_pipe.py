"""stdout when it is a pipe or a file: result lines written so that none is lost unsaid.

Each line goes out whole through `ui.pipe`, never stuck behind a reader that stopped
reading. A reader that goes away (`| head -1`) does not stop the work. After Ctrl-C, which
stops a `| tee` or `| cat` as well, a line is only counted as shown once its reader took
it; and the last lines written in the instant before the reader died, which it never
read, can be told afterwards (`lost()`), so that their results are named elsewhere.

One more case cannot be told: a reader that took a line from the pipe in the instant
Ctrl-C reached it, and died before passing it on (`cat` between its read and its write).
Lines written in the moment around Ctrl-C to a reader found gone afterwards are therefore
named too, as perhaps not shown (the second list of `lost()`).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from contextlib import suppress
from typing import Callable, TextIO

from kombo_cli.ui.pipe import reader_gone, reader_took_it, unread_bytes, write_line

# A reader stopped by Ctrl-C may have taken a line written this long before the press (or
# any after) and died with it unshown: long enough for a process descheduled between its
# read and its write on a busy machine.
_DYING_READER_S = 0.5


class PipedStdout:
    def __init__(
        self,
        stream: TextIO,
        fd: int,
        give_up: Callable[[], bool],
        interrupted: Callable[[], bool],
    ) -> None:
        self._stream = stream
        self._fd = fd
        # Asked while the reader is not reading: True gives the line up (after Ctrl-C).
        self._give_up = give_up
        # Whether Ctrl-C was pressed: lines from then on are checked as described above.
        self._interrupted = interrupted
        self._lock = threading.Lock()
        # The pipe itself, kept for asking about its reader once stdout is pointed at
        # /dev/null (after the reader went away): None until then.
        self._kept_pipe: int | None = None
        self._reader_gone = False
        self._check_reader = True
        # The last lines written: size, what each reported, and when.
        self._written: deque[tuple[int, object, float]] = deque(maxlen=256)
        self._ctrl_c_at: float | None = None

    def ctrl_c_pressed(self) -> None:
        """Note when Ctrl-C was pressed (called from a signal handler: one assignment)."""
        self._ctrl_c_at = time.monotonic()

    def write(self, text: str, about: object = None) -> bool:
        """Write one line; False if it was given up unwritten or is known to be lost (its
        result must then be named elsewhere). `about` is what the line reports."""
        stream = self._stream
        with self._lock:
            if self._reader_gone:
                return not self._interrupted()
            try:
                stream.flush()  # nothing should wait there, but order is kept if it does
                if not write_line(stream, self._fd, text, self._give_up):
                    return False
                encoding = getattr(stream, "encoding", None) or "utf-8"
                size = len((text + "\n").encode(encoding, "replace"))
                now = time.monotonic()
                if not (self._interrupted() and self._check_reader):
                    self._written.append((size, about, now))
                    return True
                took = reader_took_it(self._fd, 0.5)
                if took is False:
                    # Ctrl-C stopped the reader too, before it read this line: it is lost
                    # unless named elsewhere (its bytes stay in the pipe, unclaimed).
                    self._written.append((size, None, now))
                    self._reader_gone = True
                    return False
                self._written.append((size, about, now))
                # A reader alive but slow (`| less`) is not waited for again: the run's
                # grace after Ctrl-C is short.
                self._check_reader = took is True
                return True
            except BrokenPipeError:
                # The reader went away, and the work goes on. What it left unread is still
                # to be told afterwards: the pipe is kept for that.
                with suppress(OSError):
                    self._kept_pipe = os.dup(self._fd)
                discard_further_output(stream)
                self._reader_gone = True
                return not self._interrupted()

    def lost(self) -> tuple[list[object], list[object]]:
        """When the reader has gone: what the last lines it left unread reported; and,
        after Ctrl-C, what the lines it took in the moment around the press reported (it
        may have died before passing them on). Both are told from one look at the pipe."""
        with self._lock:
            pipe = self._fd if self._kept_pipe is None else self._kept_pipe
            gone = self._kept_pipe is not None or reader_gone(pipe)
            unread = (unread_bytes(pipe) or 0) if gone else 0
            pressed = self._ctrl_c_at
            if pressed is None or not gone:
                # Still reading (or never stopped by Ctrl-C): what it took, it passes on.
                pressed = float("inf")
            lost: list[object] = []
            perhaps: list[object] = []
            for size, about, written_at in reversed(self._written):
                if unread > 0:
                    unread -= size
                    if about is not None:
                        lost.append(about)
                elif written_at < pressed - _DYING_READER_S:
                    break
                elif about is not None:
                    perhaps.append(about)
            return lost, perhaps


def discard_further_output(stream: TextIO) -> None:
    """Point a closed pipe's file descriptor at /dev/null so later writes (and Python's own
    flush at exit) neither fail nor print "Exception ignored" noise."""
    with suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
