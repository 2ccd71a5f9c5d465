"""Answers that mean the base URL is wrong, and the hint that says how to fix it.

Every Kombo path sits under /v1 (https://api.kombo.dev/v1/ats/...). A base URL without it
reaches Kombo but no route, and a wrong host answers 404 with a page of its own. Neither
says anything about the candidate or the file, so they are told apart from a 404 for an
unknown ID (which carries Kombo's envelope and names the ID) and reported as a setting
to fix.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from kombo_cli.redact import display_url

KOMBO_EXAMPLE = "https://api.kombo.dev/v1"

# How servers word "this path is no route of mine": the sandbox and Rails ("No route
# matches ..."), Fastify ("Route POST:/x not found"), Express ("Cannot POST /x").
_NO_ROUTE = re.compile(
    r"\bno route\b|\broute\b[^.]{0,200}\bnot found\b|^\s*cannot (?:get|post|put|patch|delete) /",
    re.IGNORECASE,
)


def says_no_route(message: str | None) -> bool:
    """Whether an error message says the path itself is unknown."""
    return bool(message) and _NO_ROUTE.search(message or "") is not None


def base_url_hint(base_url: str) -> str:
    """What to do about the base URL: add /v1 when it is missing, else check the host."""
    shown = display_url(base_url).rstrip("/")
    try:
        path = urlsplit(base_url).path.rstrip("/")
    except ValueError:
        path = ""
    where = "KOMBO_BASE_URL or --base-url"
    if not path:
        return f"the base URL must end in /v1: use {shown}/v1 ({where}), as in {KOMBO_EXAMPLE}"
    if not path.lower().endswith("/v1"):
        return f"the base URL {shown} must end in /v1, e.g. {KOMBO_EXAMPLE} ({where})"
    return (
        f"check the base URL {shown} ({where}, or --region): it must be Kombo's API,"
        f" e.g. {KOMBO_EXAMPLE}"
    )
