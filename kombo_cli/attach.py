"""The attach use case: turn a file argument into a checked plan, then upload it.

No printing and no option parsing here: the command layer calls these functions and hands
what they return to the output layer.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kombo_cli.body import AttachmentBody, ProgressCallback, RequestBody, UrlAttachmentBody
from kombo_cli.client import ApiResponse, request_headers
from kombo_cli.content_types import ContentTypeGuess, guess_content_type, validate_content_type
from kombo_cli.errors import UsageError
from kombo_cli.files import LocalFile, inspect_local_file, sha256_of
from kombo_cli.redact import display_url
from kombo_cli.settings import Settings
from kombo_cli.targets import Target

ATTACHMENT_TYPES = ("CV", "COVER_LETTER", "OTHER")
DEFAULT_ATTACHMENT_TYPE = "OTHER"

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class AttachmentPlan:
    """Everything needed to send one file, checked before anything is sent.

    The bytes come from `local_file`, or Kombo downloads them from `data_url`.
    """

    target: Target
    local_file: LocalFile | None
    name: str
    type: str
    # None only for a data_url upload without --content-type: Kombo then uses the type
    # the download is served with.
    content_type: ContentTypeGuess | None
    # Things worth telling the user that do not stop the upload.
    notes: tuple[str, ...] = ()
    # Kombo's per-ATS extras (`remote_fields` in the body), sent as given.
    remote_fields: dict[str, Any] | None = None
    data_url: str | None = None

    def attachment_fields(self) -> dict[str, str]:
        fields = {"name": self.name, "type": self.type}
        if self.content_type is not None:
            fields["content_type"] = self.content_type.content_type
        return fields

    @property
    def source(self) -> str:
        """Where the bytes come from, fit to show: the file argument, or the URL masked."""
        if self.local_file is not None:
            return self.local_file.display
        assert self.data_url is not None
        return display_url(self.data_url)

    @property
    def size(self) -> int | None:
        return self.local_file.size if self.local_file is not None else None

    @property
    def content_type_text(self) -> str:
        return self.content_type.content_type if self.content_type else "type from the download"

    def sha256(self) -> str | None:
        """The file's SHA-256, read again from disk; None for a data_url upload, or when the
        file cannot be read any more (after a stored upload that must not turn into an error).
        """
        if self.local_file is None:
            return None
        try:
            return sha256_of(self.local_file)
        except UsageError:
            return None

    def body(self, on_progress: ProgressCallback | None = None) -> RequestBody:
        if self.local_file is None:
            assert self.data_url is not None
            return UrlAttachmentBody(self.attachment_fields(), self.data_url, self.remote_fields)
        return AttachmentBody(
            self.attachment_fields(),
            self.local_file,
            remote_fields=self.remote_fields,
            on_progress=on_progress,
        )


class AttachmentApi(Protocol):
    """The two calls an upload needs: KomboClient, or a throttled wrapper around it."""

    def add_attachment(self, target: Target, body: RequestBody) -> ApiResponse: ...

    def list_attachments(self, target: Target) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class AttachmentOutcome:
    plan: AttachmentPlan
    # None for a data_url upload: no local bytes were read.
    sha256: str | None
    # None when Kombo's reply was lost and the upload was confirmed by listing instead.
    http_status: int | None
    elapsed_s: float
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attempts: int = 1
    confirmed_by_listing: bool = False


@dataclass(frozen=True)
class RequestPreview:
    """What --dry-run shows: the request as it would be sent, secrets masked."""

    plan: AttachmentPlan
    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]


def normalize_attachment_type(value: str) -> str:
    upper = value.strip().upper().replace("-", "_")
    if upper not in ATTACHMENT_TYPES:
        raise UsageError(
            f"Unknown attachment type {value!r}.", hint=f"use one of {', '.join(ATTACHMENT_TYPES)}"
        )
    return upper


def plan_attachment(
    target: Target,
    file_argument: str,
    *,
    attachment_type: str = DEFAULT_ATTACHMENT_TYPE,
    name: str | None = None,
    content_type: str | None = None,
    remote_fields: dict[str, Any] | None = None,
    local_file: LocalFile | None = None,
) -> AttachmentPlan:
    """Inspect the file and settle name, type and content type. Raises UsageError.

    `local_file` is given when the bytes were already captured (standard input).
    """
    if local_file is None:
        local_file = inspect_local_file(file_argument)
    shown_name = _checked_name(name if name is not None else local_file.base_name, name is None)
    if content_type is not None:
        guess = ContentTypeGuess(validate_content_type(content_type), "option")
    else:
        # The file's own extension describes its bytes best; a --name may be a display title.
        sniff_name = local_file.base_name if Path(local_file.base_name).suffix else shown_name
        guess = guess_content_type(sniff_name, local_file.head, local_file.path)
    notes = []
    if guess.warning:
        notes.append(guess.warning)
    notes += _name_notes(shown_name)
    return AttachmentPlan(
        target=target,
        local_file=local_file,
        name=shown_name,
        type=normalize_attachment_type(attachment_type),
        content_type=guess,
        notes=tuple(notes),
        remote_fields=remote_fields,
    )


def plan_url_attachment(
    target: Target,
    url: str,
    *,
    attachment_type: str = DEFAULT_ATTACHMENT_TYPE,
    name: str | None = None,
    content_type: str | None = None,
    remote_fields: dict[str, Any] | None = None,
) -> AttachmentPlan:
    """A plan for Kombo to download the file from `url` (Kombo's recommended way)."""
    _check_url(url)
    if name is None:
        from urllib.parse import unquote, urlsplit

        # A URL ending in "/" names a folder, not a file: no name to take.
        last_segment = unquote(urlsplit(url).path.rpartition("/")[2])
        if not last_segment:
            raise UsageError(
                f"The URL {display_url(url)} ends without a file name.",
                hint="pass --name, e.g. --name cv.pdf",
            )
        shown_name = _checked_name(last_segment, False)
    else:
        shown_name = _checked_name(name, False)
    notes = _name_notes(shown_name)
    return AttachmentPlan(
        target=target,
        local_file=None,
        name=shown_name,
        type=normalize_attachment_type(attachment_type),
        content_type=ContentTypeGuess(validate_content_type(content_type), "option")
        if content_type is not None
        else None,
        notes=tuple(notes),
        remote_fields=remote_fields,
        data_url=url,
    )


def _check_url(url: str) -> None:
    from urllib.parse import urlsplit

    refusal = UsageError(
        f"{display_url(url)!r} is not a URL Kombo can download from.",
        hint="give an http:// or https:// URL that works without a login,"
        " e.g. a signed storage URL",
    )
    if not url or any(character.isspace() or ord(character) < 32 for character in url):
        raise refusal
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise refusal from None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        raise refusal


def _name_notes(shown_name: str) -> list[str]:
    if Path(shown_name).suffix:
        return []
    return [
        f"the name {shown_name!r} has no extension; Kombo recommends one because the ATS"
        " shows the name to recruiters"
    ]


def _checked_name(name: str, from_file: bool) -> str:
    cleaned = name.strip()
    fix = "rename the file or pass --name" if from_file else "pass another --name"
    if not cleaned:
        raise UsageError("The attachment name is empty.", hint=fix)
    if _CONTROL_CHARACTERS.search(cleaned):
        raise UsageError("The attachment name contains control characters.", hint=fix)
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        # File names on Linux are bytes; ones that are not UTF-8 cannot be sent as JSON text.
        raise UsageError("The file name is not valid UTF-8 text.", hint=fix) from None
    return cleaned


def preview_request(plan: AttachmentPlan, settings: Settings) -> RequestPreview:
    """The request --dry-run prints, with the key masked and the file content summarised."""
    body = plan.body()
    headers = request_headers(settings.api_key.value, settings.integration_id.value, masked=True)
    headers["Content-Length"] = str(len(body))
    assert settings.base_url.value is not None
    return RequestPreview(
        plan=plan,
        method="POST",
        url=settings.base_url.value + plan.target.attachments_path,
        headers=headers,
        body=body.describe(plan.source)
        if isinstance(body, UrlAttachmentBody)
        else body.describe(sha256_of(body.local_file)),
    )


def upload(
    client: AttachmentApi, plan: AttachmentPlan, on_progress: ProgressCallback | None = None
) -> AttachmentOutcome:
    """Send one planned attachment, once. Raises ApiError, NetworkError or UsageError.

    `kombo_cli.delivery.deliver` wraps this with the retry rules.
    """
    body = plan.body(on_progress)
    started = time.monotonic()
    response = client.add_attachment(plan.target, body)
    # Computed while streaming, so it describes exactly the bytes that were sent; a server
    # that answers before reading the whole body leaves it unset.
    sha256 = body.sha256 or plan.sha256()
    return AttachmentOutcome(
        plan=plan,
        sha256=sha256,
        http_status=response.http_status,
        elapsed_s=time.monotonic() - started,
        warnings=response.warnings,
        notes=response.notes,
    )
