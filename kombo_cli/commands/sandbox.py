"""`kombo sandbox`: run the local Kombo until Ctrl-C or SIGTERM, or run the demo."""

import contextlib
import errno
import signal
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from kombo_cli.commands.context import state_of
from kombo_cli.commands.options import between
from kombo_cli.commands.sandbox_integrations import (
    check_credential,
    check_errors,
    check_limits,
    concurrency_limits,
    integration_errors,
    served_integrations,
)
from kombo_cli.errors import ExitCode, UsageError
from kombo_cli.sandbox.config import DEFAULT_CONCURRENCY_LIMIT, DEFAULT_INTEGRATION_ID
from kombo_cli.ui.console import Console

if TYPE_CHECKING:
    from kombo_cli.sandbox.config import SandboxConfig

# The serving options, with their defaults: --demo runs its own sandbox and refuses them.
# Repeatable ones are compared as the lists they give.
DEFAULTS: dict[str, Any] = {
    "--host": "127.0.0.1",
    "--port": 8787,
    "--data-dir": None,
    "--key": "sandbox-key",
    "--integration-id": [DEFAULT_INTEGRATION_ID],
    "--candidates": None,
    "--strict-ids": False,
    "--latency-ms": 0,
    "--fail-rate": 0.0,
    "--ambiguous-rate": 0.0,
    "--concurrency-limit": [str(DEFAULT_CONCURRENCY_LIMIT)],
    "--integration-error": [],
    "--undated": False,
    "--rename-as": None,
}


SERVER, DATA, FAULTS, OTHER = "Server", "Data", "Rehearsed failures", "Other"


def sandbox(
    ctx: typer.Context,
    # -- Server: where it listens and what it accepts ----------------------------------------
    port: int = typer.Option(
        8787,
        "--port",
        metavar="PORT",
        callback=between(0, 65535),
        help="Port to listen on; 0 picks a free one.",
        rich_help_panel=SERVER,
    ),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        metavar="HOST",
        help="Interface to listen on.",
        rich_help_panel=SERVER,
    ),
    key: str = typer.Option(
        "sandbox-key",
        "--key",
        metavar="KEY",
        help="The API key the sandbox accepts.",
        rich_help_panel=SERVER,
    ),
    integration_id: Optional[list[str]] = typer.Option(
        None,
        "--integration-id",
        metavar="ID",
        help="An integration ID it serves; repeat it to serve several, each with candidates"
        " of its own (the first is the default).  [default: sandbox:local]",
        show_default=False,
        rich_help_panel=SERVER,
    ),
    # -- Data: what it stores and serves -----------------------------------------------------
    data_dir: Optional[Path] = typer.Option(
        None,
        "--data-dir",
        metavar="DIR",
        help="Where uploads are stored.  [default: a new temporary folder]",
        show_default=False,
        rich_help_panel=DATA,
    ),
    candidates: Optional[Path] = typer.Option(
        None,
        "--candidates",
        metavar="FILE",
        help="Candidates to serve instead of the samples (a JSON array; each one's"
        " integration_id names its integration, the first if none).",
        show_default=False,
        rich_help_panel=DATA,
    ),
    strict_ids: bool = typer.Option(
        False,
        "--strict-ids",
        help="Only the seeded candidates and applications exist (else 404).",
        rich_help_panel=DATA,
    ),
    undated: bool = typer.Option(
        False,
        "--undated",
        help="List remote_created_at and remote_updated_at as null, as some ATSs do.",
        rich_help_panel=DATA,
    ),
    rename_as: Optional[str] = typer.Option(
        None,
        "--rename-as",
        metavar="TEMPLATE",
        help="List each file under this name, {name} being the uploaded one"
        ' ("Candidate - {name}"), as ATSs that rename files do.',
        show_default=False,
        rich_help_panel=DATA,
    ),
    # -- Rehearsed failures ------------------------------------------------------------------
    fail_rate: float = typer.Option(
        0.0,
        "--fail-rate",
        metavar="SHARE",
        callback=between(0.0, 1.0),
        help="Share of uploads refused with 503 or 429, from 0 to 1.",
        rich_help_panel=FAULTS,
    ),
    ambiguous_rate: float = typer.Option(
        0.0,
        "--ambiguous-rate",
        metavar="SHARE",
        callback=between(0.0, 1.0),
        help="Share of uploads stored, then answered 500 (the failure that duplicates),"
        " from 0 to 1.",
        rich_help_panel=FAULTS,
    ),
    latency_ms: int = typer.Option(
        0,
        "--latency-ms",
        metavar="MS",
        callback=between(0, 600_000),
        help="Delay every reply by this many milliseconds.",
        rich_help_panel=FAULTS,
    ),
    concurrency_limit: Optional[list[str]] = typer.Option(
        None,
        "--concurrency-limit",
        metavar="[ID=]N",
        callback=check_limits,
        help="Attachment calls allowed in flight at once, per integration; ID=N sets one"
        " integration's (repeatable).  [default: 30]",
        show_default=False,
        rich_help_panel=FAULTS,
    ),
    integration_error: Optional[list[str]] = typer.Option(
        None,
        "--integration-error",
        metavar="ID=STATUS",
        callback=check_errors,
        help="Make integration ID answer every /ats/ request with 401 (credentials invalid),"
        " 403 (permission missing) or 409 (setup incomplete). Repeatable.",
        show_default=False,
        rich_help_panel=FAULTS,
    ),
    # -- Other -------------------------------------------------------------------------------
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Attach a sample CV to a local sandbox, show the result, clean up.",
        rich_help_panel=OTHER,
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Do not log requests.", rich_help_panel=OTHER
    ),
) -> int:
    """Run a local Kombo API for trying kombo and testing scripts, without an account.

    It validates requests as strictly as Kombo documents them and stores uploads as files.
    """
    console = state_of(ctx).open_console(quiet=quiet)
    given = {
        "--host": host,
        "--port": port,
        "--data-dir": data_dir,
        "--key": key,
        "--integration-id": list(integration_id or DEFAULTS["--integration-id"]),
        "--candidates": candidates,
        "--strict-ids": strict_ids,
        "--latency-ms": latency_ms,
        "--fail-rate": fail_rate,
        "--ambiguous-rate": ambiguous_rate,
        "--concurrency-limit": list(concurrency_limit or DEFAULTS["--concurrency-limit"]),
        "--integration-error": list(integration_error or []),
        "--undated": undated,
        "--rename-as": rename_as,
    }
    if demo:
        from kombo_cli.commands.sandbox_demo import run_demo

        changed = [flag for flag, value in given.items() if value != DEFAULTS[flag]]
        if changed:
            # The demo runs its own throw-away sandbox; silently ignoring these would mislead.
            raise UsageError(
                f"--demo runs its own temporary sandbox, so {', '.join(changed)} cannot be"
                " used with it.",
                hint="drop --demo to run a sandbox with these settings",
            )
        return run_demo(console)
    from kombo_cli.sandbox.config import SandboxConfig

    check_credential(key, "--key")
    served_ids = served_integrations(integration_id)
    every_limit, own_limits = concurrency_limits(concurrency_limit, served_ids)
    errors = integration_errors(integration_error, served_ids)
    if rename_as is not None and "{name}" not in rename_as:
        raise UsageError(
            "--rename-as must contain {name}, where the uploaded name goes.",
            hint='for example --rename-as "Candidate - {name}"',
        )
    if not host.strip():
        raise UsageError("--host is empty.", hint="use 127.0.0.1, or 0.0.0.0 for every interface")
    served = _candidates(candidates, served_ids)
    folder, created = _data_dir(data_dir)
    config = SandboxConfig(
        data_dir=folder,
        host=host,
        port=port,
        api_key=key,
        integration_ids=served_ids,
        candidates_by_integration=served,
        latency_s=latency_ms / 1000,
        fail_rate=fail_rate,
        ambiguous_rate=ambiguous_rate,
        concurrency_limit=every_limit,
        concurrency_limits=own_limits,
        integration_errors=errors,
        undated=undated,
        rename_as=rename_as,
    )
    try:
        code = _serve(console, config, strict_ids)
    finally:
        if created:
            # A sandbox that stored nothing (or never started) leaves no empty folder behind;
            # rmdir refuses a folder that holds uploads.
            with contextlib.suppress(OSError):
                folder.rmdir()
    if not console.quiet:
        where = f"uploads are kept in {folder}" if folder.exists() else "nothing was uploaded"
        console.err(f"Sandbox stopped; {where}.")
    return code


