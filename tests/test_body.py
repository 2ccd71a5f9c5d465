"""The streamed request body: exact JSON, exact length, bounded pieces."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest

from kombo_cli.errors import UsageError
from kombo_cli.upload.body import AttachmentBody, base64_length
from kombo_cli.upload.files import inspect_local_file

FIELDS = {"name": "Frank Doe CV.pdf", "type": "CV", "content_type": "application/pdf"}


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7, 3 * 1024, 3 * 1024 + 1, 100_000])
def test_body_is_valid_json_with_the_exact_base64_and_length(tmp_path: Path, size: int) -> None:
    content = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(content)
    # A tiny chunk size makes every size above cross several chunk boundaries.
    body = AttachmentBody(FIELDS, inspect_local_file(str(path)), chunk_bytes=3 * 7)

    sent = b"".join(body)

    assert len(sent) == len(body)
    payload = json.loads(sent)
    assert payload["attachment"]["name"] == FIELDS["name"]
    assert base64.b64decode(payload["attachment"]["data"], validate=True) == content
    assert list(payload["attachment"]) == ["name", "type", "content_type", "data"]
    assert body.sha256 == hashlib.sha256(content).hexdigest()


def test_remote_fields_follow_the_attachment(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"hello")
    remote = {"greenhouse": {"post_headers": {"On-Behalf-Of": None}}}
    body = AttachmentBody(FIELDS, inspect_local_file(str(path)), remote_fields=remote)

    sent = b"".join(body)

    assert len(sent) == len(body)
    assert json.loads(sent)["remote_fields"] == remote


def test_non_ascii_names_are_sent_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"x")
    body = AttachmentBody(
        {**FIELDS, "name": 'Jürgen "JJ" Müller.pdf'}, inspect_local_file(str(path))
    )

    sent = b"".join(body)

    assert len(sent) == len(body)
    assert json.loads(sent.decode("utf-8"))["attachment"]["name"] == 'Jürgen "JJ" Müller.pdf'


def test_pieces_stay_bounded_whatever_the_file_size(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(5 * 1024 * 1024))
    body = AttachmentBody(FIELDS, inspect_local_file(str(path)))

    largest = max(len(piece) for piece in body)

    assert largest <= base64_length(body.chunk_bytes)
    assert largest < 2 * 1024 * 1024


def test_a_file_that_grows_while_sending_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "growing.txt"
    path.write_bytes(b"abc")
    body = AttachmentBody(FIELDS, inspect_local_file(str(path)))
    path.write_bytes(b"abcdef")

    with pytest.raises(UsageError, match="changed while it was being uploaded"):
        b"".join(body)


def test_a_file_that_shrinks_while_sending_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "shrinking.txt"
    path.write_bytes(b"abcdef")
    body = AttachmentBody(FIELDS, inspect_local_file(str(path)))
    path.write_bytes(b"ab")

    with pytest.raises(UsageError, match="changed while it was being uploaded"):
        b"".join(body)


def test_progress_reports_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(1000))
    seen: list[int] = []
    body = AttachmentBody(
        FIELDS, inspect_local_file(str(path)), chunk_bytes=300, on_progress=seen.append
    )

    b"".join(body)

    assert seen == [300, 300, 300, 100]


def test_describe_replaces_the_data_with_size_and_hash(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"12345")
    body = AttachmentBody(FIELDS, inspect_local_file(str(path)))

    described = body.describe("abc")

    assert described["attachment"]["data"] == "<base64 of 5 bytes, 8 characters, sha256 abc>"


def test_chunk_size_must_keep_base64_pieces_joinable(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    with pytest.raises(ValueError):
        AttachmentBody(FIELDS, inspect_local_file(str(path)), chunk_bytes=1000)


def test_streaming_a_50_mb_file_keeps_memory_flat(tmp_path: Path) -> None:
    """Memory must not grow with the file: the body holds one chunk at a time."""
    import tracemalloc

    path = tmp_path / "scan.pdf"
    with open(path, "wb") as handle:
        handle.write(b"%PDF-1.4\n")
        handle.truncate(50 * 1024 * 1024)  # sparse: quick to make, real bytes to read
    body = AttachmentBody(FIELDS, inspect_local_file(str(path)))
    digest = hashlib.sha256()
    sent = 0

    tracemalloc.start()
    try:
        for piece in body:
            sent += len(piece)
            digest.update(piece)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert sent == len(body) > 66_000_000
    # One 768 KiB chunk and its 1 MiB of base64 in flight, not 50 MB (or 67 MB of base64).
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"
    assert body.sha256 is not None
