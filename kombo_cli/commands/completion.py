"""`kombo completion SHELL`: print the shell's completion script."""

from enum import Enum

import typer

from kombo_cli.commands.context import state_of


class ShellChoice(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    ctx: typer.Context,
    shell: ShellChoice = typer.Argument(..., help="The shell to print the script for."),
) -> None:
    """Print the completion script for SHELL; see the README for where to put it."""
    from typer._completion_shared import get_completion_script

    script = get_completion_script(
        prog_name="kombo", complete_var="_KOMBO_COMPLETE", shell=shell.value
    )
    state_of(ctx).open_console().out(script)
