"""`kombo doctor`: check settings, the key and the integration, and say what to fix.

With `--manifest FILE`, every integration the manifest's rows go to is checked the same
way: the run's own (KOMBO_INTEGRATION_ID) when some row names none, then those the rows
name, in the order they first appear. The key is checked once; the integrations are looked
up a few at a time, and the checklist is printed once they all have answered. Beyond
MANY_INTEGRATIONS, the checklist sums up checks that integrations share (`--json` still
lists every check).
"""

import shlex
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import typer

from kombo_cli.commands.attach_hints import OWN_INTEGRATION_HINT, own_integration_missing
from kombo_cli.commands.context import state_of
from kombo_cli.commands.doctor_checks import (
    BASE_URL_HINT,
    FAIL,
    OK,
    SKIP,
    WARN,
    Check,
    DoctorReport,
    Subject,
    describe,
    field_of,
    hint_for,
    judge_integration,
    lookup_failed,
)
from kombo_cli.commands.options import (
    BATCH,
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
from kombo_cli.config.settings import ENV_INTEGRATION_ID, Settings
from kombo_cli.errors import ApiError, ConfigError, ExitCode, KomboError, NetworkError, WrongBaseUrl
from kombo_cli.redact import mask_secret
from kombo_cli.ui.console import Console
from kombo_cli.ui.text import human_duration

if TYPE_CHECKING:
    from kombo_cli.library import Kombo
    from kombo_cli.upload.manifest_check import ManifestCheck

# More integrations than this: the human checklist groups their checks (see _lines).
MANY_INTEGRATIONS = 50
# Integrations named in one grouped line of the checklist; --json has them all.
SHOWN_IDS = 10
# Lookups of integrations in flight at once: GET /integrations/{id} is no action in Kombo's
# sense, but a manifest may name hundreds, and Kombo limits requests per second too.
LOOKUP_THREADS = 4


@dataclass(frozen=True)
class Scope:
    """What doctor checks: one integration, or a manifest's."""

    manifest: Optional[Path] = None
    rows: "Optional[ManifestCheck]" = None

    def integrations(self, own: Optional[str]) -> list[Optional[str]]:
        """The integrations the run would send to, its own first (None: needed, not set)."""
        if self.rows is None:
            return [own]
        return list(self.rows.integrations_for(own))

    def subjects(self, own: Optional[str]) -> list[Subject]:
        """The integrations to check. A manifest's rows that need the run's own integration
        when it is not set are the Integration ID check's failure; plain doctor's checks of
        the integration are skipped then."""
        if self.rows is None:
            return [Subject(own)]
        return [Subject(name, labelled=True) for name in self.integrations(own) if name]


def doctor(
    ctx: typer.Context,
    manifest: Optional[Path] = typer.Option(
        None,
        "--manifest",
        metavar="FILE",
        help="Check every integration this manifest's rows go to (their integration_id, and"
        " KOMBO_INTEGRATION_ID for rows without one), as `kombo attach --manifest` would"
        " send them.",
        show_default=False,
        rich_help_panel=BATCH,
    ),
    profile: Optional[str] = profile_option(CONNECTION),
    env_file: Optional[Path] = env_file_option(CONNECTION),
    integration_id: Optional[str] = integration_id_option(CONNECTION),
    region: Optional[str] = region_option(CONNECTION),
    base_url: Optional[str] = base_url_option(CONNECTION),
    json_output: bool = json_option("Print the checks as JSON.", OUTPUT),
) -> int:
    """Check the settings, the API key and the integration (or a manifest's integrations),
    with a hint for each failure."""
    state = state_of(ctx)
    console = state.open_console(json_mode=json_output)
    flags = setting_flags(
        integration_id=integration_id,
        region=region,
        base_url=base_url,
        env_file=env_file,
        profile=profile,
    )
    # Imported here: the upload stack (and requests) stays out of every other command's
    # start-up.
    from kombo_cli.upload.manifest_check import validate_manifest

    # A manifest that cannot be read is a mistake in the command, as for `kombo attach`
    # (exit 2), not a finding. Its malformed rows are `kombo attach --dry-run`'s business.
    scope = Scope(manifest, validate_manifest(manifest) if manifest is not None else None)
    report = DoctorReport([])
    try:
        settings = state.settings(flags)
    except ConfigError as err:
        # An invalid setting is a finding like any other: keep to the checklist's shape.
        report.add(Check("Settings", FAIL, err.message, err.hint), ExitCode.CONFIG)
        subjects = scope.subjects(None)
        _check_manifest(scope, None, report)
        report.skip("API key accepted")
        for subject in subjects:
            report.skip_integration(subject)
        _show(console, report, many=len(subjects) > MANY_INTEGRATIONS)
        return report.exit_code
    subjects = scope.subjects(settings.integration_id.value)
    _check_settings(settings, scope, report)
    _check_manifest(scope, settings.integration_id.value, report)
    if settings.api_key.value is not None:
        _check_live(settings, subjects, report, scope.manifest)
    else:
        report.skip("API key accepted")
        for subject in subjects:
            report.skip_integration(subject)
    _show(console, report, many=len(subjects) > MANY_INTEGRATIONS)
    return report.exit_code


def _check_settings(settings: Settings, scope: Scope, report: DoctorReport) -> None:
    key, integration = settings.api_key, settings.integration_id
    if key.value is None:
        report.add(
            Check("API key", FAIL, "not set", "run `kombo config set api-key`"), ExitCode.CONFIG
        )
    else:
        report.add(Check("API key", OK, f"{mask_secret(key.value)} from {key.origin}"))
    rows = scope.rows
    if rows is not None and rows.first_line_without_integration is None:
        # Every row names its integration: the run's own is not used, set or not.
        named = f"{integration.value} from {integration.origin}; " if integration.value else ""
        why = f"every row of {scope.manifest} names its integration" if rows.rows else "no rows"
        detail = f"{named}not needed: {why}"
        report.add(Check("Integration ID", OK, detail))
    elif integration.value is None:
        detail, hint = "not set", "run `kombo config set integration-id`"
        if rows is not None:
            assert scope.manifest is not None
            missing = own_integration_missing(rows.first_line_without_integration, scope.manifest)
            detail, hint = f"not set, and {missing}", OWN_INTEGRATION_HINT
        report.add(Check("Integration ID", FAIL, detail, hint), ExitCode.CONFIG)
    else:
        report.add(Check("Integration ID", OK, f"{integration.value} from {integration.origin}"))
    report.add(Check("Kombo API", OK, f"{settings.base_url.value} from {settings.base_url.origin}"))


def _check_manifest(scope: Scope, own: Optional[str], report: DoctorReport) -> None:
    rows = scope.rows
    if rows is None:
        return
    if rows.rows:
        usable = "1 row" if rows.rows == 1 else f"{rows.rows} rows"
        count = len(scope.integrations(own))
        going = "1 integration" if count == 1 else f"{count} integrations"
        report.add(Check("Manifest", OK, f"{scope.manifest}: {usable} for {going}"))
    else:
        report.add(Check("Manifest", WARN, f"{scope.manifest} has no rows to attach"))
    if rows.problem_count:
        bad = (
            "1 malformed row" if rows.problem_count == 1 else f"{rows.problem_count} malformed rows"
        )
        first = f" (the first: {str(rows.problems[0]).rstrip('.')})" if rows.problems else ""
        dry_run = f"kombo attach --manifest {shlex.quote(str(scope.manifest))} --dry-run"
        hint = f"run `{dry_run}` to see each; they would not be sent"
        report.add(Check("Manifest rows", WARN, bad + first, hint))


def _check_live(
    settings: Settings, subjects: list[Subject], report: DoctorReport, manifest: Optional[Path]
) -> None:
    from kombo_cli.library import Kombo

    # A check answers in seconds or not at all; retrying would only hide a slow network.
    with Kombo.from_settings(
        settings,
        retries=0,
        timeout_s=30,
        concurrency=LOOKUP_THREADS,
        require_credentials=False,
    ) as kombo:
        if not _check_key(kombo, settings, report):
            for subject in subjects:
                report.skip_integration(subject)
            return
        own = settings.integration_id.value
        known = [subject for subject in subjects if subject.integration_id is not None]
        for subject, found in zip(known, _look_up(kombo, known)):
            if isinstance(found, KomboError):
                named = manifest is not None and subject.integration_id != own
                hint = _unknown_in_manifest(found, manifest) if named else None
                lookup_failed(found, report, subject, hint)
            else:
                judge_integration(found, report, subject)
        for subject in subjects:
            if subject.integration_id is None:
                report.skip_integration(subject, why=f"{ENV_INTEGRATION_ID} is not set")


def _unknown_in_manifest(err: KomboError, manifest: Optional[Path]) -> Optional[str]:
    """Kombo's hint for an integration it does not know names KOMBO_INTEGRATION_ID; for one
    that only the manifest names, the manifest is what to fix."""
    if isinstance(err, ApiError) and err.code == "PLATFORM.INTEGRATION_NOT_FOUND":
        return f"check the integration_id of the rows of {manifest} that name it"
    return None


def _check_key(kombo: "Kombo", settings: Settings, report: DoctorReport) -> bool:
    """GET /check-api-key: whether the key works, and the server is Kombo."""
    started = time.monotonic()
    try:
        answer = kombo.check_api_key()
    except (WrongBaseUrl, NetworkError) as err:
        # The base URL or the way to it, not the key, is what failed (and the key was
        # never seen): say so on its own line.
        report.revise(Check("Kombo API", FAIL, describe(err), hint_for(err)), err.exit_code)
        report.skip("API key accepted")
        return False
    except KomboError as err:
        report.add(Check("API key accepted", FAIL, describe(err), hint_for(err)), err.exit_code)
        return False
    round_trip = human_duration(time.monotonic() - started)
    environment = field_of(answer, "environment_id")
    if environment is None:
        # A captive portal or another service answers 200 too; only Kombo names the
        # environment the key belongs to.
        detail = f"{settings.base_url.value} answered, but not as Kombo's API does"
        report.revise(Check("Kombo API", FAIL, detail, BASE_URL_HINT), ExitCode.NETWORK)
        report.skip("API key accepted")
        return False
    report.add(Check("API key accepted", OK, f"environment {environment}, round trip {round_trip}"))
    return True


def _look_up(kombo: "Kombo", subjects: list[Subject]) -> list[Union[dict[str, Any], KomboError]]:
    """Each integration's details (or why there are none), in the subjects' order. Only
    the answers cross threads: the checklist is made and printed by the caller's."""

    def details(subject: Subject) -> Union[dict[str, Any], KomboError]:
        try:
            return kombo.integration_details(subject.integration_id)
        except KomboError as err:
            return err

    if len(subjects) <= 1:
        return [details(subject) for subject in subjects]
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(min(LOOKUP_THREADS, len(subjects)), "kombo-doctor")
    try:
        return list(pool.map(details, subjects))
    finally:
        # After Ctrl-C, the lookups not yet started never start.
        pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class _Line:
    """A line of the checklist: one check, or several integrations' alike checks."""

    status: str
    name: str
    detail: str
    hint: Optional[str]
    # Grouped: the integrations the line stands for.
    integrations: tuple[str, ...] = ()


def _lines(checks: list[Check], many: bool) -> list[_Line]:
    """One line per check; with many integrations, one per kind of finding instead:
    integrations' checks that say the same (what is checked, status, detail and hint)
    share a line, placed where the first of them was."""
    if not many:
        return [_Line(c.status, c.name, c.detail, c.hint) for c in checks]
    order: list[Union[Check, tuple[str, str, str, Optional[str]]]] = []
    groups: dict[tuple[str, str, str, Optional[str]], list[Check]] = {}
    for check in checks:
        if check.integration_id is None:
            order.append(check)
            continue
        key = (check.about, check.status, check.detail, check.hint)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(check)
    lines = []
    for item in order:
        group = [item] if isinstance(item, Check) else groups[item]
        first = group[0]
        if len(group) == 1:
            lines.append(_Line(first.status, first.name, first.detail, first.hint))
        else:
            ids = tuple(c.integration_id or "" for c in group)
            lines.append(_Line(first.status, first.about, first.detail, first.hint, ids))
    return lines


def _show(console: Console, report: DoctorReport, *, many: bool = False) -> None:
    checks, exit_code = report.checks, report.exit_code
    if console.json_mode:
        console.json(
            {
                "status": "ok" if exit_code == 0 else "error",
                "exit_code": int(exit_code),
                "checks": [check.to_json() for check in checks],
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
    failed: Counter[str] = Counter()
    for line in _lines(checks, many):
        mark, style = marks.get(line.status, (line.status, None))
        count = len(line.integrations)
        times = f" ({count} integrations)" if count else ""
        console.out(f"{mark}  {line.name}: {line.detail}{times}", style)
        if count and line.status != OK:
            shown = ", ".join(line.integrations[:SHOWN_IDS])
            more = f" and {count - SHOWN_IDS} more" if count > SHOWN_IDS else ""
            console.out(f"    Integrations: {shown}{more}", style)
        if line.hint and line.status in (FAIL, WARN):
            console.out(f"    Hint: {line.hint}", "cyan")
        if line.status == FAIL:
            failed[line.name] += max(count, 1)
    if failed:
        total = sum(failed.values())
        checks_failed = "1 check failed" if total == 1 else f"{total} checks failed"
        names = [name if n == 1 else f"{name} ({n})" for name, n in failed.items()]
        console.err(f"Error: {checks_failed}: {', '.join(names)}.", "bold red")
