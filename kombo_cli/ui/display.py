"""The one thread that writes to the terminal while progress is shown.

Lines from anywhere (results from the main thread, retry notices from workers) are queued
here and written by this thread alone, so a line can never cut into a redraw. How progress
looks depends on what the terminal can take:

- LIVE: a block of bars at the bottom, redrawn in place. Lines go above it: the block is
  erased, the lines written, the block drawn again, all by this thread. The cursor rests at
  the start of the line below the block, so whatever the terminal echoes there (the "^C" of
  Ctrl-C, a key pressed by accident) is erased with the block.
- PLAIN: no cursor movement at all, for terminals where a redraw would go wrong or is not
  wanted: another program writing to the same screen (stdout piped through `tee` or `cat`,
  whose lines would land in the middle of the block), TERM=dumb, or NO_COLOR. Progress is
  then an occasional whole line, and only while something takes a while.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from contextlib import suppress
from typing import Callable, TextIO

# Erase the cursor's line; hide and show the cursor. Lines are erased one by one, never
# "to the end of the screen": from the top row that is a clear screen, which terminals
# such as tmux answer by pushing the whole screen into the scroll-back.
ERASE_LINE = "\x1b[2K"
HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"

LIVE = "live"
PLAIN = "plain"

# How often the block is redrawn: smooth enough, and cheap.
REFRESH_S = 0.1
# How often a PLAIN status line may appear: often enough to show a long run is alive,
# rarely enough not to bury the results.
STATUS_EVERY_S = 15.0


def erase_block(height: int) -> str:
    """From the line below a block of `height` lines: erase that line (whatever the
    terminal echoed there) and each of the block's, ending at the block's first line."""
    return "\r" + ERASE_LINE + ("\x1b[1A" + ERASE_LINE) * height


Frame = Callable[[], "list[str]"]
Status = Callable[[], "str | None"]


class TerminalDisplay:
    """Owns the terminal between `start()` and `stop()`.

    `frame()` returns the block's lines (LIVE), each no wider than the terminal, already
    styled; `status()` returns a PLAIN progress line, or None when there is nothing to say.
    Both are called on this display's thread only."""

    def __init__(
        self,
        stderr: TextIO,
        mode: str,
        frame: Frame,
        status: Status,
        *,
        refresh_s: float = REFRESH_S,
        status_every_s: float = STATUS_EVERY_S,
    ) -> None:
        self.mode = mode
        self._stderr = stderr
        self._frame = frame
        self._status = status
        self._refresh_s = refresh_s
        self._status_every_s = status_every_s
        self._queue: deque[tuple[TextIO, str]] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._done = threading.Event()
        # Lines of the block now on screen; the cursor is on the line below them.
        self._height = 0
        self._cursor_hidden = False
        self._thread = threading.Thread(target=self._run, name="kombo-display", daemon=True)
        # Undoes what start() changed in the terminal's settings.
        self._keep_output: Callable[[], None] = lambda: None

    # -- any thread ----------------------------------------------------------------------

    def start(self) -> None:
        self._keep_output = _keep_output_on_ctrl_c(self._stderr)
        self._thread.start()

    def print(self, stream: TextIO, text: str) -> None:
        """Queue `text` (one or more lines, styled) for `stream`, above the block."""
        with self._wake:
            if self._done.is_set():
                _write(stream, text + "\n")
                return
            self._queue.append((stream, text))
            self._wake.notify()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Write what is queued, erase the block and show the cursor; then return.

        Waits at most `timeout_s` for a terminal that does not take output (paused with
        Ctrl-S, say): the display thread is a daemon and never keeps the process alive."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._keep_output()

    def emergency_erase(self) -> bytes:
        """What to write on the way out of a second Ctrl-C, which waits for nothing: erase
        the block and show the cursor again, so the shell's prompt comes back clean."""
        self._keep_output()
        if self.mode != LIVE or self._done.is_set():
            return b""
        return (erase_block(self._height) + SHOW_CURSOR).encode()

    # -- the display thread --------------------------------------------------------------

    def _run(self) -> None:
        next_status = time.monotonic() + self._status_every_s
        try:
            while True:
                with self._wake:
                    if not self._queue and not self._stopping:
                        self._wake.wait(self._refresh_s)
                    lines = list(self._queue)
                    self._queue.clear()
                    stopping = self._stopping
                if self.mode == LIVE:
                    self._repaint(lines, final=stopping)
                else:
                    for stream, text in lines:
                        _write(stream, text + "\n")
                    if not stopping and time.monotonic() >= next_status:
                        next_status = time.monotonic() + self._status_every_s
                        status = self._status()
                        if status:
                            _write(self._stderr, status + "\n")
                if stopping:
                    return
        finally:
            with self._wake:
                self._done.set()
                leftover = list(self._queue)
                self._queue.clear()
            for stream, text in leftover:
                _write(stream, text + "\n")

    def _repaint(self, lines: list[tuple[TextIO, str]], *, final: bool) -> None:
        """Erase the block, write the queued lines, draw the block again (unless final).

        Consecutive pieces for one stream go out in one write, so the terminal shows no
        half-drawn state in between."""
        pending = erase_block(self._height) if self._height else ""
        self._height = 0
        for stream, text in lines:
            if stream is not self._stderr:
                _write(self._stderr, pending)
                pending = ""
                _write(stream, text + "\n")
            else:
                pending += text + "\r\n"
        if final:
            if self._cursor_hidden:
                pending += SHOW_CURSOR
                self._cursor_hidden = False
            _write(self._stderr, pending)
            return
        block = self._frame()
        if not self._cursor_hidden:
            pending = HIDE_CURSOR + pending
            self._cursor_hidden = True
        if block:
            pending += "\r\n".join(block) + "\r\n"
        self._height = len(block)
        _write(self._stderr, pending)


def _keep_output_on_ctrl_c(stream: TextIO) -> Callable[[], None]:
    """Ask the terminal not to throw away output not yet shown when Ctrl-C is pressed
    (NOFLSH), and return what undoes that.

    By default the terminal driver discards output still on its way to the screen when it
    sends SIGINT. A line dropped that way is a result the person never sees although it
    was written; and bars dropped that way leave the display erasing lines that are not
    its own. Only the flag is touched, only by a process in the foreground (a background
    job changing terminal settings would be stopped by SIGTTOU), and only where there are
    terminal settings at all."""
    try:
        import termios

        fd = stream.fileno()
        if os.tcgetpgrp(fd) != os.getpgrp():
            return lambda: None
        attributes = termios.tcgetattr(fd)
        if attributes[3] & termios.NOFLSH:
            return lambda: None
        attributes[3] |= termios.NOFLSH
        termios.tcsetattr(fd, termios.TCSANOW, attributes)
    except (ImportError, AttributeError, OSError, ValueError):
        return lambda: None
    undone = threading.Event()

    def undo() -> None:
        if undone.is_set():
            return
        undone.set()
        with suppress(OSError, ValueError):
            current = termios.tcgetattr(fd)
            current[3] &= ~termios.NOFLSH
            termios.tcsetattr(fd, termios.TCSANOW, current)

    return undo


def _write(stream: TextIO, text: str) -> None:
    if not text:
        return
    # A terminal that went away (the window closed) must not stop the run.
    with suppress(OSError, ValueError):
        try:
            stream.write(text)
        except UnicodeEncodeError:
            # A terminal in a legacy encoding: "…" and accents become "?", not a crash.
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write(text.encode(encoding, "replace").decode(encoding))
        stream.flush()
