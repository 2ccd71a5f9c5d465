"""`kombo attach`: resolve settings, plan each file, upload, report."""

from __future__ import annotations

import functools
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kombo_cli.attach import AttachmentPlan, plan_attachment, preview_request
from kombo_cli.client import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S, KomboClient
from kombo_cli.errors import ExitCode, Interrupted, KomboError, UsageError
from kombo_cli.files import STDIN_ARGUMENT, LocalFile, spool_stdin
from kombo_cli.output import Output, target_json
from kombo_cli.redact import mask_secret
from kombo_cli.remote_fields import build_remote_fields
from kombo_cli.retry import DEFAULT_RETRIES, RetryPolicy
from kombo_cli.settings import SettingFlags, Settings, resolve_settings
from kombo_cli.targets import Target


@dataclass(frozen=True)
class AttachOptions:
    target_id: str
    files: list[str]
    attachment_type: str
    name: str | None
    content_type: str | None
    application: bool
    dry_run: bool
    setting_flags: SettingFlags
    retries: int = DEFAULT_RETRIES
    timeout_s: float = DEFAULT_READ_TIMEOUT_S
    remote_fields_json: str | None = None
    remote_field_arguments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Inputs:
    """What the command line resolves to before any file is read."""

    target: Target
    remote_fields: dict[str, Any] | None
    # The spooled copy of standard input, when one of the files is `-`.
    stdin_file: LocalFile | None


def run_attach(options: AttachOptions, output: Output) -> int:
    """Attach every file to the target; returns the exit code."""
    settings = resolve_settings(options.setting_flags)
    output.add_secret(settings.api_key.value)
    for warning in settings.warnings:
        output.warning(warning)
    _describe_settings(settings, output)
    _check_options(options)
    with ExitStack() as cleanup:
        if output.verbosity >= 2:
            cleanup.enter_context(_http_log(output))
        inputs = _Inputs(
            target=Target.parse(options.target_id, application=options.application),
            remote_fields=build_remote_fields(
                options.remote_fields_json, options.remote_field_arguments
            ),
            stdin_file=_read_stdin(cleanup) if STDIN_ARGUMENT in options.files else None,
        )
        if options.dry_run:
            return _dry_run(options, inputs, settings, output)
        return _upload_all(options, inputs, settings, output)


def _check_options(options: AttachOptions) -> None:
    if options.name is not None and len(options.files) > 1:
        raise UsageError("--name can only be used with a single file.")
    if STDIN_ARGUMENT in options.files:
        if options.files.count(STDIN_ARGUMENT) > 1:
            raise UsageError("Standard input (-) can only be attached once.")
        if options.name is None:
            raise UsageError(
                "Reading the file from standard input (-) needs --name.",
                hint="name it with its extension, e.g. --name cv.pdf",
            )


def _read_stdin(cleanup: ExitStack) -> LocalFile:
    stream = sys.stdin
    if stream is None or stream.isatty():
        raise UsageError(
            "Standard input (-) is a terminal, not a file.",
            hint="pipe the file in, e.g. curl -s URL | kombo attach ID - --name cv.pdf",
        )
    directory = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="kombo-stdin-")))
    return spool_stdin(stream.buffer, directory)


def _upload_all(options: AttachOptions, inputs: _Inputs, settings: Settings, output: Output) -> int:
    from kombo_cli.delivery import Ledger, deliver

    api_key, integration_id = settings.require_credentials()
    assert settings.base_url.value is not None
    client = KomboClient(
        settings.base_url.value,
        api_key,
        integration_id,
        read_timeout_s=options.timeout_s,
        connect_timeout_s=min(DEFAULT_CONNECT_TIMEOUT_S, options.timeout_s),
    )
    policy = RetryPolicy(retries=options.retries)
    ledger = Ledger()

    target = inputs.target
    single = len(options.files) == 1
    failures: list[KomboError] = []
    started = time.monotonic()
    for file_argument in options.files:
        try:
            plan = _plan(options, inputs, file_argument, output)
            with output.upload_progress(plan.name, plan.local_file.size) as on_progress:
                outcome = deliver(
                    client,
                    plan,
                    policy,
                    on_progress=on_progress,
                    on_retry=functools.partial(output.retry_notice, subject=plan.name),
                    ledger=ledger,
                )
            if outcome.http_status is not None:
                output.detail(
                    f"Kombo answered HTTP {outcome.http_status} in {outcome.elapsed_s:.2f} s"
                )
            output.attached(outcome)
        except KeyboardInterrupt:
            shown = "standard input" if file_argument == STDIN_ARGUMENT else file_argument
            raise Interrupted(
                f"Interrupted while attaching {shown}; it may or may not have been stored.",
                hint=f"check with `kombo attachments list {target.shell_argument}` before"
                " running the command again",
            ) from None
        except Interrupted:
            raise
        except KomboError as err:
            failures.append(err)
            output.failure(err, target=target_json(target), file=file_argument)
    if not single:
        output.batch_summary(
            len(options.files) - len(failures), len(failures), time.monotonic() - started
        )
    if not failures:
        return ExitCode.SUCCESS
    return failures[0].exit_code if single else ExitCode.PARTIAL


def _plan(
    options: AttachOptions, inputs: _Inputs, file_argument: str, output: Output
) -> AttachmentPlan:
    plan = plan_attachment(
        inputs.target,
        file_argument,
        attachment_type=options.attachment_type,
        name=options.name,
        content_type=options.content_type,
        remote_fields=inputs.remote_fields,
        local_file=inputs.stdin_file if file_argument == STDIN_ARGUMENT else None,
    )
    for note in plan.notes:
        output.warning(note)
    output.detail(
        f"{plan.local_file.display}: {plan.local_file.size} bytes,"
        f" {plan.content_type.content_type} (from the {plan.content_type.method})"
    )
    return plan


def _dry_run(options: AttachOptions, inputs: _Inputs, settings: Settings, output: Output) -> int:
    failures: list[KomboError] = []
    for file_argument in options.files:
        try:
            output.preview(preview_request(_plan(options, inputs, file_argument, output), settings))
        except KomboError as err:
            failures.append(err)
            output.failure(err, target=target_json(inputs.target), file=file_argument)
    output.detail("Dry run: nothing was sent.")
    # The plan is shown first so a missing credential can be fixed in one go with the rest.
    settings.require_credentials()
    if not failures:
        return ExitCode.SUCCESS
    return failures[0].exit_code if len(options.files) == 1 else ExitCode.PARTIAL


def _describe_settings(settings: Settings, output: Output) -> None:
    if output.verbosity < 1:
        return
    output.detail(f"Kombo API: {settings.base_url.value} (from {settings.base_url.origin})")
    for label, resolved in (
        ("API key", settings.api_key),
        ("Integration", settings.integration_id),
    ):
        if resolved.is_set:
            assert resolved.value is not None
            shown = mask_secret(resolved.value) if label == "API key" else resolved.value
            output.detail(f"{label}: {shown} (from {resolved.origin})")


@contextmanager
def _http_log(output: Output) -> Iterator[None]:
    """-vv: the client's HTTP log on stderr, for this command only."""
    logger = logging.getLogger("kombo_cli.http")
    handler = output.http_log_handler()
    previous = (logger.level, logger.propagate)
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]
