"""Write docs/cli.md, the command reference, from the command line definition itself.

    python docs/generate_cli_reference.py > docs/cli.md

tests/test_docs.py fails when the checked-in file differs from what this prints, so the
reference cannot drift from the tool. Only what the app defines is used (names, metavars,
defaults, help texts), not how a given Typer or Click release renders help, so the output is
the same with every release pyproject.toml allows.
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
    sections = [HEADER]
    for path, command in _walk(root, ["kombo"]):
        sections.append(_command_section(path, command))
    codes = "\n".join(
        f"| {int(code)} | {label} |" for code, label in sorted(EXIT_CODE_LABELS.items())
    )
    sections.append(f"## Exit codes\n\n| Code | Meaning |\n|---|---|\n{codes}\n")
    return "\n".join(sections)


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    for name in sorted(getattr(command, "commands", {}) or {}):
        sub = command.commands[name]
        if not getattr(sub, "hidden", False):
            found.extend(_walk(sub, [*path, name]))
    return found


def _command_section(path: list[str], command: Any) -> str:
    title = " ".join(path)
    lines = [f"## `{title}`", ""]
    help_text = _clean(command.help or "")
    if help_text:
        lines += [help_text, ""]
    subcommands = sorted(getattr(command, "commands", {}) or {})
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if p.param_type_name == "option" and not p.hidden]
    usage = [title]
    if options:
        usage.append("[OPTIONS]")
    usage += [_argument_metavar(argument) for argument in arguments]
    if subcommands:
        usage.append("COMMAND")
    lines += ["```", " ".join(usage), "```", ""]
    if subcommands:
        lines += ["Commands: " + ", ".join(f"`{name}`" for name in subcommands) + ".", ""]
    if arguments:
        lines += ["| Argument | Description |", "|---|---|"]
        for argument in arguments:
            text = _clean(getattr(argument, "help", None) or "")
            lines.append(f"| `{_argument_metavar(argument)}` | {_cell(text)} |")
        lines.append("")
    if options:
        lines += ["| Option | Value | Default | Description |", "|---|---|---|---|"]
        for option in options:
            names = ", ".join(f"`{name}`" for name in [*option.opts, *option.secondary_opts])
            value = "" if option.is_flag or option.count else (option.metavar or "")
            lines.append(
                f"| {names} | {_cell(value)} | {_cell(_default(option))} |"
                f" {_cell(_clean(option.help or ''))} |"
            )
        lines.append("")
    return "\n".join(lines)


def _argument_metavar(argument: Any) -> str:
    return str(argument.metavar or argument.name.upper())


def _default(option: Any) -> str:
    default = option.default
    if option.is_flag or option.count or default in (None, [], ()) or callable(default):
        return ""
    value = getattr(default, "value", default)  # enums show their value
    if option.name == "help":
        return ""
    return f"`{value}`"


def _clean(text: str) -> str:
    """Help text as plain Markdown: Typer's escaped brackets unescaped, lines joined."""
    text = text.replace("\\[", "[")
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", text.strip())]
    return "\n\n".join(part for part in paragraphs if part)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n\n", "<br>")


if __name__ == "__main__":
    sys.stdout.write(render())
