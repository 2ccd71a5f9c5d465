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
        raise BadJSON(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeEncodeError:
        raise BadJSON("a string is not valid Unicode text (lone surrogate)") from None
    except RecursionError:
        raise BadJSON("it is nested too deeply") from None
    return value
