"""Ctrl-C while a run is under way: the first press asks it to stop, the second exits now.

The first press does not raise KeyboardInterrupt into whatever the main thread happens to
be doing (a result half-counted, a line half-written): it calls `on_first`, which only sets
flags, and the run ends itself in order and says what it left behind. A second press
leaves at once with exit code 130, waiting for nothing (not for uploads in flight, not for
a reader that has stopped reading), after at most one short line on stderr.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Callable, TextIO

from kombo_cli.errors import ExitCode

SECOND_PRESS_LINES = (
    b"Error: Interrupted again; stopped at once, without waiting for uploads being sent.\n"
    b"  Hint: see what was stored with kombo attachments list ID before running the command"
    b" again (with --journal, rerun with the same journal)\n"
)


class CtrlC:
    def __init__(
        self,
        on_first: Callable[[], None],
        stderr: TextIO,
        grace_s: float,
        erase_display: Callable[[], bytes] = lambda: b"",
    ) -> None:
        self._on_first = on_first
        self._erase_display = erase_display
        self._grace_s = grace_s
        self.pressed_at: float | None = None
        try:
            self._stderr_fd: int | None = stderr.fileno()
        except (AttributeError, OSError, ValueError):
            self._stderr_fd = None

    @property
    def pressed(self) -> bool:
        return self.pressed_at is not None

    def past_grace(self) -> bool:
        """Pressed, and longer ago than the grace the run gives itself to finish."""
        return self.pressed_at is not None and time.monotonic() >= self.pressed_at + self._grace_s

    @property
    def deadline(self) -> float | None:
        """Until when the run may finish what it was doing, once pressed."""
        return None if self.pressed_at is None else self.pressed_at + self._grace_s

    def press(self) -> None:
        """The first press (a KeyboardInterrupt where no handler could be installed)."""
        if self.pressed_at is None:
            self.pressed_at = time.monotonic()
            self._on_first()

    def handle(self, _signal: int, _frame: FrameType | None) -> None:
        if self.pressed_at is None:
            self.press()
            return
        fd = self._stderr_fd
        if fd is not None:
            # Only if stderr can take it now: its reader may have stopped reading too.
            with suppress(OSError, ValueError):
                if select.select([], [fd], [], 0)[1]:
                    # Progress bars on screen are erased first, and the cursor shown; on a
                    # terminal the line starts over the "^C" it echoed.
                    start = b"\r" if os.isatty(fd) else b""
                    os.write(fd, start + self._erase_display() + SECOND_PRESS_LINES)
        os._exit(ExitCode.INTERRUPTED)


@contextmanager
def ctrl_c_stops(
    on_first: Callable[[], None],
    stderr: TextIO,
    grace_s: float,
    erase_display: Callable[[], bytes] = lambda: b"",
) -> Iterator[CtrlC]:
    """Handle Ctrl-C as above for the length of the block. Only on the main thread, and
    only where Ctrl-C has its usual meaning (not where it is ignored, as in a background
    job): elsewhere nothing is installed and Ctrl-C raises KeyboardInterrupt as ever. Once
    pressed, the handler stays: the second press must work while the report is written."""
    ctrl_c = CtrlC(on_first, stderr, grace_s, erase_display)
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield ctrl_c
        return
    previous = signal.signal(signal.SIGINT, ctrl_c.handle)
    try:
        yield ctrl_c
    finally:
        if not ctrl_c.pressed:
            signal.signal(signal.SIGINT, previous)
