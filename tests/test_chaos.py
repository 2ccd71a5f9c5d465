"""Exactly-once under chaos: a batch of 200+ files through a fault-injecting proxy, end to end.

A loopback Kombo (`KomboServer`) sits behind a `ChaosProxy` with every fault enabled at its
default weights, and the installed `kombo` uploads a manifest of small files, each with
bytes of its own, eight at a time, with a journal and a short --timeout (a held reply is
one the client gives up on). A run that does not end with exit 0 is run again with the same
journal, through the same faults (a rerun must settle what it finds under faults too), at
most MAX_RERUNS times. Then the server is the judge:

- every file of the manifest is stored exactly once, on its own candidate, and nothing
  else is stored; no upload reached the server more often than files were stored;
- every report of every run was true when the run ended: a "success" (whatever confirmed
  it) or a journal skip is a file that is stored, with the bytes it names; a failure other
  than "outcome unknown" is a file that is not stored; every "outcome unknown" is settled
  by a later run; what one run stored the next skips.

Most candidates get many files (each is listed before its first upload, so a lost reply
can be settled by attachment id); a few get one file (no listing first: content and dates
only). The sandbox's listing styles (a null `remote_created_at`, renamed files, both) take
the name and date evidence away. Each case prints its figures (faults drawn, how the
ambiguous uploads were settled, reruns, wall time; `pytest -rP tests/test_chaos.py` shows
them); nothing here times anything.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.chaos_proxy import ChaosProxy
from tests.helpers import API_KEY, INTEGRATION_ID, Ran, run_kombo, run_kombo_process
from tests.recording_server import KomboServer, ScriptedResponse

# Candidates with many files (24 base58 characters, as Kombo's ids are)...
BUSY_TARGETS = (
    "GRKdd9dibYKKCrmGRSMJf3wu",
    "gHpPsmvpia2vWrGi4zB8QXxG",
    "Rb7dG1oETJCxrRBqt59ggV99",
    "1x1ErEBxBKMDbykhECmDzRL2",
    "QTBAH5NLufe1fknN5LPuLXmM",
    "CXXnC4H2pPwS2csTQRev1V3n",
    "CgD8qGuWPZPzaHrW7eprtQxK",
    "3U6ENZgQANJmb6LkMLCt6hAo",
    "mLXBo46fbS3GpfPuHWiTA4h3",
    "tYNvE9od9hzsT7BUQA4wTKAW",
    "gwBaWYmoMXJKXSzA8RubChYx",
    "NC6YJZscxZQ5ssrPmej3qLQc",
)
# ...and candidates with one file each.
LONE_TARGETS = (
    "njJvYHrmnKNiCew1XcrHMjJW",
    "7XzQ3kPfTwe9bRmYs2LhNc4D",
    "Hq5WvJr8NdKc2sXpT6yMbE9f",
    "uB4nZ7eQsY2kRdH9mWcT3pLx",
)
FILES_PER_BUSY_TARGET = 17  # 12 * 17 + 4 = 208 files
MAX_RERUNS = 5
TIMEOUT_S = 1.0
# Longer than --timeout: a held reply is one the client has stopped waiting for.
HOLD_S = TIMEOUT_S + 0.5
SEED = 20240611
UNKNOWN = "CLI.OUTCOME_UNKNOWN"

STYLES: dict[str, dict[str, Any]] = {
    "normal": {},
    "undated": {"undated": True},
    "renamed": {"rename_as": "Candidate - {name}"},
    "undated_renamed": {"undated": True, "rename_as": "Candidate - {name}"},
}


@dataclass(frozen=True)
class Item:
    line: int
    target: str
    path: Path
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class RunReport:
    """One run of kombo, as it reported itself: each item by manifest line, the summary."""

    ran: Ran
    by_line: dict[int, dict[str, Any]]
    summary: dict[str, Any]


@dataclass
class Figures:
    style: str
    files: int = 0
    uploads_attempted: int = 0
    uploads_forwarded: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    # Successes by what confirmed them, over all runs.
    confirmed_by: Counter[str] = field(default_factory=Counter)
    # Attempts found absent by the evidence ladder and sent again (within a run).
    sent_again: int = 0
    unknown: int = 0
    # How a rerun settled what an earlier run left unknown ("reply": found absent, sent).
    settled_by_rerun: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    exit_codes: list[int] = field(default_factory=list)
    wall_s: float = 0.0

    def text(self) -> str:
        faults = ", ".join(f"{f} {n}" for f, n in sorted(self.faults.items(), key=lambda x: x[0]))
        ambiguous = self.uploads_attempted - self.faults.get("pass", 0)
        return (
            f"[chaos {self.style}] {self.files} files; uploads attempted"
            f" {self.uploads_attempted}, forwarded to the server {self.uploads_forwarded};"
            f" faults: {faults}; ambiguous uploads {ambiguous}: confirmed by id"
            f" {self.confirmed_by['id']}, by content {self.confirmed_by['content']}, found"
            f" absent and sent again {self.sent_again}, left unknown {self.unknown} (a rerun"
            f" settled {_counted(self.settled_by_rerun)}); confirmed by reply"
            f" {self.confirmed_by['reply']}; other failures"
            f" {self.failed}; reruns {len(self.exit_codes) - 1} (exit codes {self.exit_codes});"
            f" wall time {self.wall_s:.1f} s"
        )


def make_items(folder: Path) -> list[Item]:
    """Small files with bytes of their own. The first candidate gets three files named
    cv.txt (from three folders); every busy candidate gets a resume.txt."""
    items: list[Item] = []
    line = 2  # after the CSV header

    def add(target: str, relative: str, data: bytes) -> None:
        nonlocal line
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        items.append(Item(line, target, path, data))
        line += 1

    for t, target in enumerate(BUSY_TARGETS):
        for k in range(FILES_PER_BUSY_TARGET):
            if k == 0:
                relative = f"t{t:02d}/resume.txt"
            elif t == 0 and k in (1, 2, 3):
                relative = f"t{t:02d}/copy{k}/cv.txt"
            else:
                relative = f"t{t:02d}/note{k:02d}.txt"
            add(target, relative, f"chaos file {t}/{k} for {target}\n".encode() * (1 + k % 3))
    for target in LONE_TARGETS:
        add(target, f"{target}/cover.txt", f"the one file for {target}\n".encode())
    assert len({item.data for item in items}) == len(items)
    return items


def write_manifest(path: Path, items: list[Item]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["candidate_id", "file"])
        for item in items:
            writer.writerow([item.target, str(item.path)])


def attach_args(manifest: Path, journal: Path) -> list[str]:
    return [
        "attach",
        "--manifest",
        str(manifest),
        "--journal",
        str(journal),
        "--json",
        "-j",
        "8",
        "--timeout",
        str(TIMEOUT_S),
        "--settle-delay",
        "0.2",
        "--retries",
        "4",
    ]


def env_for(base_url: str) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": base_url,
    }


def run_once(manifest: Path, journal: Path, proxy: ChaosProxy) -> RunReport:
    ran = run_kombo_process(
        *attach_args(manifest, journal), env=env_for(proxy.base_url), timeout=60
    )
    assert "Traceback" not in ran.stderr, ran.stderr
    assert ran.returncode in (0, 6, 7), (ran.returncode, ran.stderr[-3000:])
    *results, last = [json.loads(line) for line in ran.stdout.splitlines() if line.strip()]
    assert set(last) == {"summary"}, last
    by_line: dict[int, dict[str, Any]] = {}
    for result in results:
        assert result["line"] not in by_line, result
        by_line[result["line"]] = result
    return RunReport(ran, by_line, last["summary"])


def stored_copies(server: KomboServer) -> Counter[tuple[str, bytes]]:
    """How many times the server stores each (candidate, bytes)."""
    return Counter((a.target_id, a.data or b"") for a in server.attachments)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("style", list(STYLES))
def test_every_file_is_stored_exactly_once_through_every_fault(
    style: str, tmp_path: Path, record_property: Any
) -> None:
    items = make_items(tmp_path / "files")
    manifest = tmp_path / "manifest.csv"
    write_manifest(manifest, items)
    journal = tmp_path / "journal.jsonl"
    figures = Figures(style, files=len(items))
    started = time.monotonic()
    reports: list[RunReport] = []
    with (
        KomboServer(**STYLES[style]) as server,
        ChaosProxy(server.base_url, seed=SEED, hold_s=HOLD_S) as proxy,
    ):
        for _ in range(1 + MAX_RERUNS):
            report = run_once(manifest, journal, proxy)
            reports.append(report)
            figures.exit_codes.append(report.ran.returncode)
            check_reports(report, items, stored_copies(server), first=len(reports) == 1)
            if report.ran.returncode == 0:
                break
        figures.wall_s = time.monotonic() - started
        figures.faults = proxy.upload_counts
        figures.uploads_attempted = sum(figures.faults.values())
        figures.uploads_forwarded = proxy.forwarded_uploads
        stored = stored_copies(server)
    tally(figures, reports)
    print(f"\n{figures.text()}")
    record_property("chaos_figures", figures.text())

    assert reports[-1].ran.returncode == 0, figures.text()
    # Every file stored exactly once, on its own candidate, and nothing else.
    assert stored == Counter((item.target, item.data) for item in items)
    # The server stores every upload that reaches it: none reached it twice.
    assert figures.uploads_forwarded == len(items)
    check_settled(reports, items)


def check_reports(
    report: RunReport, items: list[Item], stored: Counter[tuple[str, bytes]], *, first: bool
) -> None:
    """What one run said about each item is true of the server when the run has ended."""
    assert sorted(report.by_line) == [item.line for item in items]
    for item in items:
        result = report.by_line[item.line]
        copies = stored[(item.target, item.data)]
        # Whatever the run said, no file is stored twice.
        assert copies <= 1, (copies, result)
        assert result["target"] == {"kind": "candidate", "id": item.target}, result
        status = result["status"]
        if status == "success":
            assert copies == 1, result
            assert result["sha256"] == item.sha256, result
            assert result["confirmed_by"] in ("reply", "id", "content"), result
        elif status == "skipped":
            # Only a journal makes a run skip here: what an earlier run stored.
            assert not first, result
            assert copies == 1, result
        else:
            assert status == "error", result
            if result["error"]["code"] != UNKNOWN:
                # Any other failure says the file was not stored.
                assert copies == 0, result
    counted = Counter(result["status"] for result in report.by_line.values())
    assert report.summary["succeeded"] == counted["success"]
    assert report.summary["skipped"] == counted["skipped"]
    assert report.summary["failed"] == counted["error"]


def check_settled(reports: list[RunReport], items: list[Item]) -> None:
    """A rerun skips what was stored, and settles what was left open (the last run, exit 0,
    reports every item stored)."""
    for earlier, later in zip(reports, reports[1:]):
        for item in items:
            before, after = earlier.by_line[item.line], later.by_line[item.line]
            if before["status"] in ("success", "skipped"):
                assert after["status"] == "skipped", (before, after)
    for item in items:
        assert reports[-1].by_line[item.line]["status"] in ("success", "skipped")


def tally(figures: Figures, reports: list[RunReport]) -> None:
    left_unknown: set[int] = set()
    for report in reports:
        for line, result in report.by_line.items():
            if result["status"] == "success":
                if line in left_unknown:
                    figures.settled_by_rerun[result["confirmed_by"]] += 1
                else:
                    figures.confirmed_by[result["confirmed_by"]] += 1
                figures.sent_again += max(0, result["attempts"] - 1)
            elif result["status"] == "error":
                figures.sent_again += max(0, (result["error"]["attempts"] or 0) - 1)
                if result["error"]["code"] == UNKNOWN:
                    figures.unknown += 1
                else:
                    figures.failed += 1
        left_unknown = {
            line
            for line, result in report.by_line.items()
            if result["status"] == "error" and result["error"]["code"] == UNKNOWN
        }


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{n} by {how}" for how, n in sorted(counts.items())) or "none"


# -- what the chaos found, pinned down --------------------------------------------------------

CANDIDATE = BUSY_TARGETS[0]


def test_a_rerun_does_not_take_another_open_upload_for_the_one_it_settles(
    tmp_path: Path,
) -> None:
    """Two uploads to one candidate end "unknown" (the replies lost, the listing
    unreadable); only the second was stored. The rerun settles the first one first: the
    second one's file is new since the snapshot, but it is an upload the earlier run left
    open, not proof that the first one was stored. (It was reported "confirmed by id" and
    never sent.)"""
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_bytes(b"the first file\n")
    second.write_bytes(b"the second file\n")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"candidate_id,file\n{CANDIDATE},{first}\n{CANDIDATE},{second}\n")
    journal = tmp_path / "journal.jsonl"
    args = [*attach_args(manifest, journal), "-j", "1", "--retries", "0", "--settle-delay", "0"]
    with KomboServer() as server:
        server.queue(
            ScriptedResponse(drop_connection=True, method="POST"),
            ScriptedResponse(status=500, body=b"down", method="GET"),
            ScriptedResponse(drop_connection=True, store=True, method="POST"),
            ScriptedResponse(status=500, body=b"down", method="GET"),
        )
        lost = run_kombo(*args, env=env_for(server.base_url))
        rerun = run_kombo(*args, env=env_for(server.base_url))
        stored = sorted(a.data or b"" for a in server.attachments)

    assert lost.returncode == 7
    assert [json.loads(line)["error"]["code"] for line in lost.stdout.splitlines()[:2]] == [
        UNKNOWN,
        UNKNOWN,
    ]
    assert rerun.returncode == 0, rerun.stderr
    results = [json.loads(line) for line in rerun.stdout.splitlines()[:2]]
    # The first was found absent and sent; the second was found in the listing.
    assert [r["name"] for r in results] == ["first.txt", "second.txt"]
    assert results[0]["confirmed_by"] == "reply"
    assert results[1]["confirmed_by"] in ("id", "content")
    assert stored == [b"the first file\n", b"the second file\n"]


def test_a_rerun_finds_the_upload_it_left_open_when_it_was_stored(tmp_path: Path) -> None:
    """The upload an earlier run left open is the one being settled: its file in the
    listing is its own, not another open upload's (no second copy is sent)."""
    cv = tmp_path / "cv.txt"
    cv.write_bytes(b"stored, but the reply was lost\n")
    other = tmp_path / "other.txt"
    other.write_bytes(b"stored with a reply\n")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"candidate_id,file\n{CANDIDATE},{cv}\n{CANDIDATE},{other}\n")
    journal = tmp_path / "journal.jsonl"
    args = [*attach_args(manifest, journal), "-j", "1", "--retries", "0", "--settle-delay", "0"]
    with KomboServer() as server:
        server.queue(
            ScriptedResponse(drop_connection=True, store=True, method="POST"),
            ScriptedResponse(status=500, body=b"down", method="GET"),
        )
        lost = run_kombo(*args, env=env_for(server.base_url))
        rerun = run_kombo(*args, env=env_for(server.base_url))
        stored = sorted(a.data or b"" for a in server.attachments)

    assert lost.returncode == 7
    assert rerun.returncode == 0, rerun.stderr
    results = [json.loads(line) for line in rerun.stdout.splitlines()[:2]]
    assert results[0]["status"] == "success"
    assert results[0]["confirmed_by"] in ("id", "content")
    assert results[1]["status"] == "skipped"
    assert stored == [b"stored with a reply\n", b"stored, but the reply was lost\n"]
