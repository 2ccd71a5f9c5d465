"""Strict JSON for values that end up in a request body, and how messages name them.

Python's json module accepts NaN and Infinity, lets a key repeat (the last one wins), and
decodes lone surrogates that cannot be sent as UTF-8. Values given on the command line or
in a manifest go into Kombo's JSON body, so they are held to standard JSON here, with a
reason a person can act on.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Arguments are quoted in messages with repr (one line, control characters escaped) and cut
# to this length so a long JSON argument does not swamp the message.
_MAX_SHOWN = 60
# Python's default limit on int <-> str conversions (sys.int_info.default_max_str_digits).
_MAX_INT_DIGITS = 4300


class BadJSON(Exception):
    """JSON text that is not standard JSON; `detail` completes 'is not valid JSON: ...'."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def shown(text: str) -> str:
    """`text` quoted for a one-line message, shortened when long."""
    if len(text) > _MAX_SHOWN:
        return repr(text[: _MAX_SHOWN - 3] + "...")
    return repr(text)


def json_kind(value: Any) -> str:
    """How a JSON value is named in messages: 'a string', 'an array', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _reject_constant(name: str) -> Any:
    raise BadJSON(f"{name} is not standard JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        # float("1e400") is inf, which json.dumps would write as the non-standard Infinity.
        raise BadJSON(f"the number {shown(text)} is too large")
    return number


def _bounded_int(text: str) -> int:
    # Recent Pythons refuse to convert more digits than this (to and from text), so the
    # same limit applies on every version; no ATS field needs such a number.
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise BadJSON("a number has too many digits")
    return int(text)


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadJSON(f"the key {shown(key)} appears twice in one object")
        result[key] = value
    return result


# Python's own wording of JSON syntax errors, and ours. Its wording is not part of any
# contract (Python 3.13 reworded trailing commas), so messages never pass it on.
_SYNTAX_ERRORS = (
    ("Expecting value", "a value is missing"),
    ("Expecting property name enclosed in double quotes", "a key in double quotes is missing"),
    ("Expecting ':' delimiter", "a ':' is missing after a key"),
    ("Expecting ',' delimiter", "a ',' or a closing bracket is missing"),
    ("Extra data", "more text follows the JSON value"),
    ("Unterminated string", "a string is not closed"),
    ("Invalid control character", "a string holds a raw control character"),
    ("Invalid \\uXXXX escape", "a string holds an invalid \\u escape"),
    ("Invalid \\escape", "a string holds an invalid escape"),
)
_WHITESPACE = " \t\n\r"


def json_error_position(exc: json.JSONDecodeError) -> tuple[str, int]:
    """Our description of a JSON syntax error, and the offset in the text it points at.

    The same on every Python: a trailing comma is reported at the closing bracket after
    it, as Pythons before 3.13 did.
    """
    text, position = exc.doc, exc.pos
    comma = position - 1
    while comma >= 0 and text[comma] in _WHITESPACE:
        comma -= 1
    if text[position : position + 1] == ",":
        # Python 3.13 points at the comma itself.
        comma, position = position, position + 1
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
    before_comma = comma - 1
    while before_comma >= 0 and text[before_comma] in _WHITESPACE:
        before_comma -= 1
    closing = text[position : position + 1]
    if (
        closing in ("]", "}")
        and comma >= 0
        and text[comma] == ","
        and text[before_comma : before_comma + 1] not in ("[", "{", "")
    ):
        return f"a trailing comma before {closing!r}", position
    for python_wording, ours in _SYNTAX_ERRORS:
        if exc.msg.startswith(python_wording):
            return ours, exc.pos
    return "the text is not JSON", exc.pos


def line_and_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of an offset, counted as Python's json module counts them."""
    line = text.count("\n", 0, position) + 1
    return line, position - text.rfind("\n", 0, position)


def describe_json_error(exc: json.JSONDecodeError) -> str:
    """'<what is wrong> at line L column C', in our words."""
    what, position = json_error_position(exc)
    line, column = line_and_column(exc.doc, position)
    return f"{what} at line {line} column {column}"


def parse_strict_json(text: str) -> Any:
    """Parse standard JSON that can be sent as UTF-8; raise BadJSON saying why not."""
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            object_pairs_hook=_object_without_duplicates,
        )
        # A "\ud800" escape decodes to a lone surrogate, which cannot be sent as UTF-8.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as exc:
        raise BadJSON(describe_json_error(exc)) from None
    except UnicodeEncodeError:
        raise BadJSON("a string is not valid Unicode text (lone surrogate)") from None
    except RecursionError:
        raise BadJSON("it is nested too deeply") from None
    return value
