"""Attachments as Kombo's routes need them: an upload body stored, a target's files listed.

`store_upload` takes a body apart (upload_body), checks it against Kombo's rules
(contract), and decodes the base64 straight into the target's folder (base64_decoder,
store); nothing is recorded unless all of that succeeds. `list_attachments` gives what
GET .../attachments returns, in Kombo's shape, and `download` the bytes behind a listed
`data_url`: a file stored from base64 is served by the sandbox itself, at
`http://<host>/files/<attachment id>`, as Kombo serves its own from resources.kombo.dev.
"""

from __future__ import annotations

import mimetypes
import mmap
from dataclasses import dataclass
from typing import Any

from kombo_cli.sandbox.attachment_rules import validate_attachment_document
from kombo_cli.sandbox.base64_decoder import decode_base64_span
from kombo_cli.sandbox.contract import Invalid
from kombo_cli.sandbox.store import AttachmentStore, StoredAttachment
from kombo_cli.sandbox.upload_body import DATA_PLACEHOLDER, BodyError, parse_body


def store_upload(
    store: AttachmentStore,
    kind: str,
    target_id: str,
    body: bytes | bytearray | mmap.mmap,
    integration_id: str | None = None,
) -> tuple[StoredAttachment, tuple[str, ...]]:
    """Store one upload body for a candidate or an application of an integration (None:
    the store's default one).

    Returns the stored attachment and the body's fields Kombo does not document (dotted
    paths), which were accepted and not used. Raises Invalid for a body Kombo would refuse,
    and OSError when the sandbox's own disk fails; either way nothing is stored.
    """
    try:
        parsed = parse_body(body)
    except BodyError as exc:
        raise Invalid(str(exc)) from None
    upload = validate_attachment_document(kind, parsed.document, DATA_PLACEHOLDER)
    attachment = StoredAttachment(
        target_kind=kind,
        target_id=target_id,
        name=upload.name,
        type=upload.type,
        content_type=upload.content_type,
        data_url=upload.data_url,
        remote_fields=upload.remote_fields,
        integration_id=integration_id,
    )
    with store.new_file(kind, target_id, integration_id) as (handle, temp):
        if upload.has_data:
            assert parsed.data_span is not None
            try:
                attachment.size = decode_base64_span(body, parsed.data_span, handle)
            except BodyError as exc:
                raise Invalid(str(exc)) from None
            suffix = ""
        else:
            assert upload.data_url is not None
            text = upload.data_url + "\n"
            handle.write(text.encode("utf-8"))
            attachment.size = 0
            suffix = ".url.txt"
        handle.flush()
        store.commit(temp, attachment, suffix)
    return attachment, upload.ignored


# Where a stored file can be downloaded, under the origin a request reached the sandbox at.
DOWNLOAD_PREFIX = "/files/"


@dataclass(frozen=True)
class ListingStyle:
    """How one listing shows its files: where they download from, and how the ATS keeps them.

    `origin` is "http://host:port" as the client reached the sandbox; `undated` lists
    `remote_created_at` and `remote_updated_at` as null; `rename_as` is a template in which
    "{name}" stands for the name the file was uploaded with.
    """

    origin: str
    undated: bool = False
    rename_as: str | None = None


def list_attachments(
    store: AttachmentStore,
    candidates: list[dict[str, Any]],
    kind: str,
    target_id: str,
    style: ListingStyle,
    integration_id: str | None = None,
) -> list[dict[str, Any]]:
    """Kombo lists a candidate's own files and those of all their applications; the
    integration's (`candidates` are its own), or with None every integration's."""
    items = [
        _listing_item(a, kind, style) for a in store.for_target(kind, target_id, integration_id)
    ]
    if kind == "candidate":
        for application_id in _applications_of(candidates, target_id):
            for attachment in store.for_target("application", application_id, integration_id):
                item = _listing_item(attachment, "candidate", style)
                item["application_id"] = application_id
                item["candidate_id"] = target_id
                items.append(item)
    return items


def _applications_of(candidates: list[dict[str, Any]], candidate_id: str) -> list[str]:
    for candidate in candidates:
        if candidate.get("id") == candidate_id:
            return [a["id"] for a in candidate.get("applications") or []]
    return []


def download(store: AttachmentStore, attachment_id: str) -> tuple[bytes, str] | None:
    """The bytes and content type of a file stored from base64; None if there is none.

    Raises OSError when the sandbox's own disk fails.
    """
    attachment = store.by_id(attachment_id)
    if attachment is None or attachment.data_url is not None or attachment.path is None:
        return None
    data = attachment.path.read_bytes()
    return data, _content_type(attachment)


def _listing_item(attachment: StoredAttachment, kind: str, style: ListingStyle) -> dict[str, Any]:
    item: dict[str, Any] = {"id": attachment.id}
    if kind == "candidate":
        item["application_id"] = None
        item["candidate_id"] = attachment.target_id
    if attachment.data_url is not None:
        # The sandbox never fetched it, so the URL the client gave is all it has.
        data_url = attachment.data_url
    elif attachment.path is not None:
        data_url = f"{style.origin}{DOWNLOAD_PREFIX}{attachment.id}"
    else:
        # Recorded without a file (tests set such entries up): nothing to serve.
        data_url = f"https://resources.kombo.dev/{attachment.id}"
    name = attachment.name
    if style.rename_as is not None:
        # Not str.format: any other braces in the template are kept as they are.
        name = style.rename_as.replace("{name}", name)
    dated = None if style.undated else attachment.created_at
    item.update(
        type=attachment.type,
        remote_id=attachment.remote_id,
        data_url=data_url,
        file_name=name,
        content_type=_content_type(attachment),
        remote_created_at=dated,
        remote_updated_at=dated,
    )
    return item


def _content_type(attachment: StoredAttachment) -> str:
    # Kombo takes the type of a data_url upload from the download; the sandbox never
    # downloads, so it goes by the name's extension.
    return (
        attachment.content_type
        or mimetypes.guess_type(attachment.name)[0]
        or "application/octet-stream"
    )
