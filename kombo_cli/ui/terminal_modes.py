"""The terminal's own settings that the live display relies on, and putting them back.

Two facts about a terminal matter to a display that redraws itself:
- whether this process is in the foreground: a job sent to the background (`&`, or Ctrl-Z
  then `bg`) shares the screen with the shell and whatever runs next, so it must not move
  the cursor there;
- whether the terminal throws away output on Ctrl-C (it does unless NOFLSH is set): output
  still on its way to the screen when SIGINT is sent is dropped, a result line the person
  never sees, and a block of bars the display then "erases" over lines that are not its
  own; and whether it echoes Ctrl-C as "^C" (ECHOCTL), which lands wherever the cursor is,
  often at the front of the next result line. While progress is shown, kombo sets NOFLSH
  and clears ECHOCTL, and puts both back when it ends, on SIGTERM or SIGHUP, and on the
  second Ctrl-C (only SIGKILL can leave them so, which does little harm: Ctrl-C then keeps
  output and shows no "^C"; `stty sane` puts them back).
"""

from __future__ import annotations

import io
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Callable, TextIO


def in_foreground(stream: TextIO) -> bool:
    """This process is not known to be a background job of the terminal behind `stream`
    (True where that cannot be told: no descriptor, or not this process's terminal)."""
    try:
        return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return True


def settle_for_ctrl_c(stream: TextIO) -> Callable[[], None]:
    """While progress is shown: set NOFLSH (keep output on Ctrl-C) and clear ECHOCTL (echo
    Ctrl-C as the invisible character it is, not as "^C" glued to the front of the next
    line), if this process is in the foreground; returns what puts back exactly the bits
    it changed (safe to call often, from any thread)."""
    try:
        import termios

        fd = stream.fileno()
        if not in_foreground(stream):
            return lambda: None
        attributes = termios.tcgetattr(fd)
        echoctl = getattr(termios, "ECHOCTL", 0)
        setting = termios.NOFLSH & ~attributes[3]
        clearing = echoctl & attributes[3]
        if not setting and not clearing:
            return lambda: None
        attributes[3] = (attributes[3] | setting) & ~clearing
        termios.tcsetattr(fd, termios.TCSANOW, attributes)
    except (ImportError, AttributeError, OSError, ValueError):
        return lambda: None
    lock = threading.Lock()
    undone = False

    def undo() -> None:
        nonlocal undone
        with lock:
            if undone:
                return
            undone = True
        with suppress(OSError, ValueError), _sigttou_held():
            current = termios.tcgetattr(fd)
            current[3] = (current[3] & ~setting) | clearing
            termios.tcsetattr(fd, termios.TCSANOW, current)

    return undo


@contextmanager
def _sigttou_held() -> Iterator[None]:
    """A job moved to the background since (Ctrl-Z, `bg`) that changes terminal settings is
    stopped with SIGTTOU, unless the signal is blocked: then the change is made."""
    blocked = False
    with suppress(AttributeError, OSError, ValueError):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
        blocked = True
    try:
        yield
    finally:
        if blocked:
            with suppress(AttributeError, OSError, ValueError):
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTTOU})


@contextmanager
def terminal_guard(restore: Callable[[], None], resumed: Callable[[], None]) -> Iterator[None]:
    """For the length of the block: SIGTERM and SIGHUP first call `restore` (which puts the
    terminal back), then end the process as they would have; SIGCONT (back from Ctrl-Z)
    calls `resumed`, which may only set a flag. Main thread only; elsewhere, and for
    signals someone else handles, nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    installed: dict[int, object] = {}

    def ending(number: int, _frame: object) -> None:
        with suppress(Exception):
            restore()
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)

    def continuing(_number: int, _frame: object) -> None:
        resumed()

    for name, handler in (("SIGTERM", ending), ("SIGHUP", ending), ("SIGCONT", continuing)):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is signal.SIG_DFL:
            installed[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, previous in installed.items():
            with suppress(Exception):
                signal.signal(number, previous)  # type: ignore[arg-type]
