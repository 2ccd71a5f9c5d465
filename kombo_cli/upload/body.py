"""The attachment request body as a stream of known length.

The body is `{"attachment":{...,"data":"<base64>"}}`. Holding the base64 of a 100 MB scan
in memory costs several times the file size, so the body is produced in pieces: a JSON
prefix, the file's base64 in chunks, and a JSON suffix. Each raw chunk is a multiple of
3 bytes long, so the base64 pieces concatenate into one valid base64 string.

`requests` sends an object that has `__len__` and `__iter__` with a Content-Length header
and without chunked transfer encoding, which is what Kombo expects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any, Callable

from kombo_cli.errors import UsageError
from kombo_cli.upload.files import LocalFile

# 48 KiB of file -> 64 KiB of base64 per piece. Each piece is handed to the socket in one
# send, and --timeout bounds how long one send may take: a timeout must measure a stall,
# not how long a piece takes on a slow link (a 1 MiB piece needs 13 s at 80 kB/s). 64 KiB
# still keeps the per-piece overhead negligible on a fast link, and memory flat.
DEFAULT_CHUNK_BYTES = 3 * 16 * 1024
# The largest piece of the body on the wire, whatever the JSON around the file.
MAX_PIECE_BYTES = 64 * 1024

ProgressCallback = Callable[[int], None]


def base64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


def _pieces(data: bytes) -> Iterator[bytes]:
    """`data` in pieces of at most MAX_PIECE_BYTES (JSON around the file is rarely longer,
    but `remote_fields` can be)."""
    for start in range(0, len(data), MAX_PIECE_BYTES):
        yield data[start : start + MAX_PIECE_BYTES]


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class AttachmentBody:
    """An iterable JSON body that reads the file only while it is being sent."""

    def __init__(
        self,
        attachment_fields: dict[str, str],
        local_file: LocalFile,
        remote_fields: dict[str, Any] | None = None,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        if chunk_bytes <= 0 or chunk_bytes % 3 or base64_length(chunk_bytes) > MAX_PIECE_BYTES:
            raise ValueError(
                f"chunk_bytes must be a positive multiple of 3, at most {MAX_PIECE_BYTES // 4 * 3}"
            )
        self.attachment_fields = dict(attachment_fields)
        self.local_file = local_file
        self.remote_fields = remote_fields
        self.chunk_bytes = chunk_bytes
        self.on_progress = on_progress
        # Set once the whole file has been read and sent.
        self.sha256: str | None = None
        # `data` goes last inside `attachment` so the JSON around it is fixed text.
        fields_json = _compact_json(self.attachment_fields)
        self._prefix = ('{"attachment":' + fields_json[:-1] + ',"data":"').encode()
        suffix = '"}'
        if remote_fields is not None:
            suffix += ',"remote_fields":' + _compact_json(remote_fields)
        self._suffix = (suffix + "}").encode()

    def __len__(self) -> int:
        return len(self._prefix) + base64_length(self.local_file.size) + len(self._suffix)

    def __iter__(self) -> Iterator[bytes]:
        import base64

        yield from _pieces(self._prefix)
        digest = hashlib.sha256()
        remaining = self.local_file.size
        changed = UsageError(
            f"{self.local_file.display} changed while it was being uploaded.",
            hint="wait until the file is complete, then run the command again",
        )
        try:
            with open(self.local_file.path, "rb") as handle:
                while remaining > 0:
                    chunk = handle.read(min(self.chunk_bytes, remaining))
                    if not chunk:
                        raise changed
                    digest.update(chunk)
                    remaining -= len(chunk)
                    yield base64.b64encode(chunk)
                    if self.on_progress is not None:
                        self.on_progress(len(chunk))
                if handle.read(1):
                    raise changed
        except OSError as exc:
            # Raised inside the HTTP library's send loop: an OSError there would be mistaken
            # for a network failure.
            raise UsageError(f"Cannot read {self.local_file.display}: {exc.strerror}.") from None
        self.sha256 = digest.hexdigest()
        yield from _pieces(self._suffix)

    def describe(self, sha256: str) -> dict[str, Any]:
        """The body as JSON with the base64 replaced by its size and hash (for --dry-run)."""
        attachment: dict[str, Any] = dict(self.attachment_fields)
        attachment["data"] = (
            f"<base64 of {self.local_file.size} bytes, {base64_length(self.local_file.size)}"
            f" characters, sha256 {sha256}>"
        )
        body: dict[str, Any] = {"attachment": attachment}
        if self.remote_fields is not None:
            body["remote_fields"] = self.remote_fields
        return body


class UrlAttachmentBody:
    """The body of a `data_url` upload: Kombo downloads the file itself, so it is small."""

    # Nothing local is read, so there is no file digest to report.
    sha256: str | None = None

    def __init__(
        self,
        attachment_fields: dict[str, str],
        data_url: str,
        remote_fields: dict[str, Any] | None = None,
    ) -> None:
        self.attachment_fields = dict(attachment_fields)
        self.data_url = data_url
        self.remote_fields = remote_fields
        document: dict[str, Any] = {"attachment": {**self.attachment_fields, "data_url": data_url}}
        if remote_fields is not None:
            document["remote_fields"] = remote_fields
        self._bytes = _compact_json(document).encode()

    def __len__(self) -> int:
        return len(self._bytes)

    def __iter__(self) -> Iterator[bytes]:
        yield from _pieces(self._bytes)

    def describe(self, shown_url: str) -> dict[str, Any]:
        """The body for --dry-run, with the URL's query (often a signature) hidden."""
        body: dict[str, Any] = {"attachment": {**self.attachment_fields, "data_url": shown_url}}
        if self.remote_fields is not None:
            body["remote_fields"] = self.remote_fields
        return body
