"""Where text goes: results to stdout, chatter (progress, warnings, errors) to stderr.

Colour only on a terminal and never with NO_COLOR; piped output is plain text with no
control characters; `--json` prints machine-readable objects on stdout, one per line. Every
line passes through `scrub`, so a secret that slipped into a message never reaches the
screen, and a reader that goes away (`| head -1`) never stops the work. Knows no command
and never does HTTP: each command renders its own results through a Console.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, Callable, TextIO

from kombo_cli.env import Environment
from kombo_cli.errors import ApiError, Interrupted, KomboError, error_json
from kombo_cli.redact import scrub
from kombo_cli.ui.display import LIVE, PLAIN, TerminalDisplay, write_text
from kombo_cli.ui.pipe import raw_fd
from kombo_cli.ui.stdout_pipe import PipedStdout, discard_further_output
from kombo_cli.ui.text import printable


class Console:
    def __init__(
        self,
        env: Environment,
        *,
        json_mode: bool = False,
        quiet: bool = False,
        verbosity: int = 0,
    ) -> None:
        self.env = env
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbosity = 0 if quiet else verbosity
        self.stdout = env.stdout
        self.stderr = env.stderr
        self.stdout_terminal = env.is_terminal(self.stdout)
        self.stderr_terminal = env.is_terminal(self.stderr)
        self.stderr_color = env.wants_color(self.stderr)
        self.stdout_color = env.wants_color(self.stdout) and not json_mode
        self._secrets: list[str] = []
        # Results come from the main thread, retry notices from workers: one line must
        # never cut into another.
        self._write_lock = threading.RLock()
        # While progress is shown on the terminal, lines for the terminal are handed to
        # its display, whose thread alone writes there (see `ui.display`).
        self._display: TerminalDisplay | None = None
        self.display_mode = None if quiet else self._display_mode(env)
        # Results on a pipe or file are written to its descriptor directly (`ui.pipe`).
        # Asked while stdout's reader is not reading: True gives the line up (after Ctrl-C).
        self.give_up_on_stdout: Callable[[], bool] = lambda: False
        # Whether Ctrl-C was pressed (see `ui.stdout_pipe`).
        self.interrupted: Callable[[], bool] = lambda: False
        fd = None if self.stdout_terminal else raw_fd(self.stdout)
        self._piped = (
            None
            if fd is None
            else PipedStdout(
                self.stdout, fd, lambda: self.give_up_on_stdout(), lambda: self.interrupted()
            )
        )
        # stdout on the very terminal stderr is on: its lines can go out in the display's
        # own writes, so nothing (not even the "^C" the terminal echoes) lands between.
        self._stdout_shares_terminal = self.stdout_terminal and _same_device(
            self.stdout, self.stderr
        )
        # The terminal echoes "^C" where the cursor is: lines from then on start over it.
        self._return_to_line_start = False

    # -- secrets ---------------------------------------------------------------------------

    def add_secret(self, secret: str | None) -> None:
        """Remember a value that must never be printed, whatever message carries it."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def clean(self, text: str) -> str:
        return printable(scrub(text, self._secrets))

    def _clean_json(self, value: Any) -> Any:
        """Scrub every string inside a JSON value, so the result is still valid JSON."""
        if isinstance(value, str):
            return self.clean(value)
        if isinstance(value, dict):
            return {key: self._clean_json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._clean_json(item) for item in value]
        return value

    # -- writers ---------------------------------------------------------------------------

    def out(self, text: str, style: str | None = None, *, about: object = None) -> bool:
        """A result line (or lines) on stdout. False if it was given up unwritten.
        `about` names what the line reports, for `lost_on_stdout()`."""
        if self._piped is not None:
            return self._piped.write(self.clean(text), about)
        self._write(self.stdout, text, style, self.stdout_color)
        return True

    def err(self, text: str, style: str | None = None) -> None:
        """A line for the person watching, on stderr."""
        self._write(self.stderr, text, style, self.stderr_color)

    def json(self, payload: dict[str, Any], *, about: object = None) -> bool:
        """One JSON object on one line of stdout. False if it was given up unwritten."""
        line = json.dumps(self._clean_json(payload), ensure_ascii=False)
        if self._piped is not None:
            return self._piped.write(self.clean(line), about)
        self._write(self.stdout, line, None, False)
        return True

    def lost_on_stdout(self) -> tuple[list[object], list[object]]:
        """After Ctrl-C: what the last lines written to a pipe reported, when its reader has
        since gone (Ctrl-C stops a `| tee` too) and left them unread; and what the lines it
        took in the moment of the press reported (it may have died before passing them on)."""
        return self._piped.lost() if self._piped is not None else ([], [])

    def _write(self, stream: TextIO, text: str, style: str | None, color: bool) -> None:
        with self._write_lock:
            self._write_locked(stream, self.clean(text), style, color)

    def _write_locked(self, stream: TextIO, text: str, style: str | None, color: bool) -> None:
        start = ""
        if self._return_to_line_start and (
            stream is self.stderr or (stream is self.stdout and self._stdout_shares_terminal)
        ):
            # Every line on the terminal after Ctrl-C, whichever stream carries it: the
            # terminal sends the signal before it echoes, so the echo may land after the
            # first line; at the start of a line a carriage return changes nothing else.
            start = "\r"
        # Read once: the display may end on another thread meanwhile.
        display = self._display
        if display is not None and (
            stream is self.stderr or (stream is self.stdout and self.stdout_terminal)
        ):
            shown = _styled(stream, text, style) if color and style else text
            display.print(self.stderr if self._stdout_shares_terminal else stream, start + shown)
            return
        try:
            shown = _styled(stream, text, style) if color and style else text
            write_text(stream, start + shown + "\n")
        except BrokenPipeError:
            # The reader went away (`kombo ... | head -1`). The work itself must go on and
            # end with its real exit code: stopping half-way through a batch, or exiting 1
            # after a stored upload, would invite a re-run and a duplicate.
            discard_further_output(stream)

    # -- chatter on stderr -----------------------------------------------------------------

    def detail(self, message: str) -> None:
        """Progress detail, shown with -v."""
        if self.verbosity >= 1:
            self.err(message, "dim")

    def warning(self, message: str) -> None:
        if not self.quiet:
            self.err(f"Warning: {message}", "yellow")

    def notice(self, message: str) -> None:
        """Something happening that the user waits for (a retry), unless --quiet."""
        if not self.quiet:
            self.err(message, "yellow")

    def error(self, err: KomboError, label: str = "") -> None:
        """One sentence saying what failed, then Kombo's details and a hint where they help.

        `label` names the item of a batch the error is about.
        """
        self.err(
            self._fitted(f"Error: {label}: {err.message}" if label else f"Error: {err.message}"),
            "bold red",
        )
        if isinstance(err, ApiError) and (
            err.code or err.log_url or (err.title and err.title != err.message)
        ):
            parts = []
            if err.code:
                parts.append(f"Kombo error {err.code}")
            if err.title and err.title != err.message:
                parts.append(f'"{err.title}"')
            parts.append(f"HTTP {err.http_status}")
            detail = "  " + ", ".join(parts)
            if err.log_url:
                detail += f"; log: {err.log_url}"
            self.err(self._fitted(detail, "    "))
        if isinstance(err, Interrupted):
            for line in err.details:
                self.err(f"  {line}")
        if err.hint:
            self.err(self._fitted(f"  Hint: {err.hint}", "    "), "cyan")

    def _fitted(self, text: str, indent: str = "  ") -> str:
        """On a terminal, `text` wrapped between words to the window, later lines indented:
        the terminal itself would cut words (and IDs) in two. Elsewhere, as it is: a log
        or a script reads one message per line."""
        if not self.stderr_terminal:
            return text
        import textwrap

        width = self.env.columns(self.stderr) - 1
        if len(text) <= width:
            return text
        return "\n".join(
            textwrap.wrap(
                text,
                width=max(20, width),
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )

    def failure(self, err: KomboError, **context: Any) -> None:
        """A failed command: the message on stderr and, with --json, an object on stdout."""
        self.error(err)
        if self.json_mode:
            self.json({"status": "error", **context, "error": error_json(err)})

    def print_traceback(self, text: str) -> None:
        """Only with KOMBO_DEBUG: the traceback (no local variables), secrets masked."""
        self.err(text.rstrip())

    def http_log_handler(self) -> logging.Handler:
        """A handler that shows the HTTP debug log (-vv) on stderr, secrets masked."""
        console = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                console.err(self.format(record), "dim")

        handler = _Handler()
        handler.setFormatter(logging.Formatter("http: %(message)s"))
        return handler

    # -- live displays ---------------------------------------------------------------------

    @staticmethod
    def _display_mode(env: Environment) -> str | None:
        """How progress may be shown: LIVE (bars redrawn in place), PLAIN (an occasional
        whole line, no cursor movement) or None (no progress at all).

        Progress goes to stderr, so only a terminal there gets any. Bars are redrawn only
        where nothing else can write between their lines: not when stdout is a pipe, whose
        reader (`tee`, `cat`) may well write to this same screen; not on a dumb terminal;
        not with NO_COLOR, which asks for plain text; and not where TERM does not say
        what the terminal is."""
        stderr = env.stderr
        if not _isatty(stderr):
            return None
        if (
            not env.is_terminal(stderr)
            or not env.environ.get("TERM")
            or env.environ.get("NO_COLOR")
            or _may_reach_a_screen(env.stdout)
        ):
            return PLAIN
        return LIVE

    def live_console(self) -> Any:
        """A rich console on stderr that draws the frames of a live display."""
        from rich.console import Console as RichConsole

        return RichConsole(
            file=self.stderr,
            highlight=False,
            force_terminal=True,
            no_color=not self.stderr_color,
        )

    @contextmanager
    def live(self, display: TerminalDisplay) -> Iterator[None]:
        """Show `display` for the length of the block; lines for the terminal go through it."""
        if self.display_mode is None:
            yield
            return
        display.start()
        self._display = display
        try:
            yield
        finally:
            self.stop_live()

    def ctrl_c_pressed(self) -> None:
        """The terminal echoes "^C" at the cursor: from now on each line on the terminal
        starts at the beginning of its line, over it. Only sets flags (signal handler)."""
        if self._piped is not None:
            self._piped.ctrl_c_pressed()
        if _isatty(self.stderr):
            self._return_to_line_start = True

    def stop_live(self) -> None:
        """End the display now (at the end, or on Ctrl-C): the lines it still holds are
        written and the bars erased. Safe to call twice. The display stays reachable until
        it has stopped, so a second Ctrl-C meanwhile still puts the terminal back."""
        display = self._display
        if display is not None:
            display.stop()
            self._display = None

    def emergency_erase(self) -> bytes:
        """On the way out at once (a second Ctrl-C, SIGTERM): the terminal's settings put
        back, and the bytes that erase the bars."""
        display = self._display
        return display.emergency_erase() if display is not None else b""

    def restore_terminal(self) -> None:
        """Put the terminal back now (SIGTERM, SIGHUP): erase the bars, undo its settings."""
        erase = self.emergency_erase()
        if erase:
            with suppress(OSError, ValueError, AttributeError):
                os.write(self.stderr.fileno(), erase)

    def block_lost(self) -> None:
        """Back from Ctrl-Z: the bars' place on screen is not known any more (a flag)."""
        display = self._display
        if display is not None:
            display.block_lost()


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _same_device(one: TextIO, other: TextIO) -> bool:
    try:
        return os.fstat(one.fileno()).st_rdev == os.fstat(other.fileno()).st_rdev
    except (AttributeError, OSError, ValueError):
        return False


def _may_reach_a_screen(stream: TextIO) -> bool:
    """stdout is a pipe or socket: its reader may write what it reads to our terminal."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _styled(stream: TextIO, text: str, style: str) -> str:
    """`text` in `style`, as the escape sequences the terminal behind `stream` takes."""
    from rich.console import Console as RichConsole
    from rich.text import Text

    console = RichConsole(file=stream, force_terminal=True, highlight=False, soft_wrap=True)
    with console.capture() as captured:
        console.print(Text(text, style=style), end="")
    return captured.get()