def _serve(console: Console, config: "SandboxConfig", strict_ids: bool) -> int:
    from kombo_cli.commands.sandbox_banner import show_banner
    from kombo_cli.sandbox.server import SandboxServer
    from kombo_cli.sandbox.store import StoreError

    try:
        server = SandboxServer(config)
    except StoreError as exc:
        raise UsageError(str(exc), hint="pick another folder with --data-dir") from None
    if strict_ids:
        config.known_ids = known_ids(
            [c for served in server.candidates_by_integration.values() for c in served]
        )
    if not console.quiet:
        server.on_log = lambda line: console.err(line, "dim")
    try:
        server.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"Port {config.port} on {config.host} is already in use.",
                hint="stop the other process, or pick another port with --port (0 = any free one)",
            ) from None
        raise UsageError(f"Cannot listen on {config.host}:{config.port}: {exc.strerror}.") from None

    stop = threading.Event()
    # Installed before the banner: a supervisor may send SIGTERM, or a person press Ctrl-C,
    # as soon as it shows; either is the normal way to stop, whenever it comes.
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, lambda *_: stop.set())}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        show_banner(console, server, config.data_dir)
        _wait_for_stop_signal(stop)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        server.stop()
    return ExitCode.SUCCESS


def known_ids(candidates: list[dict[str, Any]]) -> dict[str, set[str]]:
    """--strict-ids: only the seeded candidates and their applications exist, each as its
    kind (all integrations' together: the routes keep each integration to its own)."""
    from kombo_cli.sandbox.served import served_ids

    return served_ids(candidates)


def _data_dir(requested: Optional[Path]) -> tuple[Path, bool]:
    """The folder for uploads, and whether it was created for this run."""
    if requested is None:
        # Kept after the sandbox stops, so what arrived can still be opened.
        return Path(tempfile.mkdtemp(prefix="kombo-sandbox-")), True
    if requested.exists() and not requested.is_dir():
        raise UsageError(f"{requested} exists and is not a directory.", hint="pass a folder")
    try:
        requested.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"Cannot create the data directory {requested}: {exc.strerror}.") from None
    return requested, False


def _candidates(
    path: Optional[Path], integration_ids: list[str]
) -> Optional[dict[str, list[dict[str, Any]]]]:
    if path is None:
        return None
    from kombo_cli.sandbox.candidates_file import FixtureError, load_candidates_by_integration

    try:
        return load_candidates_by_integration(path, integration_ids)
    except FixtureError as exc:
        raise UsageError(str(exc)) from None


def _wait_for_stop_signal(stop: threading.Event) -> None:
    """Block until Ctrl-C or `stop` (set by SIGTERM); both are a normal way to stop."""
    try:
        # A timed wait keeps the main thread responsive to Ctrl-C on every platform.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
