"""The rules an attachment upload body must meet, as Kombo documents them.

Strict wherever Kombo's OpenAPI document or its docs state a rule. Where they are silent
the sandbox decides case by case (docs/sandbox.md lists each decision): a field the schema
allows but does not name is accepted and named in the reply's `warnings`, so a typo shows
without a body Kombo would take being refused.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kombo_cli.sandbox.contract import Invalid

ATTACHMENT_TYPES = ("CV", "COVER_LETTER", "OTHER")
ORACLE_DOCUMENT_CATEGORIES = (
    "IRC_CANDIDATE_RESUME",
    "IRC_CANDIDATE_COVERLETTER",
    "MISC",
    "IRC_INTERNAL",
)
CONTENT_TYPE_PATTERN = re.compile(r"[\w.-]+/[\w.-]+", re.ASCII)


@dataclass(frozen=True)
class AttachmentRequest:
    """A validated attachment body. `has_data` means the bytes still have to be decoded."""

    name: str
    type: str
    content_type: str | None
    has_data: bool
    data_url: str | None
    remote_fields: dict[str, Any] | None
    # Fields the body carried that Kombo does not document for this endpoint, as dotted
    # paths ("candidate_id", "remote_fields.bamboohr"): accepted, and named in `warnings`.
    ignored: tuple[str, ...] = ()


def validate_attachment_document(
    kind: str, document: Any, data_placeholder: str
) -> AttachmentRequest:
    """Check a parsed body against the documented schema; raise Invalid naming the problem.

    The base64 `data` itself is checked while it is decoded; here it is `data_placeholder`.
    """
    if not isinstance(document, dict):
        raise Invalid("The request body must be a JSON object.")
    ignored: list[str] = []
    # The schema allows other keys; Kombo's own docs example sends `candidate_id` here.
    _note_undocumented(document, "", ("attachment", "remote_fields"), ignored)
    if "attachment" not in document:
        raise Invalid("Missing required field 'attachment'.")
    attachment = _expect_object(document["attachment"], "attachment")
    _note_undocumented(
        attachment, "attachment.", ("name", "type", "content_type", "data_url", "data"), ignored
    )

    _check_text(document, "body")
    name = attachment.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("'attachment.name' is required and must be a non-empty string.")
    attachment_type = attachment.get("type")
    if attachment_type not in ATTACHMENT_TYPES:
        raise Invalid(f"'attachment.type' must be one of {', '.join(ATTACHMENT_TYPES)}.")

    # The schema makes both optional; Kombo's field descriptions say one of them must be
    # given, and its guide says never both (which one would Kombo store?).
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
        data_url = check_data_url(attachment["data_url"])
        if "content_type" in attachment:
            content_type = _check_content_type(attachment["content_type"])

    remote_fields: dict[str, Any] | None = None
    if "remote_fields" in document:
        remote_fields = check_remote_fields(kind, document["remote_fields"], ignored)
    return AttachmentRequest(
        name, attachment_type, content_type, has_data, data_url, remote_fields, tuple(ignored)
    )


def ignored_field_warning(path: str) -> str:
    """The `warnings` message for a field the sandbox accepted without using it."""
    hint = ""
    if path == "remote_fields.oracle":
        hint = " (Kombo documents Oracle's fields for applications only)"
    elif path in ("candidate_id", "application_id"):
        hint = " (the path names the target)"
    if len(path) > 80:
        path = path[:77] + "..."
    return f"Ignored '{path}': Kombo does not document it for this endpoint{hint}."


def _note_undocumented(
    value: dict[str, Any], prefix: str, documented: tuple[str, ...], ignored: list[str]
) -> None:
    ignored.extend(f"{prefix}{key}" for key in value if key not in documented)


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


# RFC 3986's characters, the `format: uri` of `data_url`: anything else (a space, a raw
# non-ASCII letter, a lone "%") makes a string that is not a URI, whatever a lenient
# parser makes of it.
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|{_PCT})"
_HTTP_URI = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://"
    rf"(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|{_PCT})*@)?"  # userinfo
    rf"(?P<host>\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|{_PCT})+)"
    r"(?::[0-9]*)?"  # port
    rf"(?:/{_PCHAR}*)*"  # path
    rf"(?:\?(?:{_PCHAR}|[/?])*)?"  # query
    rf"(?:#(?:{_PCHAR}|[/?])*)?"  # fragment
)


def check_data_url(value: Any) -> str:
    """A URI (RFC 3986) Kombo can download: absolute, http or https, with a host.

    Kombo fetches it over HTTP on receipt; other schemes the `uri` format allows (ftp:,
    urn:) name nothing it could download.
    """
    data_url = _expect_string(value, "attachment.data_url")
    refusal = Invalid(
        "'attachment.data_url' must be an absolute http(s) URL that is a URI by RFC 3986,"
        f" got {data_url!r}."
    )
    match = _HTTP_URI.fullmatch(data_url)
    if match is None:
        raise refusal
    try:
        parts = urlsplit(data_url)
        _ = parts.port  # raises ValueError above 65535
        if match.group("host").startswith("["):
            ipaddress.IPv6Address(match.group("host")[1:-1])
    except ValueError:
        raise refusal from None
    return data_url


def check_remote_fields(kind: str, value: Any, ignored: list[str]) -> dict[str, Any]:
    """Check the fields Kombo documents for this endpoint; note any other in `ignored`.

    `remote_fields` is passed through to the ATS, and the schema leaves it open: an ATS key
    Kombo added after the document, or a field inside one, is not refused, only named.
    """
    remote_fields = _expect_object(value, "remote_fields")
    documented: tuple[str, ...] = ("greenhouse", "workable")
    if kind == "application":
        documented = ("oracle", *documented)
    _note_undocumented(remote_fields, "remote_fields.", documented, ignored)

    if "greenhouse" in remote_fields:
        where = "remote_fields.greenhouse"
        greenhouse = _expect_object(remote_fields["greenhouse"], where)
        _note_undocumented(greenhouse, f"{where}.", ("post_headers",), ignored)
        if "post_headers" in greenhouse:
            where = f"{where}.post_headers"
            post_headers = _expect_object(greenhouse["post_headers"], where)
            _note_undocumented(post_headers, f"{where}.", ("On-Behalf-Of",), ignored)
            on_behalf_of = post_headers.get("On-Behalf-Of")
            if on_behalf_of is not None and not isinstance(on_behalf_of, str):
                raise Invalid(f"'{where}.On-Behalf-Of' must be a string or null.")

    if "workable" in remote_fields:
        where = "remote_fields.workable"
        workable = _expect_object(remote_fields["workable"], where)
        _note_undocumented(workable, f"{where}.", ("on_behalf_of_user_remote_id",), ignored)
        if "on_behalf_of_user_remote_id" in workable:
            _expect_string(
                workable["on_behalf_of_user_remote_id"], f"{where}.on_behalf_of_user_remote_id"
            )

    if "oracle" in documented and "oracle" in remote_fields:
        where = "remote_fields.oracle"
        oracle = _expect_object(remote_fields["oracle"], where)
        _note_undocumented(
            oracle,
            f"{where}.",
            ("override_document_category", "multi_post_to_all_current_applications"),
            ignored,
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
