"""Reading a request body off the connection: its framing, and where its bytes are kept.

Bodies up to a few MB stay in memory; larger ones are spooled to an anonymous temporary
file and memory-mapped, so a 100 MB upload costs the process a few MB of its own memory
plus page cache, which the system can reclaim at any time.
"""

from __future__ import annotations

import io
import mmap
import re
import tempfile
from email.message import Message
from pathlib import Path
from typing import BinaryIO, Literal

# How the client delimited the body: by Content-Length, by chunked transfer encoding, not at
# all (no body), or in a way that cannot be trusted to find its end.
Framing = Literal["length", "chunked", "none", "bad-length", "bad-transfer-encoding"]
UNDELIMITED: tuple[Framing, ...] = ("bad-length", "bad-transfer-encoding")

_READ_CHUNK = 1024 * 1024
# Bodies up to this size stay in memory; larger ones are spooled to disk.
_IN_MEMORY_BODY_LIMIT = 4 * 1024 * 1024
_CHUNK_SIZE_LINE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,15}")
# Longest chunk-size or trailer line read; a longer one is treated as a broken body.
_MAX_LINE = 65537


class SpooledBody:
    """A request body, in memory or spooled to an anonymous temporary file in `spool_dir`."""

    def __init__(self, spool_dir: Path) -> None:
        self._spool_dir = spool_dir
        self._memory = bytearray()
        self._file: BinaryIO | None = None
        self._map: mmap.mmap | None = None
        self.size = 0
        # Set when the body could not be spooled; it is then counted but not kept.
        self.spool_error: OSError | None = None

    def fail(self, chunk: bytes, error: OSError) -> None:
        self.spool_error = self.spool_error or error
        self.size += len(chunk)

    def write(self, chunk: bytes) -> None:
        if self.spool_error is not None:
            self.size += len(chunk)
            return
        if self._file is None and self.size + len(chunk) > _IN_MEMORY_BODY_LIMIT:
            self._file = tempfile.TemporaryFile(dir=self._spool_dir)  # noqa: SIM115 - closed in close()
            self._file.write(self._memory)
            self._memory = bytearray()
        if self._file is not None:
            self._file.write(chunk)
        else:
            self._memory += chunk
        self.size += len(chunk)

    def view(self) -> bytes | bytearray | mmap.mmap:
        if self._file is None:
            return self._memory
        if self._map is None:
            self._file.flush()
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def to_bytes(self) -> bytes:
        if self.spool_error is not None or not self.size:
            return b""
        return bytes(self.view()[:])

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        if self._file is not None:
            self._file.close()


def read_body(
    rfile: io.BufferedIOBase, headers: Message, body: SpooledBody
) -> tuple[bool, Framing]:
    """Read the body the headers announce into `body`: (whether it all arrived, its framing).

    A body whose framing cannot be trusted is not read at all, and counts as complete.
    """
    transfer_encodings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if transfer_encodings:
        if transfer_encodings[-1].split(",")[-1].strip().lower() != "chunked":
            return True, "bad-transfer-encoding"
        return _read_chunked(rfile, body), "chunked"
    if not lengths:
        return True, "none"
    if len(lengths) != 1 or not _CONTENT_LENGTH.fullmatch(lengths[0].strip()):
        return True, "bad-length"
    return _read_exact(rfile, int(lengths[0].strip()), body), "length"


def _read_exact(rfile: io.BufferedIOBase, length: int, body: SpooledBody) -> bool:
    while body.size < length:
        try:
            chunk = rfile.read(min(_READ_CHUNK, length - body.size))
        except OSError:
            return False
        if not chunk:
            return False
        try:
            body.write(chunk)
        except OSError as exc:
            # Disk full or read-only: keep reading so the client still gets an answer.
            body.fail(chunk, exc)
    return True


def _read_chunked(rfile: io.BufferedIOBase, body: SpooledBody) -> bool:
    # Decoded so the body as the client meant it can be looked at and the connection stays
    # in sync; the routes refuse chunked uploads with 411 all the same.
    try:
        while True:
            line = rfile.readline(_MAX_LINE)
            if not line.endswith(b"\n"):
                return False
            size_text = line.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE_LINE.fullmatch(size_text):
                return False
            size = int(size_text, 16)
            if size == 0:
                break
            if not _read_exact(rfile, body.size + size, body):
                return False
            if rfile.readline(3) not in (b"\r\n", b"\n"):
                return False
        while True:
            trailer = rfile.readline(_MAX_LINE)
            if not trailer.endswith(b"\n"):
                return False
            if trailer in (b"\r\n", b"\n"):
                return True
    except OSError:
        return False
