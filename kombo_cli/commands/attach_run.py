"""The call behind `kombo attach`: settings, the command line's own rules, then one run.

A single file (or URL) without a manifest is a "single" run: one result line or JSON
object, and the request's own exit code. Anything more is a batch: uploads run in parallel
(`--concurrency`), each result is reported as it finishes, and a summary follows; the exit
code is 0, or 7 when any item failed. The work is the library's (`Kombo.batch`);
`attach_view` renders what comes back.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

from kombo_cli.api.retry import SETTLE_DELAY_S
from kombo_cli.api.targets import CANDIDATE
from kombo_cli.commands.attach_arguments import target_and_files
from kombo_cli.commands.attach_hints import (
    OWN_INTEGRATION_HINT,
    named_once,
    own_integration_missing,
)
from kombo_cli.commands.attach_view import AttachView, ShardShown
from kombo_cli.commands.context import AppState
from kombo_cli.config.settings import ENV_INTEGRATION_ID, SettingFlags, Settings
from kombo_cli.errors import ConfigError, UsageError
from kombo_cli.library import Kombo
from kombo_cli.redact import mask_secret
from kombo_cli.ui.console import Console
from kombo_cli.ui.interrupt import ctrl_c_stops
from kombo_cli.ui.terminal_modes import terminal_guard
from kombo_cli.upload.batch import INTERRUPT_GRACE_S, BatchRun
from kombo_cli.upload.files import STDIN_ARGUMENT, LocalFile, spool_stdin
from kombo_cli.upload.manifest import open_manifest
from kombo_cli.upload.manifest_check import ManifestCheck, validate_manifest
from kombo_cli.upload.plan import RunDefaults
from kombo_cli.upload.remote_fields import build_remote_fields
from kombo_cli.upload.request import (
    EMAIL,
    AttachRequest,
    Entry,
    command_line_requests,
    repeated_targets,
)
from kombo_cli.upload.shard import Shard
from kombo_cli.upload.urls import secrets_in


class AttachCommand:
    def __init__(self, state: AppState, console: Console, flags: SettingFlags) -> None:
        self.state = state
        self.env = state.env
        self.console = console
        self.flags = flags

    def run(
        self,
        arguments: list[str],
        *,
        attachment_type: str,
        name: str | None,
        content_type: str | None,
        application: bool,
        dry_run: bool,
        remote_fields_json: str | None,
        remote_field_arguments: list[str],
        retries: int,
        timeout_s: float,
        manifest: Path | None,
        email: str | None,
        urls: list[str],
        concurrency: int,
        skip_existing: bool,
        fail_fast: bool,
        resolve: bool,
        journal: Path | None = None,
        verify: bool = False,
        list_first: bool = False,
        settle_delay_s: float = SETTLE_DELAY_S,
        shard: str | None = None,
    ) -> int:
        """Attach every request; returns the exit code."""
        console = self.console
        settings = self.state.settings(self.flags)
        for url in urls:
            for secret in secrets_in(url):
                console.add_secret(secret)
        self._describe_settings(settings)
        target_kind, target_value, files = target_and_files(
            arguments, manifest, email, urls, name, application
        )
        split = Shard.option(shard, manifest is not None, settings.integration_id.value)
        files, urls, repeats = named_once(files, urls)
        for repeat in repeats:
            console.warning(f"{repeat} is named more than once; it is attached once")
        if resolve and not dry_run:
            raise UsageError(
                "--resolve only goes with --dry-run.", hint="add --dry-run, or drop --resolve"
            )
        if journal is not None:
            _refuse_shared_journal(journal, manifest, files)
        sends = not dry_run or resolve
        if sends:
            # Before reading anything: a missing key should not wait for a whole stream. A
            # manifest's rows may name their integrations: that is known once it is read.
            settings.require_credentials(integration=manifest is None)
        with ExitStack() as cleanup:
            if console.verbosity >= 2:
                cleanup.enter_context(_http_log(console))
            defaults = RunDefaults(
                attachment_type,
                content_type,
                build_remote_fields(remote_fields_json, remote_field_arguments),
            )
            stdin_file = self._read_stdin(cleanup) if STDIN_ARGUMENT in files else None
            entries: Iterable[Entry]
            shown_shard = None
            integrations: tuple[str | None, ...] = (settings.integration_id.value,)
            if manifest is not None:
                check = self._check_manifest(manifest, fail_fast, split)
                # Planned from the whole manifest: it may place whole integrations.
                split = check.shard
                integrations = _integrations_of(check, settings, manifest, sends)
                total: int | None = check.rows + check.problem_count
                repeated = check.repeated_targets
                entries = _manifest_entries(manifest, console, split)
                if split is not None:
                    rows = check.rows + check.problem_count
                    shown_shard = ShardShown(split.index, split.count, rows, check.manifest_rows)
            else:
                requests = command_line_requests(target_kind, target_value, files, urls, name)
                total = len(requests)
                repeated = repeated_targets(requests)
                entries = requests
            single = manifest is None and total == 1
            view = AttachView(
                console, single=single, shard=shown_shard, several=len(integrations) > 1
            )
            kombo = Kombo.from_settings(
                settings,
                retries=retries,
                settle_delay_s=settle_delay_s,
                timeout_s=timeout_s,
                concurrency=concurrency,
                observer=view,
                # Checked above, for what this run needs.
                require_credentials=False,
            )
            cleanup.callback(kombo.close)
            if target_kind == EMAIL and sends:
                # One address for every file: look it up once, and fail once (exit 5) if it
                # names no candidate or several.
                candidate_id = kombo.find_candidate(target_value)
                entries = command_line_requests(CANDIDATE, candidate_id, files, urls, name)
                repeated = repeated_targets(entries)
            batch = kombo.batch(
                defaults,
                skip_existing=skip_existing,
                fail_fast=fail_fast,
                dry_run=dry_run,
                resolve=resolve,
                preview_single=single,
                stdin_file=stdin_file,
                name_items=not single,
                list_first=list_first,
                journal=None if dry_run else journal,
                verify=verify,
                repeated_targets=repeated,
            )
            code = _run(batch, entries, view, total, single=single, dry_run=dry_run)
        if dry_run:
            # The plan is shown first so a missing credential can be fixed in one go.
            settings.require_credentials(integration=None in integrations)
        return code

    def _describe_settings(self, settings: Settings) -> None:
        console = self.console
        if console.verbosity < 1:
            return
        console.detail(f"Kombo API: {settings.base_url.value} (from {settings.base_url.origin})")
        for label, resolved in (
            ("API key", settings.api_key),
            ("Integration", settings.integration_id),
        ):
            if resolved.value is not None:
                shown = mask_secret(resolved.value) if label == "API key" else resolved.value
                console.detail(f"{label}: {shown} (from {resolved.origin})")

    def _check_manifest(
        self, manifest: Path, fail_fast: bool, shard: Shard | None
    ) -> ManifestCheck:
        """Read the whole manifest once, cheaply: count its rows (and the targets several
        rows name), and with --fail-fast refuse to start when any row is malformed. With a
        shard, all of this is about its rows alone: the other shards' jobs report theirs."""
        check = validate_manifest(manifest, shard=shard)
        if fail_fast and not check.ok:
            for problem in check.problems:
                self.console.warning(f"{manifest}: {problem}")
            more = check.problem_count - len(check.problems)
            if more > 0:
                more_rows = "row" if more == 1 else "rows"
                self.console.warning(f"{manifest}: and {more} more malformed {more_rows}")
            count = check.problem_count
            rows, them = ("row", "it") if count == 1 else ("rows", "them")
            raise UsageError(
                f"{manifest} has {count} malformed {rows}; nothing was sent.",
                hint=f"fix {them}, or run without --fail-fast to attach the other rows",
            )
        if check.rows + check.problem_count == 0:
            if shard is not None and check.manifest_rows:
                self.console.warning(
                    f"shard {shard} has none of the {check.manifest_rows} rows of {manifest};"
                    " nothing to attach"
                )
            else:
                self.console.warning(f"{manifest} has no rows; nothing to attach")
        return check

    def _read_stdin(self, cleanup: ExitStack) -> LocalFile:
        stream = self.env.stdin
        if stream is None:
            raise UsageError("Standard input (-) is closed.", hint="pipe the file in")
        if stream.isatty():
            raise UsageError(
                "Standard input (-) is a terminal, not a file.",
                hint="pipe the file in, e.g. curl -s URL | kombo attach ID - --name cv.pdf",
            )
        spool = tempfile.TemporaryDirectory(prefix="kombo-stdin-", dir=self.env.temp_folder)
        folder = Path(cleanup.enter_context(spool))
        return spool_stdin(stream.buffer, folder)


