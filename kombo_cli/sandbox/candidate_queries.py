"""`GET /ats/candidates`: Kombo's filters and cursor pagination over the seeded candidates."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any

from kombo_cli.sandbox.contract import Invalid
from kombo_cli.sandbox.field_checks import parse_timestamp

_LIST_FILTERS = ("ids", "remote_ids", "job_ids")
_TEXT_FILTERS = ("email", "first_name", "last_name", "updated_after")
_BOOLEAN_PARAMETERS = ("include_deleted", "ignore_unsupported_filters")
_PAGING = ("page_size", "cursor")
ALLOWED_PARAMETERS = frozenset(_LIST_FILTERS + _TEXT_FILTERS + _BOOLEAN_PARAMETERS + _PAGING)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 250
# `updated_after` as the document's pattern has it,
# ^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?)?Z?$: a day, then maybe a time, then maybe
# "Z", and no other offset. The pattern is the rule Kombo checks; its `format: date-time`
# alone would also want the time and the offset (docs/sandbox.md). A time without "Z", or
# a day alone, is UTC.
_UPDATED_AFTER = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?Z?", re.ASCII
)
# `format: email`: an RFC 5322 dot-atom address with a dotted domain name. Kombo's own
# pattern for listed addresses is narrower, but the filter is documented by format only.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})+")


def query_candidates(
    candidates: list[dict[str, Any]], query: dict[str, list[str]]
) -> dict[str, Any]:
    """The `data` of one page: `{"next": cursor | None, "results": [...]}`."""
    params = _single_values(query)
    page_size = _page_size(params.get("page_size"))
    include_deleted = _boolean(params, "include_deleted")
    _boolean(params, "ignore_unsupported_filters")
    filters = {key: value for key, value in params.items() if key not in _PAGING}
    if "email" in params and not _EMAIL.fullmatch(params["email"]):
        raise Invalid("'email' must be an email address, like frank.doe@example.com.")
    updated_after = _updated_after(params.get("updated_after"))
    offset = _offset_from_cursor(params.get("cursor"), filters)

    matches = [
        candidate
        for candidate in candidates
        if (include_deleted or not candidate.get("remote_deleted_at"))
        and _matches(candidate, params, candidates)
        and (updated_after is None or _changed_at(candidate) > updated_after)
    ]
    page = matches[offset : offset + page_size]
    next_offset = offset + page_size
    next_cursor = _cursor(next_offset, filters) if next_offset < len(matches) else None
    return {"next": next_cursor, "results": page}


def _single_values(query: dict[str, list[str]]) -> dict[str, str]:
    params = {}
    for key, values in query.items():
        if key not in ALLOWED_PARAMETERS:
            allowed = ", ".join(sorted(ALLOWED_PARAMETERS))
            raise Invalid(f"Unknown query parameter '{key}'; allowed: {allowed}.")
        if len(values) != 1:
            # Kombo encodes lists comma-separated in one parameter, never repeated.
            raise Invalid(f"The query parameter '{key}' was given more than once.")
        params[key] = values[0]
    return params


def _page_size(value: str | None) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise Invalid(f"'page_size' must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    return int(value)


def _boolean(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise Invalid(f"'{name}' must be true or false.")
    return value == "true"


def _updated_after(value: str | None) -> datetime | None:
    if value is None:
        return None
    refusal = Invalid(
        "'updated_after' must be a UTC time like 2026-01-31T12:00:00.000Z (or a day like"
        " 2026-01-31); Kombo takes no offset but Z."
    )
    match = _UPDATED_AFTER.fullmatch(value)
    if match is None:
        raise refusal
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
    if second == 60:
        # RFC 3339 allows a leap second, which datetime cannot hold.
        second = 59
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)
    except ValueError:  # a 31st of April, an hour 24
        raise refusal from None


def _changed_at(candidate: dict[str, Any]) -> datetime:
    text = candidate.get("changed_at") or candidate.get("remote_updated_at") or ""
    return parse_timestamp(text) or datetime.min.replace(tzinfo=timezone.utc)


def _filters_digest(filters: dict[str, str]) -> str:
    canonical = json.dumps(sorted(filters.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _cursor(offset: int, filters: dict[str, str]) -> str:
    raw = json.dumps({"offset": offset, "filters": _filters_digest(filters)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset_from_cursor(cursor: str | None, filters: dict[str, str]) -> int:
    # The document allows any string; an empty one names no position, so it is the start,
    # as a client that builds `cursor=` from an unset value means.
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = decoded["offset"]
        digest = str(decoded["filters"])
        if not isinstance(offset, int):
            raise TypeError("offset")
    except (ValueError, KeyError, TypeError):
        raise Invalid("'cursor' is not a cursor this API returned.") from None
    if digest != _filters_digest(filters):
        raise Invalid("Repeat the same filters on every page when passing 'cursor'.")
    return max(0, offset)


def _split(value: str) -> list[str]:
    return [item for item in value.split(",") if item]


def _matches(
    candidate: dict[str, Any], params: dict[str, str], everyone: list[dict[str, Any]]
) -> bool:
    if "ids" in params:
        wanted = _split(params["ids"])
        known = {c["id"] for c in everyone}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise Invalid(f"No candidate with ID '{unknown[0]}' exists.", status=404)
        if candidate["id"] not in wanted:
            return False
    if "remote_ids" in params and candidate.get("remote_id") not in _split(params["remote_ids"]):
        return False
    if "job_ids" in params:
        jobs = {
            (application.get("job") or {}).get("id")
            for application in candidate.get("applications") or []
        }
        if not jobs & set(_split(params["job_ids"])):
            return False
    if "email" in params:
        wanted_email = params["email"].strip().lower()
        addresses = {
            (entry.get("email_address") or "").lower()
            for entry in candidate.get("email_addresses") or []
        }
        if wanted_email not in addresses:
            return False
    for name in ("first_name", "last_name"):
        if name in params and (candidate.get(name) or "").lower() != params[name].lower():
            return False
    return True
