"""Everything the user sees. Results go to stdout, chatter (progress, warnings, errors) to stderr.

Human output uses colour only on a terminal and never when NO_COLOR is set; piped output
is plain text with no control characters. `--json` prints machine-readable results on
stdout. Never does HTTP. Every line passes through `scrub`, so a secret that slipped into
a message still never reaches the screen.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kombo_cli.errors import ApiError, KomboError
from kombo_cli.redact import scrub

if TYPE_CHECKING:
    # Types only: importing them for real would pull in requests, which `kombo --help`
    # and error rendering do not need.
    from kombo_cli.attach import AttachmentOutcome, AttachmentPlan, RequestPreview
    from kombo_cli.body import ProgressCallback
    from kombo_cli.commands.config import ShownSetting
    from kombo_cli.commands.doctor import Check
    from kombo_cli.progress import BatchProgress
    from kombo_cli.retry import RetryNotice
    from kombo_cli.sandbox.demo import DemoReport
    from kombo_cli.sandbox.server import SandboxServer
    from kombo_cli.targets import Target

# Progress bars for small files would only flicker.
PROGRESS_MIN_BYTES = 1024 * 1024


# Characters that must never reach a terminal or a log from untrusted text (file names,
# Kombo's messages): C0/C1 controls other than newline and tab, and bidirectional overrides
# that can make a line read differently from what it says.
_UNSAFE_CHARACTERS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def is_terminal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """A real terminal that can take cursor control (progress bars); TERM=dumb cannot."""
    if environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def wants_color(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Colour only for a terminal, and never with NO_COLOR (https://no-color.org)."""
    return not environ.get("NO_COLOR") and is_terminal(stream, environ)


def printable(text: str) -> str:
    """`text` made safe to show: undecodable file-name bytes and control characters escaped."""
    # File names on Linux are bytes; Python keeps undecodable ones as lone surrogates, which
    # no UTF-8 stream can write. Show them as \xNN instead.
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that did not come from a file name
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _UNSAFE_CHARACTERS.sub(lambda match: ascii(match.group())[1:-1], text)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover - the loop always returns


def human_duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


