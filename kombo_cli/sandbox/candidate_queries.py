"""`GET /ats/candidates`: Kombo's filters and cursor pagination over the seeded candidates."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from kombo_cli.sandbox.contract import Invalid

_LIST_FILTERS = ("ids", "remote_ids", "job_ids")
_TEXT_FILTERS = ("email", "first_name", "last_name", "updated_after")
_BOOLEAN_PARAMETERS = ("include_deleted", "ignore_unsupported_filters")
_PAGING = ("page_size", "cursor")
ALLOWED_PARAMETERS = frozenset(_LIST_FILTERS + _TEXT_FILTERS + _BOOLEAN_PARAMETERS + _PAGING)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 250
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")


def query_candidates(
    candidates: list[dict[str, Any]], query: dict[str, list[str]]
) -> dict[str, Any]:
    """The `data` of one page: `{"next": cursor | None, "results": [...]}`."""
    params = _single_values(query)
    page_size = _page_size(params.get("page_size"))
    include_deleted = _boolean(params, "include_deleted")
    _boolean(params, "ignore_unsupported_filters")
    filters = {key: value for key, value in params.items() if key not in _PAGING}
    offset = _offset_from_cursor(params.get("cursor"), filters)

    matches = [
        candidate
        for candidate in candidates
        if (include_deleted or not candidate.get("remote_deleted_at"))
        and _matches(candidate, params, candidates)
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


def _filters_digest(filters: dict[str, str]) -> str:
    canonical = json.dumps(sorted(filters.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _cursor(offset: int, filters: dict[str, str]) -> str:
    raw = json.dumps({"offset": offset, "filters": _filters_digest(filters)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset_from_cursor(cursor: str | None, filters: dict[str, str]) -> int:
    if cursor is None:
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
    if "updated_after" in params:
        if not _TIMESTAMP.fullmatch(params["updated_after"]):
            raise Invalid("'updated_after' must look like 2026-01-31T12:00:00.000Z.")
        changed = candidate.get("changed_at") or candidate.get("remote_updated_at") or ""
        # ISO-8601 timestamps in UTC with the same shape compare correctly as text.
        if changed <= params["updated_after"]:
            return False
    return True
