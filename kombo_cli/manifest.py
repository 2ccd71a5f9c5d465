"""Read a manifest for `kombo attach --manifest FILE`: one attachment per row, streamed.

A manifest is a UTF-8 file (a BOM is allowed) in one of two formats:

- CSV with a header row naming the columns;
- JSON Lines: one JSON object per line, blank lines skipped.

The format follows the extension (`.csv`; `.jsonl` or `.ndjson`); for any other name the
first non-whitespace character decides: `{` means JSON Lines, anything else CSV. Standard
input (`-`) and other non-regular files are refused because a manifest is read more than
once (a pre-flight check, then the run).

Each row names exactly one target (`candidate_id`, `application_id` or `email`) and exactly
one source (`file` or `url`), and may give `type`, `name`, `content_type` and
`remote_fields` (in CSV a JSON object written as text, in JSON Lines an object). Values are
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
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Union
from urllib.parse import urlsplit

from kombo_cli.attach import ATTACHMENT_TYPES, normalize_attachment_type
from kombo_cli.content_types import validate_content_type
from kombo_cli.errors import UsageError

# The strict JSON reader behind --remote-fields (no NaN or Infinity, no duplicate keys, no
# lone surrogates), so a manifest accepts exactly the objects the options accept.
from kombo_cli.strict_json import BadJSON, json_kind, parse_strict_json, shown
from kombo_cli.targets import APPLICATION, CANDIDATE, Target

CSV = "csv"
JSONL = "jsonl"
FORMATS_BY_SUFFIX = {".csv": CSV, ".jsonl": JSONL, ".ndjson": JSONL}

TARGET_KINDS = {"candidate_id": CANDIDATE, "application_id": APPLICATION, "email": "email"}
TARGET_COLUMNS = tuple(TARGET_KINDS)
SOURCE_COLUMNS = ("file", "url")
OPTIONAL_COLUMNS = ("type", "name", "content_type", "remote_fields")
COLUMNS = TARGET_COLUMNS + SOURCE_COLUMNS + OPTIONAL_COLUMNS

# One row (a JSON Lines line, or a CSV record with all its lines) may be at most this many
# characters; a longer one is a row problem. This bounds memory on a file with no newlines.
MAX_ROW_CHARS = 1024 * 1024
# How many problems validate_manifest keeps (it counts them all).
MAX_KEPT_PROBLEMS = 20

COLUMNS_HINT = f"the accepted columns are {', '.join(COLUMNS)}"
HEADER_HINT = (
    "start the manifest with a header row naming its columns, separated by commas, "
    f"e.g. candidate_id,file,type; {COLUMNS_HINT}"
)
UTF8_HINT = 'save the manifest as UTF-8 (in Excel: "CSV UTF-8")'

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# Bytes that are not UTF-8 are decoded with "surrogateescape" into lone surrogates, which
# valid UTF-8 never produces; finding one locates the bad bytes to the line.
_SURROGATES = re.compile("[\ud800-\udfff]")
# The UTF-16 byte order marks, as read through "surrogateescape".
_UTF16_BOMS = ("\udcff\udcfe", "\udcfe\udcff")
_JSON_POSITION = re.compile(r" at line 1 column (\d+)$")
# readline() is asked for one character more than a row may hold: a longer read proves the
# row too long without reading the rest of the line into memory.
_READ_LIMIT = MAX_ROW_CHARS + 1


@dataclass(frozen=True)
class ManifestRow:
    """One valid row: what to attach and where. Values are stripped and checked."""

    # The 1-based physical line the row starts on.
    line: int
    # "candidate", "application" or "email".
    target_kind: str
    # The candidate or application ID, or the email address.
    target_value: str
    # The file's path, relative ones joined to the manifest's folder; None with `url`.
    file: str | None
    # `file` as written in the manifest, for messages.
    file_text: str | None
    url: str | None
    # CV, COVER_LETTER or OTHER; None means "use the command's --type".
    type: str | None
    name: str | None
    # A content type Kombo accepts, or None to guess it from the file.
    content_type: str | None
    remote_fields: dict[str, Any] | None


@dataclass(frozen=True)
class RowProblem:
    """A row that cannot be used.

    `message` is one sentence without the line number, starting in lower case, e.g.
    "give exactly one of candidate_id, application_id, email."; `str()` adds the line:
    "line 7: give exactly one of candidate_id, application_id, email.".
    """

    # The 1-based physical line the row starts on.
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


ManifestEntry = Union[ManifestRow, RowProblem]


@dataclass(frozen=True)
class ManifestCheck:
    """The result of reading a whole manifest without attaching anything."""

    path: Path
    format: str
    # How many rows are usable.
    rows: int
    # The first MAX_KEPT_PROBLEMS problems, in file order.
    problems: tuple[RowProblem, ...]
    # How many rows have a problem, including those not kept.
    problem_count: int

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


class _Problem(Exception):
    """A row problem found while checking a row; becomes a RowProblem."""


class _RowTooLong(Exception):
    """A row is longer than MAX_ROW_CHARS; raised by _LineSource after skipping past it."""


class _LineSource:
    """The manifest's physical lines, counted, with the size of the current row bounded.

    An iterator class rather than a generator: csv.reader keeps calling it after it raised
    _RowTooLong, and a generator would be finished by then.
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

    def __iter__(self) -> _LineSource:
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
            raise _RowTooLong
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


