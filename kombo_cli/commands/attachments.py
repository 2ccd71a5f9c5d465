"""`kombo attachments list`: what Kombo lists for a candidate or an application."""

from pathlib import Path
from typing import Any, Optional

import typer

from kombo_cli.commands.context import state_of
from kombo_cli.commands.help import KomboCommand, KomboGroup
from kombo_cli.commands.options import (
    CONNECTION,
    OUTPUT,
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
from kombo_cli.errors import ExitCode
from kombo_cli.ui.console import Console
from kombo_cli.ui.text import aligned_columns, cell

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
    retries: int = retries_option(CONNECTION),
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
        attachments = kombo.list_attachments(target.id, application=application)
    _show(console, target.kind, target.id, str(target), attachments)
    return ExitCode.SUCCESS


def _show(
    console: Console, kind: str, target_id: str, shown_target: str, attachments: list[Any]
) -> None:
    if console.json_mode:
        console.json({"target": {"kind": kind, "id": target_id}, "attachments": attachments})
        return
    if not attachments:
        if not console.quiet:
            console.err(f"Kombo lists no attachments for {shown_target}.")
        return
    columns = ["NAME", "TYPE", "CONTENT TYPE", "CREATED"]
    if kind == "candidate":
        columns.append("APPLICATION")
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
    console.out("\n".join(aligned_columns(rows)))
