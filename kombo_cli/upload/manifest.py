"""Read a manifest for `kombo attach --manifest FILE`: one attachment per row, streamed.

A manifest is a UTF-8 file (a BOM is allowed) in one of two formats:

- CSV with a header row naming the columns;
- JSON Lines: one JSON object per line, blank lines skipped.

The format follows the extension (`.csv`; `.jsonl` or `.ndjson`); for any other name the
first non-whitespace character decides: `{` means JSON Lines, anything else CSV. Standard
input (`-`) and other non-regular files are refused because a manifest is read more than
once (a pre-flight check, then the run).

Each row names exactly one target (`candidate_id`, `application_id` or `email`) and exactly
one source (`file` or `url`), and may give `type`, `name`, `content_type`,
`remote_fields` (in CSV a JSON object written as text, in JSON Lines an object) and
`integration_id` (the row's customer; without it, the run's integration). Values are
stripped of surrounding whitespace; an empty value (an empty CSV cell, an empty JSON string
or JSON null) counts as absent. Relative `file` paths are relative to the manifest's folder,
not the current directory; `~` is not expanded.

Problems with the whole manifest (unreadable, not UTF-8 in the header, unknown or duplicate
CSV columns, no target or no source column) raise UsageError from `open_manifest`, before
any row is read. Problems with one row never raise: iterating a `Manifest` yields a
`RowProblem` in place of that row, in file order, so a caller can report it and go on.
Invalid UTF-8 inside the file is such a row problem (the row holding the bad bytes), as is
a row longer than MAX_ROW_CHARS characters, so one bad row never hides the others.

Memory stays constant however long the manifest is: rows are read one at a time and no
row is longer than MAX_ROW_CHARS. Nothing here prints or touches the network; whether the
files exist is checked later, when each one is attached.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from kombo_cli.errors import UsageError
from kombo_cli.strict_json import shown
from kombo_cli.upload.manifest_file import (
    MAX_ROW_CHARS,
    UTF16_BOMS,
    LineSource,
    RowTooLong,
    open_regular_file,
    read_error,
)
from kombo_cli.upload.manifest_rows import (
    COLUMNS,
    COLUMNS_HINT,
    SOURCE_COLUMNS,
    TARGET_COLUMNS,
    RowRefused,
    entry_from_values,
    jsonl_values,
)
from kombo_cli.upload.request import Entry, RowProblem

CSV = "csv"
JSONL = "jsonl"
FORMATS_BY_SUFFIX = {".csv": CSV, ".jsonl": JSONL, ".ndjson": JSONL}


HEADER_HINT = (
    "start the manifest with a header row naming its columns, separated by commas, "
    f"e.g. candidate_id,file,type; {COLUMNS_HINT}"
)
UTF8_HINT = 'save the manifest as UTF-8 (in Excel: "CSV UTF-8")'


class Manifest:
    """An open manifest. Iterate it once to get its rows; use it as a context manager.

    Iterating yields, in file order, an AttachRequest for each usable row and a RowProblem
    for each unusable one; blank lines (and CSV rows whose cells are all empty) are
    skipped. Reading continues after a problem. An I/O error while reading raises
    UsageError.
    """

    path: Path
    # "csv" or "jsonl".
    format: str

    def __init__(self, path: Path, format: str, handle: IO[str]) -> None:
        self.path = path
        self.format = format
        self._handle = handle
        self._shown = repr(str(path))
        # Relative `file` values are joined to this absolute folder.
        self._folder = os.path.dirname(os.path.abspath(path))
        self._source = LineSource(handle)
        self._reader: Any = None
        self._columns: list[str] = []
        if format == CSV:
            self._reader = csv.reader(self._source, strict=True)
            self._columns = self._read_header()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._handle.close()

    def __iter__(self) -> Iterator[Entry]:
        try:
            if self.format == CSV:
                yield from self._csv_entries()
            else:
                yield from self._jsonl_entries()
        except OSError as exc:
            raise read_error(self._shown, exc) from None

    # --- CSV ------------------------------------------------------------------------------

    def _read_header(self) -> list[str]:
        source = self._source
        while True:
            source.start_row()
            start = source.line_number + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                raise UsageError(
                    f"Manifest {self._shown} is empty; it needs a header row.", hint=HEADER_HINT
                ) from None
            except RowTooLong:
                raise UsageError(
                    f"The header row of manifest {self._shown} is longer than "
                    f"{MAX_ROW_CHARS} characters.",
                    hint=HEADER_HINT,
                ) from None
            except csv.Error as exc:
                # Bytes that are not UTF-8 explain a parse error better (e.g. NUL on 3.9).
                self._check_header_utf8()
                raise UsageError(
                    f"The header row of manifest {self._shown} (line {start}) is not valid "
                    f"CSV: {_csv_error_text(exc)}.",
                    hint=HEADER_HINT,
                ) from None
            self._check_header_utf8()
            if any(cell.strip() for cell in cells):
                break
        names = [cell.strip() for cell in cells]
        seen: set[str] = set()
        for number, name in enumerate(names, start=1):
            if not name:
                raise UsageError(
                    f"Column {number} of manifest {self._shown} has no name in the header row.",
                    hint=HEADER_HINT,
                )
            if name not in COLUMNS:
                raise UsageError(
                    f"Manifest {self._shown} has an unknown column {shown(name)} "
                    "in its header row.",
                    hint=HEADER_HINT,
                )
            if name in seen:
                raise UsageError(
                    f"Manifest {self._shown} has the column {name!r} twice.", hint=COLUMNS_HINT
                )
            seen.add(name)
        if seen.isdisjoint(TARGET_COLUMNS):
            raise UsageError(
                f"Manifest {self._shown} has no candidate_id, application_id or email column.",
                hint=HEADER_HINT,
            )
        if seen.isdisjoint(SOURCE_COLUMNS):
            raise UsageError(f"Manifest {self._shown} has no file or url column.", hint=HEADER_HINT)
        return names

    def _check_header_utf8(self) -> None:
        if self._source.bad_utf8_line is not None:
            raise UsageError(
                f"Manifest {self._shown} is not UTF-8 text (line {self._source.bad_utf8_line}).",
                hint=UTF8_HINT,
            )

    def _csv_entries(self) -> Iterator[Entry]:
        source = self._source
        while True:
            source.start_row()
            start = source.line_number + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except RowTooLong:
                yield RowProblem(start, f"the row is longer than {MAX_ROW_CHARS} characters.")
                continue
            except csv.Error as exc:
                if source.bad_utf8_line is None:
                    yield RowProblem(start, f"the row is not valid CSV: {_csv_error_text(exc)}.")
                else:
                    yield _utf8_problem(start, source.bad_utf8_line)
                continue
            if source.bad_utf8_line is not None:
                yield _utf8_problem(start, source.bad_utf8_line)
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(self._columns):
                yield RowProblem(
                    start,
                    f"the row has {len(cells)} cells but the header has "
                    f"{len(self._columns)} columns.",
                )
                continue
            values: dict[str, Any] = {}
            for column, cell in zip(self._columns, cells):
                value = cell.strip()
                if value:
                    values[column] = value
            yield entry_from_values(start, values, self._folder)

    # --- JSON Lines -----------------------------------------------------------------------

    def _jsonl_entries(self) -> Iterator[Entry]:
        source = self._source
        while True:
            source.start_row()
            try:
                line = next(source)
            except StopIteration:
                return
            except RowTooLong:
                yield RowProblem(
                    source.line_number, f"the line is longer than {MAX_ROW_CHARS} characters."
                )
                continue
            if source.bad_utf8_line is not None:
                yield _utf8_problem(source.line_number, source.bad_utf8_line)
                continue
            if not line.strip():
                continue
            try:
                values = jsonl_values(line)
            except RowRefused as problem:
                yield RowProblem(source.line_number, str(problem))
                continue
            yield entry_from_values(source.line_number, values, self._folder)

    # --- Both formats ---------------------------------------------------------------------


def open_manifest(path: Path | str) -> Manifest:
    """Open the manifest at `path` and settle its format; for CSV, read and check the header.

    Raise UsageError when the file is missing, unreadable, a directory or not a regular
    file, or (CSV) when its header is empty, not UTF-8, not valid CSV, names an unknown
    column or one twice, or has no target or no source column. The caller closes the
    returned Manifest (or uses it in a `with` block).
    """
    path = Path(path)
    shown = repr(str(path))
    if str(path) == "-":
        raise UsageError(
            "A manifest must be a file; '-' (standard input) is not supported.",
            hint="save the rows to a file and give its path",
        )
    handle = open_regular_file(path, shown)
    try:
        if handle.read(2) in UTF16_BOMS:
            raise UsageError(f"Manifest {shown} is UTF-16 text, not UTF-8.", hint=UTF8_HINT)
        handle.seek(0)
        manifest_format = FORMATS_BY_SUFFIX.get(path.suffix.lower())
        if manifest_format is None:
            manifest_format = _sniff_format(handle, shown)
            handle.seek(0)
        return Manifest(path, manifest_format, handle)
    except OSError as exc:
        handle.close()
        raise read_error(shown, exc) from None
    except BaseException:
        handle.close()
        raise


# --- Helpers ------------------------------------------------------------------------------


def _sniff_format(handle: IO[str], shown: str) -> str:
    """JSONL when the first non-whitespace character is '{', else CSV."""
    while True:
        chunk = handle.read(8192)
        if not chunk:
            return CSV
        text = chunk.lstrip()
        if text:
            break
    if text.startswith("["):
        raise UsageError(
            f"Manifest {shown} looks like a JSON array; a manifest is CSV or JSON Lines.",
            hint="write one JSON object per line, without the enclosing [ ], in a .jsonl file",
        )
    return JSONL if text.startswith("{") else CSV


def _csv_error_text(exc: csv.Error) -> str:
    text = str(exc).rstrip(".")
    if text == "unexpected end of data":
        return "a quoted cell is not closed before the end of the file"
    return text


def _utf8_problem(start: int, bad_line: int) -> RowProblem:
    where = "the row" if bad_line == start else f"line {bad_line} of the row"
    return RowProblem(start, f"{where} is not valid UTF-8 text; save the manifest as UTF-8.")
