"""Help as kombo prints it: usage, description, options in panels, and the epilogue.

Typer's own help reads differently with each release pyproject.toml allows: type labels
(`<str>`, `TEXT`, `[x>=0]`), choices in another case, and usage lines that Click wraps
inside words (`base-` / `url>`), which rich then wraps again. So kombo renders help itself,
from the same definitions, with rich, and the same on every release:

- usage lines break only between words, with a hanging indent;
- each option shows its metavar (`ID`, `FILE`, `SECONDS`) or nothing for a flag;
- options are grouped by their `rich_help_panel`, in the order they are declared; those
  that name none make a panel called Options, but --help alone joins the last panel;
- name and metavar columns line up across panels; on a narrow terminal each option's help
  goes under its name instead of beside it.

Help is rendered to text (with colour codes only for a colour terminal) and printed by
Click in one piece, so `kombo help X` prints exactly what `kombo X --help` does.
"""

from __future__ import annotations

import io
import re
from typing import Any

from kombo_cli.env import Environment

# Wider help is harder to read; the terminal may be narrower.
MAX_WIDTH = 100
# Below this many columns for the help text, it goes under the option's name.
MIN_HELP_COLUMN = 28
_TRAILING_SPACES = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$")
ARGUMENTS = "Arguments"
OPTIONS = "Options"
COMMANDS = "Commands"


def usage_pieces(command: Any, ctx: Any) -> list[str]:
    """What follows the command's name on its usage line: `[OPTIONS] CANDIDATE_ID`."""
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    pieces = ["[OPTIONS]"] if any(p.param_type_name == "option" for p in params) else []
    for param in params:
        if param.param_type_name == "argument":
            pieces.append(argument_usage(param))
    if getattr(command, "commands", None) is not None:
        pieces.append("COMMAND [ARGS]...")
    return pieces


def argument_usage(argument: Any) -> str:
    text = argument_metavar(argument)
    if argument.nargs != 1 and not text.endswith("..."):
        text += "..."
    return text if argument.required else f"[{text}]"


def argument_metavar(argument: Any) -> str:
    return str(argument.metavar or (argument.name or "").upper())


def option_metavar(option: Any) -> str:
    """The value an option takes as help names it; nothing for a flag."""
    if getattr(option, "is_flag", False) or getattr(option, "count", False):
        return ""
    return str(option.metavar or (option.name or "").upper())


def option_default(option: Any) -> str | None:
    """The default help shows, or None where it says nothing (flags, no value, or a help
    text that describes it in words)."""
    default = option.default
    if (
        option.param_type_name != "option"
        or getattr(option, "is_flag", False)
        or getattr(option, "count", False)
        or option.show_default is False
        or default is None
        or callable(default)
        or default in ([], ())
    ):
        return None
    value = getattr(default, "value", default)  # an enum shows its value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def wrap_words(words: list[str], width: int, indent: int) -> list[str]:
    """`words` filled into lines of at most `width` columns, breaking only between words;
    lines after the first start `indent` columns in. A word longer than a line gets a line
    of its own, unbroken."""
    lines: list[str] = []
    line = ""
    for word in words:
        candidate = f"{line} {word}" if line.strip() else line + word
        if line.strip() and len(candidate) > width:
            lines.append(line)
            line = " " * indent + word
        else:
            line = candidate
    if line.strip():
        lines.append(line)
    return lines


def usage_lines(command: Any, ctx: Any, width: int) -> list[str]:
    """`Usage: kombo attach [OPTIONS] ...`, wrapped between pieces (and, if a piece is too
    long for a line, between its words), never inside a word."""
    head = f"Usage: {ctx.command_path}"
    indent = len(head) + 1 if len(head) + 1 <= width // 2 else 4
    words = head.split()
    for piece in usage_pieces(command, ctx):
        # A piece stays whole when it fits on a line; else it breaks at its spaces only.
        words += [piece] if len(piece) <= width - indent else piece.split()
    return wrap_words(words, width, indent)


def paragraphs(text: str) -> list[str]:
    """A docstring or help text as paragraphs, each one line (rich wraps it to fit)."""
    import inspect

    blocks = inspect.cleandoc(text).partition("\f")[0].split("\n\n")
    return [" ".join(block.split()) for block in blocks if block.strip()]


def environment_of(ctx: Any) -> Environment:
    from kombo_cli.commands.context import AppState

    state = ctx.find_object(AppState) if ctx is not None else None
    return state.env if state is not None else Environment.from_process()


def render_help(command: Any, ctx: Any) -> str:
    """The whole help of `command`, as text for the environment's stdout."""
    from rich.console import Console

    env = environment_of(ctx)
    width = min(env.columns(env.stdout), MAX_WIDTH)
    color = env.wants_color(env.stdout)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    for renderable in _sections(command, ctx, width):
        console.print(renderable)
    # rich pads each line to the full width: drop that (and keep any colour reset after it).
    lines = [_TRAILING_SPACES.sub(r"\1", line) for line in buffer.getvalue().splitlines()]
    return "\n".join(lines).rstrip("\n") + "\n"


