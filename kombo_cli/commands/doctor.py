"""`kombo doctor`: check settings, the key and the integration, and say what to fix."""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from kombo_cli.commands.context import state_of
from kombo_cli.commands.options import (
    CONNECTION,
    OUTPUT,
    base_url_option,
    env_file_option,
    integration_id_option,
    json_option,
    profile_option,
    region_option,
    setting_flags,
)
from kombo_cli.config.settings import Settings
from kombo_cli.errors import ApiError, ConfigError, ExitCode, KomboError, WrongBaseUrl
from kombo_cli.redact import mask_secret
from kombo_cli.ui.console import Console
from kombo_cli.ui.text import human_duration

if TYPE_CHECKING:
    from kombo_cli.library import Kombo

ATTACHMENT_ACTIONS = {
    "ats_add_candidate_attachment": "Attach to candidates",
    "ats_add_application_attachment": "Attach to applications",
}
OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    hint: Optional[str] = None


@dataclass
class DoctorReport:
    checks: list[Check]
    exit_code: int = ExitCode.SUCCESS

    def add(self, check: Check, failure_code: int = ExitCode.SUCCESS) -> None:
        self.checks.append(check)
        # The first failure decides the exit code: later ones often follow from it.
        if check.status == FAIL and self.exit_code == ExitCode.SUCCESS:
            self.exit_code = failure_code

    def revise(self, check: Check, failure_code: int) -> None:
        """Replace the earlier check of the same name: a later answer showed it wrong."""
        self.checks = [c for c in self.checks if c.name != check.name]
        self.add(check, failure_code)

    def skip(self, *names: str) -> None:
        for name in names:
            self.checks.append(Check(name, SKIP, "not checked: an earlier check failed"))


def doctor(
    ctx: typer.Context,
    profile: Optional[str] = profile_option(CONNECTION),
    env_file: Optional[Path] = env_file_option(CONNECTION),
    integration_id: Optional[str] = integration_id_option(CONNECTION),
    region: Optional[str] = region_option(CONNECTION),
    base_url: Optional[str] = base_url_option(CONNECTION),
    json_output: bool = json_option("Print the checks as JSON.", OUTPUT),
) -> int:
    """Check the settings, the API key and the integration, with a hint for each failure."""
    state = state_of(ctx)
    console = state.open_console(json_mode=json_output)
    flags = setting_flags(
        integration_id=integration_id,
        region=region,
        base_url=base_url,
        env_file=env_file,
        profile=profile,
    )
    report = DoctorReport([])
    try:
        settings = state.settings(flags)
    except ConfigError as err:
        # An invalid setting is a finding like any other: keep to the checklist's shape.
        report.add(Check("Settings", FAIL, err.message, err.hint), ExitCode.CONFIG)
        report.skip("API key accepted", "Integration", *ATTACHMENT_ACTIONS.values())
        _show(console, report)
        return report.exit_code
    _check_settings(settings, report)
    if report.exit_code == ExitCode.SUCCESS:
        _check_live(settings, report)
    else:
        report.skip("API key accepted", "Integration", *ATTACHMENT_ACTIONS.values())
    _show(console, report)
    return report.exit_code


def _show(console: Console, report: DoctorReport) -> None:
    checks, exit_code = report.checks, report.exit_code
    if console.json_mode:
        console.json(
            {
                "status": "ok" if exit_code == 0 else "error",
                "exit_code": int(exit_code),
                "checks": [
                    {"name": c.name, "status": c.status, "detail": c.detail, "hint": c.hint}
                    for c in checks
                ],
            }
        )
        return
    # Words rather than symbols: they survive any terminal encoding and grep well in logs.
    marks = {
        OK: ("ok  ", "green"),
        WARN: ("warn", "yellow"),
        FAIL: ("FAIL", "red"),
        SKIP: ("skip", "dim"),
    }
    for check in checks:
        mark, style = marks.get(check.status, (check.status, None))
        console.out(f"{mark}  {check.name}: {check.detail}", style)
        if check.hint and check.status in (FAIL, WARN):
            console.out(f"    Hint: {check.hint}", "cyan")
    failed = [c.name for c in checks if c.status == FAIL]
    if failed:
        checks_failed = "1 check failed" if len(failed) == 1 else f"{len(failed)} checks failed"
        console.err(f"Error: {checks_failed}: {', '.join(failed)}.", "bold red")


