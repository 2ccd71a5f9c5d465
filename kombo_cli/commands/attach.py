"""`kombo attach`: turn the command line into items, run them, report each, then sum up.

A single file (or URL) without a manifest is a "single" run: one result line or JSON
object, and the item's own exit code. Anything more is a batch: uploads run in parallel
(`--concurrency`), each finished item is reported as it finishes, and a summary follows;
the exit code is 0, or 7 when any item failed.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kombo_cli.attach import preview_request
from kombo_cli.batch import Runner
from kombo_cli.client import DEFAULT_READ_TIMEOUT_S, KomboClient
from kombo_cli.errors import ExitCode, Interrupted, KomboError, UsageError
from kombo_cli.files import STDIN_ARGUMENT, LocalFile, spool_stdin
from kombo_cli.items import (
    APPLICATION,
    CANDIDATE,
    EMAIL,
    AttachItem,
    BadRow,
    Entry,
    command_line_items,
    manifest_items,
)
from kombo_cli.output import Output, target_json
from kombo_cli.redact import mask_secret, url_secrets
from kombo_cli.remote_fields import build_remote_fields
from kombo_cli.retry import DEFAULT_RETRIES, RetryPolicy
from kombo_cli.settings import SettingFlags, Settings, resolve_settings
from kombo_cli.targets import Target
from kombo_cli.uploads import ERROR, SKIPPED, SUCCESS, ItemResult, ProgressHooks, UploadRun

DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class AttachOptions:
    # The positional arguments: CANDIDATE_ID then FILEs, or only FILEs with --email.
    arguments: list[str]
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
    manifest: Path | None = None
    email: str | None = None
    urls: list[str] = field(default_factory=list)
    concurrency: int = DEFAULT_CONCURRENCY
    skip_existing: bool = False
    fail_fast: bool = False
    resolve: bool = False


@dataclass
class _Tally:
    succeeded: int = 0
    skipped: int = 0
    failed: int = 0
    first_failure: KomboError | None = None
    # The upload phase: from when the first item starts to when the last one is done.
    first_started: float | None = None
    last_finished: float | None = None

    def start(self) -> None:
        self.first_started = time.monotonic()

    def add(self, result: ItemResult) -> None:
        self.last_finished = time.monotonic()
        if result.status == SUCCESS:
            self.succeeded += 1
        elif result.status == SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1
            self.first_failure = self.first_failure or result.error

    @property
    def count(self) -> int:
        return self.succeeded + self.skipped + self.failed

    @property
    def upload_phase_s(self) -> float:
        if self.first_started is None or self.last_finished is None:
            return 0.0
        return self.last_finished - self.first_started


def run_attach(options: AttachOptions, output: Output) -> int:
    """Attach every item; returns the exit code."""
    settings = resolve_settings(options.setting_flags)
    output.add_secret(settings.api_key.value)
    for url in options.urls:
        for secret in url_secrets(url):
            output.add_secret(secret)
    for warning in settings.warnings:
        output.warning(warning)
    _describe_settings(settings, output)
    target_kind, target_value, files = _check_arguments(options)
    if options.resolve and not options.dry_run:
        raise UsageError(
            "--resolve only goes with --dry-run.", hint="add --dry-run, or drop --resolve"
        )
    if not options.dry_run or options.resolve:
        # Before reading anything: a missing key should not wait for a whole stream.
        settings.require_credentials()
    with ExitStack() as cleanup:
        if output.verbosity >= 2:
            cleanup.enter_context(_http_log(output))
        remote_fields = build_remote_fields(
            options.remote_fields_json, options.remote_field_arguments
        )
        stdin_file = _read_stdin(cleanup) if STDIN_ARGUMENT in files else None
        total: int | None
        entries: Iterable[Entry]
        if options.manifest is not None:
            total = _check_manifest(options, output)
            entries = manifest_items(
                options.manifest, remote_fields=remote_fields, content_type=options.content_type
            )
        else:
            entries = command_line_items(
                target_kind,
                target_value,
                files,
                options.urls,
                type=None,
                name=options.name,
                content_type=options.content_type,
                remote_fields=remote_fields,
            )
            total = len(entries)
        single = options.manifest is None and total == 1
        run = _upload_run(options, settings, output, stdin_file, name_items=not single)
        if target_kind == EMAIL and run.lookup is not None:
            # One address for every file: look it up once, and fail once (exit 5) if it
            # names no candidate or several.
            candidate = run.lookup.candidate(target_value)
            entries = [
                replace(item, target_kind=CANDIDATE, target_value=candidate.id) for item in entries
            ]  # type: ignore[union-attr]
        if options.dry_run:
            return _dry_run(options, run, entries, single, settings, output)
        return _attach_all(options, run, entries, total, single, output)


def _check_arguments(options: AttachOptions) -> tuple[str, str, list[str]]:
    """Which target the positional arguments name, and the files that follow it."""
    arguments = list(options.arguments)
    if options.manifest is not None:
        for given, flag in (
            (arguments, "CANDIDATE_ID and FILE arguments"),
            (options.email, "--email"),
            (options.urls, "--url"),
            (options.name, "--name"),
            (options.application, "--application"),
        ):
            if given:
                raise UsageError(
                    f"{flag} cannot be used with --manifest.",
                    hint="put targets and files in the manifest's rows",
                )
        return "", "", []
    if options.email is not None:
        if options.application:
            raise UsageError(
                "--email finds a candidate, so --application cannot be used with it.",
                hint="pass the application ID instead",
            )
        target_kind, target_value, files = EMAIL, options.email, arguments
    else:
        if not arguments:
            raise UsageError(
                "Missing CANDIDATE_ID.", hint="kombo attach CANDIDATE_ID FILE..., or --manifest"
            )
        target_kind = APPLICATION if options.application else CANDIDATE
        target_value, files = arguments[0], arguments[1:]
    if not files and not options.urls:
        raise UsageError("Missing FILE.", hint="name one or more files, or give --url URL")
    if STDIN_ARGUMENT in files:
        if files.count(STDIN_ARGUMENT) > 1:
            raise UsageError("Standard input (-) can only be attached once.")
        if len(files) + len(options.urls) > 1:
            raise UsageError(
                "Standard input (-) must be the only FILE.",
                hint="attach the other files in a separate command",
            )
        if options.name is None:
            raise UsageError(
                "Reading the file from standard input (-) needs --name.",
                hint="name it with its extension, e.g. --name cv.pdf",
            )
    if options.name is not None and len(files) + len(options.urls) > 1:
        raise UsageError("--name can only be used with a single file.")
    return target_kind, target_value, files


def _check_manifest(options: AttachOptions, output: Output) -> int:
    """Read the whole manifest once, cheaply: count its rows, and with --fail-fast refuse
    to start when any row is malformed. Returns the number of items."""
    from kombo_cli.manifest import validate_manifest

    assert options.manifest is not None
    check = validate_manifest(options.manifest)
    if options.fail_fast and check.problem_count:
        for problem in check.problems:
            output.warning(f"{options.manifest}: {problem}")
        more = check.problem_count - len(check.problems)
        if more > 0:
            output.warning(f"{options.manifest}: and {more} more malformed rows")
        raise UsageError(
            f"{options.manifest} has {check.problem_count} malformed row(s); nothing was sent.",
            hint="fix them, or run without --fail-fast to attach the other rows",
        )
    if check.rows + check.problem_count == 0:
        output.warning(f"{options.manifest} has no rows; nothing to attach")
    return check.rows + check.problem_count


def _upload_run(
    options: AttachOptions,
    settings: Settings,
    output: Output,
    stdin_file: LocalFile | None,
    *,
    name_items: bool,
) -> UploadRun:
    from kombo_cli.lookup import CandidateLookup
    from kombo_cli.throttle import AdaptiveLimit, ThrottledClient

    policy = RetryPolicy(retries=options.retries)
    client: KomboClient | None = None
    if settings.api_key.value and settings.integration_id.value:
        client = _client(options, settings)
    needs_lookups = not options.dry_run or options.resolve
    return UploadRun(
        ThrottledClient(client, AdaptiveLimit(options.concurrency)) if client else None,
        policy,
        lookup=CandidateLookup(
            client.find_candidates,
            policy,
            lambda notice: output.retry_notice(notice, "looking up an email address"),
        )
        if client is not None and needs_lookups
        else None,
        default_type=options.attachment_type,
        skip_existing=options.skip_existing,
        stdin_file=stdin_file,
        on_notice=lambda subject, notice: output.retry_notice(notice, subject),
        on_warning=output.warning,
        name_items=name_items,
    )


def _client(options: AttachOptions, settings: Settings) -> KomboClient:
    assert settings.base_url.value is not None
    return KomboClient(
        settings.base_url.value,
        settings.api_key.value or "",
        settings.integration_id.value or "",
        read_timeout_s=options.timeout_s,
        pool_size=options.concurrency,
    )


def _attach_all(
    options: AttachOptions,
    run: UploadRun,
    entries: Iterable[Entry],
    total: int | None,
    single: bool,
    output: Output,
) -> int:
    tally = _Tally()
    runner: Runner[Entry, ItemResult] = Runner(
        run.process,
        workers=options.concurrency,
        stop_after=(lambda result: result.status == ERROR) if options.fail_fast else None,
    )
    with ExitStack() as display:
        progress = None if single else display.enter_context(output.batch_progress(total))
        if progress is not None:
            run.progress = progress
        elif single:
            run.progress = _SingleFileProgress(output)
        tally.start()
        try:
            for finished in runner.run(entries):
                tally.add(finished.result)
                _report(finished.result, single, output)
                run.reported(finished.item)
                if progress is not None:
                    progress.item_done()
        except KeyboardInterrupt:
            runner.stop()
            in_flight = runner.in_flight()
            output.stop_live()
            # Uploads that finished in the last moment are reported, not left unsaid.
            for finished in runner.drain():
                tally.add(finished.result)
                _report(finished.result, single, output)
                in_flight = [entry for entry in in_flight if entry is not finished.item]
            if not single:
                # What did finish, counted as usual, before saying what was cut short.
                output.batch_summary(
                    tally.succeeded, tally.skipped, tally.failed, tally.upload_phase_s
                )
            raise _interrupted(in_flight, run, single) from None
    if not single:
        not_attempted = (total - tally.count) if runner.stopped and total is not None else 0
        output.batch_summary(
            tally.succeeded, tally.skipped, tally.failed, tally.upload_phase_s, not_attempted
        )
    if tally.failed == 0:
        return ExitCode.SUCCESS
    if single or (total == 1 and tally.count == 1):
        assert tally.first_failure is not None
        return tally.first_failure.exit_code
    return ExitCode.PARTIAL


class _SingleFileProgress(ProgressHooks):
    """A single upload shows the one-file progress bar (files of 1 MiB or more)."""

    def __init__(self, output: Output) -> None:
        self._output = output
        self._open: dict[object, ExitStack] = {}

    def started(self, key: object, label: str, size: int | None) -> Any:
        if size is None:
            return None
        stack = ExitStack()
        self._open[key] = stack
        return stack.enter_context(self._output.upload_progress(label, size))

    def finished(self, key: object) -> None:
        stack = self._open.pop(key, None)
        if stack is not None:
            stack.close()


def _report(result: ItemResult, single: bool, output: Output) -> None:
    entry = result.entry
    line = entry.line if not single else None
    if result.status == SUCCESS:
        assert result.outcome is not None
        if result.outcome.http_status is not None:
            output.detail(
                f"Kombo answered HTTP {result.outcome.http_status}"
                f" in {result.outcome.elapsed_s:.2f} s"
            )
        output.attached(result.outcome, line=line)
        return
    if result.status == SKIPPED:
        assert result.plan is not None
        output.skipped(result.plan, line=line)
        return
    assert result.error is not None
    context: dict[str, Any] = {}
    if result.target is not None:
        context["target"] = target_json(result.target)
    elif isinstance(entry, AttachItem) and entry.target_kind != EMAIL:
        context["target"] = {"kind": entry.target_kind, "id": entry.target_value}
    elif isinstance(entry, AttachItem):
        context["target"] = {"kind": EMAIL, "email": entry.target_value}
    if isinstance(entry, AttachItem):
        context["url" if entry.url is not None else "file"] = entry.source
    if single:
        output.failure(result.error, **context)
    else:
        output.item_failed(
            result.error, entry.label_for(result.error.message), line=line, **context
        )


def _interrupted(in_flight: list[Entry], run: UploadRun, single: bool) -> Interrupted:
    """Ctrl-C: say which uploads may have been stored, and that the others were not."""
    maybe = [entry for entry in in_flight if not run.certainly_not_stored(entry)]
    if not maybe:
        if single and in_flight:
            waiting = run.waiting_to_retry(in_flight[0])
            return Interrupted(
                f"Interrupted while waiting to retry {_shown(in_flight[0])}; it was not stored."
                if waiting
                else f"Interrupted before {_shown(in_flight[0])} was sent; it was not stored.",
                hint="run the command again",
            )
        return Interrupted(
            "Interrupted; no upload was being sent, so nothing more was stored.",
            hint=None if single else "run the same command again with --skip-existing",
        )
    hint = (
        f"check with `kombo attachments list {_list_argument(maybe[0])}` before running the"
        " command again"
        if single
        else "run the same command again with --skip-existing to attach only what is missing"
    )
    if len(maybe) == 1:
        return Interrupted(
            f"Interrupted while attaching {_shown(maybe[0])}; it may or may not have been stored.",
            hint=hint,
        )
    names = [_shown(entry) for entry in maybe]
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return Interrupted(
        f"Interrupted with {len(names)} uploads being sent ({listed});"
        " they may or may not have been stored.",
        hint=hint,
    )


def _list_argument(entry: Entry) -> str:
    return entry.list_argument if isinstance(entry, AttachItem) else "CANDIDATE_ID"


def _shown(entry: Entry) -> str:
    return "standard input" if entry.label == STDIN_ARGUMENT else entry.label


def _dry_run(
    options: AttachOptions,
    run: UploadRun,
    entries: Iterable[Entry],
    single: bool,
    settings: Settings,
    output: Output,
) -> int:
    failed = count = skipped = 0
    first_failure: KomboError | None = None
    for entry in entries:
        count += 1
        try:
            if isinstance(entry, BadRow):
                raise UsageError(entry.message)
            if entry.target_kind == EMAIL and run.lookup is None:
                _dry_run_unresolved(run, entry, output)
                continue
            plan = run.plan(entry, run.resolve_target(entry))
            if (
                options.skip_existing
                and options.resolve
                and run.client is not None
                and run.listing(plan.target).count(plan.name)
            ):
                output.planned_skip(plan, line=entry.line)
                skipped += 1
                continue
            if single:
                output.preview(preview_request(plan, settings))
            else:
                output.planned(plan, line=entry.line)
        except KomboError as err:
            failed += 1
            first_failure = first_failure or err
            if single:
                output.failure(err, file=entry.label)
            else:
                output.item_failed(err, entry.label_for(err.message), line=entry.line)
    if single:
        output.detail("Dry run: nothing was sent.")
    else:
        output.dry_run_summary(count - failed - skipped, skipped, failed)
    # The plan is shown first so a missing credential can be fixed in one go with the rest.
    settings.require_credentials()
    if not failed:
        return ExitCode.SUCCESS
    if single or count == 1:
        assert first_failure is not None
        return first_failure.exit_code
    return ExitCode.PARTIAL


def _dry_run_unresolved(run: UploadRun, entry: AttachItem, output: Output) -> None:
    """--dry-run without --resolve: check the file, but leave the email unresolved."""
    # A stand-in target, only to plan the file; the email is shown instead of an ID.
    plan = run.plan(entry, Target(CANDIDATE, "unresolved"))
    output.planned_unresolved(plan, entry.target_value, line=entry.line)


def _read_stdin(cleanup: ExitStack) -> LocalFile:
    stream = sys.stdin
    if stream is None:
        raise UsageError("Standard input (-) is closed.", hint="pipe the file in")
    if stream.isatty():
        raise UsageError(
            "Standard input (-) is a terminal, not a file.",
            hint="pipe the file in, e.g. curl -s URL | kombo attach ID - --name cv.pdf",
        )
    directory = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="kombo-stdin-")))
    return spool_stdin(stream.buffer, directory)


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
