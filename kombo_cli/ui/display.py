"""The one thread that writes to the terminal while progress is shown.

Lines from anywhere (results from the main thread, retry notices from workers) are queued
here and written by this thread alone, so a line can never cut into a redraw. How progress
looks depends on what the terminal can take:

- LIVE: a block of bars at the bottom, redrawn in place. Lines go above it: the block is
  erased, the lines written, the block drawn again, all by this thread. The cursor rests at
  the start of the line below the block, so whatever the terminal echoes there (the "^C" of
  Ctrl-C, a key pressed by accident) is erased with the block. Only while the process is
  the terminal's foreground job: sent to the background, it leaves the screen alone.
- PLAIN: no cursor movement at all, for terminals where a redraw would go wrong or is not
  wanted: another program writing to the same screen (stdout piped through `tee` or `cat`,
  whose lines would land in the middle of the block), TERM=dumb, or NO_COLOR. Progress is
  then an occasional whole line, and only while something takes a while.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import suppress
from typing import Callable, TextIO

from kombo_cli.ui.terminal_modes import in_foreground, settle_for_ctrl_c

# Erase the cursor's line. Lines are erased one by one, never "to the end of the screen":
# from the top row that is a clear screen, which terminals such as tmux answer by pushing
# the whole screen into the scroll-back. The cursor is never hidden: a process killed
# with the cursor hidden would leave the shell without one.
ERASE_LINE = "\x1b[2K"

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
        # Set (by SIGCONT) when the block's place on screen is no longer known.
        self._block_lost = False
        # Held while a frame is written; on the way out, taken for good (`_abandoned`).
        self._painting = threading.Lock()
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="kombo-display", daemon=True)
        # Undoes what start() changed in the terminal's settings.
        self._put_terminal_back: Callable[[], None] = lambda: None

    # -- any thread ----------------------------------------------------------------------

    def start(self) -> None:
        self._put_terminal_back = settle_for_ctrl_c(self._stderr)
        try:
            self._thread.start()
        except BaseException:
            self._put_terminal_back()
            raise

    def print(self, stream: TextIO, text: str) -> None:
        """Queue `text` (one or more lines, styled) for `stream`, above the block."""
        with self._wake:
            if self._done.is_set():
                _write(stream, text + "\n")
                return
            self._queue.append((stream, text))
            self._wake.notify()

    def stop(self) -> None:
        """Write what is queued and erase the block; then return.

        Waits as long as the terminal does not take output (paused with Ctrl-S, say), as
        any program writing to it would: handing the terminal back earlier would leave two
        threads writing to it. A second Ctrl-C still leaves at once."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        self._put_terminal_back()

    def block_lost(self) -> None:
        """The block's place on screen is no longer known (the job was stopped with Ctrl-Z
        and the shell wrote below it): the next frame starts afresh instead of erasing.
        Only sets a flag (a signal handler)."""
        self._block_lost = True

    def emergency_erase(self) -> bytes:
        """What to write on the way out (a second Ctrl-C, SIGTERM), which waits for
        nothing: the terminal's settings put back, and the bytes that erase the block."""
        self._put_terminal_back()
        if self.mode != LIVE or self._done.is_set() or not in_foreground(self._stderr):
            return b""
        # Wait (briefly) for a frame being written, and keep the lock: no frame may follow
        # the erase. Called on the main thread, never the display's, so this cannot wait on
        # itself.
        self._painting.acquire(timeout=0.5)
        self._abandoned = True
        return erase_block(self._height).encode()

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
            if self._height and not self._abandoned:  # after a failure only
                _write(self._stderr, erase_block(self._height))
                self._height = 0
            for stream, text in leftover:
                _write(stream, text + "\n")

    def _repaint(self, lines: list[tuple[TextIO, str]], *, final: bool) -> None:
        """Erase the block, write the queued lines, draw the block again (unless final).

        Consecutive pieces for one stream go out in one write, so the terminal shows no
        half-drawn state in between."""
        with self._painting:
            if not self._abandoned:
                self._paint(lines, final=final)

    def _paint(self, lines: list[tuple[TextIO, str]], *, final: bool) -> None:
        foreground = in_foreground(self._stderr)
        if self._block_lost or not foreground:
            # Not ours to erase any more: the shell (or another job) wrote since.
            self._block_lost = False
            self._height = 0
        pending = erase_block(self._height) if self._height else ""
        self._height = 0
        for stream, text in lines:
            if stream is not self._stderr:
                _write(self._stderr, pending)
                pending = ""
                _write(stream, text + "\n")
            else:
                pending += text + "\r\n"
        block = self._frame() if foreground and not final else []
        if block:
            pending += "\r\n".join(block) + "\r\n"
        _write(self._stderr, pending)
        self._height = len(block)


def _write(stream: TextIO, text: str) -> None:
    if not text:
        return
    # A terminal that went away (the window closed) must not stop the run.
    with suppress(OSError, ValueError):
        write_text(stream, text)


def write_text(stream: TextIO, text: str) -> None:
    """Write and flush `text`; in a legacy encoding, "…" and accents become "?", not a
    crash."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "replace").decode(encoding))
    stream.flush()
