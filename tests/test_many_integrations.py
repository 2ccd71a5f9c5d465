"""One manifest over several customers: a row's `integration_id` decides where it goes.

Each test runs the installed `kombo` against one loopback Kombo serving three
integrations, each with its own candidates and its own concurrency limit, and checks what
the server stored: every file once, under the right customer's candidate, no integration
ever above its limit, and the summary per integration.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from kombo_cli.sandbox import sample_candidates as samples
from kombo_cli.sandbox.candidate_shape import full_candidate
from tests.helpers import make_pdf, run_kombo_process
from tests.recording_server import DEFAULT_API_KEY, KomboServer, ScriptedResponse, error_envelope

ALPHA, BETA, GAMMA = "sandbox:alpha", "greenhouse:beta", "workday:gamma"
INTEGRATIONS = (ALPHA, BETA, GAMMA)
LIMITS = {ALPHA: 2, BETA: 5, GAMMA: 8}


def serve(**config: Any) -> KomboServer:
    """ALPHA is the default integration (what KOMBO_INTEGRATION_ID names in `env_for`)."""
    config.setdefault("latency_s", 0.05)
    return KomboServer(
        integration_id=ALPHA,
        integration_ids=list(INTEGRATIONS),
        concurrency_limits=dict(LIMITS),
        **config,
    )


def env_for(server: KomboServer, *, default: bool = True) -> dict[str, str]:
    env = {"KOMBO_API_KEY": DEFAULT_API_KEY, "KOMBO_BASE_URL": server.base_url}
    if default:
        env["KOMBO_INTEGRATION_ID"] = ALPHA
    return env


class Rows:
    """A manifest being written, and what each of its files should become."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lines: list[dict[str, str]] = []
        # file name -> (integration, candidate id, sha256)
        self.expected: dict[str, tuple[str, str, str]] = {}

    def add(self, integration: str, candidate: str, *, named: bool = True, email: str = "") -> str:
        name = f"{integration.split(':')[1]}-{len(self.lines):03d}.pdf"
        data = make_pdf() + name.encode()
        (self.folder / name).write_bytes(data)
        self.lines.append(
            {
                "candidate_id": "" if email else candidate,
                "email": email,
                "file": name,
                "integration_id": integration if named else "",
            }
        )
        self.expected[name] = (integration, candidate, hashlib.sha256(data).hexdigest())
        return name

    def write(self, name: str = "uploads.csv") -> Path:
        path = self.folder / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=["candidate_id", "email", "file", "integration_id"]
            )
            writer.writeheader()
            writer.writerows(self.lines)
        return path


def candidate_ids(server: KomboServer, integration: str) -> list[str]:
    return [candidate["id"] for candidate in server.candidates_by_integration[integration]]


def stored(server: KomboServer) -> list[tuple[str, str, str, str]]:
    """(integration, candidate, name, sha256) of every attachment the server keeps."""
    return [
        (
            attachment.integration_id or "",
            attachment.target_id,
            attachment.name,
            hashlib.sha256(attachment.data or b"").hexdigest(),
        )
        for attachment in server.store.all()
    ]


