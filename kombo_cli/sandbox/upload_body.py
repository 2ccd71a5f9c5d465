"""Validate and take apart an attachment upload body without holding its data in memory.

A body is `{"attachment":{...,"data":"<base64>"},...}` and the base64 may be 130 MB or more.
`parse_body` locates the data string with a small scanner, checks it is a valid JSON string,
and parses everything else with `json.loads` after swapping the data string for a short
placeholder. `decode_base64_span` then checks and decodes the data in bounded chunks.

Both accept bytes, bytearray, memoryview or mmap.mmap, so a server can write a request to a
temporary file, mmap it and hand the map over: memory stays at a few MB whatever the size.
"""

from __future__ import annotations

import binascii
import codecs
import json
import mmap
import re
from dataclasses import dataclass
from typing import Any, BinaryIO

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
_RBRACE = ord("}")
_LBRACKET = ord("[")
_COMMA = ord(",")
_COLON = ord(":")
_EQUALS = ord("=")

# Large enough that per-chunk Python overhead vanishes, small enough to keep memory flat.
_SCAN_CHUNK = 1 << 20

_WHITESPACE = re.compile(rb"[ \t\n\r]*")
_STRUCTURAL = re.compile(rb'["{}\[\]]')
_QUOTE_PATTERN = re.compile(rb'"')
# Most keys have no escapes: reading one with its colon in a single C call makes the scan of
# a body with very many keys several times faster. Other keys take the general path.
_PLAIN_MEMBER_HEAD = re.compile(rb'"([^"\\]{0,64})"[ \t\n\r]*:[ \t\n\r]*')
_WANTED_KEYS = {b"attachment": "attachment", b"data": "data"}
_SEPARATOR = re.compile(rb"[ \t\n\r]*(?:(,)[ \t\n\r]*|\})")
# Every character a number, true, false or null can contain; json.loads judges the details.
_SCALAR = re.compile(rb"[-+.0-9A-Za-z]+")
# The bounded repeats keep the regex engine's backtracking stack small on strings made of
# millions of escapes; callers loop until the match stops making progress.
_STRING_TAIL = re.compile(rb'[^"\\]*(?:\\.[^"\\]*){0,1024}', re.DOTALL)
_STRING_CONTENT = re.compile(
    rb'[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*){0,1024}'
)

# Printable ASCII without '"' and '\': a string made only of these is valid JSON and UTF-8.
_PLAIN_STRING_BYTES = bytes(c for c in range(0x20, 0x7F) if c not in (_QUOTE, _BACKSLASH))
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BASE64_VALUE = {byte: value for value, byte in enumerate(_BASE64_ALPHABET)}

# json.loads stops near the recursion limit (1000 by default) anyway; a fixed limit keeps the
# scan of a huge nest short and the verdict independent of the Python version.
_MAX_DEPTH = 1000
_TOO_DEEP = "The request body is not valid JSON (it is nested too deeply)."

# A key token longer than the fully \u-escaped spelling of "attachment" cannot be a key we
# look for, so it is never decoded.
_MAX_KEY_TOKEN = 2 + 6 * max(len("attachment"), len("data"))


