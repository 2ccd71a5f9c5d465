"""`kombo attach`: its options and help. The run itself is `attach_run.py`'s, which this
module imports only when the command runs, so that `kombo --help` stays quick.
"""

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from kombo_cli.api.defaults import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from kombo_cli.api.retry import SETTLE_DELAY_S
from kombo_cli.commands.context import state_of
from kombo_cli.commands.options import (
    BATCH,
    CONNECTION,
    FILE,
    OUTPUT,
    REQUEST,
    TARGET,
    base_url_option,
    between,
    completes,
    env_file_option,
    integration_id_option,
    json_option,
    listed,
    one_of,
    profile_option,
    region_option,
    retries_option,
    setting_flags,
    timeout_option,
)


class AttachmentTypeChoice(str, Enum):
    CV = "CV"
    COVER_LETTER = "COVER_LETTER"
    OTHER = "OTHER"


TYPES = [choice.value for choice in AttachmentTypeChoice]


def attach(
    ctx: typer.Context,
    arguments: Optional[list[str]] = typer.Argument(
        None,
        metavar="CANDIDATE_ID FILE...",
        help="Kombo ID of the candidate (of the application with --application), then the"
        " files to attach; - reads standard input (needs --name). With --email, only"
        " files; with --manifest, none.",
        show_default=False,
    ),
    # -- Target: where the files go ----------------------------------------------------------
    application: bool = typer.Option(
        False,
        "--application",
        help="CANDIDATE_ID is an application ID: attach to the application.",
        rich_help_panel=TARGET,
    ),
    email: Optional[str] = typer.Option(
        None,
        "--email",
        metavar="ADDRESS",
        help="Attach to the one candidate with this email address, instead of CANDIDATE_ID.",
        show_default=False,
        rich_help_panel=TARGET,
    ),
    # -- File: what is attached --------------------------------------------------------------
    attachment_type: str = typer.Option(
        AttachmentTypeChoice.OTHER.value,
        "--type",
        "-t",
        metavar="TYPE",
        callback=one_of(TYPES),
        autocompletion=completes(TYPES),
        help=f"What the file is ({listed(TYPES)}, in any case); decides where the ATS shows it.",
        rich_help_panel=FILE,
    ),
    name: Optional[str] = typer.Option(
        None,
        "--name",
        "-n",
        metavar="NAME",
        help="Name shown in the ATS, with its extension.  [default: the file's name]",
        show_default=False,
        rich_help_panel=FILE,
    ),
    url: list[str] = typer.Option(
        [],
        "--url",
        metavar="URL",
        help="Let Kombo download the file from URL (data_url) instead of sending bytes."
        " Repeatable.",
        show_default=False,
        rich_help_panel=FILE,
    ),
    content_type: Optional[str] = typer.Option(
        None,
        "--content-type",
        metavar="MIME",
        help="MIME type, e.g. application/pdf.  [default: detected from extension, then content]",
        show_default=False,
        rich_help_panel=FILE,
    ),
    # -- Request: what is sent, and how its outcome is checked -------------------------------
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the request that would be sent (key masked, file summarised); send nothing.",
        rich_help_panel=REQUEST,
    ),
    resolve: bool = typer.Option(
        False,
        "--resolve",
        help="With --dry-run: make the read-only requests too (look up emails, and list"
        " targets for --skip-existing); never an upload.",
        rich_help_panel=REQUEST,
    ),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="After each upload, find the stored file and compare its bytes with what was"
        ' sent: "verified", or an error when the ATS stored something else.',
        rich_help_panel=REQUEST,
    ),
    remote_field: list[str] = typer.Option(
        [],
        "--remote-field",
        metavar="PATH=VALUE",
        help="Set one of Kombo's per-ATS remote_fields: PATH=text or PATH:=JSON, e.g."
        " greenhouse.post_headers.On-Behalf-Of=123. Repeatable.",
        show_default=False,
        rich_help_panel=REQUEST,
    ),
    remote_fields: Optional[str] = typer.Option(
        None,
        "--remote-fields",
        metavar="JSON|@FILE",
        help="The whole remote_fields object, as JSON or @file.json; --remote-field adds to it.",
        show_default=False,
        rich_help_panel=REQUEST,
    ),
    list_first: bool = typer.Option(
        False,
        "--list-first",
        help="List each target's attachments before its first upload, so a lost reply is"
        " settled by attachment id (done anyway for targets with several files).",
        rich_help_panel=REQUEST,
    ),
    settle_delay: float = typer.Option(
        SETTLE_DELAY_S,
        "--settle-delay",
        metavar="SECONDS",
        callback=between(0.0, 600.0, unit=" seconds"),
        help="After an upload fails without a clear answer, wait this long before looking"
        " for it among the target's attachments (a second look waits three times as long).",
        rich_help_panel=REQUEST,
    ),
    # -- Batch: many files at once -----------------------------------------------------------
    manifest: Optional[Path] = typer.Option(
        None,
        "--manifest",
        metavar="FILE",
        help="Attach every row of a CSV (with a header) or JSON Lines file: candidate_id,"
        " application_id or email; file or url; optional type, name, content_type,"
        " remote_fields, integration_id.",
        show_default=False,
        rich_help_panel=BATCH,
    ),
    concurrency: int = typer.Option(
        DEFAULT_CONCURRENCY,
        "--concurrency",
        "-j",
        metavar="N",
        callback=between(1, MAX_CONCURRENCY),
        help=f"Uploads in flight at once across the run, 1 to {MAX_CONCURRENCY}; each"
        " integration gets no more than Kombo allows it (30 unless Kombo says otherwise),"
        " shared fairly when a manifest names several.",
        rich_help_panel=BATCH,
    ),
    shard: Optional[str] = typer.Option(
        None,
        "--shard",
        metavar="K/N",
        help="With --manifest: attach only shard K of N (e.g. 2/3, one per CI job); the N"
        " shards take every row once, all the rows of one target in the same shard.",
        show_default=False,
        rich_help_panel=BATCH,
    ),
    skip_existing: bool = typer.Option(
        False,
        "--skip-existing",
        help="List each target's attachments first and skip files whose name is there.",
        rich_help_panel=BATCH,
    ),
    journal: Optional[Path] = typer.Option(
        None,
        "--journal",
        metavar="FILE",
        help="Record each upload in FILE as it happens (JSON Lines, synced to disk). Run"
        " the same command with the same FILE to resume: stored files are skipped, half-sent"
        " ones are looked for before anything is sent again.",
        show_default=False,
        rich_help_panel=BATCH,
    ),
    fail_fast: bool = typer.Option(
        False,
        "--fail-fast",
        help="Stop starting uploads after the first failure; with --manifest, send nothing if"
        " any row is malformed.",
        rich_help_panel=BATCH,
    ),
    # -- Connection: which Kombo, with which settings ----------------------------------------
    profile: Optional[str] = profile_option(CONNECTION),
    env_file: Optional[Path] = env_file_option(CONNECTION),
    integration_id: Optional[str] = integration_id_option(CONNECTION),
    region: Optional[str] = region_option(CONNECTION),
    base_url: Optional[str] = base_url_option(CONNECTION),
    timeout: float = timeout_option(CONNECTION),
    retries: int = retries_option(CONNECTION),
    # -- Output ------------------------------------------------------------------------------
    json_output: bool = json_option("Print the result as JSON on stdout.", OUTPUT),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print errors only.", rich_help_panel=OUTPUT
    ),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        show_default=False,
        help="-v: progress detail; -vv: HTTP debug log (also KOMBO_DEBUG=1).",
        rich_help_panel=OUTPUT,
    ),
) -> int:
    """Attach FILE to a candidate (or an application) in the customer's ATS.

    Credentials: KOMBO_API_KEY and KOMBO_INTEGRATION_ID, from the environment, ./.env
    (or --env-file), or a profile stored with `kombo config set`.

    Example: kombo attach TBJyJtUvqZU7Gbs75yAipLxD cv.pdf --type CV
    """
    from kombo_cli.commands.attach_run import AttachCommand

    state = state_of(ctx)
    console = state.open_console(
        json_mode=json_output,
        quiet=quiet,
        verbosity=max(verbose, 2) if state.env.debug else verbose,
    )
    command = AttachCommand(
        state,
        console,
        setting_flags(
            integration_id=integration_id,
            region=region,
            base_url=base_url,
            env_file=env_file,
            profile=profile,
        ),
    )
    return command.run(
        arguments or [],
        attachment_type=attachment_type,
        name=name,
        content_type=content_type,
        application=application,
        dry_run=dry_run,
        remote_fields_json=remote_fields,
        remote_field_arguments=remote_field,
        retries=retries,
        timeout_s=timeout,
        manifest=manifest,
        email=email,
        urls=url,
        concurrency=concurrency,
        skip_existing=skip_existing,
        fail_fast=fail_fast,
        resolve=resolve,
        journal=journal,
        verify=verify,
        list_first=list_first,
        settle_delay_s=settle_delay,
        shard=shard,
    )
