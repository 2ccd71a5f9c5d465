"""`kombo sandbox`: run the local Kombo until Ctrl-C or SIGTERM, or run the demo."""

from __future__ import annotations

import errno
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kombo_cli.errors import ExitCode, UsageError
from kombo_cli.output import Output
from kombo_cli.settings import is_loopback_host


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
    from kombo_cli.sandbox.server import SandboxConfig, SandboxServer

    data_dir = _data_dir(options.data_dir)
    config = SandboxConfig(
        data_dir=data_dir,
        host=options.host,
        port=options.port,
        api_key=options.key,
        integration_id=options.integration_id,
        candidates=_candidates(options.candidates_file),
        latency_s=options.latency_ms / 1000,
        fail_rate=options.fail_rate,
        ambiguous_rate=options.ambiguous_rate,
        concurrency_limit=options.concurrency_limit,
    )
    server = SandboxServer(config)
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

    try:
        output.sandbox_started(server, data_dir, exposed=not is_loopback_host(options.host))
        _wait_for_stop_signal()
    finally:
        server.stop()
    output.sandbox_stopped(data_dir)
    return ExitCode.SUCCESS


def known_ids(candidates: list[dict[str, Any]]) -> set[str]:
    """--strict-ids: only the seeded candidates and their applications exist."""
    ids = set()
    for candidate in candidates:
        ids.add(candidate["id"])
        ids.update(application["id"] for application in candidate.get("applications") or [])
    return ids


def _data_dir(requested: Path | None) -> Path:
    if requested is None:
        # Kept after the sandbox stops, so what arrived can still be opened.
        return Path(tempfile.mkdtemp(prefix="kombo-sandbox-"))
    try:
        requested.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"Cannot use {requested} as the data directory: {exc.strerror}.") from None
    if not requested.is_dir():
        raise UsageError(f"{requested} is not a directory.")
    return requested


def _candidates(path: Path | None) -> list[dict[str, Any]] | None:
    if path is None:
        return None
    from kombo_cli.sandbox.fixtures import FixtureError, load_candidates

    try:
        return load_candidates(path)
    except FixtureError as exc:
        raise UsageError(str(exc)) from None


def _wait_for_stop_signal() -> None:
    """Block until Ctrl-C or SIGTERM; both are a normal way to stop the sandbox."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        # A timed wait keeps the main thread responsive to Ctrl-C on every platform.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
