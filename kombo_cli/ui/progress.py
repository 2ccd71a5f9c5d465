"""Progress on a terminal: one bar for a single upload, or an overall bar and one bar per
upload in flight for a batch. Off a terminal (and with --quiet) there is none.

rich's Progress keeps the numbers and draws the bars, but is never started: its own
refresh thread would write to the terminal beside ours. The one writer is the console's
display (`ui.display`), which asks for a frame here and draws it, or, where the terminal
cannot be redrawn safely, prints an occasional status line (see `Console.display_mode`).
Worker threads only update numbers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

from kombo_cli.ui.console import Console
from kombo_cli.ui.display import TerminalDisplay
from kombo_cli.ui.text import WAITING_FOR_KOMBO, human_size

# Progress bars for small files would only flicker.
PROGRESS_MIN_BYTES = 1024 * 1024

Advance = Callable[[int], None]


@contextmanager
def upload_progress(console: Console, label: str, total_bytes: int) -> Iterator[Advance | None]:
    """A bar for one upload; yields the callback for bytes sent (None: no bar)."""
    mode = console.display_mode
    if mode is None or total_bytes < PROGRESS_MIN_BYTES:
        yield None
        return
    from kombo_cli.ui import bars

    rich_console = console.live_console()
    progress, frame = bars.make_progress(console.stderr, rich_console, timed=True)
    label = console.clean(label)
    task = progress.add_task(label, total=total_bytes)
    sent_so_far = 0
    lock = threading.Lock()

    def advance(sent: int) -> None:
        nonlocal sent_so_far
        with lock:
            sent_so_far += sent
            progress.advance(task, sent)  # negative when a retry starts over
            # Kombo forwards the file to the ATS before answering; say why it waits.
            progress.update(task, waiting=sent_so_far >= total_bytes)

    def status() -> str:
        with lock:
            sent = max(0, sent_so_far)
        if sent >= total_bytes:
            return f"{label}: {WAITING_FOR_KOMBO}"
        return f"{label}: {human_size(sent)} of {human_size(total_bytes)} sent"

    display = TerminalDisplay(console.stderr, mode, frame, status)
    with console.live(display):
        yield advance


class BatchProgress:
    """The bars of a batch: files done of all, and one bar per upload in flight."""

    def __init__(self, console: Console, progress: Any, total_items: int | None) -> None:
        self._console = console
        self._progress = progress
        self._total_items = total_items
        self._overall = progress.add_task("Attaching", total=total_items, sent=0, files=True)
        self._tasks: dict[object, Any] = {}
        self._waiting: set[object] = set()
        self._sent = 0
        self._done = 0
        self._lock = threading.Lock()

    def started(self, key: object, label: str, size: int | None) -> Advance | None:
        # File names are the user's, and may hold control characters.
        shown = f"  {self._console.clean(label)}"
        task = self._progress.add_task(shown, total=size, sent=0, files=False)
        sent_so_far = 0
        with self._lock:
            self._tasks[key] = task

        def advance(sent: int) -> None:
            # Negative when a retry starts the file over.
            nonlocal sent_so_far
            self._progress.advance(task, sent)
            with self._lock:
                sent_so_far += sent
                self._sent += sent
                total_sent = self._sent
                waiting = size is not None and sent_so_far >= size
                if waiting:
                    self._waiting.add(key)
                else:
                    self._waiting.discard(key)
            # As the single-file bar does: say why an upload that is all sent still waits.
            self._progress.update(task, waiting=waiting)
            self._progress.update(self._overall, sent=total_sent)

        return advance if size is not None else None

    def finished(self, key: object) -> None:
        with self._lock:
            task = self._tasks.pop(key, None)
            self._waiting.discard(key)
        if task is not None:
            self._progress.remove_task(task)

    def item_done(self) -> None:
        """Called on the printing thread once per reported item (including skips and errors)."""
        with self._lock:
            self._done += 1
        self._progress.advance(self._overall, 1)

    def status(self) -> str | None:
        """The PLAIN progress line: where the batch is, in words."""
        with self._lock:
            done, sent = self._done, max(0, self._sent)
            in_flight, waiting = len(self._tasks), len(self._waiting)
        total = "?" if self._total_items is None else str(self._total_items)
        files = "file" if self._total_items == 1 else "files"
        line = f"Attaching: {done} of {total} {files} done, {human_size(sent)} sent"
        if in_flight:
            line += f"; {in_flight} in flight"
            if waiting:
                line += f" ({waiting} waiting for Kombo)"
        return line


@contextmanager
def batch_progress(console: Console, total_items: int | None) -> Iterator[BatchProgress | None]:
    """The progress of a batch on a terminal (None elsewhere, and with --quiet)."""
    mode = console.display_mode
    if mode is None:
        yield None
        return
    from kombo_cli.ui import bars

    rich_console = console.live_console()
    progress, frame = bars.make_progress(console.stderr, rich_console, timed=False)
    batch = BatchProgress(console, progress, total_items)
    display = TerminalDisplay(console.stderr, mode, frame, batch.status)
    with console.live(display):
        yield batch
