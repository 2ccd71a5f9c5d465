"""`kombo completion SHELL`: print the shell's completion script."""

from enum import Enum

import typer

from kombo_cli.commands.context import state_of
from kombo_cli.commands.options import completes, listed, one_of


class ShellChoice(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


SHELLS = [shell.value for shell in ShellChoice]


def completion(
    ctx: typer.Context,
    shell: str = typer.Argument(
        ...,
        metavar="SHELL",
        callback=one_of(SHELLS),
        autocompletion=completes(SHELLS),
        help=f"The shell to print the script for: {listed(SHELLS)}.",
        show_default=False,
    ),
) -> None:
    """Print the completion script for SHELL; see the README for where to put it."""
    from typer._completion_shared import get_completion_script

    script = get_completion_script(prog_name="kombo", complete_var="_KOMBO_COMPLETE", shell=shell)
    state_of(ctx).open_console().out(script)
