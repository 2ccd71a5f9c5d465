"""Where the sandbox keeps uploads: real files on disk, one folder per target.

Layout under the data directory, so a user can open what arrived:

    candidates/<id>/Frank Doe CV.pdf
    candidates/<id>/Frank Doe CV (2).pdf      a second upload of the same name, never over the first
    applications/<id>/portfolio.pdf.url.txt   a data_url upload: a text file holding the URL
    index.jsonl                               one line per upload, so listings survive a restart

Uploads for further integrations (not the default one) go under `integrations/<integration
id>/`, laid out the same way, and are listed only under their own integration.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from kombo_cli.sandbox.contract import kombo_id, now_iso, remote_id

INDEX_NAME = "index.jsonl"
_REQUIRED_TEXT_FIELDS = (
    "target_kind",
    "target_id",
    "name",
    "type",
    "id",
    "remote_id",
    "created_at",
)


class StoreError(Exception):
    """The data folder cannot hold uploads; the message says which folder and why."""


# Most file systems allow 255 bytes per name; leave room for " (99)" and ".url.txt".
_MAX_NAME_BYTES = 200


@dataclass
class StoredAttachment:
    target_kind: str
    target_id: str
    name: str
    type: str
    content_type: str | None = None
    data_url: str | None = None
    remote_fields: dict[str, Any] | None = None
    # Relative to the data directory; None for attachments added without a file (tests).
    file: str | None = None
    size: int = 0
    # Kombo assigns these; a listing must show the same values every time.
    id: str = field(default_factory=kombo_id)
    remote_id: str = field(default_factory=remote_id)
    created_at: str = field(default_factory=now_iso)
    # The integration it was uploaded for; None (an index written before integrations were
    # recorded, or an attachment a test sets up) is the store's default integration.
    integration_id: str | None = None
    # Set by the store so `data` can find the file; not part of the index.
    root: Path | None = field(default=None, repr=False, compare=False)

    @property
    def data(self) -> bytes | None:
        """The stored bytes of a base64 upload (None for a data_url upload)."""
        if self.data_url is not None or self.file is None or self.root is None:
            return None
        return (self.root / self.file).read_bytes()

    @property
    def path(self) -> Path | None:
        return None if self.file is None or self.root is None else self.root / self.file

    def to_index(self) -> dict[str, Any]:
        record = asdict(self)
        record.pop("root")
        return record


class AttachmentStore:
    """Thread-safe: the sandbox serves several uploads at once."""

    def __init__(self, root: Path, default_integration: str | None = None) -> None:
        """Raises StoreError when the folder or its index cannot be used.

        `default_integration` is the integration of attachments that name none, and the
        one whose uploads are kept at the top of the folder.
        """
        self.root = root
        self.default_integration = default_integration
        self._lock = threading.Lock()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._check_writable()
            self._remove_unfinished_uploads()
            self._items: list[StoredAttachment] = self._load_index()
        except OSError as exc:
            raise StoreError(f"Cannot use {root} for uploads: {exc.strerror or exc}.") from None

    def _check_writable(self) -> None:
        # Found out now rather than at the first upload, as a 500 to some client.
        probe = self.root / f".write-test-{kombo_id()}"
        probe.write_bytes(b"")
        probe.unlink()

    def _remove_unfinished_uploads(self) -> None:
        # Left behind when the sandbox was stopped in the middle of storing an upload.
        for pattern in ("*/*/.upload-*.part", "integrations/*/*/*/.upload-*.part"):
            for partial in self.root.glob(pattern):
                with contextlib.suppress(OSError):
                    partial.unlink()

    def _load_index(self) -> list[StoredAttachment]:
        index = self.root / INDEX_NAME
        if not index.exists():
            return []
        try:
            text = index.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise StoreError(f"{index} is not an index this sandbox wrote.") from None
        items = []
        for line in text.splitlines():
            # A damaged line loses one listing entry, not the whole sandbox.
            with contextlib.suppress(ValueError, TypeError):
                record = json.loads(line)
                if not all(isinstance(record.get(key), str) for key in _REQUIRED_TEXT_FIELDS):
                    continue
                items.append(self._placed(StoredAttachment(**record, root=self.root)))
        return items

    def all(self) -> list[StoredAttachment]:
        with self._lock:
            return list(self._items)

    def for_target(
        self, kind: str, target_id: str, integration_id: str | None = None
    ) -> list[StoredAttachment]:
        """The target's attachments: of one integration, or with None of every one."""
        with self._lock:
            return [
                a
                for a in self._items
                if a.target_kind == kind
                and a.target_id == target_id
                and integration_id in (None, a.integration_id)
            ]

    def by_id(self, attachment_id: str) -> StoredAttachment | None:
        with self._lock:
            return next((a for a in self._items if a.id == attachment_id), None)

    def append(self, attachment: StoredAttachment) -> None:
        """Record an attachment (also used by tests to set up "already there" cases)."""
        attachment.root = self.root
        self._placed(attachment)
        with self._lock:
            # Index first: an upload the index does not know would vanish on restart.
            with open(self.root / INDEX_NAME, "a", encoding="utf-8") as index:
                index.write(json.dumps(attachment.to_index(), ensure_ascii=False) + "\n")
            self._items.append(attachment)

    def _placed(self, attachment: StoredAttachment) -> StoredAttachment:
        if attachment.integration_id is None:
            attachment.integration_id = self.default_integration
        return attachment

    @contextmanager
    def new_file(
        self, kind: str, target_id: str, integration_id: str | None = None
    ) -> Iterator[tuple[BinaryIO, Path]]:
        """A temporary file in the target's folder; removed unless `commit` renames it."""
        folder = self._folder(kind, target_id, integration_id)
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".upload-{kombo_id()}.part"
        try:
            with open(temp, "wb") as handle:
                yield handle, temp
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def commit(self, temp: Path, attachment: StoredAttachment, suffix: str = "") -> None:
        """Move a finished upload to its final, unique name and record it."""
        folder = self._folder(
            attachment.target_kind, attachment.target_id, attachment.integration_id
        )
        with self._lock:
            final = _unique_path(folder, _safe_file_name(attachment.name), suffix)
            os.replace(temp, final)
        attachment.file = str(final.relative_to(self.root))
        self.append(attachment)

    def _folder(self, kind: str, target_id: str, integration_id: str | None = None) -> Path:
        base = self.root
        if integration_id not in (None, self.default_integration):
            assert integration_id is not None
            base = self.root / "integrations" / _folder_name(integration_id)
        return base / f"{kind}s" / _folder_name(target_id)