class _Malformed(Exception):
    """The scanner met text that cannot be JSON; json.loads up to `offset` reports why."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class _View:
    """Uniform C-speed access to the four buffer types."""

    def __init__(self, buffer: bytes | bytearray | memoryview | mmap.mmap) -> None:
        if isinstance(buffer, memoryview):
            # memoryview has no find(); regex search works on any byte buffer.
            self.buf: Any = buffer.cast("B")
            search = _QUOTE_PATTERN.search
            buf = self.buf

            def find_quote(pos: int) -> int:
                match = search(buf, pos)
                return -1 if match is None else match.start()

            self.find_quote = find_quote
        elif isinstance(buffer, (bytes, bytearray, mmap.mmap)):
            self.buf = buffer
            find = buffer.find
            self.find_quote = lambda pos: find(b'"', pos)
        else:
            raise TypeError(
                f"expected bytes, bytearray, memoryview or mmap, not {type(buffer).__name__}"
            )
        self.size: int = len(self.buf)

    def byte(self, pos: int) -> int:
        return self.buf[pos] if pos < self.size else -1

    def get(self, start: int, end: int) -> bytes:
        return bytes(self.buf[start:end])

    def skip_ws(self, pos: int) -> int:
        return _WHITESPACE.match(self.buf, pos).end()  # type: ignore[union-attr]

    def string_end(self, start: int) -> int:
        """The offset of the quote closing the string whose text begins at `start`."""
        quote = self.find_quote(start)
        if quote < 0:
            raise _Malformed(start - 1)
        if self.buf[quote - 1] != _BACKSLASH or self._backslashes_before(start, quote) % 2 == 0:
            return quote
        # An escaped quote: the string has escapes, so finding quotes one by one could cost a
        # Python iteration per escape. quote + 1 ends an escape, so a token boundary.
        return self._string_end_by_regex(quote + 1, start - 1)

    def _backslashes_before(self, low: int, high: int) -> int:
        count = 0
        step = 64  # usually a run is one or two backslashes; grow for the odd huge one
        while high > low:
            start = max(low, high - step)
            piece = self.get(start, high)
            run = len(piece) - len(piece.rstrip(b"\\"))
            count += run
            if run < len(piece):
                break
            high = start
            step = min(2 * step, _SCAN_CHUNK)
        return count

    def _string_end_by_regex(self, pos: int, opening: int) -> int:
        while True:
            end = _STRING_TAIL.match(self.buf, pos).end()  # type: ignore[union-attr]
            if end >= self.size:
                raise _Malformed(opening)
            if self.buf[end] == _QUOTE:
                return end
            if end == pos:  # a backslash as the very last byte
                raise _Malformed(opening)
            pos = end

    def key_text(self, opening: int, closing: int) -> str | None:
        """The decoded key between two quotes, or None when it cannot be a key we look for."""
        if closing + 1 - opening > _MAX_KEY_TOKEN:
            return None
        token = self.get(opening, closing + 1)
        try:
            if b"\\" not in token:
                return token[1:-1].decode("utf-8")  # json.loads costs much more per key
            key = json.loads(token.decode("utf-8"))
        except ValueError:
            return None  # json.loads of the whole body will report it
        return key if isinstance(key, str) else None

    def skip_value(self, pos: int) -> int:
        """The offset just past the JSON value starting at `pos`."""
        first = self.byte(pos)
        if first == _QUOTE:
            return self.string_end(pos + 1) + 1
        if first in (_LBRACE, _LBRACKET):
            # Bracket kinds are not matched: a valid body is counted right, and an invalid
            # one is rejected by json.loads, which sees everything outside the data string.
            depth = 0
            while True:
                match = _STRUCTURAL.search(self.buf, pos)
                if match is None:
                    raise _Malformed(self.size)
                pos = match.start()
                if self.buf[pos] == _QUOTE:
                    pos = self.string_end(pos + 1) + 1
                    continue
                depth += 1 if self.buf[pos] in (_LBRACE, _LBRACKET) else -1
                if depth > _MAX_DEPTH:
                    raise BodyError(_TOO_DEEP)
                pos += 1
                if depth == 0:
                    return pos
        match = _SCALAR.match(self.buf, pos)
        if match is None:
            raise _Malformed(pos)
        return match.end()


def _member_head(view: _View, pos: int) -> tuple[str | None, int]:
    """Read `"key" :` at `pos`; return the key and where its value starts.

    The key is None when it cannot be one we look for.
    """
    match = _PLAIN_MEMBER_HEAD.match(view.buf, pos)
    if match is not None:
        return _WANTED_KEYS.get(bytes(match.group(1))), match.end()
    if view.byte(pos) != _QUOTE:
        raise _Malformed(pos)
    closing = view.string_end(pos + 1)
    key = view.key_text(pos, closing)
    colon = view.skip_ws(closing + 1)
    if view.byte(colon) != _COLON:
        raise _Malformed(colon)
    return key, view.skip_ws(colon + 1)


def _next_member(view: _View, pos: int) -> int | None:
    """After a member's value: where the next key starts, or None at the closing brace."""
    match = _SEPARATOR.match(view.buf, pos)
    if match is None:
        raise _Malformed(view.skip_ws(pos))
    return match.end() if match.group(1) else None


def _data_in_attachment(view: _View, pos: int) -> tuple[int, int] | None:
    member: int | None = view.skip_ws(pos + 1)
    if view.byte(member) == _RBRACE:
        return None
    while member is not None:
        key, value = _member_head(view, member)
        if key == "data" and view.byte(value) == _QUOTE:
            return value + 1, view.string_end(value + 1)
        member = _next_member(view, view.skip_value(value))
    return None


