"""stdout when it is a pipe or a file: result lines written so that none is lost unsaid.

Each line goes out whole through `ui.pipe`, never stuck behind a reader that stopped
reading. A reader that goes away (`| head -1`) does not stop the work. After Ctrl-C, which
stops a `| tee` or `| cat` as well, a line is only counted as shown once its reader took
it; and the last lines written in the instant before the reader died, which it never
read, can be told afterwards (`lost()`), so that their results are named elsewhere.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from contextlib import suppress
from typing import Callable, TextIO

from kombo_cli.ui.pipe import reader_took_it, unread_by_a_gone_reader, write_line


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
        self._reader_gone = False
        self._check_reader = True
        # The sizes of the last lines written, and what each reported.
        self._written: deque[tuple[int, object]] = deque(maxlen=256)

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
                if not (self._interrupted() and self._check_reader):
                    self._written.append((size, about))
                    return True
                took = reader_took_it(self._fd, 0.5)
                if took is False:
                    # Ctrl-C stopped the reader too, before it read this line: it is lost
                    # unless named elsewhere (its bytes stay in the pipe, unclaimed).
                    self._written.append((size, None))
                    self._reader_gone = True
                    return False
                self._written.append((size, about))
                # A reader alive but slow (`| less`) is not waited for again: the run's
                # grace after Ctrl-C is short.
                self._check_reader = took is True
                return True
            except BrokenPipeError:
                # The reader went away, and the work goes on.
                discard_further_output(stream)
                self._reader_gone = True
                return not self._interrupted()

    def lost(self) -> list[object]:
        """What the last lines reported, when the reader has gone and left them unread."""
        with self._lock:
            unread = unread_by_a_gone_reader(self._fd)
            lost: list[object] = []
            for size, about in reversed(self._written):
                if unread <= 0:
                    break
                unread -= size
                if about is not None:
                    lost.append(about)
            return lost


def discard_further_output(stream: TextIO) -> None:
    """Point a closed pipe's file descriptor at /dev/null so later writes (and Python's own
    flush at exit) neither fail nor print "Exception ignored" noise."""
    with suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
