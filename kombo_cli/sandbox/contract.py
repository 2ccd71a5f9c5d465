"""The Kombo contract's common ground: ids, timestamps, the error envelope and `Invalid`.

The rules of each request live beside it (attachment_rules for an upload body,
candidate_queries for the candidate search); what they refuse is an `Invalid`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timezone
from typing import Any

# Kombo's ids are 24 characters of this alphabet (no 0, O, I or l).
BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# The document's rule for every id it constrains (attachment `id`, `candidate_id`, ...).
KOMBO_ID_PATTERN = re.compile(r"[1-9A-HJ-NP-Za-km-z]{24}")


class Invalid(Exception):
    """A request Kombo would refuse with PLATFORM.INPUT_INVALID."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def is_kombo_id(value: str) -> bool:
    """Whether `value` could be an id Kombo gave out: 24 characters of base58."""
    return KOMBO_ID_PATTERN.fullmatch(value) is not None


def kombo_id() -> str:
    """A random 24-character base58 id in Kombo's format."""
    return "".join(secrets.choice(BASE58_ALPHABET) for _ in range(24))


def derived_id(kind: str, key: str) -> str:
    """A stable 24-char base58 id for an object a fixture names but gives no id, e.g. a job."""
    number = int.from_bytes(hashlib.sha256(f"{kind}\0{key}".encode()).digest(), "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(BASE58_ALPHABET[remainder])
    return "".join(digits)[:24].ljust(24, BASE58_ALPHABET[0])


def now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def remote_id() -> str:
    return str(secrets.randbelow(900_000_000) + 100_000_000)


def log_url() -> str:
    """A dashboard log link like the ones Kombo puts in error envelopes."""
    return f"https://app.kombo.dev/sandbox/logs?interactionId={kombo_id()}"


def error_envelope(
    message: str, code: str | None = None, title: str | None = None, log_url_value: str | None = ""
) -> dict[str, Any]:
    """Kombo's error envelope. `log_url_value=""` makes a fresh log link; None gives null."""
    return {
        "status": "error",
        "error": {
            "code": code,
            "title": title,
            "message": message,
            "log_url": log_url() if log_url_value == "" else log_url_value,
        },
    }


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
