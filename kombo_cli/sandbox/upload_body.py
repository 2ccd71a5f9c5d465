"""Validate and take apart an attachment upload body without holding its data in memory.

A body is `{"attachment":{...,"data":"<base64>"},...}` and the base64 may be 130 MB or more.
`parse_body` locates the data string with `body_scanner`, checks it is a valid JSON string,
and parses everything else with `json.loads` after swapping the data string for a short
placeholder. `base64_decoder.decode_base64_span` then checks and decodes the data in
bounded chunks.

JSON syntax errors are worded by `kombo_cli.strict_json`, the same on every Python, with
their line and column in the body as the client sent it.

`parse_body` accepts bytes, bytearray, memoryview or mmap.mmap, so a server can write a
request to a temporary file, mmap it and hand the map over: memory stays at a few MB
whatever the size.
"""

from __future__ import annotations

import codecs
import json
import mmap
import re
from dataclasses import dataclass
from typing import Any

from kombo_cli.sandbox.body_scanner import (
    SCAN_CHUNK,
    BodyView,
    NestedTooDeeply,
    NotJSON,
    find_data_span,
)
from kombo_cli.strict_json import json_error_position, line_and_column

# NUL cannot appear unescaped in JSON nor at all in base64, so no body can smuggle this in
# as valid data: if a client sends it escaped, its span holds backslashes and fails to decode.
DATA_PLACEHOLDER = "\x00kombo-sandbox-data\x00"


class BodyError(ValueError):
    """The body is not acceptable; str(exc) is one sentence for Kombo's PLATFORM.INPUT_INVALID."""


@dataclass(frozen=True)
class ParsedBody:
    """The body with attachment.data, when it is a string, replaced by DATA_PLACEHOLDER."""

    document: Any
    # [start, end) of the data string's text between its quotes; None when attachment.data
    # is absent or not a string.
    data_span: tuple[int, int] | None


_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_LBRACE = ord("{")

# The text of a JSON string: no raw quote, backslash or control character outside an escape.
# The bounded repeat keeps the regex engine's backtracking stack small on strings made of
# millions of escapes; the caller loops until the match stops making progress.
_STRING_CONTENT = re.compile(
    rb'[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*){0,1024}'
)

# Printable ASCII without '"' and '\': a string made only of these is valid JSON and UTF-8.
_PLAIN_STRING_BYTES = bytes(c for c in range(0x20, 0x7F) if c not in (_QUOTE, _BACKSLASH))

_TOO_DEEP = "The request body is not valid JSON (it is nested too deeply)."


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            shown = json.dumps(key, ensure_ascii=False)
            if len(shown) > 60:
                shown = shown[:57] + '..."'
            raise BodyError(f"The request body is not valid JSON (duplicate key {shown}).")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise BodyError(f"The request body is not valid JSON ({name} is not a JSON value).")


def _decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("The request body is not valid UTF-8.") from None


def _loads(text: str, token_at: int = -1, token_chars: int = 0, original_chars: int = 0) -> Any:
    """json.loads with the strict hooks; error positions after a replaced token are mapped
    back to the original body (token_at: where the replacement starts in `text`; the token
    is token_chars long and stands for original_chars characters)."""
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
        )
    except BodyError:
        raise
    except json.JSONDecodeError as exc:
        # In kombo's words, not Python's: those change between versions (3.13 reworded
        # trailing commas), and a stand-in's answers must not.
        what, position = json_error_position(exc)
        line, column = line_and_column(text, position)
        # Neither the placeholder nor a valid data string holds a line break, so only the
        # column of an error after the token on the token's own line moves.
        after_token = token_at + token_chars
        if token_at >= 0 and position >= after_token and text.find("\n", after_token, position) < 0:
            column += original_chars - token_chars
        raise BodyError(
            f"The request body is not valid JSON ({what} at line {line}, column {column})."
        ) from None
    except RecursionError:
        raise BodyError(_TOO_DEEP) from None
    except ValueError as exc:
        # int() refuses numbers with thousands of digits (Python 3.11+).
        if "integer string conversion" in str(exc):
            raise BodyError("The request body contains a number with too many digits.") from None
        raise BodyError("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise BodyError("The request body must be a JSON object.")
    return document


def _check_data_string(view: BodyView, start: int, end: int) -> int:
    """Check the data text is a valid JSON string body; return its length in characters."""
    for chunk_start in range(start, end, SCAN_CHUNK):
        if view.get(chunk_start, min(chunk_start + SCAN_CHUNK, end)).translate(
            None, _PLAIN_STRING_BYTES
        ):
            break
    else:
        return end - start
    # Not plain ASCII, so not base64 either; still tell bad JSON from merely bad base64.
    decoder = codecs.getincrementaldecoder("utf-8")()
    characters = 0
    try:
        for chunk_start in range(start, end, SCAN_CHUNK):
            chunk_end = min(chunk_start + SCAN_CHUNK, end)
            text = decoder.decode(view.get(chunk_start, chunk_end), final=chunk_end == end)
            characters += len(text)
    except UnicodeDecodeError:
        raise BodyError("The request body is not valid UTF-8.") from None
    pos = start
    while pos < end:
        reached = _STRING_CONTENT.match(view.buf, pos, end).end()  # type: ignore[union-attr]
        if reached == pos:
            raise BodyError(
                "The request body is not valid JSON (invalid character or escape in "
                f"attachment.data at byte offset {pos})."
            )
        pos = reached
    return characters


# Everything but the base64 is small in any real upload; past this, a body is an attack on
# the sandbox's memory (a 100 MB `name` would be loaded whole), not an attachment.
MAX_BYTES_OUTSIDE_DATA = 1024 * 1024


def _too_large() -> BodyError:
    return BodyError(
        "Everything in the request body except 'attachment.data' must fit in"
        f" {MAX_BYTES_OUTSIDE_DATA // 1024} KiB."
    )


def parse_body(buffer: bytes | bytearray | memoryview | mmap.mmap) -> ParsedBody:
    """Validate a strict JSON object body and set its attachment data string aside.

    Raises BodyError for anything that is not a UTF-8 JSON object without duplicate keys,
    NaN or Infinity. The data string is checked to be a valid JSON string, not base64.
    """
    view = BodyView(buffer)
    opening = view.skip_ws(0)
    if opening >= view.size:
        raise BodyError("The request body is empty.")
    if view.byte(opening) != _LBRACE:
        # Rejected before any loading, so a huge top-level array costs nothing.
        raise BodyError("The request body must be a JSON object.")
    try:
        span = find_data_span(view, opening)
    except NestedTooDeeply:
        raise BodyError(_TOO_DEEP) from None
    except NotJSON as exc:
        # json.loads reads left to right, so the body up to the bad byte fails with the same
        # first error as the whole body would, without loading what follows.
        _loads(_decode_utf8(view.get(0, min(exc.offset + 1, view.size))))
        span = None  # only reached if the scanner was wrong; the whole body decides
    if span is None:
        if view.size > MAX_BYTES_OUTSIDE_DATA:
            raise _too_large()
        return ParsedBody(_loads(_decode_utf8(view.get(0, view.size))), None)
    start, end = span
    if view.size - (end - start) > MAX_BYTES_OUTSIDE_DATA:
        raise _too_large()
    prefix = _decode_utf8(view.get(0, start - 1))
    data_chars = _check_data_string(view, start, end)
    suffix = _decode_utf8(view.get(end + 1, view.size))
    token = json.dumps(DATA_PLACEHOLDER)
    document = _loads(prefix + token + suffix, len(prefix), len(token), data_chars + 2)
    return ParsedBody(document, span)
