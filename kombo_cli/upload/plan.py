"""From a request to a checked plan: every rule an upload must meet, checked before sending.

The file must be attachable, the name showable, the type one of Kombo's, the content type
one Kombo accepts, a URL one Kombo can download from. A plan is what delivery sends; its
body is built from it only while it is sent. No printing and no HTTP here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from kombo_cli.api.client import request_headers
from kombo_cli.api.targets import Target
from kombo_cli.errors import UsageError
from kombo_cli.redact import display_url, mask_secret
from kombo_cli.upload.body import AttachmentBody, ProgressCallback, UrlAttachmentBody
from kombo_cli.upload.content_types import (
    ContentTypeGuess,
    content_type_from_url_name,
    guess_content_type,
    validate_content_type,
)
from kombo_cli.upload.files import STDIN_ARGUMENT, LocalFile, inspect_local_file, sha256_of
from kombo_cli.upload.remote_fields import checked_remote_fields
from kombo_cli.upload.request import AttachRequest
from kombo_cli.upload.urls import UnusableUrl, download_uri

ATTACHMENT_TYPES = ("CV", "COVER_LETTER", "OTHER")
DEFAULT_ATTACHMENT_TYPE = "OTHER"

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class RunDefaults:
    """What a request leaves out takes these: the command's --type, --content-type and
    --remote-fields (a manifest row may override each)."""

    type: str = DEFAULT_ATTACHMENT_TYPE
    content_type: str | None = None
    remote_fields: dict[str, Any] | None = None


@dataclass(frozen=True)
class AttachmentPlan:
    """Everything needed to send one file, checked before anything is sent.

    The bytes come from `local_file`, or Kombo downloads them from `data_url`.
    """

    target: Target
    local_file: LocalFile | None
    name: str
    type: str
    # None only for a data_url upload whose URL has no extension of a type Kombo accepts
    # and no --content-type: Kombo then uses the type the download is served with.
    content_type: ContentTypeGuess | None
    # Things worth telling the user that do not stop the upload.
    notes: tuple[str, ...] = ()
    # Kombo's per-ATS extras (`remote_fields` in the body), sent as given.
    remote_fields: dict[str, Any] | None = None
    # The URI sent, and the URL as it was given (what output shows, as the person wrote it).
    data_url: str | None = None
    url_as_given: str | None = None

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
        return display_url(self.url_as_given or self.data_url)

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

    def body(
        self, on_progress: ProgressCallback | None = None
    ) -> AttachmentBody | UrlAttachmentBody:
        if self.local_file is None:
            assert self.data_url is not None
            return UrlAttachmentBody(self.attachment_fields(), self.data_url, self.remote_fields)
        return AttachmentBody(
            self.attachment_fields(),
            self.local_file,
            remote_fields=self.remote_fields,
            on_progress=on_progress,
        )

    def preview(
        self, base_url: str, api_key: str | None, integration_id: str | None
    ) -> dict[str, Any]:
        """The request --dry-run shows: the key masked and the file content summarised."""
        body = self.body()
        headers = request_headers(
            mask_secret(api_key) if api_key is not None else "<missing: set KOMBO_API_KEY>",
            integration_id or "<missing: set KOMBO_INTEGRATION_ID>",
        )
        headers["Content-Length"] = str(len(body))
        return {
            "method": "POST",
            "url": base_url + self.target.attachments_path,
            "headers": headers,
            # The URI as it is sent, its query masked.
            "body": body.describe(display_url(body.data_url))
            if isinstance(body, UrlAttachmentBody)
            else body.describe(sha256_of(body.local_file)),
        }


def plan_request(
    request: AttachRequest,
    target: Target,
    defaults: RunDefaults,
    stdin_file: LocalFile | None = None,
) -> AttachmentPlan:
    """The plan for `request` to `target`; raises UsageError when a rule is broken.

    `stdin_file` holds standard input, already captured, for a request whose file is "-".
    """
    attachment_type = request.type or defaults.type
    content_type = request.content_type or defaults.content_type
    remote_fields = checked_remote_fields(
        request.remote_fields if request.remote_fields is not None else defaults.remote_fields
    )
    if request.url is not None:
        return plan_url_attachment(
            target,
            request.url,
            attachment_type=attachment_type,
            name=request.name,
            content_type=content_type,
            remote_fields=remote_fields,
        )
    file = request.path
    assert file is not None
    return plan_attachment(
        target,
        file,
        attachment_type=attachment_type,
        name=request.name,
        content_type=content_type,
        remote_fields=remote_fields,
        local_file=stdin_file if file == STDIN_ARGUMENT else None,
    )


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
    try:
        data_url = download_uri(url)
    except UnusableUrl as problem:
        raise UsageError(f"The URL {problem.shown} {problem.problem}.", hint=problem.hint) from None
    # A URL ending in "/" names a folder, not a file: no name to take, nor a type.
    last_segment = unquote(urlsplit(data_url).path.rpartition("/")[2])
    if name is None:
        if not last_segment:
            raise UsageError(
                f"The URL {display_url(url)} ends without a file name.",
                hint="pass --name, e.g. --name cv.pdf",
            )
        shown_name = _checked_name(last_segment, False)
    else:
        shown_name = _checked_name(name, False)
    guess: ContentTypeGuess | None
    if content_type is not None:
        guess = ContentTypeGuess(validate_content_type(content_type, for_url=True), "option")
    else:
        # The URL's extension, as a file's, describes the bytes; a --name may be a display
        # title. Without one (or with a "+" type) Kombo takes the type of the download.
        guess = content_type_from_url_name(last_segment)
    return AttachmentPlan(
        target=target,
        local_file=None,
        name=shown_name,
        type=normalize_attachment_type(attachment_type),
        content_type=guess,
        notes=tuple(_name_notes(shown_name)),
        remote_fields=remote_fields,
        data_url=data_url,
        url_as_given=url,
    )


def has_control_characters(text: str) -> bool:
    """Control characters: nothing a name shown to recruiters, or an address, should hold."""
    return bool(_CONTROL_CHARACTERS.search(text))


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
    if has_control_characters(cleaned):
        raise UsageError("The attachment name contains control characters.", hint=fix)
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        # File names on Linux are bytes; ones that are not UTF-8 cannot be sent as JSON text.
        raise UsageError("The file name is not valid UTF-8 text.", hint=fix) from None
    return cleaned