def _run(
    batch: BatchRun,
    entries: Iterable[Entry],
    view: AttachView,
    total: int | None,
    *,
    single: bool,
    dry_run: bool,
) -> int:
    console = view.console

    def first_ctrl_c() -> None:  # in a signal handler: it only sets flags
        batch.interrupt()
        view.stopping()
        console.ctrl_c_pressed()

    ctrl_c = ctrl_c_stops(first_ctrl_c, console.stderr, INTERRUPT_GRACE_S, console.emergency_erase)
    # SIGTERM or SIGHUP while bars are up: put the terminal back before going.
    guard = terminal_guard(console.restore_terminal, console.block_lost)
    with guard, view.live_display(total), ctrl_c as pressed:
        console.give_up_on_stdout = pressed.past_grace
        console.interrupted = lambda: pressed.pressed
        try:
            with closing(batch.results(entries)) as results:
                for result in results:
                    if not view.report(result):
                        break  # given up unwritten after Ctrl-C: named below instead
        except KeyboardInterrupt:  # where no handler could be installed
            pressed.press()
        if batch.interrupted:
            if dry_run:
                raise KeyboardInterrupt
            console.stop_live()
            batch.finish_after_interrupt(view.report, until=pressed.deadline, waiting=view.waiting)
            batch.lost_on_the_way(*console.lost_on_stdout())
            if not batch.finished_anyway(total):
                if not single:
                    # What was shown, counted as usual, before saying what was cut short.
                    view.summary(
                        batch.tally,
                        batch.left_undone(total),
                        because="interrupted",
                        unreported=batch.stored_unreported,
                        maybe_stored=batch.maybe_stored,
                    )
                raise batch.interruption(single)
    if dry_run:
        view.dry_run_summary(batch.tally)
    elif not single:
        view.summary(batch.tally, batch.not_attempted(total))
    return batch.tally.exit_code(single, total)


