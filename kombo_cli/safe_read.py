"""Reading small files a user names for settings: regular files only, and only so much.

A `.env`, an `--env-file`, a profile or an `--remote-fields @FILE` is a few lines of text.
The name may still point at a named pipe (reading it waits for a writer forever), at
`/dev/zero` or `/dev/urandom` (reading it never ends), or at something huge. So the file
is opened without blocking, checked through the opened descriptor (not the path, which
could be swapped in between), and read no further than the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

# Settings files hold a handful of short lines; a bigger one is the wrong file, and a cap
# keeps a mistaken name from filling memory. 1 MiB leaves room for any real file.
MAX_SETTINGS_FILE_BYTES = 1024 * 1024

# A FIFO opened for reading waits for a writer unless opened non-blocking; Windows has no
# FIFOs, and no such flag.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_OPEN_FLAGS |= getattr(os, "O_CLOEXEC", 0)


class RefusedFile(Exception):
    """The name opened, but not as a small regular file. `reason` completes a sentence
    that begins with the file's name: "is a named pipe (FIFO), not a regular file"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def size_text(limit: int) -> str:
    """A cap in words: "1 MiB", "64 KiB", "100 bytes"."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def read_small_file(path: str | Path, limit: int = MAX_SETTINGS_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Raise RefusedFile for a directory, pipe, device or socket, or a file over the limit;
    OSError (FileNotFoundError, PermissionError...) when it cannot be opened or read.
    """
    descriptor = os.open(path, _OPEN_FLAGS)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise RefusedFile(_not_regular(mode))
        chunks: list[bytes] = []
        received = 0
        while received <= limit:
            chunk = os.read(descriptor, limit + 1 - received)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
    finally:
        os.close(descriptor)
    if received > limit:
        raise RefusedFile(f"is larger than {size_text(limit)}")
    return b"".join(chunks)


def _not_regular(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"
