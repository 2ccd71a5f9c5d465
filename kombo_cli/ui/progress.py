"""Live progress on a terminal: one bar for a single upload, or an overall bar and one bar per
upload in flight for a batch. Off a terminal (and with --quiet) there is no live display.

Worker threads report bytes as they are sent; rich's Progress is safe to update from
several threads, and lines printed meanwhile go above the bars (see Console.live).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

from kombo_cli.ui.console import Console
from kombo_cli.ui.text import human_size

# Progress bars for small files would only flicker.
PROGRESS_MIN_BYTES = 1024 * 1024

Advance = Callable[[int], None]


@contextmanager
def upload_progress(console: Console, label: str, total_bytes: int) -> Iterator[Advance | None]:
    """A transient bar for one upload; yields the callback for bytes sent (None: no bar)."""
    if console.quiet or not console.stderr_terminal or total_bytes < PROGRESS_MIN_BYTES:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    rich_console = console.live_console()
    with (
        Progress(
            # File names may contain [brackets]: never read them as rich markup.
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=rich_console,
            transient=True,
        ) as progress,
        console.live(rich_console, progress),
    ):
        label = console.clean(label)
        task = progress.add_task(label, total=total_bytes)
        sent_so_far = 0

        def advance(sent: int) -> None:
            nonlocal sent_so_far
            sent_so_far += sent
            progress.advance(task, sent)  # negative when a retry starts over
            if sent_so_far >= total_bytes:
                # Kombo forwards the file to the ATS before answering; say why it waits.
                progress.update(task, description=f"{label}: sent, waiting for Kombo")
            elif sent < 0:
                progress.update(task, description=label)

        yield advance


class BatchProgress:
    """The bars of a batch: files done of all, and one bar per upload in flight."""

    def __init__(self, console: Console, progress: Any, total_items: int | None) -> None:
        self._console = console
        self._progress = progress
        self._overall = progress.add_task("Attaching", total=total_items, sent=0, files=True)
        self._tasks: dict[object, Any] = {}
        self._sent = 0
        self._lock = threading.Lock()

    def started(self, key: object, label: str, size: int | None) -> Advance | None:
        # File names are the user's, and may hold control characters.
        shown = self._console.clean(label)
        task = self._progress.add_task(f"  {shown}", total=size, sent=0, files=False)
        with self._lock:
            self._tasks[key] = task

        def advance(sent: int) -> None:
            # Negative when a retry starts the file over.
            self._progress.advance(task, sent)
            with self._lock:
                self._sent += sent
                total_sent = self._sent
            self._progress.update(self._overall, sent=total_sent)

        return advance if size is not None else None

    def finished(self, key: object) -> None:
        with self._lock:
            task = self._tasks.pop(key, None)
        if task is not None:
            self._progress.remove_task(task)

    def item_done(self) -> None:
        """Called on the printing thread once per reported item (including skips and errors)."""
        self._progress.advance(self._overall, 1)


@contextmanager
def batch_progress(console: Console, total_items: int | None) -> Iterator[BatchProgress | None]:
    """The live display of a batch on a terminal (None elsewhere, and with --quiet)."""
    if console.quiet or not console.stderr_terminal:
        yield None
        return
    rich_console = console.live_console()
    with _batch_bars(rich_console) as progress, console.live(rich_console, progress):
        yield BatchProgress(console, progress, total_items)


def _batch_bars(rich_console: Any) -> Any:
    from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class _AmountColumn(ProgressColumn):
        """Files done of all files for the overall bar, bytes sent of the size for one file."""

        def render(self, task: Any) -> Text:
            if task.fields.get("files"):
                total = "?" if task.total is None else str(int(task.total))
                sent = human_size(max(0, int(task.fields.get("sent", 0))))
                return Text(f"{int(task.completed)}/{total} files, {sent}")
            done = human_size(max(0, int(task.completed)))
            return Text(done if task.total is None else f"{done}/{human_size(int(task.total))}")

    return Progress(
        # Labels come from file names, which may contain [brackets]: never markup.
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        _AmountColumn(),
        TimeElapsedColumn(),
        console=rich_console,
        transient=True,
    )
