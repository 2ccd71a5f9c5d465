"""`kombo attach --manifest FILE --shard K/N`: N runs, one per CI job, share one manifest.

The three shards of one manifest run one after the other against one loopback Kombo, as
separate processes; what the server stored shows which rows each took.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from kombo_cli.sandbox import sample_candidates as samples
from kombo_cli.upload.request import AttachRequest, RowProblem
from kombo_cli.upload.shard import Shard, plan_by_integration
from tests.helpers import API_KEY, INTEGRATION_ID, make_pdf, run_kombo_process
from tests.recording_server import KomboServer

# Candidate and application IDs, several named more than once.
CANDIDATES = [f"Cand{n:02d}xxxxxxxxxxxxxxxxxxx"[:24] for n in range(9)]
APPLICATIONS = [f"Appl{n:02d}xxxxxxxxxxxxxxxxxxx"[:24] for n in range(3)]
# One person by one address in two cases: both rows must fall in one shard.
EMAILS = [
    ("maria.garcia@example.com", "MARIA.GARCIA@EXAMPLE.COM", samples.MARIA_GARCIA_ID),
    ("li.wei@example.com", "Li.Wei@Example.com", samples.LI_WEI_ID),
]


def write_manifest(folder: Path) -> tuple[Path, dict[str, tuple[str, str]], list[int]]:
    """A CSV of 30 rows; (the manifest, file name -> target key, malformed lines)."""
    rows: list[tuple[str, str, str]] = []  # candidate_id, application_id, email
    for index, candidate in enumerate(CANDIDATES):
        rows += [(candidate, "", "")] * (3 if index % 3 == 0 else 1)  # 3 named three times
    for application in APPLICATIONS:
        rows += [("", application, "")] * 2
    rows.append(("", APPLICATIONS[0], ""))
    for lower, mixed, _ in EMAILS:
        rows += [("", "", lower), ("", "", mixed), ("", "", lower)]
    lines = ["candidate_id,application_id,email,file"]
    targets: dict[str, tuple[str, str]] = {}
    for number, (candidate, application, email) in enumerate(rows):
        name = f"f{number:02d}.pdf"
        (folder / name).write_bytes(make_pdf() + name.encode())
        lines.append(f"{candidate},{application},{email},{name}")
        if candidate:
            targets[name] = ("candidate", candidate)
        elif application:
            targets[name] = ("application", application)
        else:
            targets[name] = ("email", email.casefold())
    # Two malformed rows: no target, and two of them.
    malformed = [len(lines) + 1, len(lines) + 2]
    lines += [",,,g00.pdf", f"{CANDIDATES[1]},{APPLICATIONS[1]},,g01.pdf"]
    manifest = folder / "m.csv"
    manifest.write_text("\n".join(lines) + "\n")
    assert len(lines) - 1 == 30
    return manifest, targets, malformed


def serve() -> KomboServer:
    """A Kombo that knows the manifest's IDs, and the sample candidates the emails find."""
    known = {*CANDIDATES, *APPLICATIONS, *(person for _, _, person in EMAILS)}
    return KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, known_ids=known)


def env_for(server: KomboServer, **extra: str) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
        **extra,
    }


def problem_lines(stderr: str) -> list[int]:
    return [int(found) for found in re.findall(r"Error: line (\d+):", stderr)]


def test_three_shards_attach_every_row_once_with_each_target_in_one_shard(
    tmp_path: Path,
) -> None:
    manifest, targets, malformed = write_manifest(tmp_path)
    uploaded: dict[int, list[str]] = {}
    reported: dict[int, list[int]] = {}
    with serve() as server:
        for index in (1, 2, 3):
            before = {a.id for a in server.attachments}
            ran = run_kombo_process(
                "attach", "--manifest", str(manifest), "--shard", f"{index}/3", "--json",
                env=env_for(server), cwd=tmp_path,
            )  # fmt: skip
            assert ran.returncode in (0, 7), ran.stderr
            uploaded[index] = [a.name for a in server.attachments if a.id not in before]
            reported[index] = problem_lines(ran.stderr)
            summary = json.loads(ran.stdout.splitlines()[-1])["summary"]
            rows = len(uploaded[index]) + len(reported[index])
            assert summary["shard"] == {"index": index, "count": 3, "rows": rows}
            assert summary["succeeded"] == len(uploaded[index])
            assert summary["failed"] == len(reported[index])
            assert summary["not_attempted"] == 0
        emails_went_to = {
            (a.target_kind, a.target_id)
            for a in server.attachments
            if targets[a.name][0] == "email"
        }

    # Every valid row once, and nothing else; each malformed row reported by one shard.
    everything = Counter(name for names in uploaded.values() for name in names)
    assert everything == Counter(set(targets))
    assert sorted(line for lines in reported.values() for line in lines) == malformed
    # A target's rows, by ID or by one address in any case, all in one shard.
    shard_of_target: dict[tuple[str, str], set[int]] = {}
    for index, names in uploaded.items():
        for name in names:
            shard_of_target.setdefault(targets[name], set()).add(index)
    assert all(len(shards) == 1 for shards in shard_of_target.values()), shard_of_target
    assert emails_went_to == {("candidate", person) for _, _, person in EMAILS}
    # Every shard had work, so the split was really tested.
    assert all(uploaded.values())
    # The same rule in this process as in the three runs: the assignment does not depend on
    # the process (Python's own hash() would).
    for index, names in uploaded.items():
        shard = Shard(index, 3, own_integration=INTEGRATION_ID)
        for name in names:
            kind, value = targets[name]
            assert shard.takes(AttachRequest(kind, value, file=name))
        for line in reported[index]:
            assert shard.takes(RowProblem(line, "malformed"))


