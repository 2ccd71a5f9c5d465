"""Run a shell command in a real pseudo-terminal and read the screen a person would see.

Everything the command writes to the terminal (its own stderr, and whatever a `| tee` or
`| cat` in the same command line writes there) goes through the kernel's terminal driver,
as in a real terminal window, and then into `pyte`, a terminal emulator. Tests assert on
the emulator's screen and scroll-back: what is left to read once the command has ended.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyte

from tests.helpers import clean_env


@dataclass(frozen=True)
class Screen:
    """What the terminal shows at the end, scroll-back included, and the raw bytes."""

    lines: list[str]
    raw: bytes
    returncode: int
    columns: int
    # The terminal's local modes once the command ended (kombo must restore what it set).
    local_modes: int

    def count(self, text: str) -> int:
        """How many screen lines contain `text`."""
        return sum(text in line for line in self.lines)

    def text(self) -> str:
        return "\n".join(self.lines)


def _make_controlling_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty, so that the
    terminal driver sends SIGINT for Ctrl-C, as a shell in a terminal window would."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_on_screen(
    command: str,
    *,
    env: Mapping[str, str],
    columns: int = 120,
    rows: int = 40,
    press_ctrl_c_when: Callable[[bytes], bool] | None = None,
    presses: int = 1,
    timeout: float = 60,
) -> Screen:
    """Run `command` with `sh -c` on a `columns` by `rows` pseudo-terminal (stdin, stdout and
    stderr all on it unless the command redirects them) and return the final screen.

    With `press_ctrl_c_when`, Ctrl-C is typed on the terminal once the output so far
    satisfies it (the terminal driver then interrupts the command's process group), up to
    `presses` times, each time it is satisfied again, 50 ms apart at least."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environ = clean_env({"TERM": "xterm-256color", **env})
    environ.pop("COLUMNS", None)
    environ.pop("LINES", None)
    try:
        process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=environ,
            preexec_fn=_make_controlling_terminal,  # exec follows at once
            close_fds=True,
        )
    finally:
        os.close(slave)
    raw = bytearray()
    pressed = 0
    last_press = 0.0
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{command!r} still running after {timeout} s")
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    chunk = b""
                if not chunk:
                    break
                raw += chunk
            elif process.poll() is not None:
                # The command ended; read what is still buffered, then stop.
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    break
            if (
                press_ctrl_c_when is not None
                and pressed < presses
                and time.monotonic() - last_press >= 0.05
                and press_ctrl_c_when(bytes(raw))
            ):
                os.write(master, b"\x03")
                pressed += 1
                last_press = time.monotonic()
        returncode = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        local_modes = termios.tcgetattr(master)[3]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)
    return Screen(_render(bytes(raw), columns, rows), bytes(raw), returncode, columns, local_modes)


def _render(raw: bytes, columns: int, rows: int) -> list[str]:
    """The emulator's scroll-back and screen, trailing blanks dropped."""
    screen = pyte.HistoryScreen(columns, rows, history=10_000)
    stream = pyte.ByteStream(screen)
    stream.feed(raw)
    scrolled = [
        "".join(line[column].data for column in range(columns)) for line in screen.history.top
    ]
    lines = [line.rstrip() for line in scrolled + screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines
