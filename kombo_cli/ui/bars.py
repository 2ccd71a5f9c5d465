"""How the bars look: rich's Progress as a model, drawn as one line per upload that fits
the window, however narrow.

Every column is kept to one line; the name is the one part that gives way (shortened with
"…"), and a narrower window drops the columns that matter least: first the times, then the
bar's length, then the bar. A block taller than the window allows names what it leaves out.
"""

from __future__ import annotations

import os
from contextlib import suppress
from typing import Any, Callable

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column
from rich.text import Text

from kombo_cli.ui.text import WAITING_FOR_KOMBO, human_size, shorten

# Room the amount column may take: "sent, waiting for Kombo", "12/50 files, 5.5 MB".
_AMOUNT_WIDTH = len(WAITING_FOR_KOMBO)
# A name is never shortened below this; below it, the bar goes.
_MIN_LABEL = 20


def make_progress(stderr: Any, rich_console: Any, *, timed: bool) -> tuple[Progress, Frame]:
    """A Progress whose tasks the display draws (never started: see ui.progress), and the
    function that draws its frames.

    `timed`: a single upload, with speed and time left; a batch shows time elapsed."""
    layouts = _Layouts(timed)
    progress = Progress(*layouts.widest, console=rich_console, auto_refresh=False)
    return progress, _framer(stderr, rich_console, progress, layouts)


Frame = Callable[[], "list[str]"]


def _framer(stderr: Any, rich_console: Any, progress: Progress, layouts: _Layouts) -> Frame:
    """The block's lines as they should look now, fitted to the terminal.

    Each line is at most one column narrower than the terminal (a line that fills the
    last column leaves some terminals waiting to wrap), and the block leaves two rows
    free, so the whole of it can always be reached again to be erased."""

    def frame() -> list[str]:
        columns, rows = _terminal_size(stderr, rich_console)
        width = columns - 1
        room = rows - 2
        if width < 20 or room < 2:
            return []  # a window too small for any bar: the results alone

        # Only this thread draws: the columns can be swapped for each frame.
        progress.columns = layouts.fitting(width)
        with rich_console.capture() as captured:
            rich_console.print(progress.get_renderable(), width=width, crop=True)
        lines: list[str] = captured.get().rstrip("\n").split("\n")
        if len(lines) > room:
            # One line per upload (no column wraps), the first line the whole batch's.
            hidden = len(lines) - room + 1
            more = "upload" if hidden == 1 else "uploads"
            lines = [*lines[: room - 1], f"  … and {hidden} more {more}"]
        return lines

    return frame


class _Layouts:
    """The columns for each width, widest first."""

    def __init__(self, timed: bool) -> None:
        def one_line() -> Column:
            return Column(no_wrap=True)

        self.label = _LabelColumn()
        amount = _AmountColumn(table_column=one_line())
        long_bar = BarColumn(bar_width=40, table_column=one_line())
        short_bar = BarColumn(bar_width=16, table_column=one_line())
        times: tuple[Any, ...] = (
            (
                TransferSpeedColumn(table_column=one_line()),
                TimeRemainingColumn(table_column=one_line()),
            )
            if timed
            else (TimeElapsedColumn(table_column=one_line()),)
        )
        # Width each layout needs besides the name: its columns and one space between each.
        times_width = 18 if timed else 7
        self._choices: list[tuple[int, tuple[Any, ...]]] = [
            (40 + _AMOUNT_WIDTH + times_width + 2 + len(times), (long_bar, amount, *times)),
            (16 + _AMOUNT_WIDTH + 2, (short_bar, amount)),
            (_AMOUNT_WIDTH + 1, (amount,)),
        ]
        self.widest = (self.label, long_bar, amount, *times)

    def fitting(self, width: int) -> tuple[Any, ...]:
        for needed, columns in self._choices:
            if width - needed >= _MIN_LABEL or columns is self._choices[-1][1]:
                self.label.limit = max(8, width - needed)
                return (self.label, *columns)
        raise AssertionError("unreachable: the last layout always fits")


class _LabelColumn(ProgressColumn):
    """The task's name, shortened in the middle to the room the layout leaves it."""

    def __init__(self) -> None:
        super().__init__(table_column=Column(no_wrap=True))
        self.limit = 40

    def render(self, task: Any) -> Text:
        # File names may contain [brackets]: plain text, never rich markup.
        return Text(shorten(str(task.description), self.limit, keep_extension=True))


class _AmountColumn(ProgressColumn):
    """Files done of all files for the whole batch; bytes sent of the size for one file,
    or, once all is sent, that it waits for Kombo (which forwards the file to the ATS
    before it answers)."""

    def render(self, task: Any) -> Text:
        if task.fields.get("files"):
            total = "?" if task.total is None else str(int(task.total))
            sent = human_size(max(0, int(task.fields.get("sent", 0))))
            return Text(f"{int(task.completed)}/{total} files, {sent}")
        if task.fields.get("waiting"):
            return Text(WAITING_FOR_KOMBO)
        done = human_size(max(0, int(task.completed)))
        return Text(done if task.total is None else f"{done}/{human_size(int(task.total))}")


def _terminal_size(stderr: Any, rich_console: Any) -> tuple[int, int]:
    """The size of the terminal stderr is on (rich would ask stdin first)."""
    with suppress(AttributeError, OSError, ValueError):
        size = os.get_terminal_size(stderr.fileno())
        return size.columns, size.lines
    columns, rows = rich_console.size
    return int(columns), int(rows)
