"""`kombo attachments list`: what Kombo lists for a candidate or an application.

On a terminal the table fits the window, one line per attachment: times to the minute, long
names and types shortened in the middle ("…", names keeping their extension), the content
type left out when there is no room; IDs always whole. Piped, every value is shown whole,
for scripts; `--json` is Kombo's list as it came.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from kombo_cli.commands.context import state_of
from kombo_cli.commands.help import KomboCommand, KomboGroup
from kombo_cli.commands.options import (
    CONNECTION,
    OUTPUT,
    READ_RETRIES_HELP,
    TARGET,
    base_url_option,
    env_file_option,
    integration_id_option,
    json_option,
    profile_option,
    region_option,
    retries_option,
    setting_flags,
    timeout_option,
)
from kombo_cli.errors import ApiError, ExitCode, KomboError
from kombo_cli.ui.console import Console
from kombo_cli.ui.text import aligned_columns, cell, printable, shorten

if TYPE_CHECKING:
    from kombo_cli.api.targets import Target
    from kombo_cli.library import Kombo

attachments_app = typer.Typer(
    cls=KomboGroup,
    help="See the attachments Kombo lists for a candidate or an application.",
    no_args_is_help=True,
)


@attachments_app.command("list", cls=KomboCommand)
def attachments_list(
    ctx: typer.Context,
    candidate_id: str = typer.Argument(
        ...,
        metavar="CANDIDATE_ID",
        help="Kombo ID of the candidate (of the application with --application).",
        show_default=False,
    ),
    application: bool = typer.Option(
        False,
        "--application",
        help="CANDIDATE_ID is an application ID.",
        rich_help_panel=TARGET,
    ),
    profile: Optional[str] = profile_option(CONNECTION),
    env_file: Optional[Path] = env_file_option(CONNECTION),
    integration_id: Optional[str] = integration_id_option(CONNECTION),
    region: Optional[str] = region_option(CONNECTION),
    base_url: Optional[str] = base_url_option(CONNECTION),
    timeout: float = timeout_option(CONNECTION),
    retries: int = retries_option(CONNECTION, READ_RETRIES_HELP),
    json_output: bool = json_option(
        "Print Kombo's list as JSON (one object, with data_url links).", OUTPUT
    ),
) -> int:
    """List a candidate's attachments (with those of their applications), to check an upload.

    Kombo asks the ATS live, so this takes as long as the ATS does.
    """
    from kombo_cli.api.targets import Target
    from kombo_cli.commands.attach_view import ConsoleObserver
    from kombo_cli.library import Kombo

    state = state_of(ctx)
    console = state.open_console(json_mode=json_output)
    flags = setting_flags(
        integration_id=integration_id,
        region=region,
        base_url=base_url,
        env_file=env_file,
        profile=profile,
    )
    settings = state.settings(flags)
    target = Target.parse(candidate_id, application=application)
    kombo = Kombo.from_settings(
        settings, retries=retries, timeout_s=timeout, observer=ConsoleObserver(console)
    )
    with kombo:
        # Listing is read-only: any failure worth retrying is retried, duplicates cannot happen.
        try:
            attachments = kombo.list_attachments(target.id, application=application)
        except KomboError as error:
            raise _explained(kombo, error, target) from None
    _show(console, target.kind, target.id, str(target), attachments)
    return ExitCode.SUCCESS


def _explained(kombo: "Kombo", error: KomboError, target: "Target") -> KomboError:
    """After a 404, as `kombo attach` does: an ID of the other kind is named as such (one
    listing of the other kind, only after the 404; if it fails, Kombo's 404 stands)."""
    from kombo_cli.api.targets import APPLICATION
    from kombo_cli.upload.other_kind import mixed_up, other_kind, unknown_target

    if not unknown_target(error):
        return error
    assert isinstance(error, ApiError)
    other = other_kind(target)
    try:
        kombo.list_attachments(other.id, application=other.kind == APPLICATION)
    except KomboError:
        return error
    option = "add --application" if other.kind == APPLICATION else "drop --application"
    return mixed_up(
        error, target, other, f"{option}: kombo attachments list {other.shell_argument}"
    )


def _show(
    console: Console, kind: str, target_id: str, shown_target: str, attachments: list[Any]
) -> None:
    """The listing as a table, or as Kombo's JSON. It only renders: the one request was made
    before, so an error of the ATS is reported before any line is printed."""
    if console.json_mode:
        console.json({"target": {"kind": kind, "id": target_id}, "attachments": attachments})
        return
    if not attachments:
        if not console.quiet:
            console.err(f"Kombo lists no attachments for {shown_target}.")
        return
    columns = [NAME, TYPE, CONTENT_TYPE, CREATED]
    if kind == "candidate":
        columns.append(APPLICATION)
    rows = [columns]
    for item in attachments:
        row = [
            cell(item.get("file_name")),
            cell(item.get("type")),
            cell(item.get("content_type")),
            cell(item.get("remote_created_at")),
        ]
        if kind == "candidate":
            row.append(cell(item.get("application_id")))
        rows.append(row)
    width = _terminal_width(console)
    if width is not None:
        created = columns.index(CREATED)
        for row in rows[1:]:
            row[created] = short_date(row[created])
        rows = fit_to_width([[printable(item) for item in row] for row in rows], width)
    console.out("\n".join(aligned_columns(rows)))


NAME, TYPE, CONTENT_TYPE, CREATED, APPLICATION = (
    "NAME",
    "TYPE",
    "CONTENT TYPE",
    "CREATED",
    "APPLICATION",
)
# What gives way when a table is wider than the terminal, in this order: each column is
# shortened down to the width given (0: left out), and only as far as needed. IDs are never
# shortened: they are what a person copies. Very long names and MIME types give way first,
# then the MIME type altogether, then names; the date keeps its day.
SHRINK = [
    (NAME, 40),
    (CONTENT_TYPE, len("application/pdf")),
    (NAME, 24),
    (CONTENT_TYPE, 0),
    (NAME, 12),
    (TYPE, 5),
    (NAME, 8),
    (CREATED, len("2024-05-01")),
]
# Columns that are never shortened; names keep their extension.
WHOLE = (APPLICATION,)
GAP = 2  # between columns, as `aligned_columns` puts them


def _terminal_width(console: Console) -> Optional[int]:
    """The terminal's width when stdout is one (TERM=dumb too: lines wrap there as well)."""
    try:
        on_terminal = console.stdout.isatty()
    except (AttributeError, ValueError):
        return None
    return console.env.columns(console.stdout) if on_terminal else None


def fit_to_width(rows: list[list[str]], width: int) -> list[list[str]]:
    """The rows (a header first) with cells shortened, and columns left out, so that no
    line is wider than `width` columns, so none wraps on the terminal."""
    from rich.cells import cell_len

    header = rows[0]
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(header))]

    def excess() -> int:
        shown = [w for w in widths if w > 0]
        return sum(shown) + GAP * (len(shown) - 1) - width

    for column, floor in SHRINK:
        if excess() <= 0:
            break
        if column in header:
            i = header.index(column)
            if floor == 0:
                widths[i] = 0
            else:
                widths[i] -= min(excess(), max(0, widths[i] - floor))
    # A very narrow window: the name and type give way further, then the date and the type
    # are left out; the ID still stays whole.
    for column, floor in ((NAME, 3), (TYPE, 3), (CREATED, 0), (TYPE, 0), (NAME, 1)):
        if column in header and excess() > 0:
            i = header.index(column)
            widths[i] = 0 if floor == 0 else widths[i] - min(excess(), max(0, widths[i] - floor))
    name = header.index(NAME)
    created = header.index(CREATED) if CREATED in header else -1
    return [
        [
            item[: widths[i]]
            if i == created
            else shorten(item, widths[i], keep_extension=i == name)
            for i, item in enumerate(row)
            if widths[i] > 0
        ]
        for row in rows
    ]


def short_date(value: str) -> str:
    """A listed time as a person reads it on a terminal: `2024-05-01 09:30Z` for
    `2024-05-01T09:30:00.123Z` (the zone kept as given); anything else as it is."""
    import re

    match = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", value
    )
    if match is None:
        return value
    return f"{match.group(1)} {match.group(2)}{match.group(5) or ''}"