class Manifest:
    """An open manifest. Iterate it once to get its rows; use it as a context manager.

    Iterating yields, in file order, a ManifestRow for each usable row and a RowProblem
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
        self._source = _LineSource(handle)
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

    @property
    def columns(self) -> tuple[str, ...]:
        """The CSV header's column names (empty for JSON Lines)."""
        return tuple(self._columns)

    def __iter__(self) -> Iterator[ManifestEntry]:
        try:
            if self.format == CSV:
                yield from self._csv_entries()
            else:
                yield from self._jsonl_entries()
        except OSError as exc:
            raise _read_error(self._shown, exc) from None

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
            except _RowTooLong:
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

    def _csv_entries(self) -> Iterator[ManifestEntry]:
        source = self._source
        while True:
            source.start_row()
            start = source.line_number + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except _RowTooLong:
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
            yield self._entry(start, values)

    # --- JSON Lines -----------------------------------------------------------------------

    def _jsonl_entries(self) -> Iterator[ManifestEntry]:
        source = self._source
        while True:
            source.start_row()
            try:
                line = next(source)
            except StopIteration:
                return
            except _RowTooLong:
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
                values = _jsonl_values(line)
            except _Problem as problem:
                yield RowProblem(source.line_number, str(problem))
                continue
            yield self._entry(source.line_number, values)

    # --- Both formats ---------------------------------------------------------------------

    def _entry(self, line: int, values: dict[str, Any]) -> ManifestEntry:
        try:
            return self._row(line, values)
        except _Problem as problem:
            return RowProblem(line, str(problem))

    def _row(self, line: int, values: dict[str, Any]) -> ManifestRow:
        """Check one row's values (stripped, absent ones left out); raise _Problem."""
        targets = [column for column in TARGET_COLUMNS if column in values]
        if len(targets) != 1:
            raise _Problem(_exactly_one(TARGET_COLUMNS, targets))
        sources = [column for column in SOURCE_COLUMNS if column in values]
        if len(sources) != 1:
            raise _Problem(_exactly_one(SOURCE_COLUMNS, sources))

        target_column = targets[0]
        target_kind = TARGET_KINDS[target_column]
        target_value = values[target_column]
        if target_kind == "email":
            _check_email(target_value)
        else:
            try:
                Target.parse(target_value, application=target_kind == APPLICATION)
            except UsageError as exc:
                raise _Problem(_lower_first(exc.message)) from None

        file_text = values.get("file")
        file = None
        if file_text is not None:
            if "\x00" in file_text:
                raise _Problem("file contains a NUL character.")
            file = _resolve(self._folder, file_text)
        url = values.get("url")
        if url is not None:
            _check_url(url)

        attachment_type = values.get("type")
        if attachment_type is not None:
            try:
                attachment_type = normalize_attachment_type(attachment_type)
            except UsageError:
                raise _Problem(
                    f"type {shown(attachment_type)} is not one of {', '.join(ATTACHMENT_TYPES)}."
                ) from None
        name = values.get("name")
        if name is not None and _CONTROL_CHARACTERS.search(name):
            raise _Problem("name contains control characters.")
        content_type = values.get("content_type")
        if content_type is not None:
            try:
                content_type = validate_content_type(content_type)
            except UsageError as exc:
                raise _Problem(_lower_first(exc.message)) from None
        remote_fields = values.get("remote_fields")
        if isinstance(remote_fields, str):
            remote_fields = _remote_fields_from_text(remote_fields)

        return ManifestRow(
            line=line,
            target_kind=target_kind,
            target_value=target_value,
            file=file,
            file_text=file_text,
            url=url,
            type=attachment_type,
            name=name,
            content_type=content_type,
            remote_fields=remote_fields,
        )


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
    handle = _open_regular_file(path, shown)
    try:
        if handle.read(2) in _UTF16_BOMS:
            raise UsageError(f"Manifest {shown} is UTF-16 text, not UTF-8.", hint=UTF8_HINT)
        handle.seek(0)
        manifest_format = FORMATS_BY_SUFFIX.get(path.suffix.lower())
        if manifest_format is None:
            manifest_format = _sniff_format(handle, shown)
            handle.seek(0)
        return Manifest(path, manifest_format, handle)
    except OSError as exc:
        handle.close()
        raise _read_error(shown, exc) from None
    except BaseException:
        handle.close()
        raise


