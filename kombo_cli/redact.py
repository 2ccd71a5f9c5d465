"""Masking for secrets: what may be shown of an API key, scrubbing it from text, and
shortening what a server says before it is shown."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Kombo keys look like ks_prod_... / ks_dev_...; the prefix tells which environment a key
# belongs to without revealing it, and four trailing characters tell keys apart.
_KNOWN_PREFIXES = ("ks_prod_", "ks_dev_", "ks_test_")
_MIN_LENGTH_TO_SHOW_TAIL = 20


def mask_secret(secret: str) -> str:
    """A form of `secret` that is safe to print: at most its prefix and last four characters."""
    prefix = next((p for p in _KNOWN_PREFIXES if secret.startswith(p)), "")
    if len(secret) >= _MIN_LENGTH_TO_SHOW_TAIL:
        return f"{prefix}…{secret[-4:]}"
    return f"{prefix}…" if prefix else "…"


# Replacing a one- or two-character "key" everywhere would garble every message (and
# could break JSON); a value that short protects nothing and is refused by Kombo anyway.
MIN_SECRET_LENGTH_TO_SCRUB = 6


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in `text` by its masked form."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LENGTH_TO_SCRUB:
            text = text.replace(secret, mask_secret(secret))
    return text


def display_url(url: str) -> str:
    """A URL safe to show: no user:password, and the query (a signed URL's key) elided."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        # A port out of range, a broken IPv6 literal: cut what may be secret by hand.
        head, query_mark, _query = url.partition("?")
        head = head.partition("#")[0]
        scheme, separator, rest = head.partition("://")
        if separator:
            authority, slash, path = rest.partition("/")
            head = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
        return head + ("?…" if query_mark else "")
    shown = urlunsplit((parts.scheme, host, parts.path, "", ""))
    return shown + ("?…" if parts.query else "")


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that may grant access: its query and its password."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    return [value for value in (parts.query, parts.password) if value]


# Kombo's messages are a sentence or two. A server (or a proxy) that echoes the request
# back would otherwise print the file's base64, a whole CV, on the terminal and into logs.
SERVER_TEXT_LIMIT = 300
# 40 characters of base64 are 30 bytes of the file; ids, codes and log links stay shorter.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{40,}")
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f]+")


def _elided(run: re.Match[str]) -> str:
    text = run.group()
    # An API path ("No route matches POST /ats/candidates/<id>/attachments") is made of
    # the same characters, but of short parts between slashes, from a leading slash on.
    if (
        text.startswith("/")
        and len(text) <= 200
        and all(len(part) <= 32 for part in text.split("/"))
    ):
        return text
    return f"<… {len(text)} characters elided>"


def shorten_server_text(text: str, limit: int = SERVER_TEXT_LIMIT) -> str:
    """Text from an answer (a message, title, code, warning or body) fit for one line of
    output: every base64-looking run of 40 characters or more elided, whitespace and
    control characters collapsed, and at most `limit` characters, ending in "…" if cut."""
    elided = _BASE64_RUN.sub(_elided, text)
    collapsed = _BREAKS.sub(" ", elided).strip()
    if len(collapsed) > limit:
        collapsed = collapsed[: limit - 1].rstrip() + "…"
    return collapsed
