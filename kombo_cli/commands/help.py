"""`kombo help [COMMAND]`, and the command classes every kombo command is made with, whose
help is `help_format`'s (imported only when help is shown, so commands stay quick to load).
"""

# No `from __future__ import annotations`: Typer reads these annotations at run time.
from typing import Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from kombo_cli.errors import ExitCode, UsageError


class KomboCommand(TyperCommand):
    """A command whose help and usage lines are kombo's own (see `help_format`)."""

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        from kombo_cli.commands.help_format import usage_lines

        formatter.write("\n".join(usage_lines(self, ctx, formatter.width)) + "\n")

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from kombo_cli.commands.help_format import render_help

        formatter.write(render_help(self, ctx))


# How `kombo --help` lists the commands: the everyday ones first. Typer would list the
# commands before the groups, whatever their order.
LISTED_FIRST = ("attach", "attachments", "doctor", "config", "sandbox", "completion", "help")


class KomboGroup(TyperGroup):
    """A group of commands, with kombo's help and usage lines (see `help_format`)."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(self.commands)  # as added: Click's own order differs by release
        return sorted(
            names,
            key=lambda name: (
                LISTED_FIRST.index(name) if name in LISTED_FIRST else len(LISTED_FIRST),
                names.index(name),
            ),
        )

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        from kombo_cli.commands.help_format import usage_lines

        formatter.write("\n".join(usage_lines(self, ctx, formatter.width)) + "\n")

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from kombo_cli.commands.help_format import render_help

        formatter.write(render_help(self, ctx))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # `kombo` or `kombo attachments` alone: the help, on stdout, exit 0, as `kombo
        # help` gives it. Click's own answer changed between releases (stdout and 0, then
        # stderr and 2); this one is the same on every release allowed.
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return list(super().parse_args(ctx, args))


def _complete_command(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion: the commands under those already typed after `help`."""
    try:
        command: Any = ctx.find_root().command
        for name in ctx.params.get("command") or []:
            command = (getattr(command, "commands", None) or {}).get(name)
        names = getattr(command, "commands", None) or {}
        return [name for name in names if name.startswith(incomplete)]
    except Exception:  # completion must never print a traceback into the user's shell
        return []


def help_command(
    ctx: typer.Context,
    command: Optional[list[str]] = typer.Argument(
        None,
        metavar="COMMAND",
        help="The command to explain, e.g. attach, or attachments list.",
        show_default=False,
        autocompletion=_complete_command,
    ),
) -> int:
    """Show the help of kombo or of COMMAND: the same as kombo COMMAND --help."""
    target = ctx.find_root()
    for name in command or []:
        path = target.command_path
        commands = getattr(target.command, "commands", None)
        if commands is None:
            raise UsageError(f"{path} has no commands under it; see {path} --help.")
        found = commands.get(name)
        if found is None or getattr(found, "hidden", False):
            raise UsageError(f"{path} has no command {name!r}; {path} --help lists them.")
        target = type(ctx)(found, info_name=name, parent=target)
    typer.echo(target.get_help(), color=target.color)
    return ExitCode.SUCCESS