def test_a_shard_is_the_same_in_every_process_and_counts_only_its_rows(tmp_path: Path) -> None:
    manifest, _, _ = write_manifest(tmp_path)
    with serve() as server:
        plans = []
        for seed in ("1", "2"):
            ran = run_kombo_process(
                "attach", "--manifest", str(manifest), "--shard", "2/3", "--dry-run",
                env=env_for(server, PYTHONHASHSEED=seed), cwd=tmp_path,
            )  # fmt: skip
            plans.append((ran.stdout, problem_lines(ran.stderr)))
        # A dry run sends nothing (emails are not even looked up without --resolve).
        assert not server.requests
        human = run_kombo_process(
            "attach", "--manifest", str(manifest), "--shard", "2/3",
            env=env_for(server), cwd=tmp_path,
        )  # fmt: skip
        stored = len(server.attachments)
    assert plans[0] == plans[1]
    would = plans[0][0].count("Would attach")
    rows = would + len(plans[0][1])
    assert stored == would
    assert f"shard 2/3: {rows} of 30 rows; {would} attached" in human.stderr, human.stderr


def test_each_shard_resumes_from_its_own_journal(tmp_path: Path) -> None:
    manifest, _, _ = write_manifest(tmp_path)
    with serve() as server:
        argv = ["attach", "--manifest", str(manifest), "--shard", "3/3", "--json"]
        first = run_kombo_process(
            *argv, "--journal", "3.journal", env=env_for(server), cwd=tmp_path
        )
        stored = len(server.attachments)
        again = run_kombo_process(
            *argv, "--journal", "3.journal", env=env_for(server), cwd=tmp_path
        )
        assert len(server.attachments) == stored > 0
    assert first.returncode in (0, 7), first.stderr
    summary = json.loads(again.stdout.splitlines()[-1])["summary"]
    assert (summary["succeeded"], summary["skipped"]) == (0, stored)
    assert summary["shard"]["index"] == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--shard", "0/3"], "K must be between 1 and 3"),
        (["--shard", "4/3"], "K must be between 1 and 3"),
        (["--shard", "1/0"], "must be at least 1"),
        (["--shard", "x/y"], "is not K/N"),
        (["--shard", "2"], "is not K/N"),
        (["--shard", "-1/3"], "is not K/N"),
    ],
)
def test_a_malformed_shard_is_a_usage_error(tmp_path: Path, extra: list[str], message: str) -> None:
    manifest, _, _ = write_manifest(tmp_path)
    with serve() as server:
        ran = run_kombo_process(
            "attach", "--manifest", str(manifest), *extra, env=env_for(server), cwd=tmp_path
        )
        assert not server.requests
    assert ran.returncode == 2, ran.stderr
    assert message in ran.stderr


def test_shard_without_a_manifest_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "cv.pdf").write_bytes(make_pdf())
    with serve() as server:
        ran = run_kombo_process(
            "attach", CANDIDATES[0], "cv.pdf", "--shard", "1/2", env=env_for(server), cwd=tmp_path
        )
        assert not server.requests
    assert ran.returncode == 2
    assert "--shard only goes with --manifest" in ran.stderr


def test_whole_integrations_are_placed_heaviest_first_when_there_are_enough() -> None:
    rows = {"a": 40, "b": 30, "c": 25, "d": 20, "": 10}
    plan = plan_by_integration(rows, 3)
    assert plan == {"a": 1, "b": 2, "c": 3, "d": 3, "": 2}
    # One customer with most of the rows would make one job do most of the work.
    assert plan_by_integration({"a": 90, "b": 3, "c": 3, "d": 3}, 3) is None
    # The same plan whatever order the counts come in.
    assert plan_by_integration(dict(reversed(list(rows.items()))), 3) == plan
    # Fewer integrations than shards: targets are placed instead.
    assert plan_by_integration({"a": 5, "b": 5}, 3) is None
    assert plan_by_integration(rows, 1) is None


def test_a_planned_shard_takes_whole_integrations_and_a_malformed_row_by_its_line() -> None:
    plan = {"own:0": 1, "x:1": 2, "x:2": 3}
    shards = [Shard(index, 3, own_integration="own:0", by_integration=plan) for index in (1, 2, 3)]
    for integration, expected in (("x:1", 2), ("x:2", 3), (None, 1), ("own:0", 1)):
        row = AttachRequest(
            "candidate", "GRKdd9dibYKKCrmGRSMJf3wu", file="a.pdf", integration_id=integration
        )
        assert [shard.takes(row) for shard in shards] == [i == expected for i in (1, 2, 3)]
    problem = RowProblem(7, "malformed", "x:1")
    assert sum(shard.takes(problem) for shard in shards) == 1
