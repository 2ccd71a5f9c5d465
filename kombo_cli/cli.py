"""The Typer app: options and help text only, plus `run`, the one error boundary.

Commands parse their options and hand them to a module in `kombo_cli.commands`.
`run` is the only place that turns exceptions into messages and exit codes.
"""

# No `from __future__ import annotations` here: Typer reads these annotations at run time,
# and `Optional[...]` keeps them valid on Python 3.9.
import traceback
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from kombo_cli import __version__
from kombo_cli.errors import EXIT_CODE_LABELS, ExitCode, InternalError, KomboError
from kombo_cli.output import Output
from kombo_cli.retry import DEFAULT_RETRIES
from kombo_cli.settings import (
    DEFAULT_TIMEOUT_S,
    ENV_BASE_URL,
    ENV_INTEGRATION_ID,
    ENV_REGION,
    SettingFlags,
    debug_requested,
)

try:  # Typer >= 0.20 vendors Click; older releases use the click package.
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - depends on the installed Typer
    from click.exceptions import ClickException  # type: ignore[no-redef]


try:  # Registers bash/zsh/fish for `_KOMBO_COMPLETE=<shell>_source kombo` (see completions/).
    from typer.completion import completion_init

    completion_init()
except ImportError:  # pragma: no cover - depends on the installed Typer
    pass


PROFILE_HELP = "Settings profile to use.  \\[env: KOMBO_PROFILE; default: default]"
ENV_FILE_HELP = "Read KOMBO_* settings from this dotenv file.  \\[default: ./.env if present]"


# The setting options, defined once: every command that resolves settings offers the same
# flags with the same help (a new instance per command, as Typer expects).
def _complete_profile(incomplete: str) -> list[str]:
    """Shell completion for --profile: the profiles stored so far."""
    try:
        from kombo_cli.config_store import ConfigStore, config_dir

        return [
            name for name in ConfigStore(config_dir()).profiles() if name.startswith(incomplete)
        ]
    except Exception:  # completion must never print a traceback into the user's shell
        return []


def _profile_option() -> Any:
    return typer.Option(
        None,
        "--profile",
        metavar="NAME",
        help=PROFILE_HELP,
        show_default=False,
        autocompletion=_complete_profile,
    )


def _env_file_option() -> Any:
    # readable=False: the settings code checks the file and reports it as exit 3.
    return typer.Option(
        None, "--env-file", metavar="PATH", readable=False, help=ENV_FILE_HELP, show_default=False
    )


def _region_option() -> Any:
    return typer.Option(
        None,
        "--region",
        metavar="[eu|us|ca]",
        case_sensitive=False,
        help=f"Kombo region.  \\[env: {ENV_REGION}; default: eu]",
        show_default=False,
    )


def _retries_option() -> Any:
    return typer.Option(
        DEFAULT_RETRIES,
        "--retries",
        metavar="N",
        min=0,
        help="Retries after a 429, a 503 or a failed connection (0: never retry).",
    )


def _timeout_option() -> Any:
    return typer.Option(
        DEFAULT_TIMEOUT_S,
        "--timeout",
        metavar="SECONDS",
        min=0.1,
        help="How long to wait for Kombo's answer to each request.",
    )


def _base_url_option() -> Any:
    return typer.Option(
        None,
        "--base-url",
        metavar="URL",
        help=f"API base URL including /v1; overrides --region.  \\[env: {ENV_BASE_URL}]",
        show_default=False,
    )


def _integration_id_option() -> Any:
    return typer.Option(
        None,
        "--integration-id",
        metavar="ID",
        help=f"Kombo integration ID.  \\[env: {ENV_INTEGRATION_ID}]",
        show_default=False,
    )


def _exit_code_table() -> str:
    # One paragraph: help formatters of different Typer releases reflow lines differently.
    codes = "; ".join(f"{int(code)} {label}" for code, label in EXIT_CODE_LABELS.items())
    return f"Exit codes: {codes}."