def json_lines(stdout: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    lines = [json.loads(line) for line in stdout.splitlines()]
    return lines[:-1], lines[-1]["summary"]


def many_rows(folder: Path, server: KomboServer, per_integration: int, *, grouped: bool) -> Rows:
    """`per_integration` rows for each integration, spread over its candidates; the
    default integration's rows leave their integration_id empty every other row."""
    rows = Rows(folder)
    order = [(integration, n) for integration in INTEGRATIONS for n in range(per_integration)]
    if not grouped:
        order.sort(key=lambda pair: pair[1])
    for integration, n in order:
        candidates = candidate_ids(server, integration)
        rows.add(
            integration, candidates[n % len(candidates)], named=integration != ALPHA or n % 2 == 0
        )
    return rows


def test_a_manifest_over_three_integrations_stores_every_file_once_within_each_limit(
    tmp_path: Path,
) -> None:
    with serve() as server:
        # Grouped by customer, the hard order: the first customer's rows could take every
        # worker, and its limit is the lowest.
        rows = many_rows(tmp_path, server, 16, grouped=True)
        manifest = rows.write()
        result = run_kombo_process(
            "attach",
            "--manifest",
            str(manifest),
            "--concurrency",
            "20",
            "--json",
            env=env_for(server),
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        items, summary = json_lines(result.stdout)

        kept = stored(server)
        assert len(kept) == len(rows.expected) == 48
        assert sorted(kept) == sorted(
            (integration, candidate, name, sha)
            for name, (integration, candidate, sha) in rows.expected.items()
        )
        # No integration ever above its own limit, and each used all of it: the three ran
        # side by side, none waiting for another.
        peaks = server.peak_in_flight_by_integration
        refusals = server.concurrency_refusals_by_integration
        assert peaks == LIMITS, (peaks, refusals)
        # Each integration starts at four in flight and learns its own limit from the
        # first answers: only an opening burst above the lowest limits is ever refused.
        assert refusals[ALPHA] <= 2 and refusals[BETA] == refusals[GAMMA] == 0, refusals
        # Every request went out with the integration of its row.
        for request in server.requests:
            if request.method == "POST":
                name = request.json()["attachment"]["name"]
                assert request.header("X-Integration-Id") == rows.expected[name][0]

    assert {item["file"].rsplit("/", 1)[-1]: item["integration_id"] for item in items} == {
        name: integration for name, (integration, _, _) in rows.expected.items()
    }
    assert summary["by_integration"] == {
        integration: {"succeeded": 16, "skipped": 0, "failed": 0} for integration in INTEGRATIONS
    }
    assert (summary["succeeded"], summary["failed"]) == (48, 0)


def test_a_customer_first_in_the_file_with_a_low_limit_does_not_hold_up_the_others(
    tmp_path: Path,
) -> None:
    with serve() as server:
        rows = Rows(tmp_path)
        for integration, count in ((ALPHA, 30), (BETA, 8), (GAMMA, 8)):
            candidates = candidate_ids(server, integration)
            for n in range(count):
                rows.add(integration, candidates[n % len(candidates)])
        result = run_kombo_process(
            "attach",
            "--manifest",
            str(rows.write()),
            "--concurrency",
            "6",
            "--json",
            env=env_for(server),
            timeout=120,
        )
        peak = server.peak_in_flight
    assert result.returncode == 0, result.stderr
    # --concurrency caps the run, all integrations together (their limits add up to 15),
    # and more than the first customer's two slots were in use at once.
    assert 2 < peak <= 6, peak
    items, _ = json_lines(result.stdout)
    # Results come as they finish. Taken in file order, six workers would all wait on the
    # first customer's two slots; shared fairly, the others are done long before it is.
    finished = [item["integration_id"] for item in items]
    last_other = max(n for n, integration in enumerate(finished) if integration != ALPHA)
    assert finished[last_other + 1 :].count(ALPHA) >= 10, finished


def test_the_summary_has_a_line_per_integration_and_each_result_names_its_own(
    tmp_path: Path,
) -> None:
    with serve(latency_s=0.0) as server:
        rows = many_rows(tmp_path, server, 2, grouped=False)
        manifest = str(rows.write())
        result = run_kombo_process("attach", "--manifest", manifest, env=env_for(server))
        # Run again: each line says which customer already has the file.
        again = run_kombo_process(
            "attach", "--manifest", manifest, "--skip-existing", env=env_for(server)
        )
    assert result.returncode == 0, result.stderr
    attached = result.stdout.splitlines()
    assert len(attached) == 6
    for line in attached:
        name = re.search(r"Attached (\S+) ", line)
        assert name is not None, line
        assert f" in {rows.expected[name.group(1)][0]} (" in line
    skipped = again.stdout.splitlines()
    assert len(skipped) == 6
    for line in skipped:
        name = re.search(r"Skipped (\S+): ", line)
        assert name is not None, line
        assert f" in {rows.expected[name.group(1)][0]} already has" in line
    summary = [line for line in result.stderr.splitlines() if "attached" in line]
    assert summary[:3] == [
        f"{integration}: 2 attached, 0 failed" for integration in sorted(INTEGRATIONS)
    ]
    assert summary[3].startswith("6 attached, 0 failed in ")


def test_an_integration_answering_401_stops_only_its_own_rows(tmp_path: Path) -> None:
    with serve(integration_errors={BETA: 401}) as server:
        rows = many_rows(tmp_path, server, 10, grouped=False)
        result = run_kombo_process(
            "attach",
            "--manifest",
            str(rows.write()),
            "--concurrency",
            "12",
            "--json",
            env=env_for(server),
            timeout=120,
        )
        asked_beta = [
            request for request in server.requests if request.header("X-Integration-Id") == BETA
        ]
        kept = stored(server)

    assert result.returncode == 7, result.stderr
    items, summary = json_lines(result.stdout)
    # The others' rows are all stored, once each.
    assert sorted(kept) == sorted(
        (integration, candidate, name, sha)
        for name, (integration, candidate, sha) in rows.expected.items()
        if integration != BETA
    )
    beta = [item for item in items if item["integration_id"] == BETA]
    assert len(beta) == 10 and all(item["status"] == "error" for item in beta)
    codes = Counter(item["error"]["code"] for item in beta)
    # Only what was already on its way when the first answer came was sent; every other
    # row of that integration is reported, unsent.
    assert codes["INTEGRATION.AUTHENTICATION_INVALID"] == len(asked_beta)
    assert 1 <= len(asked_beta) <= 4
    assert codes["CLI.INTEGRATION_STOPPED"] == 10 - len(asked_beta)
    stopped = next(item for item in beta if item["error"]["code"] == "CLI.INTEGRATION_STOPPED")
    assert stopped["error"]["message"].startswith(f"Not sent: integration {BETA} answered line ")
    assert stopped["error"]["exit_code"] == 4
    assert stopped["error"]["hint"]
    assert summary["by_integration"] == {
        ALPHA: {"succeeded": 10, "skipped": 0, "failed": 0},
        BETA: {"succeeded": 0, "skipped": 0, "failed": 10},
        GAMMA: {"succeeded": 10, "skipped": 0, "failed": 0},
    }
    assert "Traceback" not in result.stderr
    assert DEFAULT_API_KEY not in result.stdout + result.stderr


def test_a_refused_api_key_stops_every_integrations_rows(tmp_path: Path) -> None:
    with serve(latency_s=0.0) as server:
        rows = many_rows(tmp_path, server, 10, grouped=False)
        env = {**env_for(server), "KOMBO_API_KEY": "ks_test_NotTheKeyAtAll00000000"}
        result = run_kombo_process(
            "attach", "--manifest", str(rows.write()), "--json", env=env, timeout=120
        )
        asked = [request for request in server.requests if request.path.startswith("/v1/ats/")]
        assert stored(server) == []
    assert result.returncode == 7, result.stderr
    items, summary = json_lines(result.stdout)
    codes = Counter(item["error"]["code"] for item in items)
    # The key is the same for every customer: once Kombo refuses it, no row is sent.
    assert codes["PLATFORM.AUTHENTICATION_INVALID"] == len(asked) <= 3 * 4
    assert codes["CLI.RUN_STOPPED"] == 30 - len(asked)
    stopped = next(item for item in items if item["error"]["code"] == "CLI.RUN_STOPPED")
    assert stopped["error"]["message"].startswith("Not sent: Kombo answered line ")
    assert "which no row can get past" in stopped["error"]["message"]
    assert stopped["error"]["exit_code"] == 4
    assert summary["failed"] == 30


def test_rows_that_all_name_their_integration_need_no_default(tmp_path: Path) -> None:
    with serve(latency_s=0.0) as server:
        rows = Rows(tmp_path)
        for integration in INTEGRATIONS:
            rows.add(integration, candidate_ids(server, integration)[0])
        result = run_kombo_process(
            "attach", "--manifest", str(rows.write()), env=env_for(server, default=False)
        )
        assert result.returncode == 0, result.stderr
        assert len(stored(server)) == 3

        rows.add(ALPHA, candidate_ids(server, ALPHA)[1], named=False)
        before = len(server.requests)
        result = run_kombo_process(
            "attach", "--manifest", str(rows.write("more.csv")), env=env_for(server, default=False)
        )
        assert len(server.requests) == before  # nothing sent
    assert result.returncode == 3
    assert result.stdout == ""
    assert (
        f"KOMBO_INTEGRATION_ID is not set, and line 5 of {tmp_path / 'more.csv'} names no"
        " integration_id." in result.stderr
    )
    assert "Hint: export KOMBO_INTEGRATION_ID=..." in result.stderr


def test_an_email_is_looked_up_in_each_integration_and_finds_its_own_candidate(
    tmp_path: Path,
) -> None:
    with serve(latency_s=0.0) as server:
        rows = Rows(tmp_path)
        for integration in INTEGRATIONS:
            maria = next(
                candidate["id"]
                for candidate in server.candidates_by_integration[integration]
                if candidate["first_name"] == "Maria"
            )
            rows.add(integration, maria, email=samples.MARIA_GARCIA_EMAIL)
        result = run_kombo_process("attach", "--manifest", str(rows.write()), env=env_for(server))
        kept = stored(server)
        lookups = Counter(
            request.header("X-Integration-Id")
            for request in server.requests
            if request.path.startswith("/v1/ats/candidates?")
        )
    assert result.returncode == 0, result.stderr
    assert len({candidate for _, candidate, _, _ in kept}) == 3
    assert sorted(kept) == sorted(
        (integration, candidate, name, sha)
        for name, (integration, candidate, sha) in rows.expected.items()
    )
    assert lookups == {integration: 1 for integration in INTEGRATIONS}


def test_a_journal_keeps_each_integrations_records_apart(tmp_path: Path) -> None:
    journal = tmp_path / "run.journal"
    with serve(latency_s=0.0) as server:
        rows = Rows(tmp_path)
        # The same file for the first candidate of each customer: three items, not one.
        for integration in INTEGRATIONS:
            rows.add(integration, candidate_ids(server, integration)[0])
        manifest = rows.write()
        first = run_kombo_process(
            "attach", "--manifest", str(manifest), "--journal", str(journal), env=env_for(server)
        )
        assert first.returncode == 0, first.stderr
        posts = sum(request.method == "POST" for request in server.requests)
        again = run_kombo_process(
            "attach",
            "--manifest",
            str(manifest),
            "--journal",
            str(journal),
            "--json",
            env=env_for(server),
        )
        assert sum(request.method == "POST" for request in server.requests) == posts == 3
    assert again.returncode == 0, again.stderr
    items, summary = json_lines(again.stdout)
    assert {(item["integration_id"], item["status"]) for item in items} == {
        (integration, "skipped") for integration in INTEGRATIONS
    }
    assert summary["skipped"] == 3


def test_an_unusable_integration_id_is_a_problem_of_its_row(tmp_path: Path) -> None:
    with serve(latency_s=0.0) as server:
        rows = Rows(tmp_path)
        rows.add(GAMMA, candidate_ids(server, GAMMA)[0])
        rows.lines.append(
            {
                "candidate_id": candidate_ids(server, BETA)[0],
                "email": "",
                "file": "x.pdf",
                "integration_id": "greenhouse:beta/..",
            }
        )
        manifest = rows.write()
        result = run_kombo_process("attach", "--manifest", str(manifest), env=env_for(server))
        assert len(stored(server)) == 1
        again = run_kombo_process(
            "attach",
            "--manifest",
            str(manifest),
            "--json",
            "--skip-existing",
            env=env_for(server),
        )
    assert result.returncode == 7
    assert (
        "line 3: integration_id 'greenhouse:beta/..' is '.' or '..' or contains '/', which no"
        " integration id does." in result.stderr
    )
    items, summary = json_lines(again.stdout)
    problem = next(item for item in items if item["status"] == "error")
    # No customer's failure: the row names none that could be one.
    assert "integration_id" not in problem
    assert summary["by_integration"] == {GAMMA: {"succeeded": 0, "skipped": 1, "failed": 0}}
    assert summary["failed"] == 1


def test_three_shards_cover_a_many_integration_manifest_once_with_each_target_in_one(
    tmp_path: Path,
) -> None:
    with serve(latency_s=0.0) as server:
        rows = many_rows(tmp_path, server, 12, grouped=False)
        # The run's own integration, named on one row and left out on another: one target.
        for candidate in candidate_ids(server, ALPHA):
            rows.add(ALPHA, candidate, named=True)
            rows.add(ALPHA, candidate, named=False)
        for integration in (BETA, GAMMA):  # as many rows for each customer
            for candidate in candidate_ids(server, integration) * 2:
                rows.add(integration, candidate)
        manifest = rows.write()
        shard_of: dict[str, int] = {}
        for index in (1, 2, 3):
            before = {name for _, _, name, _ in stored(server)}
            result = run_kombo_process(
                "attach",
                "--manifest",
                str(manifest),
                "--shard",
                f"{index}/3",
                env=env_for(server),
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
            for _, _, name, _ in stored(server):
                if name not in before:
                    shard_of[name] = index
        kept = stored(server)
    # Every row once, in all.
    assert sorted(kept) == sorted(
        (integration, candidate, name, sha)
        for name, (integration, candidate, sha) in rows.expected.items()
    )
    # Each target (an integration's candidate) in one shard only, and every shard worked.
    shards_of_target: dict[tuple[str, str], set[int]] = {}
    for name, (integration, candidate, _) in rows.expected.items():
        shards_of_target.setdefault((integration, candidate), set()).add(shard_of[name])
    assert all(len(shards) == 1 for shards in shards_of_target.values()), shards_of_target
    assert set(shard_of.values()) == {1, 2, 3}
    # With as many integrations as shards, each job has customers of its own: no two jobs
    # share (and crowd) one integration's limit.
    shards_of_integration: dict[str, set[int]] = {}
    for name, (integration, _, _) in rows.expected.items():
        shards_of_integration.setdefault(integration, set()).add(shard_of[name])
    assert sorted(len(shards) for shards in shards_of_integration.values()) == [1, 1, 1]


def test_jobs_that_differ_in_their_own_integration_still_split_named_rows_once(
    tmp_path: Path,
) -> None:
    with serve(latency_s=0.0) as server:
        rows = Rows(tmp_path)
        for integration in INTEGRATIONS:
            for candidate in candidate_ids(server, integration):
                rows.add(integration, candidate)
        manifest = str(rows.write())
        # Every row names its integration, so one job may have KOMBO_INTEGRATION_ID set and
        # the other not: both must place every row alike.
        for shard, default in (("1/2", True), ("2/2", False)):
            result = run_kombo_process(
                "attach",
                "--manifest",
                manifest,
                "--shard",
                shard,
                env=env_for(server, default=default),
            )
            assert result.returncode == 0, result.stderr
        kept = stored(server)
    assert sorted(kept) == sorted(
        (integration, candidate, name, sha)
        for name, (integration, candidate, sha) in rows.expected.items()
    )


def test_a_row_the_journal_records_as_stored_is_skipped_even_when_its_integration_stops(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "run.journal"
    with serve(latency_s=0.0) as server:
        rows = Rows(tmp_path)
        # First in the file, and not stored by the first run: its refusal stops BETA before
        # the rows the journal knows are reached.
        rows.add(BETA, candidate_ids(server, BETA)[0])
        for integration in (BETA, GAMMA):
            for candidate in candidate_ids(server, integration):
                rows.add(integration, candidate)
        manifest = str(rows.write())
        first = Rows(tmp_path)
        first.lines = rows.lines[1:]
        first_run = run_kombo_process(
            "attach",
            "--manifest",
            str(first.write("first.csv")),
            "--journal",
            str(journal),
            env=env_for(server),
        )
        assert first_run.returncode == 0, first_run.stderr
        # The customer's credentials break before the rerun.
        server.config.integration_errors[BETA] = 401
        again = run_kombo_process(
            "attach",
            "--manifest",
            manifest,
            "--journal",
            str(journal),
            "--json",
            "-j",
            "1",
            env=env_for(server),
        )
    items, _ = json_lines(again.stdout)
    beta = [item for item in items if item["integration_id"] == BETA]
    # What the journal records as stored is skipped without a request, as always; only
    # the row never stored meets the refusal.
    assert Counter(item["status"] for item in beta) == {"skipped": 4, "error": 1}
    assert again.returncode == 7


def test_an_integration_kombo_does_not_know_points_at_the_manifest_not_the_setting(
    tmp_path: Path,
) -> None:
    with serve(latency_s=0.0) as server:
        rows = Rows(tmp_path)
        rows.add("bogus:9", candidate_ids(server, ALPHA)[0])
        rows.add(ALPHA, candidate_ids(server, ALPHA)[1])
        result = run_kombo_process("attach", "--manifest", str(rows.write()), env=env_for(server))
        assert len(stored(server)) == 1
    assert result.returncode == 7
    assert "Hint: check the integration_id bogus:9 in the manifest's rows" in result.stderr
    assert "KOMBO_INTEGRATION_ID" not in result.stderr


def test_retry_notices_name_the_row_and_the_integration_they_are_about(tmp_path: Path) -> None:
    rate_limited = error_envelope("Rate limit exceeded.", code="PLATFORM.RATE_LIMIT_EXCEEDED")
    refused_once = ScriptedResponse(status=429, body=rate_limited, headers={"Retry-After": "0"})
    stored = ScriptedResponse(body={"status": "success", "data": {}, "warnings": []}, store=True)
    with serve(latency_s=0.0) as server:
        rows = Rows(tmp_path)
        rows.add(BETA, candidate_ids(server, BETA)[0])
        server.queue(refused_once)
        one_customer = run_kombo_process(
            "attach", "--manifest", str(rows.write()), env=env_for(server)
        )

        # Two customers, one at a time: the second row (the run's own integration, which
        # it does not name) is refused once.
        rows = Rows(tmp_path / "two")
        rows.folder.mkdir()
        rows.add(GAMMA, candidate_ids(server, GAMMA)[0])
        rows.add(ALPHA, candidate_ids(server, ALPHA)[0], named=False)
        server.queue(stored, refused_once)
        two_customers = run_kombo_process(
            "attach", "--manifest", str(rows.write()), "-j", "1", env=env_for(server)
        )

        rows = Rows(tmp_path / "emails")
        rows.folder.mkdir()
        maria = next(
            candidate["id"]
            for candidate in server.candidates_by_integration[GAMMA]
            if candidate["first_name"] == "Maria"
        )
        rows.add(GAMMA, maria, email=samples.MARIA_GARCIA_EMAIL)
        server.queue(refused_once)
        looked_up = run_kombo_process(
            "attach", "--manifest", str(rows.write()), env=env_for(server)
        )

    assert one_customer.returncode == 0, one_customer.stderr
    beta_file = tmp_path / "beta-000.pdf"
    assert (
        f"line 2 ({beta_file}) in {BETA}: HTTP 429 (PLATFORM.RATE_LIMIT_EXCEEDED); retrying"
        in one_customer.stderr
    )
    assert two_customers.returncode == 0, two_customers.stderr
    [notice] = [line for line in two_customers.stderr.splitlines() if "HTTP 429" in line]
    assert notice.startswith(f"line 3 ({tmp_path / 'two' / 'alpha-001.pdf'}) in {ALPHA}: ")
    assert looked_up.returncode == 0, looked_up.stderr
    [notice] = [line for line in looked_up.stderr.splitlines() if "HTTP 429" in line]
    assert notice.startswith(
        f"candidate lookup in {GAMMA}: looking up {samples.MARIA_GARCIA_EMAIL} failed: "
    )


SHARED_ID = "GRKdd9dibYKKCrmGRSMJf3wu"


def same_file_for_one_id(folder: Path, integrations: list[str]) -> Path:
    """A manifest sending cv.pdf to one candidate ID in each of `integrations`: one ID can
    name a candidate in two customers' ATSs, and they are different people."""
    (folder / "cv.pdf").write_bytes(make_pdf())
    manifest = folder / f"uploads-{len(integrations)}.csv"
    manifest.write_text(
        "candidate_id,file,integration_id\n"
        + "".join(f"{SHARED_ID},cv.pdf,{integration}\n" for integration in integrations),
        encoding="utf-8",
    )
    return manifest


def test_one_candidate_id_in_two_integrations_is_two_targets_for_skip_existing(
    tmp_path: Path,
) -> None:
    with KomboServer(integration_id=ALPHA, integration_ids=[ALPHA, BETA]) as server:
        first = run_kombo_process(
            "attach",
            "--manifest",
            str(same_file_for_one_id(tmp_path, [ALPHA])),
            env=env_for(server),
        )
        both = run_kombo_process(
            "attach",
            "--manifest",
            str(same_file_for_one_id(tmp_path, [ALPHA, BETA])),
            "--skip-existing",
            "-j",
            "1",
            env=env_for(server),
        )
        kept = sorted(attachment.integration_id or "" for attachment in server.store.all())
    assert first.returncode == 0 and both.returncode == 0, both.stderr
    # Alpha's listing shows the file there; beta's ATS has none, so it is sent there.
    assert "1 attached, 1 skipped" in both.stderr
    assert kept == sorted([ALPHA, BETA])


def test_one_candidate_id_in_two_integrations_is_two_targets_for_the_journal(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "uploads.journal"
    with KomboServer(integration_id=ALPHA, integration_ids=[ALPHA, BETA]) as server:
        runs = [
            run_kombo_process(
                "attach",
                "--manifest",
                str(same_file_for_one_id(tmp_path, [integration])),
                "--journal",
                str(journal),
                env=env_for(server),
            )
            for integration in (ALPHA, BETA)
        ]
        kept = sorted(attachment.integration_id or "" for attachment in server.store.all())
    assert [run.returncode for run in runs] == [0, 0], runs[1].stderr
    # The journal's record of alpha's upload says nothing about beta's candidate.
    assert "1 attached" in runs[1].stderr
    assert kept == sorted([ALPHA, BETA])


def test_each_integration_starts_low_so_a_small_limit_refuses_few(tmp_path: Path) -> None:
    # Twenty workers and twenty different candidates (no listing teaches the limit first):
    # starting at --concurrency would send twenty at once to a customer that takes two.
    lines = ["candidate_id,file"]
    for number in range(20):
        (tmp_path / f"cv-{number:02d}.pdf").write_bytes(make_pdf() + bytes([number]))
        lines.append(f"{SHARED_ID[:-2]}{number:02d},cv-{number:02d}.pdf")
    manifest = tmp_path / "uploads.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ids = [f"{SHARED_ID[:-2]}{number:02d}" for number in range(20)]
    with KomboServer(
        integration_id=ALPHA,
        candidates=[full_candidate({"id": candidate}) for candidate in ids],
        concurrency_limits={ALPHA: 2},
        latency_s=0.2,
    ) as server:
        result = run_kombo_process(
            "attach", "--manifest", str(manifest), "--concurrency", "20", env=env_for(server)
        )
        refusals = server.concurrency_refusals
        stored_count = len(server.store.all())
    assert result.returncode == 0, result.stderr
    assert stored_count == 20
    # Four go out first; the two above the limit are refused once, then the limit is known.
    assert refusals <= 2, refusals