def _locate_data(view: _View, pos: int) -> tuple[int, int] | None:
    """The span of attachment.data's text in the object opening at `pos`, if it is a string.

    A later duplicate of "attachment" or "data" is still searched, so that json.loads can
    reject the duplicate without the whole data string being loaded.
    """
    member: int | None = view.skip_ws(pos + 1)
    if view.byte(member) == _RBRACE:
        return None
    while member is not None:
        key, value = _member_head(view, member)
        if key == "attachment" and view.byte(value) == _LBRACE:
            span = _data_in_attachment(view, value)
            if span is not None:
                return span
        member = _next_member(view, view.skip_value(value))
    return None


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
    back to the original body (token_at: where the replacement starts in `text`)."""
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
        )
    except BodyError:
        raise
    except json.JSONDecodeError as exc:
        column = exc.colno
        # Neither the placeholder nor a valid data string holds a line break, so only the
        # column of an error after the token on the token's own line moves.
        after_token = token_at + token_chars
        if token_at >= 0 and exc.pos >= after_token and text.find("\n", after_token, exc.pos) < 0:
            column += original_chars - token_chars
        # Some messages, like "Unterminated string starting at", expect a position after them.
        reason = exc.msg[:-3] if exc.msg.endswith(" at") else exc.msg
        raise BodyError(
            f"The request body is not valid JSON ({reason} at line {exc.lineno}, column {column})."
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


def _check_data_string(view: _View, start: int, end: int) -> int:
    """Check the data text is a valid JSON string body; return its length in characters."""
    for chunk_start in range(start, end, _SCAN_CHUNK):
        if view.get(chunk_start, min(chunk_start + _SCAN_CHUNK, end)).translate(
            None, _PLAIN_STRING_BYTES
        ):
            break
    else:
        return end - start
    # Not plain ASCII, so not base64 either; still tell bad JSON from merely bad base64.
    decoder = codecs.getincrementaldecoder("utf-8")()
    characters = 0
    try:
        for chunk_start in range(start, end, _SCAN_CHUNK):
            chunk_end = min(chunk_start + _SCAN_CHUNK, end)
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
    view = _View(buffer)
    opening = view.skip_ws(0)
    if opening >= view.size:
        raise BodyError("The request body is empty.")
    if view.byte(opening) != _LBRACE:
        # Rejected before any loading, so a huge top-level array costs nothing.
        raise BodyError("The request body must be a JSON object.")
    try:
        span = _locate_data(view, opening)
    except _Malformed as exc:
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


def _unexpected(byte: int, offset: int) -> BodyError:
    if byte == _BACKSLASH:
        what = "a JSON escape sequence"
    elif byte == _EQUALS:
        what = "padding '=' before the end"
    elif byte in b"-_":
        what = f"the URL-safe character '{chr(byte)}'"
    elif byte == 0x20:
        what = "a space"
    elif 0x20 < byte < 0x7F:
        what = f"the character '{chr(byte)}'"
    else:
        what = f"the byte 0x{byte:02X}"
    return BodyError(f"The attachment data is not valid base64 ({what} at offset {offset}).")


def _check_alphabet(piece: bytes, offset: int, alphabet: bytes) -> None:
    strays = piece.translate(None, alphabet)
    if strays:
        first = min(piece.find(bytes((byte,))) for byte in set(strays))
        raise _unexpected(piece[first], offset + first)


def decode_base64_span(
    buffer: bytes | bytearray | memoryview | mmap.mmap,
    span: tuple[int, int],
    sink: BinaryIO,
    chunk_chars: int = 4 * 256 * 1024,
) -> int:
    """Decode strict RFC 4648 base64 from buffer[span] into `sink`; return the bytes written.

    Raises BodyError on the first problem. Chunks before it have already been written, so
    discard the sink's content on error.
    """
    if chunk_chars <= 0 or chunk_chars % 4:
        raise ValueError("chunk_chars must be a positive multiple of 4")
    view = _View(buffer)
    start, end = span
    if not 0 <= start <= end <= view.size:
        raise ValueError(f"span {span!r} is outside a buffer of {view.size} bytes")
    length = end - start
    if length == 0:
        raise BodyError("The attachment data is empty.")
    if length % 4:
        # A stray character explains more than the length does, and costs no decoding.
        for chunk_start in range(start, end, _SCAN_CHUNK):
            piece = view.get(chunk_start, min(chunk_start + _SCAN_CHUNK, end))
            _check_alphabet(piece, chunk_start - start, _BASE64_ALPHABET + b"=")
        raise BodyError(
            f"The attachment data is not valid base64 (its length, {length} characters, "
            "is not a multiple of 4)."
        )
    written = 0
    for chunk_start in range(start, end, chunk_chars):
        chunk_end = min(chunk_start + chunk_chars, end)
        chunk = view.get(chunk_start, chunk_end)
        offset = chunk_start - start
        padding = len(chunk) - len(chunk.rstrip(b"=")) if chunk_end == end else 0
        if padding > 2:
            raise BodyError(
                "The attachment data is not valid base64 (more than two padding characters "
                f"at offset {length - padding})."
            )
        body = chunk[: len(chunk) - padding] if padding else chunk
        _check_alphabet(body, offset, _BASE64_ALPHABET)
        if padding:
            # The bits the padding leaves unused must be zero: "QR==" is not a canonical
            # encoding of any byte string, and Kombo's decoder may not accept it.
            unused_bits = 0x0F if padding == 2 else 0x03
            if _BASE64_VALUE[body[-1]] & unused_bits:
                raise BodyError(
                    "The attachment data is not valid base64 (non-zero padding bits at "
                    f"offset {offset + len(body) - 1})."
                )
        # Already validated, so the lenient decoder gives exactly the strict result.
        decoded = binascii.a2b_base64(chunk)
        sink.write(decoded)
        written += len(decoded)
    return written
