"""`kombo sandbox`: run the local Kombo until Ctrl-C or SIGTERM, or run the demo."""

from __future__ import annotations

import contextlib
import errno
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kombo_cli.errors import ExitCode, UsageError
from kombo_cli.output import Output
from kombo_cli.settings import is_header_safe, is_loopback_host


@dataclass(frozen=True)
class SandboxOptions:
    host: str
    port: int
    data_dir: Path | None
    key: str
    integration_id: str
    candidates_file: Path | None
    strict_ids: bool
    latency_ms: int
    fail_rate: float
    ambiguous_rate: float
    concurrency_limit: int


def run_sandbox(options: SandboxOptions, output: Output) -> int:
    _check_credential(options.key, "--key")
    _check_credential(options.integration_id, "--integration-id")
    if not options.host.strip():
        raise UsageError("--host is empty.", hint="use 127.0.0.1, or 0.0.0.0 for every interface")
    candidates = _candidates(options.candidates_file)
    data_dir, created = _data_dir(options.data_dir)
    try:
        code = _serve(options, output, data_dir, candidates)
    finally:
        if created:
            # A sandbox that stored nothing (or never started) leaves no empty folder behind;
            # rmdir refuses a folder that holds uploads.
            with contextlib.suppress(OSError):
                data_dir.rmdir()
    output.sandbox_stopped(data_dir, kept=data_dir.exists())
    return code


def _serve(
    options: SandboxOptions,
    output: Output,
    data_dir: Path,
    candidates: list[dict[str, Any]] | None,
) -> int:
    from kombo_cli.sandbox.config import SandboxConfig
    from kombo_cli.sandbox.server import SandboxServer
    from kombo_cli.sandbox.store import StoreError

    config = SandboxConfig(
        data_dir=data_dir,
        host=options.host,
        port=options.port,
        api_key=options.key,
        integration_id=options.integration_id,
        candidates=candidates,
        latency_s=options.latency_ms / 1000,
        fail_rate=options.fail_rate,
        ambiguous_rate=options.ambiguous_rate,
        concurrency_limit=options.concurrency_limit,
    )
    try:
        server = SandboxServer(config)
    except StoreError as exc:
        raise UsageError(str(exc), hint="pick another folder with --data-dir") from None
    if options.strict_ids:
        config.known_ids = known_ids(server.candidates)
    server.on_log = output.sandbox_request
    try:
        server.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"Port {options.port} on {options.host} is already in use.",
                hint="stop the other process, or pick another port with --port (0 = any free one)",
            ) from None
        raise UsageError(
            f"Cannot listen on {options.host}:{options.port}: {exc.strerror}."
        ) from None

    stop = threading.Event()
    # Installed before the banner: a supervisor may send SIGTERM as soon as it reads it.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        output.sandbox_started(server, data_dir, exposed=not is_loopback_host(options.host))
        _wait_for_stop_signal(stop)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    return ExitCode.SUCCESS


def known_ids(candidates: list[dict[str, Any]]) -> dict[str, set[str]]:
    """--strict-ids: only the seeded candidates and their applications exist, each as its kind."""
    return {
        "candidate": {candidate["id"] for candidate in candidates},
        "application": {
            application["id"]
            for candidate in candidates
            for application in candidate.get("applications") or []
        },
    }


def _check_credential(value: str, option: str) -> None:
    # Clients send these in HTTP headers, under the same rule kombo applies to its own.
    if not is_header_safe(value):
        raise UsageError(f"{option} must be printable ASCII without spaces, and not empty.")


def _data_dir(requested: Path | None) -> tuple[Path, bool]:
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


def _candidates(path: Path | None) -> list[dict[str, Any]] | None:
    if path is None:
        return None
    from kombo_cli.sandbox.candidates_file import FixtureError, load_candidates

    try:
        return load_candidates(path)
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
