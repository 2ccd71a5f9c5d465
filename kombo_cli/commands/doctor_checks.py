"""What `kombo doctor` finds: its checks, the report they make up, and how an integration's
details (GET /integrations/{id}) are judged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kombo_cli.errors import ApiError, ExitCode, KomboError

ATTACHMENT_ACTIONS = {
    "ats_add_candidate_attachment": "Attach to candidates",
    "ats_add_application_attachment": "Attach to applications",
}
# What is checked about each integration, in order.
INTEGRATION = "Integration"
ATTACHMENTS = "Attachments"
INTEGRATION_CHECKS = (INTEGRATION, *ATTACHMENT_ACTIONS.values())
OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
EARLIER_FAILURE = "an earlier check failed"
BASE_URL_HINT = "check the base URL (KOMBO_BASE_URL / --region): it must end in /v1"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    hint: str | None = None
    # The integration the check is about; None for the settings, the key, the manifest.
    integration_id: str | None = None
    # What is checked, the same for every integration ("Integration", "Attach to
    # candidates"); the name adds which integration when several are checked.
    kind: str = ""

    @property
    def about(self) -> str:
        return self.kind or self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "hint": self.hint,
            "integration_id": self.integration_id,
        }


@dataclass(frozen=True)
class Subject:
    """An integration being checked, and how its checks are named: by what is checked
    alone when it is the only one, with its ID when a manifest's integrations are."""

    integration_id: str | None
    labelled: bool = False

    def check(self, kind: str, status: str, detail: str, hint: str | None = None) -> Check:
        return Check(self.name(kind), status, detail, hint, self.integration_id, kind)

    def name(self, kind: str) -> str:
        if not self.labelled or self.integration_id is None:
            return kind
        if kind == INTEGRATION:
            return f"{INTEGRATION} {self.integration_id}"
        return f"{self.integration_id}: {kind}"


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
            self.checks.append(Check(name, SKIP, f"not checked: {EARLIER_FAILURE}"))

    def skip_integration(
        self,
        subject: Subject,
        kinds: tuple[str, ...] = INTEGRATION_CHECKS,
        why: str = EARLIER_FAILURE,
    ) -> None:
        for kind in kinds:
            self.checks.append(subject.check(kind, SKIP, f"not checked: {why}"))


def judge_integration(
    details: dict[str, Any], report: DoctorReport, subject: Subject | None = None
) -> None:
    """Add the checks of one integration's details: active and set up, and which of the
    two attachment actions it allows (one is enough; neither is a failure, exit 5)."""
    subject = subject or Subject(field_of(details, "id"))
    tool = details.get("tool")
    label = tool.get("label") if isinstance(tool, dict) else None
    label = label if isinstance(label, str) else "unknown tool"
    status, setup = details.get("status"), details.get("setup_status")
    summary = f"{label}, status {status}, setup {setup}"
    if status == "ACTIVE" and setup == "COMPLETED":
        report.add(subject.check(INTEGRATION, OK, summary))
    else:
        hint = "the customer has to finish setting up or reconnect the integration in Kombo"
        report.add(subject.check(INTEGRATION, FAIL, summary, hint), ExitCode.REJECTED)

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
            report.add(subject.check(name, OK, "available"))
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
        report.add(subject.check(name, WARN, detail, hint))
    if not available:
        hint = "this integration cannot take attachments; enable them in its scope config"
        failed = subject.check(ATTACHMENTS, FAIL, "no attachment action is available", hint)
        report.add(failed, ExitCode.REJECTED)


def lookup_failed(
    err: KomboError, report: DoctorReport, subject: Subject, hint: str | None = None
) -> None:
    """GET /integrations/{id} failed: the integration's check fails (with `hint`, or the
    error's), its actions are not checked."""
    failed = subject.check(INTEGRATION, FAIL, describe(err), hint or hint_for(err))
    report.add(failed, err.exit_code)
    report.skip_integration(subject, tuple(ATTACHMENT_ACTIONS.values()))


def field_of(data: Any, name: str) -> str | None:
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def hint_for(err: KomboError) -> str | None:
    if err.hint:
        return err.hint
    if isinstance(err, ApiError) and err.http_status == 404:
        return BASE_URL_HINT
    return "Kombo or the network is slow or down; try again in a moment"


def describe(err: KomboError) -> str:
    if isinstance(err, ApiError) and err.code:
        return f"{err.message} ({err.code}, HTTP {err.http_status})"
    return err.message
