"""Batches end to end: many files at once, manifests, --email, --url, --skip-existing,
--fail-fast and batch --dry-run, with the installed executable against the loopback Kombo.

Every test asserts what the server received (routes, bodies, stored bytes) as well as what
the command printed and its exit code.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from kombo_cli.sandbox import sample_candidates as samples
from kombo_cli.sandbox.contract import derived_id
from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    interrupt_kombo,
    make_pdf,
    run_kombo,
)
from tests.recording_server import (
    KomboServer,
    RecordedRequest,
    ScriptedResponse,
    error_envelope,
    kombo_id,
)

FRANK_ID = samples.FRANK_DOE_ID
FRANK_APPLICATION_ID = samples.FRANK_DOE_APPLICATION_ID
MARIA_ID = samples.MARIA_GARCIA_ID
MARIA_APPLICATION_ID = samples.MARIA_GARCIA_APPLICATION_ID
# Stored mixed case ("Maria.Garcia@example.com"); manifests and options use other cases.
MARIA_EMAIL = samples.MARIA_GARCIA_EMAIL

CANDIDATE_SEARCH = "/v1/ats/candidates"
ANSI_OR_CONTROL = ("\x1b", "\r")


# -- helpers ----------------------------------------------------------------------------------


def env_for(server: KomboServer) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
    }


def pdf_bytes(tag: str) -> bytes:
    """A small PDF whose bytes differ per tag, so stored files can be told apart."""
    return make_pdf() + f"% {tag}\n".encode()


def write_pdfs(folder: Path, count: int, prefix: str = "doc") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = folder / f"{prefix}-{number:02d}.pdf"
        path.write_bytes(pdf_bytes(f"{prefix} {number}"))
        paths.append(path)
    return paths


def write_manifest(path: Path, rows: list[dict[str, Any]]) -> Path:
    """CSV (every column any row uses, in a fixed order) or JSON Lines, by the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        order = ["candidate_id", "application_id", "email", "file", "url", "type", "name"]
        order.append("remote_fields")
        columns = [column for column in order if any(column in row for row in rows)]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        key: json.dumps(value) if isinstance(value, dict) else value
                        for key, value in row.items()
                    }
                )
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line is one JSON object (nothing else may be printed there)."""
    lines = stdout.splitlines()
    assert lines, "expected JSON lines on stdout"
    return [json.loads(line) for line in lines]


def items_and_summary(stdout: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    objects = json_lines(stdout)
    *items, last = objects
    assert set(last) == {"summary"}, f"the summary must come last: {objects}"
    assert all("summary" not in item for item in items)
    return items, last["summary"]


def uploads(server: KomboServer) -> list[RecordedRequest]:
    return [request for request in server.requests if request.method == "POST"]


def candidate_searches(server: KomboServer) -> list[RecordedRequest]:
    return [
        request
        for request in server.requests
        if request.method == "GET" and request.path.partition("?")[0] == CANDIDATE_SEARCH
    ]


def attachments_path(kind: str, target_id: str) -> str:
    collection = "candidates" if kind == "candidate" else "applications"
    return f"/v1/ats/{collection}/{target_id}/attachments"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def assert_plain(*texts: str) -> None:
    for text in texts:
        for character in ANSI_OR_CONTROL:
            assert character not in text, f"{character!r} in piped output: {text!r}"


# -- 1. parallel uploads ----------------------------------------------------------------------


def test_twelve_files_upload_in_parallel_within_the_concurrency(tmp_path: Path) -> None:
    files = write_pdfs(tmp_path / "scans", 12)
    latency_s = 0.4
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, latency_s=latency_s) as server:
        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            *map(str, files),
            "--concurrency",
            "6",
            "--json",
            env=env_for(server),
        )

        assert result.returncode == 0, result.stderr
        items, summary = items_and_summary(result.stdout)
        assert [item["status"] for item in items] == ["success"] * 12
        assert summary["succeeded"] == 12
        assert summary["failed"] == 0
        # Sequentially the 12 uploads take at least 12 x 0.4 s = 4.8 s; six at a time need
        # at least two rounds (0.8 s). Well under half the sequential bound proves they
        # overlapped; the lower bound proves elapsed_s measures the upload phase.
        sequential_lower_bound = 12 * latency_s
        assert summary["elapsed_s"] < sequential_lower_bound / 2
        assert summary["elapsed_s"] >= 0.7
        assert 1 < server.peak_in_flight <= 6
        assert server.concurrency_refusals == 0
        stored = {attachment.name: attachment.data for attachment in server.attachments}
        assert stored == {path.name: path.read_bytes() for path in files}
        assert len(uploads(server)) == 12


# -- 2. manifests: routes, email lookups, relative paths, per-row fields ----------------------


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_manifest_rows_reach_their_routes_with_their_fields(tmp_path: Path, suffix: str) -> None:
    batch = tmp_path / "batch"
    cv = batch / "docs" / "frank-cv.pdf"
    letter = batch / "docs" / "frank-letter.pdf"
    maria = batch / "docs" / "maria.pdf"
    for path in (cv, letter, maria):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf_bytes(path.name))
    # Decoys with the same relative paths in the current directory: they must not be read.
    decoys = Path.cwd() / "docs"
    decoys.mkdir()
    for path in (cv, letter, maria):
        (decoys / path.name).write_bytes(pdf_bytes("decoy"))
    greenhouse = {"greenhouse": {"post_headers": {"On-Behalf-Of": "4711"}}}
    workable = {"workable": {"on_behalf_of_user_remote_id": "u-42"}}
    url = "https://files.example/maria/portfolio.pdf?sig=ROWSECRET"
    manifest = write_manifest(
        batch / f"uploads{suffix}",
        [
            {
                "candidate_id": FRANK_ID,
                "file": "docs/frank-cv.pdf",
                "type": "CV",
                "name": "Frank Doe CV.pdf",
                "remote_fields": greenhouse,
            },
            {
                "application_id": FRANK_APPLICATION_ID,
                "file": "./docs/frank-letter.pdf",
                "type": "COVER_LETTER",
                "remote_fields": workable,
            },
            {"email": MARIA_EMAIL.lower(), "file": "docs/maria.pdf", "type": "cv"},
            {"application_id": MARIA_APPLICATION_ID, "url": url},
        ],
    )

    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        result = run_kombo("attach", "--manifest", str(manifest), env=env_for(server))

        assert result.returncode == 0, result.stderr
        posts = {request.path: request.json() for request in uploads(server)}
        assert len(uploads(server)) == 4
        assert set(posts) == {
            attachments_path("candidate", FRANK_ID),
            attachments_path("application", FRANK_APPLICATION_ID),
            attachments_path("candidate", MARIA_ID),
            attachments_path("application", MARIA_APPLICATION_ID),
        }
        frank_cv = posts[attachments_path("candidate", FRANK_ID)]
        assert frank_cv["attachment"]["name"] == "Frank Doe CV.pdf"
        assert frank_cv["attachment"]["type"] == "CV"
        assert frank_cv["remote_fields"] == greenhouse
        frank_letter = posts[attachments_path("application", FRANK_APPLICATION_ID)]
        assert frank_letter["attachment"]["name"] == "frank-letter.pdf"
        assert frank_letter["attachment"]["type"] == "COVER_LETTER"
        assert frank_letter["remote_fields"] == workable
        maria_cv = posts[attachments_path("candidate", MARIA_ID)]
        assert maria_cv["attachment"]["name"] == "maria.pdf"
        assert maria_cv["attachment"]["type"] == "CV"
        assert "remote_fields" not in maria_cv
        portfolio = posts[attachments_path("application", MARIA_APPLICATION_ID)]
        assert portfolio == {
            "attachment": {
                "name": "portfolio.pdf",
                "type": "OTHER",
                "content_type": "application/pdf",
                "data_url": url,
            }
        }

        # The bytes come from the manifest's folder, not from the current directory.
        stored = {(a.target_kind, a.target_id): a for a in server.attachments}
        assert stored["candidate", FRANK_ID].data == cv.read_bytes()
        assert stored["application", FRANK_APPLICATION_ID].data == letter.read_bytes()
        assert stored["candidate", MARIA_ID].data == maria.read_bytes()
        assert stored["application", MARIA_APPLICATION_ID].data_url == url

        # The email row was looked up once, and never with ignore_unsupported_filters=true.
        [search] = candidate_searches(server)
        query = parse_qs(urlsplit(search.path).query)
        assert query["email"] == [MARIA_EMAIL.lower()]
        assert query.get("ignore_unsupported_filters", ["false"]) == ["false"]
        assert "ignore_unsupported_filters=true" not in search.path.lower()

    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("Attached ") for line in lines)
    assert "4 attached, 0 failed" in result.stderr
    assert "ROWSECRET" not in result.stdout + result.stderr


# -- 3. one bad row does not stop the others ---------------------------------------------------


@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_bad_rows_are_reported_by_line_and_the_others_are_uploaded(
    tmp_path: Path, json_mode: bool
) -> None:
    docs = tmp_path / "batch"
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_bytes(pdf_bytes(name))
    manifest = write_manifest(
        docs / "rows.csv",
        [
            {"candidate_id": FRANK_ID, "file": "a.pdf"},  # line 2
            # line 3: two targets
            {"candidate_id": FRANK_ID, "application_id": FRANK_APPLICATION_ID, "file": "b.pdf"},
            {"application_id": FRANK_APPLICATION_ID, "file": "c.pdf"},  # line 4
            {"candidate_id": FRANK_ID, "file": "missing.pdf"},  # line 5: no such file
        ],
    )
    flags = ["--json"] if json_mode else []

    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        result = run_kombo("attach", "--manifest", str(manifest), *flags, env=env_for(server))

        assert result.returncode == 7, result.stderr
        assert sorted((a.target_kind, a.name) for a in server.attachments) == [
            ("application", "c.pdf"),
            ("candidate", "a.pdf"),
        ]
        assert len(uploads(server)) == 2

    errors = error_lines(result.stderr)
    assert len(errors) == 2, result.stderr
    [two_targets] = [line for line in errors if re.search(r"\bline 3\b", line)]
    assert "exactly one of candidate_id, application_id, email" in two_targets
    [missing] = [line for line in errors if re.search(r"\bline 5\b", line)]
    assert "missing.pdf" in missing
    if json_mode:
        items, summary = items_and_summary(result.stdout)
        by_line = {item["line"]: item for item in items}
        assert sorted(by_line) == [2, 3, 4, 5]
        assert by_line[2]["status"] == by_line[4]["status"] == "success"
        for line in (3, 5):
            assert by_line[line]["status"] == "error"
            assert by_line[line]["error"]["exit_code"] == 2
        assert "missing.pdf" in by_line[5]["error"]["message"]
        assert summary["succeeded"] == 2
        assert summary["failed"] == 2
        assert summary["skipped"] == 0
    else:
        assert len(result.stdout.splitlines()) == 2
        assert "2 attached, 2 failed" in result.stderr


# -- 4. --skip-existing re-runs ---------------------------------------------------------------


def test_rerun_with_skip_existing_uploads_only_what_is_missing(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "cv.pdf").write_bytes(pdf_bytes("cv"))
    (batch / "letter.pdf").write_bytes(pdf_bytes("letter"))
    late = batch / "maria.pdf"  # created only after the first run
    manifest = write_manifest(
        batch / "rows.jsonl",
        [
            {"candidate_id": FRANK_ID, "file": "cv.pdf", "type": "CV"},
            {"application_id": FRANK_APPLICATION_ID, "file": "letter.pdf"},
            {"email": MARIA_EMAIL, "file": "maria.pdf"},
        ],
    )

    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        env = env_for(server)
        first = run_kombo("attach", "--manifest", str(manifest), env=env)
        assert first.returncode == 7, first.stderr
        assert len(server.attachments) == 2

        late.write_bytes(pdf_bytes("maria"))
        posts_before = len(uploads(server))
        second = run_kombo(
            "attach", "--manifest", str(manifest), "--skip-existing", "--json", env=env
        )

        assert second.returncode == 0, second.stderr
        assert len(uploads(server)) == posts_before + 1
        items, summary = items_and_summary(second.stdout)
        assert {item["line"]: item["status"] for item in items} == {
            1: "skipped",
            2: "skipped",
            3: "success",
        }
        assert (summary["succeeded"], summary["skipped"], summary["failed"]) == (1, 2, 0)
        names = Counter((a.target_kind, a.target_id, a.name) for a in server.attachments)
        assert names == {
            ("candidate", FRANK_ID, "cv.pdf"): 1,
            ("application", FRANK_APPLICATION_ID, "letter.pdf"): 1,
            ("candidate", MARIA_ID, "maria.pdf"): 1,
        }
        assert server.attachments[-1].data == late.read_bytes()

        # A third run finds everything there already: nothing is sent, all are skipped.
        posts_before = len(uploads(server))
        third = run_kombo("attach", "--manifest", str(manifest), "--skip-existing", env=env)

        assert third.returncode == 0, third.stderr
        assert len(uploads(server)) == posts_before
        assert len(server.attachments) == 3
    lines = third.stdout.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("Skipped ") for line in lines)
    for name in ("cv.pdf", "letter.pdf", "maria.pdf"):
        assert sum(name in line for line in lines) == 1, third.stdout
    assert "0 attached, 3 skipped, 0 failed" in third.stderr


# -- 5. piped output ---------------------------------------------------------------------------


def test_piped_batch_output_is_plain_with_one_line_per_finished_item(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path / "scans", 4)
    missing = tmp_path / "scans" / "gone.pdf"
    # A terminal type that supports colour: only the pipe decides that none is used.
    env = {**server_env, "TERM": "xterm-256color"}
    result = run_kombo(
        "attach", CANDIDATE_ID, *map(str, files), str(missing), "--concurrency", "3", env=env
    )

    assert result.returncode == 7
    assert_plain(result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("Attached ") for line in lines)
    assert sorted(next(p.name for p in files if p.name in line) for line in lines) == sorted(
        p.name for p in files
    )
    assert result.stdout.endswith("\n")
    # The failure and the summary went to stderr, so stderr had something to check.
    assert "gone.pdf" in result.stderr
    assert "4 attached, 1 failed" in result.stderr
    assert len(kombo_server.attachments) == 4


# -- 6. Kombo's concurrency limit --------------------------------------------------------------


def test_concurrency_refusals_halve_the_limit_and_every_file_is_stored_once(
    tmp_path: Path,
) -> None:
    files = write_pdfs(tmp_path / "scans", 16)
    # One candidate each: a target named twice is listed before its first upload, and that
    # answer's Concurrency-Limit would teach the limit before any upload could be refused.
    manifest = tmp_path / "uploads.csv"
    manifest.write_text("candidate_id,file\n" + "".join(f"{kombo_id()},{path}\n" for path in files))
    with KomboServer(
        api_key=API_KEY, integration_id=INTEGRATION_ID, concurrency_limit=2, latency_s=0.2
    ) as server:
        result = run_kombo(
            "attach", "--manifest", str(manifest), "--concurrency", "8", env=env_for(server)
        )

        assert result.returncode == 0, result.stderr
        stored = Counter(attachment.name for attachment in server.attachments)
        assert stored == Counter(path.name for path in files)
        assert {a.name: a.data for a in server.attachments} == {
            path.name: path.read_bytes() for path in files
        }
        # Eight at once against a limit of two: a first burst is refused, then the client
        # backs off instead of being refused again and again.
        assert 0 < server.concurrency_refusals < 8
        assert server.peak_in_flight <= 2
    assert len(result.stdout.splitlines()) == 16
    assert "16 attached, 0 failed" in result.stderr


def test_a_rerun_that_only_lists_grows_past_the_first_few_in_flight(tmp_path: Path) -> None:
    files = write_pdfs(tmp_path / "scans", 40)
    manifest = tmp_path / "uploads.csv"
    manifest.write_text("candidate_id,file\n" + "".join(f"{kombo_id()},{path}\n" for path in files))
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, latency_s=0.1) as server:
        first = run_kombo("attach", "--manifest", str(manifest), env=env_for(server))
        assert first.returncode == 0, first.stderr
        before = server.peak_in_flight
        # Everything is there: the rerun only lists, and each listing's answer lets the
        # number in flight grow as an upload's would.
        again = run_kombo(
            "attach",
            "--manifest",
            str(manifest),
            "--skip-existing",
            "-j",
            "20",
            env=env_for(server),
        )
        assert again.returncode == 0, again.stderr
        assert "0 attached, 40 skipped" in again.stderr
        assert server.peak_in_flight > max(before, 4)


# -- 7. --email ------------------------------------------------------------------------------


def test_email_with_no_candidate_exits_5_and_uploads_nothing(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", "--email", "nobody@example.com", str(path), env=server_env)

    assert result.returncode == 5
    assert "No candidate has the email address nobody@example.com" in result.stderr
    assert uploads(kombo_server) == []
    # The search, then whether Kombo applies the email filter at all.
    assert len(candidate_searches(kombo_server)) == 2


def test_email_shared_by_two_candidates_exits_5_naming_both(sample_file) -> None:
    candidates = samples.sample_candidates()
    [frank] = [candidate for candidate in candidates if candidate["id"] == FRANK_ID]
    twin = copy.deepcopy(frank)
    twin["id"] = derived_id("candidate", "frank-doe-twin")
    twin["first_name"] = "Franziska"
    twin["applications"] = []
    candidates.append(twin)
    path = sample_file("cv.pdf", "pdf")

    with KomboServer(
        api_key=API_KEY, integration_id=INTEGRATION_ID, candidates=candidates
    ) as server:
        result = run_kombo(
            "attach", "--email", samples.FRANK_DOE_EMAIL.upper(), str(path), env=env_for(server)
        )

        assert result.returncode == 5
        assert FRANK_ID in result.stderr
        assert twin["id"] in result.stderr
        assert uploads(server) == []


@pytest.mark.parametrize(
    ("address", "candidate_id"),
    [
        (MARIA_EMAIL.lower(), MARIA_ID),
        (MARIA_EMAIL.upper(), MARIA_ID),
        (samples.FRANK_DOE_EMAIL.title(), FRANK_ID),
    ],
)
def test_email_in_another_case_resolves_to_the_candidate(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    sample_file,
    address: str,
    candidate_id: str,
) -> None:
    assert address not in (MARIA_EMAIL, samples.FRANK_DOE_EMAIL)
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", "--email", address, str(path), "--type", "CV", env=server_env)

    assert result.returncode == 0, result.stderr
    [post] = uploads(kombo_server)
    assert post.path == attachments_path("candidate", candidate_id)
    [stored] = kombo_server.attachments
    assert (stored.target_kind, stored.target_id, stored.data) == (
        "candidate",
        candidate_id,
        path.read_bytes(),
    )
    assert f"to candidate {candidate_id}" in result.stdout


def test_email_is_checked_again_in_the_candidates_kombo_returns(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    # An ATS whose filter matches loosely: the search answers with someone else.
    maria = next(c for c in samples.sample_candidates() if c["id"] == MARIA_ID)
    kombo_server.queue(
        ScriptedResponse(200, {"status": "success", "data": {"next": None, "results": [maria]}})
    )
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", "--email", "someone@example.com", str(path), env=server_env)

    assert result.returncode == 5
    assert "No candidate has the email address someone@example.com" in result.stderr
    assert uploads(kombo_server) == []


def test_email_with_application_is_a_usage_error(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", "--email", MARIA_EMAIL, "--application", str(path), env=server_env)

    assert result.returncode == 2
    assert "--application" in result.stderr
    assert kombo_server.requests == []


# -- 8. --url --------------------------------------------------------------------------------

SIGNED_URL = "https://files.example/path/Frank%20CV.pdf?sig=SECRET123"


@pytest.mark.parametrize("flags", [[], ["-v"], ["--json"]], ids=["text", "verbose", "json"])
def test_url_is_sent_as_data_url_and_its_query_is_never_shown(
    kombo_server: KomboServer, server_env: dict[str, str], flags: list[str]
) -> None:
    result = run_kombo("attach", CANDIDATE_ID, "--url", SIGNED_URL, *flags, env=server_env)

    assert result.returncode == 0, result.stderr
    [post] = uploads(kombo_server)
    assert post.path == attachments_path("candidate", CANDIDATE_ID)
    assert post.json() == {
        "attachment": {
            "name": "Frank CV.pdf",
            "type": "OTHER",
            "content_type": "application/pdf",
            "data_url": SIGNED_URL,
        }
    }
    [stored] = kombo_server.attachments
    assert (stored.name, stored.data_url, stored.content_type) == (
        "Frank CV.pdf",
        SIGNED_URL,
        "application/pdf",
    )
    assert "SECRET123" not in result.stdout
    assert "SECRET123" not in result.stderr
    if "--json" in flags:
        [item] = json_lines(result.stdout)
        assert item["status"] == "success"
        assert item["name"] == "Frank CV.pdf"
        assert item["url"].startswith("https://files.example/path/")
    else:
        assert "Attached Frank CV.pdf" in result.stdout


def test_url_with_content_type_sends_it(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "--url",
        SIGNED_URL,
        "--content-type",
        "application/pdf",
        "--type",
        "CV",
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    [post] = uploads(kombo_server)
    assert post.json()["attachment"] == {
        "name": "Frank CV.pdf",
        "type": "CV",
        "content_type": "application/pdf",
        "data_url": SIGNED_URL,
    }
    assert "SECRET123" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "https://files.example/",
        "https://files.example/cvs/?sig=SECRET123",
    ],
    ids=["root", "folder"],
)
def test_url_ending_in_slash_without_name_is_a_usage_error(
    kombo_server: KomboServer, server_env: dict[str, str], url: str
) -> None:
    result = run_kombo("attach", CANDIDATE_ID, "--url", url, env=server_env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "--name" in result.stderr
    assert uploads(kombo_server) == []
    assert "SECRET123" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "url",
    ["ftp://files.example/cv.pdf", "file:///home/frank/cv.pdf", "files.example/cv.pdf"],
)
def test_url_that_is_not_http_is_a_usage_error(
    kombo_server: KomboServer, server_env: dict[str, str], url: str
) -> None:
    result = run_kombo("attach", CANDIDATE_ID, "--url", url, env=server_env)

    assert result.returncode == 2
    assert "Error:" in result.stderr
    assert kombo_server.requests == []


# -- 9. batch --dry-run ----------------------------------------------------------------------


@pytest.fixture
def dry_run_manifest(tmp_path: Path) -> Path:
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in ("cv.pdf", "letter.pdf", "maria.pdf"):
        (batch / name).write_bytes(pdf_bytes(name))
    return write_manifest(
        batch / "rows.csv",
        [
            {"candidate_id": FRANK_ID, "file": "cv.pdf", "type": "CV"},
            {"application_id": FRANK_APPLICATION_ID, "file": "letter.pdf"},
            {"email": MARIA_EMAIL.lower(), "file": "maria.pdf"},
        ],
    )


def test_batch_dry_run_prints_each_row_and_sends_nothing(
    kombo_server: KomboServer, server_env: dict[str, str], dry_run_manifest: Path
) -> None:
    result = run_kombo("attach", "--manifest", str(dry_run_manifest), "--dry-run", env=server_env)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("Would attach ") for line in lines)
    assert FRANK_ID in lines[0]
    assert FRANK_APPLICATION_ID in lines[1]
    assert MARIA_EMAIL.lower() in lines[2]
    assert MARIA_ID not in result.stdout
    assert kombo_server.requests == []
    assert kombo_server.attachments == []


def test_batch_dry_run_with_resolve_looks_emails_up_but_uploads_nothing(
    kombo_server: KomboServer, server_env: dict[str, str], dry_run_manifest: Path
) -> None:
    result = run_kombo(
        "attach", "--manifest", str(dry_run_manifest), "--dry-run", "--resolve", env=server_env
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("Would attach ") for line in lines)
    assert MARIA_ID in lines[2]
    assert [request.method for request in kombo_server.requests] == ["GET"]
    [search] = candidate_searches(kombo_server)
    assert parse_qs(urlsplit(search.path).query)["email"] == [MARIA_EMAIL.lower()]
    assert kombo_server.attachments == []


@pytest.mark.parametrize("resolve", [False, True], ids=["unresolved", "resolved"])
def test_batch_dry_run_json_prints_dry_run_objects(
    kombo_server: KomboServer, server_env: dict[str, str], dry_run_manifest: Path, resolve: bool
) -> None:
    flags = ["--resolve"] if resolve else []
    result = run_kombo(
        "attach", "--manifest", str(dry_run_manifest), "--dry-run", "--json", *flags, env=server_env
    )

    assert result.returncode == 0, result.stderr
    objects = json_lines(result.stdout)
    assert [item["status"] for item in objects] == ["dry_run"] * 3
    assert [item["line"] for item in objects] == [2, 3, 4]
    assert objects[0]["target"] == {"kind": "candidate", "id": FRANK_ID}
    assert objects[0]["type"] == "CV"
    assert objects[1]["target"] == {"kind": "application", "id": FRANK_APPLICATION_ID}
    if resolve:
        assert objects[2]["target"] == {"kind": "candidate", "id": MARIA_ID}
        assert [request.method for request in kombo_server.requests] == ["GET"]
    else:
        assert objects[2]["target"] == {"kind": "email", "email": MARIA_EMAIL.lower()}
        assert kombo_server.requests == []
    assert uploads(kombo_server) == []


# -- 10. --fail-fast -------------------------------------------------------------------------


def test_fail_fast_with_a_malformed_row_sends_nothing(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        (batch / name).write_bytes(pdf_bytes(name))
    manifest = write_manifest(
        batch / "rows.jsonl",
        [
            {"candidate_id": FRANK_ID, "file": "a.pdf"},
            {"candidate_id": FRANK_ID, "file": "b.pdf", "url": "https://files.example/b.pdf"},
            {"candidate_id": FRANK_ID, "file": "c.pdf"},
        ],
    )
    result = run_kombo("attach", "--manifest", str(manifest), "--fail-fast", env=server_env)

    assert result.returncode == 2
    assert re.search(r"\bline 2\b", result.stderr)
    assert "nothing was sent" in result.stderr
    assert result.stdout == ""
    assert kombo_server.requests == []

    # Without --fail-fast the same manifest attaches the good rows.
    result = run_kombo("attach", "--manifest", str(manifest), env=server_env)
    assert result.returncode == 7
    assert sorted(a.name for a in kombo_server.attachments) == ["a.pdf", "c.pdf"]


def _fail_first_upload(server: KomboServer) -> None:
    server.queue(
        ScriptedResponse(
            400,
            error_envelope("The file was refused.", "PLATFORM.INPUT_INVALID", "Input invalid"),
            # The run lists the candidate first (several files go there): the upload fails.
            method="POST",
        )
    )


def test_fail_fast_stops_starting_uploads_after_the_first_failure(tmp_path: Path) -> None:
    files = write_pdfs(tmp_path / "scans", 4)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        _fail_first_upload(server)
        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            *map(str, files),
            "--concurrency",
            "1",
            "--fail-fast",
            env=env_for(server),
        )

        assert result.returncode == 7
        # --concurrency 1 keeps the command line's order: the first file was refused, and
        # no other upload was started after that.
        [post] = uploads(server)
        assert post.json()["attachment"]["name"] == files[0].name
        assert server.attachments == []
    assert result.stdout == ""
    [error] = error_lines(result.stderr)
    assert files[0].name in error
    assert "The file was refused." in error
    assert "0 attached, 1 failed, 3 not attempted (--fail-fast)" in result.stderr


# -- 11. JSON lines --------------------------------------------------------------------------


def test_json_batch_prints_one_object_per_item_then_the_summary(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path / "scans", 3)
    result = run_kombo("attach", CANDIDATE_ID, *map(str, files), "--json", env=server_env)

    assert result.returncode == 0, result.stderr
    items, summary = items_and_summary(result.stdout)
    assert len(items) == 3
    assert all(item["status"] == "success" for item in items)
    assert sorted(item["name"] for item in items) == [path.name for path in files]
    assert all("line" not in item for item in items)
    assert set(summary) == {
        "succeeded",
        "skipped",
        "failed",
        "elapsed_s",
        "not_attempted",
        "by_integration",
    }
    assert (summary["succeeded"], summary["skipped"], summary["failed"]) == (3, 0, 0)
    integration = server_env["KOMBO_INTEGRATION_ID"]
    assert summary["by_integration"] == {integration: {"succeeded": 3, "skipped": 0, "failed": 0}}
    assert all(item["integration_id"] == integration for item in items)
    assert len(kombo_server.attachments) == 3


def test_json_single_file_prints_one_object_and_no_summary(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), "--json", env=server_env)

    assert result.returncode == 0, result.stderr
    [item] = json_lines(result.stdout)
    assert item["status"] == "success"
    assert item["name"] == "cv.pdf"
    assert "summary" not in item
    assert "line" not in item
    assert len(kombo_server.attachments) == 1


def test_manifest_with_one_row_exits_with_that_rows_code(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "cv.pdf").write_bytes(pdf_bytes("cv"))
    manifest = write_manifest(batch / "one.jsonl", [{"candidate_id": FRANK_ID, "file": "cv.pdf"}])
    _fail_first_upload(kombo_server)
    result = run_kombo("attach", "--manifest", str(manifest), "--json", env=server_env)

    assert result.returncode == 5
    items, summary = items_and_summary(result.stdout)
    [item] = items
    assert item["status"] == "error"
    assert item["line"] == 1
    assert item["error"]["http_status"] == 400
    assert item["error"]["code"] == "PLATFORM.INPUT_INVALID"
    assert summary["failed"] == 1
    assert len(uploads(kombo_server)) == 1
    assert kombo_server.attachments == []


# -- 12. --quiet -----------------------------------------------------------------------------


def test_quiet_batch_that_succeeds_prints_nothing(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path / "scans", 3)
    result = run_kombo("attach", CANDIDATE_ID, *map(str, files), "-q", env=server_env)

    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == ""
    assert sorted(a.name for a in kombo_server.attachments) == [path.name for path in files]


# -- from the second review ---------------------------------------------------------------------


def test_skip_existing_skips_a_second_file_of_the_same_name_in_one_run(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    for folder in ("d1", "d2"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "cv.pdf").write_bytes(pdf_bytes(folder))
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(tmp_path / "d1" / "cv.pdf"),
        str(tmp_path / "d2" / "cv.pdf"),
        "--skip-existing",
        "-j",
        "2",
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    # Whichever went first is stored; the other is skipped, as a re-run would skip it.
    assert len(kombo_server.attachments) == 1
    assert "1 attached, 1 skipped, 0 failed" in result.stderr


def test_email_for_several_files_is_looked_up_once_and_fails_once(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path / "files", 3)
    result = run_kombo("attach", "--email", "nobody@example.com", *map(str, files), env=server_env)

    assert result.returncode == 5
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: No candidate has the email address nobody@example.com."]
    # One search and one check of the email filter, for all three files.
    assert [r.method for r in kombo_server.requests] == ["GET", "GET"]


def test_resolve_without_dry_run_is_a_usage_error(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    [path] = write_pdfs(tmp_path, 1)
    result = run_kombo("attach", CANDIDATE_ID, str(path), "--resolve", env=server_env)

    assert result.returncode == 2
    assert "--resolve only goes with --dry-run." in result.stderr
    assert kombo_server.requests == []


def test_a_manifest_with_only_a_header_says_so(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    manifest = tmp_path / "empty.csv"
    manifest.write_text("candidate_id,file\n")
    result = run_kombo("attach", "--manifest", str(manifest), env=server_env)

    assert result.returncode == 0
    assert "has no rows; nothing to attach" in result.stderr
    assert kombo_server.requests == []


def test_batch_dry_run_ends_with_a_count(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path, 2)
    result = run_kombo(
        "attach", CANDIDATE_ID, *map(str, files), "missing.pdf", "--dry-run", env=server_env
    )

    assert result.returncode == 7
    assert "Dry run: 2 would be attached, 1 with problems; nothing was sent." in result.stderr
    assert kombo_server.requests == []


def test_dry_run_with_resolve_shows_what_skip_existing_would_skip(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path, 2)
    first = run_kombo("attach", CANDIDATE_ID, str(files[0]), env=server_env)
    assert first.returncode == 0
    before = len(kombo_server.requests)

    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        *map(str, files),
        "--skip-existing",
        "--dry-run",
        "--resolve",
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    assert f"Would skip {files[0].name}" in result.stdout
    assert f"Would attach {files[1]}" in result.stdout
    assert "1 would be attached, 1 would be skipped, 0 with problems" in result.stderr
    assert [r.method for r in kombo_server.requests[before:]] == ["GET"]


def test_ctrl_c_in_a_batch_names_the_uploads_being_sent_and_sums_up(tmp_path: Path) -> None:
    files = write_pdfs(tmp_path, 4)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, latency_s=3) as server:
        result = interrupt_kombo(
            "attach",
            CANDIDATE_ID,
            *map(str, files),
            "-j",
            "2",
            env=env_for(server),
            when=lambda: server.wait_for_requests(2, timeout=20),
            settle_s=0.3,
        )

    stderr = result.stderr
    assert result.returncode == 130
    assert "0 attached, 0 failed" in stderr
    assert "Error: Interrupted; 2 uploads may or may not have been stored." in stderr
    for path in files[:2]:
        assert f"  may have been stored: {path}\n" in stderr
    assert "--skip-existing" in stderr
    assert "Traceback" not in stderr
