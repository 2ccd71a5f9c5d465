"""The live display of a batch on a terminal: an overall bar, and one bar per upload in flight.

Worker threads report bytes as they are sent; rich's Progress is safe to update from
several threads. Off a terminal there is no live display at all: the command prints one
plain line per finished item instead.
"""

from __future__ import annotations

import threading
from typing import Any

from kombo_cli.body import ProgressCallback
from kombo_cli.uploads import ProgressHooks


class BatchProgress(ProgressHooks):
    def __init__(self, progress: Any, total_items: int | None) -> None:
        self._progress = progress
        self._overall = progress.add_task("Attaching", total=total_items, sent=0, files=True)
        self._tasks: dict[object, Any] = {}
        self._sent = 0
        self._lock = threading.Lock()

    def started(self, key: object, label: str, size: int | None) -> ProgressCallback | None:
        task = self._progress.add_task(f"  {label}", total=size, sent=0, files=False)
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


def make_progress(console: Any) -> Any:
    from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    from kombo_cli.output import human_size

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
        console=console,
        transient=True,
    )