def validate_manifest(path: Path | str, *, max_problems: int = MAX_KEPT_PROBLEMS) -> ManifestCheck:
    """Read the whole manifest and count its usable rows and its problems.

    For a pre-flight pass (nothing is attached if any row has a problem). Keeps the first
    `max_problems` problems and counts the rest. Raises UsageError as open_manifest does.
    """
    rows = 0
    problems: list[RowProblem] = []
    problem_count = 0
    with open_manifest(path) as manifest:
        for entry in manifest:
            if isinstance(entry, RowProblem):
                problem_count += 1
                if len(problems) < max_problems:
                    problems.append(entry)
            else:
                rows += 1
        return ManifestCheck(
            path=manifest.path,
            format=manifest.format,
            rows=rows,
            problems=tuple(problems),
            problem_count=problem_count,
        )


# --- Helpers ------------------------------------------------------------------------------


def _open_regular_file(path: Path, shown: str) -> IO[str]:
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
        raise _read_error(shown, exc) from None
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


def _read_error(shown: str, exc: OSError) -> UsageError:
    reason = exc.strerror or type(exc).__name__
    return UsageError(f"Cannot read manifest {shown}: {reason}.", hint="check the file")


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


def _jsonl_values(line: str) -> dict[str, Any]:
    """The present values of one JSON Lines row (strings stripped); raise _Problem."""
    try:
        document = parse_strict_json(line)
    except BadJSON as exc:
        detail = _JSON_POSITION.sub(r" at column \1", exc.detail)
        raise _Problem(f"the line is not valid JSON: {detail}.") from None
    if not isinstance(document, dict):
        raise _Problem(f"the line must be a JSON object, not {json_kind(document)}.")
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key not in COLUMNS:
            raise _Problem(f"unknown key {shown(key)}; {COLUMNS_HINT}.")
        if value is None:
            continue
        if key == "remote_fields":
            if not isinstance(value, dict):
                raise _Problem(f"remote_fields must be an object, not {json_kind(value)}.")
            values[key] = value
            continue
        if not isinstance(value, str):
            raise _Problem(f"{key} must be a string, not {json_kind(value)}.")
        value = value.strip()
        if value:
            values[key] = value
    return values


def _remote_fields_from_text(text: str) -> dict[str, Any]:
    try:
        document = parse_strict_json(text)
    except BadJSON as exc:
        raise _Problem(f"remote_fields is not valid JSON: {exc.detail}.") from None
    if not isinstance(document, dict):
        raise _Problem(f"remote_fields must be a JSON object, not {json_kind(document)}.")
    return document


def _resolve(folder: str, file_text: str) -> str:
    """`file_text` joined to the manifest's folder unless absolute, without a leading "./".

    os.path rather than pathlib: pathlib interns every part of every path it parses.
    """
    if os.path.isabs(file_text):
        return file_text
    while file_text.startswith("./"):
        file_text = file_text[2:].lstrip("/")
    return os.path.join(folder, file_text)


def _exactly_one(columns: tuple[str, ...], present: list[str]) -> str:
    wanted = f"give exactly one of {', '.join(columns)}"
    if not present:
        return f"{wanted}."
    return f"{wanted} (the row has {' and '.join(present)})."


def _check_email(value: str) -> None:
    local, at, domain = value.partition("@")
    if (
        not at
        or not local
        or not domain
        or "@" in domain
        or any(character.isspace() for character in value)
        or _CONTROL_CHARACTERS.search(value)
    ):
        raise _Problem(f"email {shown(value)} is not an email address.")


def _check_url(value: str) -> None:
    problem = _Problem(f"url {shown(value)} is not an http or https URL with a host.")
    if any(character.isspace() for character in value) or _CONTROL_CHARACTERS.search(value):
        raise problem
    try:
        parts = urlsplit(value)
        # Reading the port checks it (a ValueError when it is not a number in range).
        _port = parts.port
    except ValueError:
        raise problem from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise problem


def _lower_first(message: str) -> str:
    """A message from elsewhere made fit to follow "line N: " ("The x" -> "the x")."""
    if len(message) > 1 and message[0].isupper() and not message[1].isupper():
        return message[0].lower() + message[1:]
    return message
