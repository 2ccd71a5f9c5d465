"""`kombo attachments list`: what Kombo lists for a candidate or an application."""

from __future__ import annotations

from kombo_cli.client import KomboClient
from kombo_cli.errors import ExitCode
from kombo_cli.output import Output
from kombo_cli.retry import RetryPolicy, call_idempotent
from kombo_cli.settings import SettingFlags, resolve_settings
from kombo_cli.targets import Target


def run_list_attachments(
    target_id: str,
    *,
    application: bool,
    flags: SettingFlags,
    retries: int,
    timeout_s: float,
    output: Output,
) -> int:
    settings = resolve_settings(flags)
    output.add_secret(settings.api_key.value)
    for warning in settings.warnings:
        output.warning(warning)
    target = Target.parse(target_id, application=application)
    api_key, integration_id = settings.require_credentials()
    assert settings.base_url.value is not None
    client = KomboClient(settings.base_url.value, api_key, integration_id, read_timeout_s=timeout_s)
    # Listing is read-only: any failure worth retrying is retried, duplicates cannot happen.
    attachments = call_idempotent(
        lambda: client.list_attachments(target),
        RetryPolicy(retries=retries),
        what="listing the attachments",
        on_retry=lambda notice: output.retry_notice(notice, str(target)),
    )
    output.attachment_list(target, attachments)
    return ExitCode.SUCCESS