def _folder_name(identifier: str) -> str:
    # Percent-encoding keeps any id (even one holding "/") to one safe folder name; a very
    # long id is shortened and made unique again with a hash.
    name = quote(identifier, safe="")
    if len(name) > _MAX_NAME_BYTES:
        digest = hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:16]
        name = f"{name[: _MAX_NAME_BYTES - 17]}-{digest}"
    return name


def _safe_file_name(name: str) -> str:
    """The attachment name as a file name: no folders, no hidden files, not too long."""
    cleaned = "".join("_" if ch in "/\\\x00" or ord(ch) < 32 else ch for ch in name).strip()
    cleaned = cleaned.lstrip(".") or "attachment"
    encoded = cleaned.encode("utf-8")
    if len(encoded) > _MAX_NAME_BYTES:
        _stem, dot, extension = cleaned.rpartition(".")
        keep = extension if dot and len(extension) <= 10 else ""
        budget = _MAX_NAME_BYTES - len(keep.encode("utf-8")) - 1
        cleaned = encoded[:budget].decode("utf-8", "ignore") + ("." + keep if keep else "")
    return cleaned


def _unique_path(folder: Path, name: str, suffix: str) -> Path:
    candidate = folder / (name + suffix)
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    number = 2
    while candidate.exists():
        numbered = f"{stem} ({number})" + (f".{extension}" if extension else "")
        candidate = folder / (numbered + suffix)
        number += 1
    return candidate
