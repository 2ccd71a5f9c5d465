"""The Kombo contract as the sandbox enforces it: envelopes, ids and the attachment body rules.

Strict wherever Kombo documents a rule, and stricter where its leniency is unknown: a
lenient stand-in would hide client bugs.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

# Kombo's ids are 24 characters of this alphabet (no 0, O, I or l).
BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ATTACHMENT_TYPES = ("CV", "COVER_LETTER", "OTHER")
ORACLE_DOCUMENT_CATEGORIES = (
    "IRC_CANDIDATE_RESUME",
    "IRC_CANDIDATE_COVERLETTER",
    "MISC",
    "IRC_INTERNAL",
)
CONTENT_TYPE_PATTERN = re.compile(r"[\w.-]+/[\w.-]+", re.ASCII)


class Invalid(Exception):
    """A request Kombo would refuse with PLATFORM.INPUT_INVALID."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


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


@dataclass(frozen=True)
class AttachmentRequest:
    """A validated attachment body. `has_data` means the bytes still have to be decoded."""

    name: str
    type: str
    content_type: str | None
    has_data: bool
    data_url: str | None
    remote_fields: dict[str, Any] | None


def validate_attachment_document(
    kind: str, document: Any, data_placeholder: str
) -> AttachmentRequest:
    """Check a parsed body against the documented schema; raise Invalid naming the problem.

    The base64 `data` itself is checked while it is decoded; here it is `data_placeholder`.
    """
    if not isinstance(document, dict):
        raise Invalid("The request body must be a JSON object.")
    for key in document:
        if key not in ("attachment", "remote_fields"):
            raise Invalid(
                f"Unknown field '{key}' in the request body; allowed fields: "
                "attachment, remote_fields."
            )
    if "attachment" not in document:
        raise Invalid("Missing required field 'attachment'.")
    attachment = _expect_object(document["attachment"], "attachment")
    _check_keys(attachment, "attachment", ("name", "type", "content_type", "data_url", "data"))

    _check_text(document, "body")
    name = attachment.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("'attachment.name' is required and must be a non-empty string.")
    attachment_type = attachment.get("type")
    if attachment_type not in ATTACHMENT_TYPES:
        raise Invalid(f"'attachment.type' must be one of {', '.join(ATTACHMENT_TYPES)}.")

    has_data = "data" in attachment
    has_data_url = "data_url" in attachment
    if has_data and has_data_url:
        raise Invalid(
            "Provide exactly one of 'attachment.data' and 'attachment.data_url', not both."
        )
    if not has_data and not has_data_url:
        raise Invalid(
            "Provide exactly one of 'attachment.data' and 'attachment.data_url'; neither was given."
        )

    content_type: str | None = None
    data_url: str | None = None
    if has_data:
        if attachment["data"] != data_placeholder:
            raise Invalid("'attachment.data' must be a string.")
        if "content_type" not in attachment:
            raise Invalid("'attachment.content_type' is required when 'attachment.data' is used.")
        content_type = _check_content_type(attachment["content_type"])
    else:
        data_url = _check_data_url(attachment["data_url"])
        if "content_type" in attachment:
            content_type = _check_content_type(attachment["content_type"])

    remote_fields: dict[str, Any] | None = None
    if "remote_fields" in document:
        remote_fields = _check_remote_fields(kind, document["remote_fields"])
    return AttachmentRequest(name, attachment_type, content_type, has_data, data_url, remote_fields)


def _check_text(value: Any, where: str) -> None:
    """Every string must be real text: JSON allows lone surrogate escapes ("\\ud800"),
    which no file system or UTF-8 response can carry."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid(f"'{where}' contains an unpaired UTF-16 surrogate escape.") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where)
            _check_text(item, f"{where}.{key}" if where != "body" else key)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, where)


def _check_keys(value: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
    for key in value:
        if key not in allowed:
            raise Invalid(f"Unknown field '{where}.{key}'; allowed fields: {', '.join(allowed)}.")


def _expect_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"'{where}' must be an object.")
    return value


def _expect_string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"'{where}' must be a string.")
    return value


def _check_content_type(value: Any) -> str:
    content_type = _expect_string(value, "attachment.content_type")
    if not CONTENT_TYPE_PATTERN.fullmatch(content_type):
        raise Invalid(
            f"'attachment.content_type' must match ^[\\w.-]+\\/[\\w.-]+$, got {content_type!r}."
        )
    # Kombo's docs forbid the generic type: the ATS needs the real one to show the file.
    if content_type.lower() == "application/octet-stream":
        raise Invalid(
            "'attachment.content_type' must be the file's real MIME type, "
            "not application/octet-stream."
        )
    return content_type


def _check_data_url(value: Any) -> str:
    data_url = _expect_string(value, "attachment.data_url")
    refusal = Invalid(f"'attachment.data_url' must be an absolute http(s) URL, got {data_url!r}.")
    try:
        parts = urlsplit(data_url)
        hostname = parts.hostname
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
        raise refusal from None
    if parts.scheme not in ("http", "https") or not hostname or any(c.isspace() for c in data_url):
        raise refusal
    return data_url


def _check_remote_fields(kind: str, value: Any) -> dict[str, Any]:
    remote_fields = _expect_object(value, "remote_fields")
    allowed: tuple[str, ...] = ("greenhouse", "workable")
    if kind == "application":
        allowed = ("oracle", *allowed)
    _check_keys(remote_fields, "remote_fields", allowed)

    if "greenhouse" in remote_fields:
        greenhouse = _expect_object(remote_fields["greenhouse"], "remote_fields.greenhouse")
        _check_keys(greenhouse, "remote_fields.greenhouse", ("post_headers",))
        if "post_headers" in greenhouse:
            where = "remote_fields.greenhouse.post_headers"
            post_headers = _expect_object(greenhouse["post_headers"], where)
            _check_keys(post_headers, where, ("On-Behalf-Of",))
            on_behalf_of = post_headers.get("On-Behalf-Of")
            if on_behalf_of is not None and not isinstance(on_behalf_of, str):
                raise Invalid(f"'{where}.On-Behalf-Of' must be a string or null.")

    if "workable" in remote_fields:
        where = "remote_fields.workable"
        workable = _expect_object(remote_fields["workable"], where)
        _check_keys(workable, where, ("on_behalf_of_user_remote_id",))
        if "on_behalf_of_user_remote_id" in workable:
            _expect_string(
                workable["on_behalf_of_user_remote_id"], f"{where}.on_behalf_of_user_remote_id"
            )

    if "oracle" in remote_fields:
        where = "remote_fields.oracle"
        oracle = _expect_object(remote_fields["oracle"], where)
        _check_keys(
            oracle, where, ("override_document_category", "multi_post_to_all_current_applications")
        )
        category = oracle.get("override_document_category")
        if "override_document_category" in oracle and category not in ORACLE_DOCUMENT_CATEGORIES:
            raise Invalid(
                f"'{where}.override_document_category' must be one of "
                f"{', '.join(ORACLE_DOCUMENT_CATEGORIES)}."
            )
        multi_post = oracle.get("multi_post_to_all_current_applications")
        if "multi_post_to_all_current_applications" in oracle and not isinstance(multi_post, bool):
            raise Invalid(f"'{where}.multi_post_to_all_current_applications' must be a boolean.")
    return remote_fields
