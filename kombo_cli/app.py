"""The Typer root, and `run`: the one place that turns what happened into a message and an
exit code.

Each command lives in its own module under `kombo_cli.commands`; this module only gathers
them. Every command module is light to import (heavy work is imported when a command
runs), so `kombo --help` stays quick.
"""

# No `from __future__ import annotations`: Typer reads these annotations at run time.
import importlib
import io
import os
import traceback
from contextlib import ExitStack, redirect_stderr, redirect_stdout, suppress
from typing import Any, Optional, TextIO

import typer

from kombo_cli.commands.attach import attach
from kombo_cli.commands.attachments import attachments_app
from kombo_cli.commands.completion import completion
from kombo_cli.commands.config import config_app
from kombo_cli.commands.context import AppState
from kombo_cli.commands.doctor import doctor
from kombo_cli.commands.help import KomboCommand, KomboGroup, help_command
from kombo_cli.commands.sandbox import sandbox
from kombo_cli.env import Environment
from kombo_cli.errors import EXIT_CODE_LABELS, ExitCode, InternalError, Interrupted, KomboError
from kombo_cli.ui.console import Console
from kombo_cli.version import __version__


def _click_exception() -> Any:
    """Click's base of usage errors: Typer 0.20 and later vendor Click, older ones use it."""
    try:
        module = importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - depends on the installed Typer
        module = importlib.import_module("click.exceptions")
    return module.ClickException


ClickException: type[Exception] = _click_exception()


try:  # Registers bash/zsh/fish for `_KOMBO_COMPLETE=<shell>_source kombo` (see completions/).
    from typer.completion import completion_init  # type: ignore[attr-defined]

    completion_init()
except ImportError:  # pragma: no cover - depends on the installed Typer
    pass


def _exit_code_table() -> str:
    # One paragraph: help formatters of different Typer releases reflow lines differently.
    codes = "; ".join(f"{int(code)} {label}" for code, label in EXIT_CODE_LABELS.items())
    return f"Exit codes: {codes}."


app = typer.Typer(
    name="kombo",
    cls=KomboGroup,
    help="Upload files as attachments to candidates and applications in the Kombo ATS API.",
    epilog=_exit_code_table(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"kombo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        is_eager=True,
        callback=_print_version,
    ),
) -> None:
    """Upload files as attachments to candidates and applications in the Kombo ATS API."""


app.command(cls=KomboCommand, epilog=_exit_code_table())(attach)
app.add_typer(attachments_app, name="attachments")
app.command(cls=KomboCommand)(doctor)
app.add_typer(config_app, name="config")
app.command(cls=KomboCommand)(sandbox)
app.command(cls=KomboCommand)(completion)
app.command("help", cls=KomboCommand)(help_command)


def run(argv: Optional[list[str]], env: Environment) -> int:
    """Run the app in `env` and turn whatever happened into an exit code. Nothing else exits.

    Click writes help and usage errors to sys.stdout and sys.stderr itself; they are
    pointed at the environment's streams for the length of the run.
    """
    state = AppState(env)
    with ExitStack() as streams:
        streams.enter_context(redirect_stdout(_ReaderMayLeave(env.stdout)))
        streams.enter_context(redirect_stderr(env.stderr))
        return _run(argv, env, state)


class _ReaderMayLeave(io.TextIOBase):
    """Standard output for what Click prints itself (help, `--version`): when the reader
    goes away (`kombo --help | head -1`), the rest is dropped and the run ends as it would
    have. Click would exit 1 on the broken pipe, and Python would complain at exit about
    the text it could not flush."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._reader_left()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._reader_left()

    def _reader_left(self) -> None:
        self._gone = True
        # Whatever is still buffered for the closed pipe goes to /dev/null instead, so the
        # flush at exit neither fails nor prints "Exception ignored".
        with suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> Optional[str]:  # type: ignore[override]
        return getattr(self._stream, "errors", None)


def _run(argv: Optional[list[str]], env: Environment, state: AppState) -> int:
    def console() -> Console:
        return state.console or Console(env)

    try:
        result = app(args=argv, prog_name="kombo", standalone_mode=False, obj=state)
    except KomboError as err:
        console().failure(err)
        return err.exit_code
    except ClickException as err:
        # Bad options and arguments: Click's own message and usage line, exit 2.
        usage_error: Any = err
        usage_error.show(file=env.stderr)
        return int(usage_error.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        console().error(Interrupted("Interrupted."))
        return ExitCode.INTERRUPTED
    except Exception as exc:
        shown = console()
        if env.debug:
            shown.print_traceback(traceback.format_exc())
        shown.failure(
            InternalError(
                f"kombo hit an unexpected internal error ({type(exc).__name__}).",
                hint="run again with KOMBO_DEBUG=1 to see the traceback, and please report it",
            )
        )
        return ExitCode.INTERNAL
    if result == ExitCode.INTERRUPTED:
        # Typer turns a Ctrl-C outside our commands' own handling into a bare exit code.
        console().error(Interrupted("Interrupted."))
    return int(result) if isinstance(result, int) else ExitCode.SUCCESS
