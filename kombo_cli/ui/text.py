"""Text for people: sizes, durations, untrusted text made safe to show, aligned columns."""

from __future__ import annotations

import re
from typing import Any

# Characters that must never reach a terminal or a log from untrusted text (file names,
# Kombo's messages): C0/C1 controls other than newline and tab, and bidirectional overrides
# that can make a line read differently from what it says.
_UNSAFE_CHARACTERS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


# What an upload whose bytes are all sent waits for: Kombo forwards the file to the ATS
# before it answers, which can take longer than the sending did.
WAITING_FOR_KOMBO = "sent, waiting for Kombo"


def printable(text: str) -> str:
    """`text` made safe to show: undecodable file-name bytes and control characters escaped."""
    # File names on Linux are bytes; Python keeps undecodable ones as lone surrogates, which
    # no UTF-8 stream can write. Show them as \xNN instead.
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that did not come from a file name
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _UNSAFE_CHARACTERS.sub(lambda match: ascii(match.group())[1:-1], text)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover - the loop always returns


def human_duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def cell(value: Any) -> str:
    """A table cell: a value on one line, "-" for a missing one."""
    if value is None or value == "":
        return "-"
    return " ".join(str(value).split())


def aligned_columns(rows: list[list[str]]) -> list[str]:
    """Rows of cells as lines, each column as wide as its widest cell (in terminal cells:
    CJK names take two a character, combining accents none)."""
    from rich.cells import cell_len

    shown = [[printable(item) for item in row] for row in rows]
    widths = [max(cell_len(row[i]) for row in shown) for i in range(len(shown[0]))]
    return [
        "  ".join(
            item + " " * (width - cell_len(item)) for item, width in zip(row, widths)
        ).rstrip()
        for row in shown
    ]


def shorten(text: str, width: int, *, keep_extension: bool = False) -> str:
    """`text` in at most `width` terminal columns, shortened in the middle with "…";
    with `keep_extension`, a file name's extension stays whole where there is room."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    room = width - 1
    tail = room // 2
    stem, dot, extension = text.rpartition(".")
    suffix = cell_len(extension) + 1
    if keep_extension and dot and stem and len(extension) <= 10 and suffix < room:
        tail = max(tail, suffix)
    return _first_columns(text, room - tail) + "…" + _first_columns(text[::-1], tail)[::-1]


def _first_columns(text: str, columns: int) -> str:
    """The longest start of `text` that takes at most `columns` terminal columns."""
    from rich.cells import cell_len

    taken, used = [], 0
    for character in text:
        used += cell_len(character)
        if used > columns:
            break
        taken.append(character)
    return "".join(taken)
