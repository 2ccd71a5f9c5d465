"""Write docs/cli.md, the command reference, from the command line definition itself.

    python docs/generate_cli_reference.py > docs/cli.md

tests/test_docs.py fails when the checked-in file differs from what this prints, so the
reference cannot drift from the tool. Only what the app defines is used (names, metavars,
defaults, help texts, panels), read the way `kombo COMMAND --help` reads them
(`kombo_cli.commands.help_format`), so the output is the same with every release
pyproject.toml allows.
"""

from __future__ import annotations

import re
import sys
from typing import Any

HEADER = """# Command reference

Generated from the command line definition by `python docs/generate_cli_reference.py`;
do not edit by hand. `kombo COMMAND --help` prints the same on a terminal.

Settings that have an environment variable name it below; the README's Settings section
gives the order in which flags, the environment, `.env` files and profiles win.
"""


def render() -> str:
    import typer

    from kombo_cli.app import app
    from kombo_cli.errors import EXIT_CODE_LABELS

    root = typer.main.get_command(app)
    context = typer.Context(root, info_name="kombo", **root.context_settings)
    sections = [HEADER]
    for ctx in _walk(context):
        sections.append(_command_section(ctx))
    codes = "\n".join(
        f"| {int(code)} | {label} |" for code, label in sorted(EXIT_CODE_LABELS.items())
    )
    sections.append(f"## Exit codes\n\n| Code | Meaning |\n|---|---|\n{codes}\n")
    return "\n".join(sections)


def _walk(ctx: Any) -> list[Any]:
    """The context of `ctx`'s command and of every command under it, as `--help` lists them."""
    import typer

    found = [ctx]
    command = ctx.command
    if getattr(command, "commands", None) is not None:
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not getattr(sub, "hidden", False):
                found.extend(_walk(typer.Context(sub, info_name=name, parent=ctx)))
    return found


def _command_section(ctx: Any) -> str:
    from kombo_cli.commands.help_format import (
        ARGUMENTS,
        argument_metavar,
        option_default,
        option_metavar,
        panels,
        paragraphs,
        usage_pieces,
    )

    command = ctx.command
    title = ctx.command_path
    lines = [f"## `{title}`", ""]
    for paragraph in paragraphs(command.help or ""):
        lines += [paragraph, ""]
    lines += ["```", " ".join([title, *usage_pieces(command, ctx)]), "```", ""]
    if getattr(command, "commands", None) is not None:
        names = ", ".join(f"`{name}`" for name in command.list_commands(ctx))
        lines += [f"Commands: {names}.", ""]
    help_names = set(ctx.help_option_names)
    grouped = [
        (title, [p for p in params if not set(getattr(p, "opts", [])) & help_names])
        for title, params in panels(command, ctx)
    ]
    grouped = [(title, params) for title, params in grouped if params]
    for panel, params in grouped:
        if panel == ARGUMENTS:
            lines += ["| Argument | Description |", "|---|---|"]
            for argument in params:
                text = _clean(argument.help or "")
                lines.append(f"| `{argument_metavar(argument)}` | {_cell(text)} |")
            lines.append("")
            continue
        if len(grouped) > 1 + (grouped[0][0] == ARGUMENTS):
            lines += [f"**{panel}**", ""]
        lines += ["| Option | Value | Default | Description |", "|---|---|---|---|"]
        for option in params:
            names = ", ".join(f"`{name}`" for name in [*option.opts, *option.secondary_opts])
            default = option_default(option)
            lines.append(
                f"| {names} | {_cell(option_metavar(option))} |"
                f" {_cell(f'`{default}`' if default is not None else '')} |"
                f" {_cell(_clean(option.help or ''))} |"
            )
        lines.append("")
    return "\n".join(lines)


def _clean(text: str) -> str:
    """Help text as plain Markdown: Typer's escaped brackets unescaped, lines joined."""
    text = text.replace("\\[", "[")
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", text.strip())]
    return "\n\n".join(part for part in paragraphs if part)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n\n", "<br>")


if __name__ == "__main__":
    sys.stdout.write(render())