def _check_settings(settings: Settings, report: DoctorReport) -> None:
    key, integration = settings.api_key, settings.integration_id
    if key.value is None:
        report.add(
            Check("API key", FAIL, "not set", "run `kombo config set api-key`"), ExitCode.CONFIG
        )
    else:
        report.add(Check("API key", OK, f"{mask_secret(key.value)} from {key.origin}"))
    if integration.value is None:
        hint = "run `kombo config set integration-id`"
        report.add(Check("Integration ID", FAIL, "not set", hint), ExitCode.CONFIG)
    else:
        report.add(Check("Integration ID", OK, f"{integration.value} from {integration.origin}"))
    report.add(Check("Kombo API", OK, f"{settings.base_url.value} from {settings.base_url.origin}"))


def _check_live(settings: Settings, report: DoctorReport) -> None:
    from kombo_cli.library import Kombo

    # A check answers in seconds or not at all; retrying would only hide a slow network.
    with Kombo.from_settings(settings, retries=0, timeout_s=30) as kombo:
        _check_key_and_integration(kombo, settings, report)


def _check_key_and_integration(kombo: "Kombo", settings: Settings, report: DoctorReport) -> None:
    started = time.monotonic()
    try:
        answer = kombo.check_api_key()
    except WrongBaseUrl as err:
        # The base URL, not the key, is what failed: say so on its own line.
        report.revise(Check("Kombo API", FAIL, _describe(err), _hint(err)), err.exit_code)
        report.skip("API key accepted", "Integration", *ATTACHMENT_ACTIONS.values())
        return
    except KomboError as err:
        report.add(Check("API key accepted", FAIL, _describe(err), _hint(err)), err.exit_code)
        report.skip("Integration", *ATTACHMENT_ACTIONS.values())
        return
    round_trip = human_duration(time.monotonic() - started)
    environment = _field(answer, "environment_id")
    if environment is None:
        # A captive portal or another service answers 200 too; only Kombo names the
        # environment the key belongs to.
        detail = f"{settings.base_url.value} answered, but not as Kombo's API does"
        report.revise(Check("Kombo API", FAIL, detail, BASE_URL_HINT), ExitCode.NETWORK)
        report.skip("API key accepted", "Integration", *ATTACHMENT_ACTIONS.values())
        return
    report.add(Check("API key accepted", OK, f"environment {environment}, round trip {round_trip}"))
    try:
        details = kombo.integration_details()
    except KomboError as err:
        report.add(Check("Integration", FAIL, _describe(err), _hint(err)), err.exit_code)
        report.skip(*ATTACHMENT_ACTIONS.values())
        return
    _check_integration(details, report)


def _check_integration(details: dict[str, Any], report: DoctorReport) -> None:
    tool = details.get("tool")
    label = tool.get("label") if isinstance(tool, dict) else None
    label = label if isinstance(label, str) else "unknown tool"
    status, setup = details.get("status"), details.get("setup_status")
    summary = f"{label}, status {status}, setup {setup}"
    if status == "ACTIVE" and setup == "COMPLETED":
        report.add(Check("Integration", OK, summary))
    else:
        hint = "the customer has to finish setting up or reconnect the integration in Kombo"
        report.add(Check("Integration", FAIL, summary, hint), ExitCode.REJECTED)

    write_actions = details.get("write_actions")
    actions = {
        action["id"]: action
        for action in (write_actions if isinstance(write_actions, list) else [])
        if isinstance(action, dict) and isinstance(action.get("id"), str)
    }
    available = []
    for action_id, name in ATTACHMENT_ACTIONS.items():
        action = actions.get(action_id)
        if action and action.get("is_available"):
            available.append(name)
            report.add(Check(name, OK, "available"))
            continue
        if action is None:
            detail, hint = "not offered by this ATS", "use the other route if it is available"
        else:
            detail = (
                f"not available (coverage {action.get('coverage_status')},"
                f" scope config {action.get('scope_config_setting')})"
            )
            hint = 'enable "Add attachments" in the integration\'s scope config'
        # One route is enough to attach files; only both missing is a failure.
        report.checks.append(Check(name, WARN, detail, hint))
    if not available:
        hint = "this integration cannot take attachments; enable them in its scope config"
        report.add(Check("Attachments", FAIL, "no attachment action is available", hint), 5)


def _field(data: Any, name: str) -> Optional[str]:
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


BASE_URL_HINT = "check the base URL (KOMBO_BASE_URL / --region): it must end in /v1"


def _hint(err: KomboError) -> Optional[str]:
    if err.hint:
        return err.hint
    if isinstance(err, ApiError) and err.http_status == 404:
        return BASE_URL_HINT
    return "Kombo or the network is slow or down; try again in a moment"


def _describe(err: KomboError) -> str:
    if isinstance(err, ApiError) and err.code:
        return f"{err.message} ({err.code}, HTTP {err.http_status})"
    return err.message