def _integrations_of(
    check: ManifestCheck, settings: Settings, manifest: Path, sends: bool
) -> tuple[str | None, ...]:
    """The integrations a manifest's rows go to (None: the run's own, unset); a row that
    names none needs the run's own integration."""
    integrations = check.integrations_for(settings.integration_id.value)
    if None in integrations and sends:
        missing = own_integration_missing(check.first_line_without_integration, manifest)
        raise ConfigError(
            f"{ENV_INTEGRATION_ID} is not set, and {missing}.", hint=OWN_INTEGRATION_HINT
        )
    return integrations


def _manifest_entries(manifest: Path, console: Console, shard: Shard | None) -> Iterator[Entry]:
    """The manifest's rows (this shard's), read lazily while the run goes on. A row's URL
    may be signed: what grants access in it is never printed, as for --url, even when Kombo
    quotes it."""
    with open_manifest(manifest) as rows:
        for row in rows:
            if shard is not None and not shard.takes(row):
                continue
            if isinstance(row, AttachRequest) and row.url:
                for secret in secrets_in(row.url):
                    console.add_secret(secret)
            yield row


@contextmanager
def _http_log(console: Console) -> Iterator[None]:
    """-vv: the client's HTTP log on stderr, for this command only."""
    logger = logging.getLogger("kombo_cli.http")
    handler = console.http_log_handler()
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


def _refuse_shared_journal(journal: Path, manifest: Path | None, files: list[str]) -> None:
    """A journal must be a file of its own: appending to the manifest or a file being
    uploaded would damage it."""
    others = [(manifest, "the manifest")] if manifest is not None else []
    others += [(Path(file), "a file to upload") for file in files if file != STDIN_ARGUMENT]
    for other, what in others:
        try:
            same = os.path.samefile(journal, other)
        except OSError:
            continue
        if same:
            raise UsageError(
                f"The journal {journal} is {what}.", hint="give --journal a file of its own"
            )
