"""Finding attachment.data in an upload body by scanning its bytes, without parsing them.

A body is `{"attachment":{...,"data":"<base64>"},...}` and the base64 may be 130 MB or more,
so it must not be decoded, copied or handed to `json.loads`. The scanner walks the top-level
object and the attachment object only, skipping other values by their brackets and quotes,
and reports where the data string's text lies. It judges nothing else: `upload_body` parses
the rest strictly, so a body the scanner misreads is still rejected there.

`BodyView` gives the same C-speed access to bytes, bytearray, memoryview and mmap.mmap, so a
server can write a request to a temporary file, mmap it and hand the map over.
"""

from __future__ import annotations

import json
import mmap
import re
from typing import Any

_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_LBRACE = ord("{")
_RBRACE = ord("}")
_LBRACKET = ord("[")
_COLON = ord(":")

# Large enough that per-chunk Python overhead vanishes, small enough to keep memory flat.
SCAN_CHUNK = 1 << 20

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

# json.loads stops near the recursion limit (1000 by default) anyway; a fixed limit keeps the
# scan of a huge nest short and the verdict independent of the Python version.
_MAX_DEPTH = 1000

# A key token longer than the fully \u-escaped spelling of "attachment" cannot be a key we
# look for, so it is never decoded.
_MAX_KEY_TOKEN = 2 + 6 * max(len("attachment"), len("data"))


class NotJSON(Exception):
    """The scanner met text that cannot be JSON; json.loads up to `offset` reports why."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class NestedTooDeeply(Exception):
    """Brackets nest deeper than any body needs (and deeper than json.loads could follow)."""


class BodyView:
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
            raise NotJSON(start - 1)
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
            step = min(2 * step, SCAN_CHUNK)
        return count

    def _string_end_by_regex(self, pos: int, opening: int) -> int:
        while True:
            end = _STRING_TAIL.match(self.buf, pos).end()  # type: ignore[union-attr]
            if end >= self.size:
                raise NotJSON(opening)
            if self.buf[end] == _QUOTE:
                return end
            if end == pos:  # a backslash as the very last byte
                raise NotJSON(opening)
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
                    raise NotJSON(self.size)
                pos = match.start()
                if self.buf[pos] == _QUOTE:
                    pos = self.string_end(pos + 1) + 1
                    continue
                depth += 1 if self.buf[pos] in (_LBRACE, _LBRACKET) else -1
                if depth > _MAX_DEPTH:
                    raise NestedTooDeeply
                pos += 1
                if depth == 0:
                    return pos
        match = _SCALAR.match(self.buf, pos)
        if match is None:
            raise NotJSON(pos)
        return match.end()


def _member_head(view: BodyView, pos: int) -> tuple[str | None, int]:
    """Read `"key" :` at `pos`; return the key and where its value starts.

    The key is None when it cannot be one we look for.
    """
    match = _PLAIN_MEMBER_HEAD.match(view.buf, pos)
    if match is not None:
        return _WANTED_KEYS.get(bytes(match.group(1))), match.end()
    if view.byte(pos) != _QUOTE:
        raise NotJSON(pos)
    closing = view.string_end(pos + 1)
    key = view.key_text(pos, closing)
    colon = view.skip_ws(closing + 1)
    if view.byte(colon) != _COLON:
        raise NotJSON(colon)
    return key, view.skip_ws(colon + 1)


def _next_member(view: BodyView, pos: int) -> int | None:
    """After a member's value: where the next key starts, or None at the closing brace."""
    match = _SEPARATOR.match(view.buf, pos)
    if match is None:
        raise NotJSON(view.skip_ws(pos))
    return match.end() if match.group(1) else None


def _data_in_attachment(view: BodyView, pos: int) -> tuple[int, int] | None:
    first_member = view.skip_ws(pos + 1)
    if view.byte(first_member) == _RBRACE:
        return None
    member: int | None = first_member
    while member is not None:
        key, value = _member_head(view, member)
        if key == "data" and view.byte(value) == _QUOTE:
            return value + 1, view.string_end(value + 1)
        member = _next_member(view, view.skip_value(value))
    return None


def find_data_span(view: BodyView, pos: int) -> tuple[int, int] | None:
    """The span of attachment.data's text in the object opening at `pos`, if it is a string.

    A later duplicate of "attachment" or "data" is still searched, so that json.loads can
    reject the duplicate without the whole data string being loaded.
    """
    first_member = view.skip_ws(pos + 1)
    if view.byte(first_member) == _RBRACE:
        return None
    member: int | None = first_member
    while member is not None:
        key, value = _member_head(view, member)
        if key == "attachment" and view.byte(value) == _LBRACE:
            span = _data_in_attachment(view, value)
            if span is not None:
                return span
        member = _next_member(view, view.skip_value(value))
    return None
