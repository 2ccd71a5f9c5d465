"""Reading one field of a hand-written candidate, with a message that names the field.

Candidates files are written by people, so each reader checks one field's type and says
what is wrong in words that complete "field X of candidate Y ...". Timestamps are read in
the ISO 8601 forms people type and written back in Kombo's own format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from kombo_cli.strict_json import json_kind

JSONObject = dict[str, Any]


class InvalidField(Exception):
    """One field of a candidate is unusable; `problem` completes "field X of candidate Y ..."."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


def expect_object(
    value: Any, where: str, noun: str, fields: tuple[str, ...], expected: str = "an object"
) -> None:
    if not isinstance(value, dict):
        raise InvalidField(where, f"must be {expected}, not {json_kind(value)}")
    for key in value:
        if key not in fields:
            raise InvalidField(f"{where}.{key}", f"is not a field of a Kombo {noun}")


def read_array(
    item: JSONObject, key: str, where: str, convert: Callable[[Any, str], JSONObject]
) -> list[JSONObject]:
    # Kombo may send null for some of these lists; an empty list is equally valid and simpler.
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidField(where, f"must be an array, not {json_kind(value)}")
    return [convert(element, f"{where}[{index}]") for index, element in enumerate(value)]


def read_required_id(item: JSONObject, key: str, where: str) -> str:
    if key not in item:
        raise InvalidField(where, "is missing")
    value = item[key]
    if not isinstance(value, str):
        raise InvalidField(where, f"must be a string, not {json_kind(value)}")
    if not value.strip():
        raise InvalidField(where, "must not be empty")
    return value


def read_string(item: JSONObject, key: str, where: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if value is None:
        raise InvalidField(where, "is missing" if key not in item else "must be a string, not null")
    if not isinstance(value, str):
        raise InvalidField(where, f"must be a string, not {json_kind(value)}")
    return value


def read_nullable_string(
    item: JSONObject, key: str, where: str, default: str | None = None
) -> str | None:
    value = item.get(key, default)
    if value is not None and not isinstance(value, str):
        raise InvalidField(where, f"must be a string or null, not {json_kind(value)}")
    return value


def read_nullable_bool(
    item: JSONObject, key: str, where: str, default: bool | None = None
) -> bool | None:
    value = item.get(key, default)
    if value is not None and not isinstance(value, bool):
        raise InvalidField(where, f"must be true, false or null, not {json_kind(value)}")
    return value


def read_nullable_object(
    item: JSONObject, key: str, where: str, default: JSONObject | None
) -> JSONObject | None:
    value = item.get(key, default)
    if value is not None and not isinstance(value, dict):
        raise InvalidField(where, f"must be an object or null, not {json_kind(value)}")
    return value


_TIMESTAMP_PATTERN = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?(Z|z|[+-]\d\d:?\d\d)?)?"
)


def read_timestamp(
    item: JSONObject, key: str, where: str, default: str | None = None
) -> str | None:
    value = item.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(
            where, f"must be an ISO 8601 timestamp string or null, not {json_kind(value)}"
        )
    parsed = parse_timestamp(value)
    if parsed is None:
        raise InvalidField(
            where,
            f"must be an ISO 8601 timestamp like 2025-11-03T09:00:00.000Z, not {quoted(value)}",
        )
    return format_timestamp(parsed)


def parse_timestamp(value: str) -> datetime | None:
    """Parse the ISO 8601 forms people write by hand; naive times count as UTC."""
    match = _TIMESTAMP_PATTERN.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(sign * delta)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            microsecond,
            tzinfo=tz,
        )
    except ValueError:
        return None


def format_timestamp(moment: datetime) -> str:
    """Kombo's timestamp format, `YYYY-MM-DDTHH:mm:ss.sssZ` in UTC, which sorts as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def quoted(value: Any) -> str:
    """A value as JSON for a message, shortened when long."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