app = typer.Typer(
    name="kombo",
    help="Upload files as attachments to candidates and applications in the Kombo ATS API.",
    epilog=_exit_code_table(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


@dataclass
class AppState:
    """Shared by the commands and `run`: the output a command set up renders its errors."""

    output: Optional[Output] = None


class AttachmentTypeChoice(str, Enum):
    CV = "CV"
    COVER_LETTER = "COVER_LETTER"
    OTHER = "OTHER"


class RegionChoice(str, Enum):
    eu = "eu"
    us = "us"
    ca = "ca"


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


@app.command(epilog=_exit_code_table())
def attach(
    ctx: typer.Context,
    arguments: Optional[list[str]] = typer.Argument(
        None,
        metavar="CANDIDATE_ID FILE...",
        help="Kombo ID of the candidate (of the application with --application), then the"
        " file(s) to attach; - reads standard input (needs --name). With --email, only files.",
        show_default=False,
    ),
    attachment_type: AttachmentTypeChoice = typer.Option(
        AttachmentTypeChoice.OTHER,
        "--type",
        "-t",
        metavar="[CV|COVER_LETTER|OTHER]",
        case_sensitive=False,
        help="What the file is; decides where the ATS shows it.",
    ),
    name: Optional[str] = typer.Option(
        None,
        "--name",
        "-n",
        metavar="NAME",
        help="Name shown in the ATS, with its extension.  \\[default: the file's name]",
        show_default=False,
    ),
    content_type: Optional[str] = typer.Option(
        None,
        "--content-type",
        metavar="MIME",
        help="MIME type, e.g. application/pdf.  \\[default: detected from extension, then content]",
        show_default=False,
    ),
    application: bool = typer.Option(
        False, "--application", help="CANDIDATE_ID is an application ID: attach to the application."
    ),
    region: Optional[RegionChoice] = _region_option(),
    base_url: Optional[str] = _base_url_option(),
    integration_id: Optional[str] = _integration_id_option(),
    env_file: Optional[Path] = _env_file_option(),
    profile: Optional[str] = _profile_option(),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print errors only."),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        # A counted flag takes no value; without this, help would show one (<int>).
        metavar="",
        show_default=False,
        help="-v: progress detail; -vv: HTTP debug log (also KOMBO_DEBUG=1).",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the request that would be sent (key masked, file summarised); send nothing.",
    ),
    remote_field: list[str] = typer.Option(
        [],
        "--remote-field",
        metavar="PATH=VALUE",
        help="Set one of Kombo's per-ATS remote_fields: PATH=text or PATH:=JSON, e.g."
        " greenhouse.post_headers.On-Behalf-Of=123. Repeatable.",
        show_default=False,
    ),
    remote_fields: Optional[str] = typer.Option(
        None,
        "--remote-fields",
        metavar="JSON|@FILE",
        help="The whole remote_fields object, as JSON or @file.json; --remote-field adds to it.",
        show_default=False,
    ),
    retries: int = _retries_option(),
    timeout: float = _timeout_option(),
    manifest: Optional[Path] = typer.Option(
        None,
        "--manifest",
        metavar="FILE",
        help="Attach every row of a CSV (with a header) or JSON Lines file: candidate_id,"
        " application_id or email; file or url; optional type, name, content_type,"
        " remote_fields.",
        show_default=False,
    ),
    email: Optional[str] = typer.Option(
        None,
        "--email",
        metavar="ADDRESS",
        help="Attach to the one candidate with this email address, instead of CANDIDATE_ID.",
        show_default=False,
    ),
    url: list[str] = typer.Option(
        [],
        "--url",
        metavar="URL",
        help="Let Kombo download the file from URL (data_url) instead of sending bytes."
        " Repeatable.",
        show_default=False,
    ),
    concurrency: int = typer.Option(
        4,
        "--concurrency",
        "-j",
        metavar="N",
        min=1,
        max=30,
        help="Uploads in flight at once (Kombo allows 30 per integration); lowered"
        " automatically when Kombo says it is too many.",
    ),
    skip_existing: bool = typer.Option(
        False,
        "--skip-existing",
        help="List each target's attachments first and skip files whose name is there.",
    ),
    fail_fast: bool = typer.Option(
        False,
        "--fail-fast",
        help="Stop starting uploads after the first failure; with --manifest, send nothing if"
        " any row is malformed.",
    ),
    resolve: bool = typer.Option(
        False,
        "--resolve",
        help="With --dry-run: make the read-only requests too (look up emails, and list"
        " targets for --skip-existing); never an upload.",
    ),
) -> int:
    """Attach FILE to a candidate (or an application) in the customer's ATS.

    Credentials: KOMBO_API_KEY and KOMBO_INTEGRATION_ID, from the environment, ./.env
    (or --env-file), or a profile stored with `kombo config set`.

    Example: kombo attach GRKdd9dibYKKCrmGRSMJf3wu cv.pdf --type CV
    """
    from kombo_cli.commands.attach import AttachOptions, run_attach

    if debug_requested():
        verbose = max(verbose, 2)
    output = Output(json_mode=json_output, quiet=quiet, verbosity=verbose)
    ctx.ensure_object(AppState).output = output
    options = AttachOptions(
        arguments=arguments or [],
        attachment_type=attachment_type.value,
        name=name,
        content_type=content_type,
        application=application,
        dry_run=dry_run,
        retries=retries,
        timeout_s=timeout,
        remote_fields_json=remote_fields,
        remote_field_arguments=remote_field,
        manifest=manifest,
        email=email,
        urls=url,
        concurrency=concurrency,
        skip_existing=skip_existing,
        fail_fast=fail_fast,
        resolve=resolve,
        setting_flags=SettingFlags(
            integration_id=integration_id,
            region=region.value if region else None,
            base_url=base_url,
            env_file=env_file,
            profile=profile,
        ),
    )
    return run_attach(options, output)


config_app = typer.Typer(
    help="Store settings in a profile, and see which value kombo uses and where it comes from.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


class SettingName(str, Enum):
    api_key = "api-key"
    integration_id = "integration-id"
    region = "region"
    base_url = "base-url"


def _setting_output(ctx: typer.Context, json_mode: bool = False) -> Output:
    output = Output(json_mode=json_mode)
    ctx.ensure_object(AppState).output = output
    return output


@config_app.command("set")
def config_set(
    ctx: typer.Context,
    name: SettingName = typer.Argument(..., help="api-key, integration-id, region or base-url."),
    value: Optional[str] = typer.Argument(
        None,
        help="The value. Leave it out to be prompted (without echo for the key) or to read"
        " one line from standard input.",
        show_default=False,
    ),
    profile: Optional[str] = _profile_option(),
) -> int:
    """Store a setting in the profile's file (created 0600 in a 0700 folder)."""
    from kombo_cli.commands.config import read_value_interactively, set_value

    output = _setting_output(ctx)
    return set_value(name.value, value, profile, output, read_value_interactively)


@config_app.command("get")
def config_get(
    ctx: typer.Context,
    name: SettingName = typer.Argument(..., help="api-key, integration-id, region or base-url."),
    reveal: bool = typer.Option(False, "--reveal", help="Print the API key unmasked."),
    profile: Optional[str] = _profile_option(),
    env_file: Optional[Path] = _env_file_option(),
) -> int:
    """Print the value kombo attach would use (exit 3 when it has none)."""
    from kombo_cli.commands.config import get_value

    flags = SettingFlags(profile=profile, env_file=env_file)
    return get_value(name.value, reveal, flags, _setting_output(ctx))


@config_app.command("unset")
def config_unset(
    ctx: typer.Context,
    name: SettingName = typer.Argument(..., help="api-key, integration-id, region or base-url."),
    profile: Optional[str] = _profile_option(),
) -> int:
    """Remove a setting from the profile's file."""
    from kombo_cli.commands.config import unset_value

    return unset_value(name.value, profile, _setting_output(ctx))


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    profile: Optional[str] = _profile_option(),
    env_file: Optional[Path] = _env_file_option(),
    json_output: bool = typer.Option(False, "--json", help="Print the settings as JSON."),
) -> int:
    """Every setting: its value (the key masked), its source and where that is."""
    from kombo_cli.commands.config import show

    flags = SettingFlags(profile=profile, env_file=env_file)
    return show(flags, _setting_output(ctx, json_output))


@config_app.command("path")
def config_path(
    ctx: typer.Context,
    profile: Optional[str] = _profile_option(),
) -> int:
    """Print the config folder and the profile's file."""
    from kombo_cli.commands.config import show_path

    return show_path(profile, _setting_output(ctx))


@config_app.command("profiles")
def config_profiles(
    ctx: typer.Context,
    profile: Optional[str] = _profile_option(),
) -> int:
    """List the stored profiles; * marks the one in use."""
    from kombo_cli.commands.config import list_profiles

    return list_profiles(profile, _setting_output(ctx))


attachments_app = typer.Typer(
    help="See the attachments Kombo lists for a candidate or an application.",
    no_args_is_help=True,
)
app.add_typer(attachments_app, name="attachments")


@attachments_app.command("list")
def attachments_list(
    ctx: typer.Context,
    candidate_id: str = typer.Argument(
        ...,
        metavar="CANDIDATE_ID",
        help="Kombo ID of the candidate (of the application with --application).",
        show_default=False,
    ),
    application: bool = typer.Option(
        False, "--application", help="CANDIDATE_ID is an application ID."
    ),
    region: Optional[RegionChoice] = _region_option(),
    base_url: Optional[str] = _base_url_option(),
    integration_id: Optional[str] = _integration_id_option(),
    env_file: Optional[Path] = _env_file_option(),
    profile: Optional[str] = _profile_option(),
    json_output: bool = typer.Option(
        False, "--json", help="Print Kombo's list as JSON (one object, with data_url links)."
    ),
    retries: int = _retries_option(),
    timeout: float = _timeout_option(),
) -> int:
    """List a candidate's attachments (with those of their applications), to check an upload.

    Kombo asks the ATS live, so this takes as long as the ATS does.
    """
    from kombo_cli.commands.attachments import run_list_attachments

    output = _setting_output(ctx, json_output)
    return run_list_attachments(
        candidate_id,
        application=application,
        flags=SettingFlags(
            integration_id=integration_id,
            region=region.value if region else None,
            base_url=base_url,
            env_file=env_file,
            profile=profile,
        ),
        retries=retries,
        timeout_s=timeout,
        output=output,
    )


@app.command()
def doctor(
    ctx: typer.Context,
    profile: Optional[str] = _profile_option(),
    env_file: Optional[Path] = _env_file_option(),
    region: Optional[RegionChoice] = _region_option(),
    base_url: Optional[str] = _base_url_option(),
    integration_id: Optional[str] = _integration_id_option(),
    json_output: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> int:
    """Check the settings, the API key and the integration, with a hint for each failure."""
    from kombo_cli.commands.doctor import run_doctor

    flags = SettingFlags(
        integration_id=integration_id,
        region=region.value if region else None,
        base_url=base_url,
        env_file=env_file,
        profile=profile,
    )
    return run_doctor(flags, _setting_output(ctx, json_output))


@app.command()
def sandbox(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(
        8787, "--port", min=0, max=65535, help="Port to listen on; 0 picks a free one."
    ),
    data_dir: Optional[Path] = typer.Option(
        None,
        "--data-dir",
        metavar="DIR",
        help="Where uploads are stored.  \\[default: a new temporary folder]",
        show_default=False,
    ),
    key: str = typer.Option("sandbox-key", "--key", help="The API key the sandbox accepts."),
    integration_id: str = typer.Option(
        "sandbox:local", "--integration-id", metavar="ID", help="The integration ID it accepts."
    ),
    candidates: Optional[Path] = typer.Option(
        None,
        "--candidates",
        metavar="FILE.json",
        help="Candidates to serve instead of the samples (a JSON array).",
        show_default=False,
    ),
    strict_ids: bool = typer.Option(
        False, "--strict-ids", help="Only the seeded candidates and applications exist (else 404)."
    ),
    latency_ms: int = typer.Option(
        0, "--latency-ms", min=0, max=600_000, help="Delay every reply by this many ms."
    ),
    fail_rate: float = typer.Option(
        0.0, "--fail-rate", min=0.0, max=1.0, help="Share of uploads refused with 503 or 429."
    ),
    ambiguous_rate: float = typer.Option(
        0.0,
        "--ambiguous-rate",
        min=0.0,
        max=1.0,
        help="Share of uploads stored, then answered 500 (the failure that duplicates).",
    ),
    concurrency_limit: int = typer.Option(
        30, "--concurrency-limit", min=1, help="Attachment calls allowed in flight at once."
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Attach a sample CV to a local sandbox, show the result, clean up."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not log requests."),
) -> int:
    """Run a local Kombo API for trying kombo and testing scripts, without an account.

    It validates requests as strictly as Kombo documents them and stores uploads as files.
    """
    output = Output(quiet=quiet)
    ctx.ensure_object(AppState).output = output
    if demo:
        from kombo_cli.errors import UsageError
        from kombo_cli.sandbox.demo import run_demo

        changed = [
            flag
            for flag, value, default in (
                ("--host", host, "127.0.0.1"),
                ("--port", port, 8787),
                ("--data-dir", data_dir, None),
                ("--key", key, "sandbox-key"),
                ("--integration-id", integration_id, "sandbox:local"),
                ("--candidates", candidates, None),
                ("--strict-ids", strict_ids, False),
                ("--latency-ms", latency_ms, 0),
                ("--fail-rate", fail_rate, 0.0),
                ("--ambiguous-rate", ambiguous_rate, 0.0),
                ("--concurrency-limit", concurrency_limit, 30),
            )
            if value != default
        ]
        if changed:
            # The demo runs its own throw-away sandbox; silently ignoring these would mislead.
            raise UsageError(
                f"--demo runs its own temporary sandbox, so {', '.join(changed)} cannot be"
                " used with it.",
                hint="drop --demo to run a sandbox with these settings",
            )
        report = run_demo()
        output.demo_report(report)
        return ExitCode.SUCCESS if report.ok else ExitCode.INTERNAL
    from kombo_cli.commands.sandbox import SandboxOptions, run_sandbox

    options = SandboxOptions(
        host=host,
        port=port,
        data_dir=data_dir,
        key=key,
        integration_id=integration_id,
        candidates_file=candidates,
        strict_ids=strict_ids,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        ambiguous_rate=ambiguous_rate,
        concurrency_limit=concurrency_limit,
    )
    return run_sandbox(options, output)


class ShellChoice(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


@app.command()
def completion(
    shell: ShellChoice = typer.Argument(..., help="The shell to print the script for."),
) -> None:
    """Print the completion script for SHELL; see the README for where to put it."""
    from typer._completion_shared import get_completion_script

    script = get_completion_script(
        prog_name="kombo", complete_var="_KOMBO_COMPLETE", shell=shell.value
    )
    Output().result_text(script)


def run(argv: Optional[list[str]] = None) -> int:
    """Run the app and turn whatever happened into an exit code. Nothing else exits."""
    state = AppState()
    try:
        result = app(args=argv, prog_name="kombo", standalone_mode=False, obj=state)
    except KomboError as err:
        (state.output or Output()).failure(err)
        return err.exit_code
    except ClickException as err:
        # Bad options and arguments: Click's own message and usage line, exit 2.
        err.show()
        return err.exit_code
    except (KeyboardInterrupt, typer.Abort):
        (state.output or Output()).error(_interrupted())
        return ExitCode.INTERRUPTED
    except Exception as exc:
        output = state.output or Output()
        if debug_requested():
            output.print_traceback(traceback.format_exc())
        output.failure(
            InternalError(
                f"kombo hit an unexpected internal error ({type(exc).__name__}).",
                hint="run again with KOMBO_DEBUG=1 to see the traceback, and please report it",
            )
        )
        return ExitCode.INTERNAL
    if result == ExitCode.INTERRUPTED:
        # Typer turns a Ctrl-C outside our commands' own handling into a bare exit code.
        (state.output or Output()).error(_interrupted())
    return int(result) if isinstance(result, int) else ExitCode.SUCCESS


def _interrupted() -> KomboError:
    from kombo_cli.errors import Interrupted

    return Interrupted("Interrupted.")
