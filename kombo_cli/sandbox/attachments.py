"""Attachments as Kombo's routes need them: an upload body stored, a target's files listed.

`store_upload` takes a body apart (upload_body), checks it against Kombo's rules
(contract), and decodes the base64 straight into the target's folder (base64_decoder,
store); nothing is recorded unless all of that succeeds. `list_attachments` gives what
GET .../attachments returns, in Kombo's shape.
"""

from __future__ import annotations

import mimetypes
import mmap
from typing import Any

from kombo_cli.sandbox.base64_decoder import decode_base64_span
from kombo_cli.sandbox.contract import Invalid, validate_attachment_document
from kombo_cli.sandbox.store import AttachmentStore, StoredAttachment
from kombo_cli.sandbox.upload_body import DATA_PLACEHOLDER, BodyError, parse_body


def store_upload(
    store: AttachmentStore,
    kind: str,
    target_id: str,
    body: bytes | bytearray | mmap.mmap,
) -> StoredAttachment:
    """Store one upload body for a candidate or an application.

    Raises Invalid for a body Kombo would refuse, and OSError when the sandbox's own disk
    fails; either way nothing is stored.
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
    )
    with store.new_file(kind, target_id) as (handle, temp):
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
    return attachment


def list_attachments(
    store: AttachmentStore,
    candidates: list[dict[str, Any]],
    kind: str,
    target_id: str,
) -> list[dict[str, Any]]:
    """Kombo lists a candidate's own files and those of all their applications."""
    items = [_listing_item(a, kind) for a in store.for_target(kind, target_id)]
    if kind == "candidate":
        for application_id in _applications_of(candidates, target_id):
            for attachment in store.for_target("application", application_id):
                item = _listing_item(attachment, "candidate")
                item["application_id"] = application_id
                item["candidate_id"] = target_id
                items.append(item)
    return items


def _applications_of(candidates: list[dict[str, Any]], candidate_id: str) -> list[str]:
    for candidate in candidates:
        if candidate.get("id") == candidate_id:
            return [a["id"] for a in candidate.get("applications") or []]
    return []


def _listing_item(attachment: StoredAttachment, kind: str) -> dict[str, Any]:
    item: dict[str, Any] = {"id": attachment.id}
    if kind == "candidate":
        item["application_id"] = None
        item["candidate_id"] = attachment.target_id
    item.update(
        type=attachment.type,
        remote_id=attachment.remote_id,
        data_url=attachment.data_url or f"https://resources.kombo.dev/{attachment.id}",
        file_name=attachment.name,
        # Kombo takes the type of a data_url upload from the download; the sandbox never
        # downloads, so it goes by the name's extension.
        content_type=attachment.content_type
        or mimetypes.guess_type(attachment.name)[0]
        or "application/octet-stream",
        remote_created_at=attachment.created_at,
        remote_updated_at=attachment.created_at,
    )
    return item