def _sections(command: Any, ctx: Any, width: int) -> list[Any]:
    from rich.padding import Padding
    from rich.text import Text

    sections: list[Any] = []
    # One column of margin, as the paragraphs have; lines already fit, so rich keeps them.
    usage = "\n".join(usage_lines(command, ctx, width - 1))
    sections.append(Padding(Text(usage, style="bold", no_wrap=True, overflow="fold"), (0, 0, 1, 1)))
    for paragraph in paragraphs(command.help or ""):
        sections.append(Padding(Text(paragraph), (0, 1, 1, 1)))
    grouped = panels(command, ctx)
    name_width = max((len(_names(p)) for _, params in grouped for p in params), default=0)
    metavar_width = max((len(_value(p)) for _, params in grouped for p in params), default=0)
    for title, params in grouped:
        sections.append(_panel(title, params, width, name_width, metavar_width))
    commands = _commands(command, ctx)
    if commands:
        sections.append(_commands_panel(commands))
    if command.epilog:
        sections.append(Text(""))
        for paragraph in paragraphs(command.epilog):
            sections.append(Padding(Text(paragraph), (0, 1, 1, 1)))
    return sections


def panels(command: Any, ctx: Any) -> list[tuple[str, list[Any]]]:
    """The parameters by panel, in the order they are declared, arguments first. Options
    without a panel make one called Options, except --help alone, which joins the last."""
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    panels: dict[str, list[Any]] = {}
    arguments = [p for p in params if p.param_type_name == "argument"]
    if arguments:
        panels[ARGUMENTS] = arguments
    options = [p for p in params if p.param_type_name == "option"]
    help_names = set(ctx.help_option_names)
    loose = [p for p in options if not getattr(p, "rich_help_panel", None)]
    has_panels = len(loose) < len(options)
    alone = has_panels and len(loose) == 1 and set(loose[0].opts) <= help_names
    for option in options:
        panel = getattr(option, "rich_help_panel", None) or OPTIONS
        if alone and option is loose[0]:
            panel = list(panels)[-1]
        panels.setdefault(panel, []).append(option)
    return list(panels.items())


def _names(param: Any) -> str:
    """`-t, --type`; `    --name` when there is no short form, so long names line up."""
    if param.param_type_name == "argument":
        return argument_metavar(param)
    opts = [*param.opts, *getattr(param, "secondary_opts", [])]
    short = [opt for opt in opts if not opt.startswith("--")]
    long = [opt for opt in opts if opt.startswith("--")]
    prefix = ", ".join(short) + ", " if short else "    "
    return (prefix + ", ".join(long)) if long else ", ".join(short)


def _value(param: Any) -> str:
    """What the value column shows: an option's metavar (an argument is its own name)."""
    return option_metavar(param) if param.param_type_name == "option" else ""


def _help_text(param: Any) -> Any:
    from rich.text import Text

    text = Text(" ".join(paragraphs(getattr(param, "help", None) or "")), overflow="fold")
    default = option_default(param)
    if default is not None:
        text.append(f" [default: {default}]", style="dim")
    return text


def _panel(title: str, params: list[Any], width: int, name_width: int, metavar_width: int) -> Any:
    from rich import box
    from rich.console import Group
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    # The panel's border and padding take 4 columns, the gaps between columns 2 each.
    help_width = width - 4 - name_width - (metavar_width + 2 if metavar_width else 0) - 2
    body: Any
    if help_width >= MIN_HELP_COLUMN:
        body = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False, expand=True)
        # Cells padded to the widest of any panel, so that the panels' columns line up.
        body.add_column(no_wrap=True, style="bold cyan")
        if metavar_width:
            body.add_column(no_wrap=True, style="yellow")
        body.add_column(ratio=1, overflow="fold")
        for param in params:
            value = [_value(param).ljust(metavar_width)] if metavar_width else []
            body.add_row(_names(param).ljust(name_width), *value, _help_text(param))
    else:
        rows: list[Any] = []
        for param in params:
            line = Text(_names(param).strip(), style="bold cyan")
            if _value(param):
                line.append(" " + _value(param), style="yellow")
            rows += [line, Padding(_help_text(param), (0, 0, 0, 4))]
        body = Group(*rows)
    return Panel(body, title=title, title_align="left", border_style="dim", box=box.ROUNDED)


def _commands(command: Any, ctx: Any) -> list[tuple[str, str]]:
    if getattr(command, "commands", None) is None:
        return []
    found = []
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None and not getattr(sub, "hidden", False):
            summary = paragraphs(sub.short_help or sub.help or "")
            found.append((name, summary[0] if summary else ""))
    return found


def _commands_panel(commands: list[tuple[str, str]]) -> Any:
    from rich import box
    from rich.panel import Panel
    from rich.table import Table

    table = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False, expand=True)
    table.add_column(no_wrap=True, style="bold cyan")
    table.add_column(ratio=1, overflow="fold")
    for name, summary in commands:
        table.add_row(name, summary)
    return Panel(table, title=COMMANDS, title_align="left", border_style="dim", box=box.ROUNDED)