class Output:
    def __init__(
        self,
        *,
        json_mode: bool = False,
        quiet: bool = False,
        verbosity: int = 0,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbosity = 0 if quiet else verbosity
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.stderr_terminal = is_terminal(self.stderr, environ)
        self.stderr_color = wants_color(self.stderr, environ)
        self.stdout_color = wants_color(self.stdout, environ) and not json_mode
        self._secrets: list[str] = []
        # Batches report from several threads; one line must never cut into another.
        self._write_lock = threading.RLock()
        # While a progress display is live on the terminal, lines for the terminal go
        # through its console, which prints them above the bars instead of across them.
        self._live_console: Any = None
        self._live_progress: Any = None
        self.stdout_terminal = is_terminal(self.stdout, environ)

    # -- secrets -----------------------------------------------------------------------

    def add_secret(self, secret: str | None) -> None:
        """Remember a value that must never be printed, whatever message carries it."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def _clean(self, text: str) -> str:
        return printable(scrub(text, self._secrets))

    def _clean_json(self, value: Any) -> Any:
        """Scrub every string inside a JSON value, so the result is still valid JSON."""
        if isinstance(value, str):
            return self._clean(value)
        if isinstance(value, dict):
            return {key: self._clean_json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._clean_json(item) for item in value]
        return value

    # -- low-level writers ---------------------------------------------------------------

    def _write(self, stream: TextIO, text: str, style: str | None, color: bool) -> None:
        with self._write_lock:
            self._write_locked(stream, self._clean(text), style, color)

    def _write_locked(self, stream: TextIO, text: str, style: str | None, color: bool) -> None:
        # Read once: the display may end on another thread meanwhile.
        live_console = self._live_console
        if live_console is not None and (
            stream is self.stderr or (stream is self.stdout and self.stdout_terminal)
        ):
            from rich.text import Text

            live_console.print(Text(text, style=style if color else None))
            return
        try:
            if color and style:
                from rich.console import Console
                from rich.text import Text

                console = Console(file=stream, force_terminal=True, highlight=False, soft_wrap=True)
                console.print(Text(text, style=style))
            else:
                stream.write(text + "\n")
            stream.flush()
        except UnicodeEncodeError:
            # A terminal in a legacy encoding: "…" and accents become "?", not a crash.
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write(text.encode(encoding, "replace").decode(encoding) + "\n")
            stream.flush()
        except BrokenPipeError:
            # The reader went away (`kombo ... | head -1`). The work itself must go on and
            # end with its real exit code: stopping half-way through a batch, or exiting 1
            # after a stored upload, would invite a re-run and a duplicate.
            _discard_further_output(stream)

    def _out(self, text: str, style: str | None = None) -> None:
        self._write(self.stdout, text, style, self.stdout_color)

    def _err(self, text: str, style: str | None = None) -> None:
        self._write(self.stderr, text, style, self.stderr_color)

    def _json(self, payload: dict[str, Any]) -> None:
        line = json.dumps(self._clean_json(payload), ensure_ascii=False)
        self._write(self.stdout, line, None, False)

    # -- chatter on stderr ---------------------------------------------------------------

    def detail(self, message: str) -> None:
        """Progress detail, shown with -v."""
        if self.verbosity >= 1:
            self._err(message, "dim")

    def warning(self, message: str) -> None:
        if not self.quiet:
            self._err(f"Warning: {message}", "yellow")

    def retry_notice(self, notice: RetryNotice, subject: str) -> None:
        """Why a request is being retried (or checked) and how long that waits."""
        if not self.quiet:
            self._err(f"{subject}: {notice.reason}; {notice.next_step}", "yellow")

    def error(self, err: KomboError, label: str = "") -> None:
        """One sentence saying what failed, then Kombo's details and a hint where they help.

        `label` names the item of a batch the error is about.
        """
        self._err(
            f"Error: {label}: {err.message}" if label else f"Error: {err.message}", "bold red"
        )
        if isinstance(err, ApiError) and (err.code or err.log_url):
            parts = []
            if err.code:
                parts.append(f"Kombo error {err.code}")
            if err.title and err.title != err.message:
                parts.append(f'"{err.title}"')
            parts.append(f"HTTP {err.http_status}")
            detail = "  " + ", ".join(parts)
            if err.log_url:
                detail += f"; log: {err.log_url}"
            self._err(detail)
        if err.hint:
            self._err(f"  Hint: {err.hint}", "cyan")

    def print_traceback(self, text: str) -> None:
        """Only with KOMBO_DEBUG: the traceback (no local variables), secrets masked."""
        self._err(text.rstrip())

    def failure(self, err: KomboError, **context: Any) -> None:
        """Report a failed command: a message on stderr and, with --json, an object on stdout."""
        self.error(err)
        if self.json_mode:
            self._json({"status": "error", **context, "error": error_json(err)})

    @contextmanager
    def upload_progress(self, label: str, total_bytes: int) -> Iterator[ProgressCallback | None]:
        """A transient progress bar on a terminal; nothing otherwise."""
        if self.quiet or not self.stderr_terminal or total_bytes < PROGRESS_MIN_BYTES:
            yield None
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        console = Console(file=self.stderr, highlight=False, no_color=not self.stderr_color)
        with Progress(
            # File names may contain [brackets]: never read them as rich markup.
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            self._live_console, self._live_progress = console, progress
            label = self._clean(label)
            task = progress.add_task(label, total=total_bytes)
            sent_so_far = 0

            def advance(sent: int) -> None:
                nonlocal sent_so_far
                sent_so_far += sent
                progress.advance(task, sent)  # negative when a retry starts over
                if sent_so_far >= total_bytes:
                    # Kombo forwards the file to the ATS before answering; say why it waits.
                    progress.update(task, description=f"{label}: sent, waiting for Kombo")
                elif sent < 0:
                    progress.update(task, description=label)

            try:
                yield advance
            finally:
                self._live_console = self._live_progress = None

    @contextmanager
    def batch_progress(self, total_items: int | None) -> Iterator[BatchProgress | None]:
        """The live display of a batch on a terminal (None elsewhere, and with --quiet)."""
        if self.quiet or not self.stderr_terminal:
            yield None
            return
        from rich.console import Console

        from kombo_cli.progress import BatchProgress, make_progress

        console = Console(file=self.stderr, highlight=False, no_color=not self.stderr_color)
        with make_progress(console) as progress:
            self._live_console, self._live_progress = console, progress
            try:
                yield BatchProgress(progress, total_items)
            finally:
                self._live_console = self._live_progress = None

    def stop_live(self) -> None:
        """End a live display now (Ctrl-C), whichever thread opened it, and show the cursor."""
        progress, self._live_console, self._live_progress = self._live_progress, None, None
        if progress is not None:
            with suppress(Exception):
                progress.stop()

    def http_log_handler(self) -> logging.Handler:
        """A handler that shows the HTTP debug log (-vv) on stderr, secrets masked."""
        output = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                output._err(self.format(record), "dim")

        handler = _Handler()
        handler.setFormatter(logging.Formatter("http: %(message)s"))
        return handler

    # -- results on stdout ---------------------------------------------------------------

    def result_text(self, text: str) -> None:
        """A plain result for stdout, such as a generated script."""
        self._out(text)

    def attached(self, outcome: AttachmentOutcome, *, line: int | None = None) -> None:
        """One attached file: a line on stdout, or its JSON object."""
        for warning in outcome.warnings:
            self.warning(f"Kombo: {warning}")
        for note in outcome.notes:
            self.warning(note)
        if self.json_mode:
            self._json(_with_line(outcome_json(outcome), line))
        elif not self.quiet:
            plan = outcome.plan
            details = [plan.type, plan.content_type_text]
            details.append(
                human_size(plan.size) if plan.size is not None else f"from {plan.source}"
            )
            timing = f" in {human_duration(outcome.elapsed_s)}" if line is not None else ""
            self._out(
                f"Attached {plan.name} to {plan.target} ({', '.join(details)}){timing}", "green"
            )

    def skipped(self, plan: AttachmentPlan, *, line: int | None = None) -> None:
        """--skip-existing found the name among the target's attachments already."""
        if self.json_mode:
            self._json(
                _with_line(
                    {
                        "status": "skipped",
                        "target": target_json(plan.target),
                        **_source_json(plan),
                        "name": plan.name,
                        "reason": "an attachment with this name exists",
                    },
                    line,
                )
            )
        elif not self.quiet:
            self._out(f"Skipped {plan.name}: {plan.target} already has an attachment of that name")

    def item_failed(
        self, err: KomboError, label: str, *, line: int | None = None, **context: Any
    ) -> None:
        """One failed item of a batch: the error, named, and its JSON object."""
        self._err(
            f"Error: {label}: {err.message}" if label else f"Error: {err.message}", "bold red"
        )
        if err.hint:
            self._err(f"  Hint: {err.hint}", "cyan")
        if self.json_mode:
            self._json(_with_line({"status": "error", **context, "error": error_json(err)}, line))

    def planned(self, plan: AttachmentPlan, *, line: int | None = None) -> None:
        """One line of a batch --dry-run: what would be attached where."""
        if self.json_mode:
            self._json(
                _with_line(
                    {
                        "status": "dry_run",
                        "target": target_json(plan.target),
                        **_source_json(plan),
                        "name": plan.name,
                        "type": plan.type,
                        "content_type": plan.content_type.content_type
                        if plan.content_type
                        else None,
                        "size": plan.size,
                    },
                    line,
                )
            )
        elif not self.quiet:
            size = f", {human_size(plan.size)}" if plan.size is not None else ""
            self._out(
                f"Would attach {plan.source} as {plan.name} to {plan.target}"
                f" ({plan.type}, {plan.content_type_text}{size})"
            )

    def preview(self, preview: RequestPreview) -> None:
        if self.json_mode:
            self._json(
                {
                    "status": "dry_run",
                    "target": target_json(preview.plan.target),
                    **_source_json(preview.plan),
                    "request": {
                        "method": preview.method,
                        "url": preview.url,
                        "headers": preview.headers,
                        "body": preview.body,
                    },
                }
            )
            return
        lines = [f"{preview.method} {preview.url}"]
        lines += [f"{name}: {value}" for name, value in preview.headers.items()]
        lines += ["", json.dumps(preview.body, indent=2, ensure_ascii=False), ""]
        self._out("\n".join(lines))

    def planned_skip(self, plan: AttachmentPlan, *, line: int | None) -> None:
        """A --dry-run --resolve --skip-existing line: the name is there already."""
        if self.json_mode:
            self._json(
                _with_line(
                    {
                        "status": "dry_run_skip",
                        "target": target_json(plan.target),
                        **_source_json(plan),
                        "name": plan.name,
                        "reason": "an attachment with this name exists",
                    },
                    line,
                )
            )
        elif not self.quiet:
            self._out(
                f"Would skip {plan.name}: {plan.target} already has an attachment of that name"
            )

    def planned_unresolved(self, plan: AttachmentPlan, email: str, *, line: int | None) -> None:
        """A batch --dry-run line for an email target left unresolved (no --resolve)."""
        if self.json_mode:
            self._json(
                _with_line(
                    {
                        "status": "dry_run",
                        "target": {"kind": "email", "email": email},
                        **_source_json(plan),
                        "name": plan.name,
                        "type": plan.type,
                        "size": plan.size,
                    },
                    line,
                )
            )
        elif not self.quiet:
            self._out(
                f"Would attach {plan.source} as {plan.name} to the candidate with email {email}"
                " (not looked up; add --resolve)"
            )

    def dry_run_summary(self, valid: int, skipped: int, invalid: int) -> None:
        if not self.quiet or invalid:
            skips = f", {skipped} would be skipped" if skipped else ""
            self._err(
                f"Dry run: {valid} would be attached{skips}, {invalid} with problems;"
                " nothing was sent.",
                "red" if invalid else None,
            )

    def batch_summary(
        self, succeeded: int, skipped: int, failed: int, elapsed_s: float, not_attempted: int = 0
    ) -> None:
        if self.json_mode:
            self._json(
                {
                    "summary": {
                        "succeeded": succeeded,
                        "skipped": skipped,
                        "failed": failed,
                        "elapsed_s": round(elapsed_s, 3),
                        "not_attempted": not_attempted,
                    }
                }
            )
        if self.json_mode or (self.quiet and not failed):
            if not_attempted and not self.quiet:
                self._err(f"{not_attempted} not attempted after the first failure (--fail-fast)")
            return
        parts = [f"{succeeded} attached"]
        if skipped:
            parts.append(f"{skipped} skipped")
        parts.append(f"{failed} failed")
        if not_attempted:
            parts.append(f"{not_attempted} not attempted (--fail-fast)")
        self._err(
            f"{', '.join(parts)} in {human_duration(elapsed_s)}", "red" if failed else "green"
        )

    # -- config and doctor ---------------------------------------------------------------

    def config_show(self, profile: str, path: Path | None, settings: list[ShownSetting]) -> None:
        if self.json_mode:
            self._json(
                {
                    "profile": profile,
                    "config_file": str(path) if path else None,
                    "settings": {
                        item.name: {
                            "value": item.value,
                            "source": item.source,
                            "origin": item.origin,
                        }
                        for item in settings
                    },
                }
            )
            return
        lines = [f"Profile {profile} ({path})", ""]
        for item in settings:
            value = item.value if item.value is not None else "(not set)"
            lines.append(f"{item.name:<15} {value:<34} {item.source:<12} {item.origin}")
        self._out("\n".join(lines))

    def attachment_list(self, target: Target, attachments: list[dict[str, Any]]) -> None:
        if self.json_mode:
            self._json({"target": target_json(target), "attachments": attachments})
            return
        if not attachments:
            if not self.quiet:
                self._err(f"Kombo lists no attachments for {target}.")
            return
        columns = ["NAME", "TYPE", "CONTENT TYPE", "CREATED"]
        if target.kind == "candidate":
            columns.append("APPLICATION")
        rows = [columns]
        for item in attachments:
            row = [
                _cell(item.get("file_name")),
                _cell(item.get("type")),
                _cell(item.get("content_type")),
                _cell(item.get("remote_created_at")),
            ]
            if target.kind == "candidate":
                row.append(_cell(item.get("application_id")))
            rows.append([printable(cell) for cell in row])
        from rich.cells import cell_len

        # Padded by terminal cells, not characters: CJK names take two cells a character,
        # combining accents none.
        widths = [max(cell_len(row[i]) for row in rows) for i in range(len(columns))]
        lines = [
            "  ".join(
                cell + " " * (width - cell_len(cell)) for cell, width in zip(row, widths)
            ).rstrip()
            for row in rows
        ]
        self._out("\n".join(lines))

    def doctor_report(self, checks: list[Check], exit_code: int) -> None:
        if self.json_mode:
            self._json(
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
            "ok": ("ok  ", "green"),
            "warn": ("warn", "yellow"),
            "fail": ("FAIL", "red"),
            "skip": ("skip", "dim"),
        }
        for check in checks:
            mark, style = marks.get(check.status, (check.status, None))
            self._out(f"{mark}  {check.name}: {check.detail}", style)
            if check.hint and check.status in ("fail", "warn"):
                self._out(f"    Hint: {check.hint}", "cyan")
        failed = [c.name for c in checks if c.status == "fail"]
        if failed:
            self._err(f"Error: {len(failed)} check(s) failed: {', '.join(failed)}.", "bold red")

    # -- the sandbox -------------------------------------------------------------------

    def sandbox_started(self, server: SandboxServer, data_dir: Path, exposed: bool) -> None:
        config = server.config
        if exposed:
            self.warning(
                f"The sandbox listens on {config.host}, so other machines can reach it."
                " Its key is not a secret: anyone who can connect can upload."
            )
        example_id = server.candidates[0]["id"] if server.candidates else "CANDIDATE_ID"
        lines = [
            f"Kombo sandbox listening on {server.base_url}",
            f"Uploads are stored in {data_dir}",
            "",
            "Point kombo at it:",
            f"  export KOMBO_BASE_URL={shlex.quote(server.base_url)}",
            f"  export KOMBO_API_KEY={shlex.quote(config.api_key)}",
            f"  export KOMBO_INTEGRATION_ID={shlex.quote(config.integration_id)}",
            f"  kombo attach {example_id} cv.pdf --type CV",
            "",
        ]
        if server.candidates:
            lines.append("Candidates (GET /ats/candidates?email=...):")
            for candidate in server.candidates[:10]:
                emails = ", ".join(
                    entry.get("email_address") or ""
                    for entry in candidate.get("email_addresses") or []
                )
                full_name = (
                    f"{candidate.get('first_name') or ''} {candidate.get('last_name') or ''}"
                )
                lines.append(f"  {candidate['id']}  {full_name.strip()}  {emails}".rstrip())
                for application in candidate.get("applications") or []:
                    job = (application.get("job") or {}).get("name") or "a job"
                    lines.append(f"    application {application['id']} ({job}): use --application")
            lines.append("")
        lines.append("Press Ctrl-C to stop.")
        self._out("\n".join(lines))

    def sandbox_request(self, line: str) -> None:
        if not self.quiet:
            self._err(line, "dim")

    def sandbox_stopped(self, data_dir: Path, kept: bool) -> None:
        if not self.quiet:
            where = f"uploads are kept in {data_dir}" if kept else "nothing was uploaded"
            self._err(f"Sandbox stopped; {where}.")

    def demo_report(self, report: DemoReport) -> None:
        """Show what the demo did."""
        outcome = report.outcome
        plan = outcome.plan
        same = report.ok
        lines = [
            f"Started a local Kombo sandbox at {report.base_url} (nothing leaves this machine).",
            f"Attached {plan.name} to {plan.target} ({plan.type},"
            f" {plan.content_type.content_type}, {human_size(plan.local_file.size)})"
            f" in {human_duration(outcome.elapsed_s)}.",
            "The candidate's attachments, as the API lists them:",
        ]
        for item in report.listing:
            lines.append(
                f"  {item.get('file_name')}  {item.get('type')}  {item.get('content_type')}"
                f"  {item.get('remote_created_at')}"
            )
        lines.append(
            f"The sandbox stored exactly the bytes that were sent (sha256 {outcome.sha256[:16]}…)."
            if same
            else "The bytes the sandbox stored differ from the file that was sent."
        )
        lines += [
            "",
            "Next: run `kombo sandbox` in one terminal and follow what it prints, or see the",
            "README for using kombo with your Kombo API key.",
        ]
        self._out("\n".join(lines), None if same else "red")


def _discard_further_output(stream: TextIO) -> None:
    """Point a closed pipe's file descriptor at /dev/null so later writes (and Python's own
    flush at exit) neither fail nor print "Exception ignored" noise."""
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _cell(value: Any) -> str:
    """A table cell: Kombo's text on one line, "-" for a missing value."""
    if value is None or value == "":
        return "-"
    return " ".join(str(value).split())


def target_json(target: Target) -> dict[str, str]:
    return {"kind": target.kind, "id": target.id}


def _source_json(plan: AttachmentPlan) -> dict[str, Any]:
    if plan.local_file is not None:
        return {"file": plan.local_file.display}
    return {"url": plan.source}


def _with_line(payload: dict[str, Any], line: int | None) -> dict[str, Any]:
    """Items from a manifest carry their line, so a script can find the row again."""
    return payload if line is None else {**payload, "line": line}


def outcome_json(outcome: AttachmentOutcome) -> dict[str, Any]:
    plan = outcome.plan
    return {
        "status": "success",
        "target": target_json(plan.target),
        **_source_json(plan),
        "name": plan.name,
        "type": plan.type,
        "content_type": plan.content_type.content_type if plan.content_type else None,
        "size": plan.size,
        "sha256": outcome.sha256,
        "warnings": outcome.warnings,
        "notes": outcome.notes,
        "elapsed_s": round(outcome.elapsed_s, 3),
        "attempts": outcome.attempts,
        "confirmed_by_listing": outcome.confirmed_by_listing,
    }


def error_json(err: KomboError) -> dict[str, Any]:
    if isinstance(err, ApiError):
        return {
            "code": err.code,
            "title": err.title,
            "message": err.message,
            "log_url": err.log_url,
            "http_status": err.http_status,
            "hint": err.hint,
            "exit_code": int(err.exit_code),
            "attempts": err.attempts,
        }
    return {
        "code": err.local_code,
        "title": None,
        "message": err.message,
        "log_url": None,
        "http_status": None,
        "hint": err.hint,
        "exit_code": int(err.exit_code),
        "attempts": err.attempts,
    }
