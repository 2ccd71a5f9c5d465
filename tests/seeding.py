"""Put files "already there" into a loopback Kombo, with bytes the sandbox can serve."""

from __future__ import annotations

from kombo_cli.sandbox.store import StoredAttachment
from tests.recording_server import KomboServer


def seed_file(
    server: KomboServer,
    target_id: str,
    name: str,
    data: bytes,
    *,
    created_at: str | None = "2024-01-02T03:04:05Z",
    target_kind: str = "candidate",
) -> StoredAttachment:
    """Store `data` as an attachment of the target, as if an earlier upload had put it there.

    `created_at` None lists it without a date, as Kombo may."""
    attachment = StoredAttachment(
        target_kind=target_kind,
        target_id=target_id,
        name=name,
        type="CV",
        content_type="application/pdf",
        size=len(data),
    )
    folder = server.store.root / "seeded"
    folder.mkdir(exist_ok=True)
    (folder / attachment.id).write_bytes(data)
    attachment.file = f"seeded/{attachment.id}"
    attachment.created_at = created_at  # type: ignore[assignment]
    server.attachments.append(attachment)
    return attachment


def tolerate_odd_dates(server: KomboServer) -> None:
    """Let listings carry dates Kombo's document does not allow (no time zone, not a date),
    as some ATSs list them: a test seeding such a date checks that the client copes."""
    server.contract.tolerate(
        "format", "data.results[*].remote_created_at", "data.results[*].remote_updated_at"
    )
