"""Run the installed `kombo` in a terminal window of a given size, and read the screen.

The window is a pseudo-terminal: kombo's stdout and stderr are on it (stdin is /dev/null),
its size is set with TIOCSWINSZ, and COLUMNS and LINES are not set, as in a real terminal.
What kombo writes passes through the kernel's terminal driver into `pyte`, a terminal
emulator of the same size, which wraps long lines as a terminal does. Tests assert on the
rows a person would see, and on the raw bytes.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import time
from collections.abc import Mapping
from dataclasses import dataclass

import pyte

from tests.helpers import KOMBO_EXECUTABLE, clean_env


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    # Everything kombo wrote, as the terminal received it ("\r\n" line ends).
    raw: bytes
    # The window's rows at the end, trailing blanks dropped (blank rows kept, as shown).
    screen: list[str]

    @property
    def lines(self) -> list[str]:
        """The lines kombo wrote, as text: what the terminal wraps, if they are too long."""
        return self.raw.decode("utf-8", "replace").replace("\r\n", "\n").splitlines()

    def rows_with(self, text: str) -> list[str]:
        return [row for row in self.screen if text in row]


def run_in_terminal(
    *args: str,
    env: Mapping[str, str] | None = None,
    columns: int = 80,
    rows: int = 24,
    timeout: float = 60,
) -> TerminalRun:
    """Run `kombo ARGS` in a window `columns` wide and `rows` high; what it shows."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environ = clean_env({"TERM": "xterm-256color", **(env or {})})
    environ.pop("COLUMNS", None)
    environ.pop("LINES", None)
    try:
        process = subprocess.Popen(
            [str(KOMBO_EXECUTABLE), *args],
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
            env=environ,
            close_fds=True,
        )
    finally:
        os.close(slave)
    raw = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: kombo has exited and closed the terminal
                    chunk = b""
                if not chunk:
                    break
                raw += chunk
            elif process.poll() is not None:
                break
        returncode = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return TerminalRun(returncode, bytes(raw), _screen(bytes(raw), columns, rows))


def _screen(raw: bytes, columns: int, rows: int) -> list[str]:
    screen = pyte.Screen(columns, rows)
    pyte.ByteStream(screen).feed(raw)
    shown = [row.rstrip() for row in screen.display]
    while shown and not shown[-1]:
        shown.pop()
    return shown
