"""Local files: check that a path is an attachable file and read its first bytes.

Never reads the environment and never prints; problems become UsageError (exit 2).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kombo_cli.errors import UsageError
from kombo_cli.upload.content_types import SNIFF_BYTES

HASH_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LocalFile:
    """A regular, non-empty, readable file, as it was when inspected."""

    path: Path
    # The name the user gave on the command line, for messages.
    display: str
    size: int
    # The first bytes, for content-type sniffing.
    head: bytes

    @property
    def base_name(self) -> str:
        return self.path.name


def inspect_local_file(argument: str) -> LocalFile:
    """Check `argument` names an attachable file; raise UsageError saying why not."""
    path = Path(argument)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UsageError(f"File not found: {argument}.") from None
    except PermissionError:
        raise UsageError(f"Cannot read {argument}: permission denied.") from None
    except OSError as exc:
        raise UsageError(f"Cannot open {argument}: {exc.strerror}.") from None
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        raise UsageError(
            f"{argument} is a directory, not a file.",
            hint=f"pass the files themselves, e.g. {argument.rstrip('/')}/*.pdf",
        )
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UsageError(
            f"{argument} is not a regular file (it is a pipe, socket or device).",
            hint="save the data to a file first",
        )
    with os.fdopen(fd, "rb") as handle:
        if info.st_size == 0:
            raise UsageError(f"{argument} is empty; Kombo does not accept empty attachments.")
        try:
            head = handle.read(SNIFF_BYTES)
        except OSError as exc:
            raise UsageError(f"Cannot read {argument}: {exc.strerror}.") from None
    return LocalFile(path=path, display=argument, size=info.st_size, head=head)


STDIN_ARGUMENT = "-"
STDIN_DISPLAY = "<stdin>"


def spool_stdin(stream: BinaryIO, directory: Path) -> LocalFile:
    """Copy standard input to a private file in `directory`, in chunks, and inspect it.

    The upload needs its length up front (Kombo wants Content-Length, not chunked
    encoding) and a retry needs the bytes a second time, so stdin is spooled to disk
    rather than held in memory. The caller removes `directory` afterwards.
    """
    path = directory / "stdin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    with os.fdopen(fd, "wb") as spool:
        try:
            for chunk in iter(lambda: stream.read(HASH_CHUNK_BYTES), b""):
                spool.write(chunk)
        except OSError as exc:
            raise UsageError(f"Cannot read standard input: {exc.strerror}.") from None
    if path.stat().st_size == 0:
        raise UsageError("Standard input is empty; Kombo does not accept empty attachments.")
    local_file = inspect_local_file(str(path))
    return LocalFile(path=path, display=STDIN_DISPLAY, size=local_file.size, head=local_file.head)


def sha256_of(local_file: LocalFile) -> str:
    """The file's SHA-256, read in chunks: for --dry-run, which uploads nothing, and for an
    upload whose digest was not computed while sending (its reply was lost)."""
    digest = hashlib.sha256()
    try:
        with open(local_file.path, "rb") as handle:
            for chunk in iter(lambda: handle.read(HASH_CHUNK_BYTES), b""):
                digest.update(chunk)
    except OSError as exc:
        raise UsageError(f"Cannot read {local_file.display}: {exc.strerror}.") from None
    return digest.hexdigest()
