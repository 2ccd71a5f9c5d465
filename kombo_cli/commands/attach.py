"""`kombo attach`: resolve settings, plan each file, upload, report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kombo_cli.attach import AttachmentPlan, plan_attachment, preview_request, upload
from kombo_cli.client import KomboClient
from kombo_cli.errors import ExitCode, Interrupted, KomboError, UsageError
from kombo_cli.output import Output, target_json
from kombo_cli.redact import mask_secret
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


def run_attach(options: AttachOptions, output: Output) -> int:
    """Attach every file to the target; returns the exit code."""
    settings = resolve_settings(options.setting_flags)
    output.add_secret(settings.api_key.value)
    for warning in settings.warnings:
        output.warning(warning)
    _describe_settings(settings, output)
    target = Target.parse(options.target_id, application=options.application)
    if options.name is not None and len(options.files) > 1:
        raise UsageError("--name can only be used with a single file.")

    if options.dry_run:
        return _dry_run(options, target, settings, output)

    api_key, integration_id = settings.require_credentials()
    assert settings.base_url.value is not None
    client = KomboClient(settings.base_url.value, api_key, integration_id)
    if output.verbosity >= 2:
        _enable_http_log(output)

    single = len(options.files) == 1
    failures: list[KomboError] = []
    started = time.monotonic()
    for file_argument in options.files:
        try:
            plan = _plan(options, target, file_argument, output)
            with output.upload_progress(plan.name, plan.local_file.size) as on_progress:
                outcome = upload(client, plan, on_progress)
            output.detail(f"Kombo answered HTTP {outcome.http_status} in {outcome.elapsed_s:.2f} s")
            output.attached(outcome)
        except KeyboardInterrupt:
            raise Interrupted(
                f"Interrupted while attaching {file_argument}; it may or may not have been stored.",
                hint=f"check the {target.kind}'s attachments before running the command again",
            ) from None
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
    options: AttachOptions, target: Target, file_argument: str, output: Output
) -> AttachmentPlan:
    plan = plan_attachment(
        target,
        file_argument,
        attachment_type=options.attachment_type,
        name=options.name,
        content_type=options.content_type,
    )
    for note in plan.notes:
        output.warning(note)
    output.detail(
        f"{plan.local_file.display}: {plan.local_file.size} bytes,"
        f" {plan.content_type.content_type} (from the {plan.content_type.method})"
    )
    return plan


def _dry_run(options: AttachOptions, target: Target, settings: Settings, output: Output) -> int:
    failures: list[KomboError] = []
    for file_argument in options.files:
        try:
            output.preview(preview_request(_plan(options, target, file_argument, output), settings))
        except KomboError as err:
            failures.append(err)
            output.failure(err, target=target_json(target), file=file_argument)
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


def _enable_http_log(output: Output) -> None:
    logger = logging.getLogger("kombo_cli.http")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(output.http_log_handler())
    logger.propagate = False
