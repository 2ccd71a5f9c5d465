"""A manifest file opened for reading, and its physical lines with each row's size bounded.

Bytes that are not UTF-8 are read through "surrogateescape" and located to their line, so
one bad row never hides the others; a row longer than MAX_ROW_CHARS is skipped without
reading it into memory.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import IO

from kombo_cli.errors import UsageError

# One row (a JSON Lines line, or a CSV record with all its lines) may be at most this many
# characters; a longer one is a row problem. This bounds memory on a file with no newlines.
MAX_ROW_CHARS = 1024 * 1024
# Bytes that are not UTF-8 are decoded with "surrogateescape" into lone surrogates, which
# valid UTF-8 never produces; finding one locates the bad bytes to the line.
_SURROGATES = re.compile("[\ud800-\udfff]")
# The UTF-16 byte order marks, as read through "surrogateescape".
UTF16_BOMS = ("\udcff\udcfe", "\udcfe\udcff")
# readline() is asked for one character more than a row may hold: a longer read proves the
# row too long without reading the rest of the line into memory.
_READ_LIMIT = MAX_ROW_CHARS + 1


class RowTooLong(Exception):
    """A row is longer than MAX_ROW_CHARS; raised by LineSource after skipping past it."""


class LineSource:
    """The manifest's physical lines, counted, with the size of the current row bounded.

    An iterator class rather than a generator: csv.reader keeps calling it after it raised
    RowTooLong, and a generator would be finished by then.
    """

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        # The number of the last line handed out.
        self.line_number = 0
        # The first line of the current row that held bytes that are not UTF-8.
        self.bad_utf8_line: int | None = None
        self._row_chars = 0
        # A line cut at _READ_LIMIT right after "\r": a "\n" read next ends that line.
        self._skip_lf = False

    def start_row(self) -> None:
        self._row_chars = 0
        self.bad_utf8_line = None

    def __iter__(self) -> LineSource:
        return self

    def __next__(self) -> str:
        line = self._handle.readline(_READ_LIMIT)
        if self._skip_lf:
            self._skip_lf = False
            if line == "\n":
                line = self._handle.readline(_READ_LIMIT)
        if not line:
            raise StopIteration
        self.line_number += 1
        self._skip_rest_of(line)
        self._row_chars += len(line)
        if self.bad_utf8_line is None and _SURROGATES.search(line):
            self.bad_utf8_line = self.line_number
        if self._row_chars > MAX_ROW_CHARS:
            raise RowTooLong
        return line

    def _skip_rest_of(self, line: str) -> None:
        """Read past the rest of a line that readline cut at _READ_LIMIT characters."""
        chunk = line
        while len(chunk) == _READ_LIMIT and not chunk.endswith("\n"):
            if chunk.endswith("\r"):
                # Either a line ending or the first half of "\r\n"; a lone "\n" next is
                # the second half.
                self._skip_lf = True
                return
            chunk = self._handle.readline(_READ_LIMIT)


def open_regular_file(path: Path, shown: str) -> IO[str]:
    try:
        # Checked before opening: opening a FIFO would wait for a writer.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _not_a_file(path, shown)
        handle = open(  # noqa: SIM115 - Manifest owns and closes it
            path, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
    except (FileNotFoundError, NotADirectoryError):
        raise UsageError(
            f"Manifest {shown} does not exist.", hint="check the path given to --manifest"
        ) from None
    except PermissionError:
        raise UsageError(
            f"Cannot read manifest {shown}: permission denied.",
            hint="check the file's permissions",
        ) from None
    except ValueError:
        # A path with a NUL character.
        raise UsageError(
            f"Manifest {shown} is not a valid path.", hint="check the path given to --manifest"
        ) from None
    except OSError as exc:
        raise read_error(shown, exc) from None
    try:
        # The path may have been replaced between the check and the open.
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise _not_a_file(path, shown)
    except BaseException:
        handle.close()
        raise
    return handle


def _not_a_file(path: Path, shown: str) -> UsageError:
    if path.is_dir():
        return UsageError(
            f"Manifest {shown} is a directory, not a file.",
            hint="give the path of a CSV or JSON Lines file",
        )
    return UsageError(
        f"Manifest {shown} is not a regular file.",
        hint="save the rows to a file first; a manifest is read twice with --fail-fast",
    )


def read_error(shown: str, exc: OSError) -> UsageError:
    reason = exc.strerror or type(exc).__name__
    return UsageError(f"Cannot read manifest {shown}: {reason}.", hint="check the file")
