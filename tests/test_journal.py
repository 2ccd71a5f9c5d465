"""--journal: resuming after kill -9 and torn lines; --verify: the stored bytes compared.

The kill tests run the installed executable and kill it for real while uploads are in
flight; the server says what was stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import time
from pathlib import Path

import pytest

from kombo_cli.upload.journal import Journal
from tests.helpers import API_KEY, CANDIDATE_ID, INTEGRATION_ID, make_pdf, run_kombo, start_kombo
from tests.recording_server import KomboServer, ScriptedResponse
from tests.seeding import seed_file

# Kombo IDs (24 characters of base58, so no 0): the sandbox knows any such ID.
TARGETS = [f"Cand{n + 1}xxxxxxxxxxxxxxxxxxx"[:24] for n in range(4)]


def env_for(server: KomboServer) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
    }


def write_manifest(tmp_path: Path, files_per_target: int) -> tuple[Path, dict[bytes, str]]:
    """A CSV manifest; returns it and each file's bytes with the target it goes to."""
    folder = tmp_path / "files"
    folder.mkdir()
    wanted: dict[bytes, str] = {}
    lines = ["candidate_id,file"]
    for target in TARGETS:
        for n in range(files_per_target):
            data = make_pdf() + f"{target} {n}".encode()
            path = folder / f"{target}-{n}.pdf"
            path.write_bytes(data)
            wanted[data] = target
            lines.append(f"{target},{path}")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest, wanted


def leave_open(
    journal: Journal, server: KomboServer, target: str, path: Path, event: str = "sending"
) -> None:
    """Write what an earlier run against `server` leaves when it stops while sending
    `path` to `target`."""
    scope = f"{server.base_url} {INTEGRATION_ID}"
    journal.write(
        journal.item("candidate", target, str(path), scope),
        event,
        scope=scope,
        target={"kind": "candidate", "id": target},
        name=path.name,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        started_at="2026-01-01T00:00:00+00:00",
    )


def stored(server: KomboServer) -> list[tuple[str, bytes]]:
    return [(a.target_id, a.data or b"") for a in server.attachments]


def posts(server: KomboServer) -> int:
    return sum(1 for r in server.requests if r.method == "POST")


def attach_args(manifest: Path, journal: Path) -> list[str]:
    return [
        "attach",
        "--manifest",
        str(manifest),
        "--journal",
        str(journal),
        "-j",
        "4",
        "--settle-delay",
        "0.05",
        "--json",
    ]


@pytest.mark.parametrize("torn", [False, True], ids=["clean", "torn-last-line"])
def test_a_batch_killed_with_sigkill_and_rerun_with_its_journal_stores_every_file_once(
    tmp_path: Path, torn: bool
) -> None:
    manifest, wanted = write_manifest(tmp_path, files_per_target=6)
    journal = tmp_path / "run.journal"
    # Slow replies, so that the kill lands with uploads in flight.
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, latency_s=0.15) as server:
        process = start_kombo(*attach_args(manifest, journal), env=env_for(server))
        try:
            deadline = time.monotonic() + 30
            while len(server.attachments) < 6 and time.monotonic() < deadline:
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=10)
        finally:
            process.kill()
        assert process.returncode == -signal.SIGKILL
        # Uploads the kill cut short are either stored by now or never will be.
        time.sleep(0.5)
        before_rerun = stored(server)
        posts_before = posts(server)
        assert 0 < len(before_rerun) < len(wanted)
        if torn:
            with open(journal, "ab") as handle:
                handle.write(b'{"v":1,"item":"abc","event":"sto')

        rerun = run_kombo(*attach_args(manifest, journal), env=env_for(server))

        assert rerun.returncode == 0, rerun.stderr
        final = stored(server)
        # Every file exactly once, to its own target, and nothing else.
        assert sorted(data for _, data in final) == sorted(wanted)
        assert all(wanted[data] == target for target, data in final)
        # The rerun sent only what was missing.
        assert posts(server) - posts_before == len(wanted) - len(before_rerun)
        if torn:
            assert "damaged line" in rerun.stderr
    lines = [json.loads(line) for line in rerun.stdout.splitlines()]
    summary = lines[-1]["summary"]
    assert summary["succeeded"] + summary["skipped"] == len(wanted)


def test_a_finished_run_rerun_with_its_journal_makes_no_call_at_all(tmp_path: Path) -> None:
    manifest, wanted = write_manifest(tmp_path, files_per_target=2)
    journal = tmp_path / "run.journal"
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        first = run_kombo(*attach_args(manifest, journal), env=env_for(server))
        assert first.returncode == 0, first.stderr
        requests_after_first = len(server.requests)

        second = run_kombo(*attach_args(manifest, journal), env=env_for(server))

        assert second.returncode == 0, second.stderr
        assert len(server.requests) == requests_after_first
        assert len(server.attachments) == len(wanted)
    results = [json.loads(line) for line in second.stdout.splitlines()][:-1]
    assert {r["status"] for r in results} == {"skipped"}
    assert {r["reason"] for r in results} == {"stored by an earlier run, as the journal records"}
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600


def test_a_changed_file_is_sent_again_despite_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    journal = tmp_path / "run.journal"
    args = ["attach", CANDIDATE_ID, str(path), "--journal", str(journal), "--json"]
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        assert run_kombo(*args, env=env_for(server)).returncode == 0
        path.write_bytes(make_pdf() + b" corrected")
        again = run_kombo(*args, env=env_for(server))

        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["status"] == "success"
        assert sorted(a.data or b"" for a in server.attachments) == sorted(
            [make_pdf(), make_pdf() + b" corrected"]
        )


def test_an_item_left_sending_is_settled_by_evidence_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    # The first run's reply was lost and it was killed while checking: the journal says
    # "sending". The file did arrive; the rerun finds it and sends nothing.
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    journal_path = tmp_path / "run.journal"
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        seed_file(server, CANDIDATE_ID, "cv.pdf", make_pdf(), created_at=None)
        journal = Journal.open(journal_path)
        leave_open(journal, server, CANDIDATE_ID, path)
        journal.close()

        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            str(path),
            "--journal",
            str(journal_path),
            "--settle-delay",
            "0",
            "--json",
            env=env_for(server),
        )

        assert result.returncode == 0, result.stderr
        payload = json.loads(result.stdout)
        assert payload["confirmed_by"] == "content"
        assert payload["attempts"] == 0
        assert posts(server) == 0
        assert len(server.attachments) == 1


def test_a_journal_in_use_by_another_run_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    journal_path = tmp_path / "run.journal"
    holder = Journal.open(journal_path)
    try:
        with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
            result = run_kombo(
                "attach",
                CANDIDATE_ID,
                str(path),
                "--journal",
                str(journal_path),
                env=env_for(server),
            )
            assert result.returncode == 2
            assert "is in use by another kombo run" in result.stderr
            assert server.requests == []
    finally:
        holder.close()


def test_a_journal_that_is_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    fifo = tmp_path / "journal.fifo"
    os.mkfifo(fifo)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        result = run_kombo(
            "attach", CANDIDATE_ID, str(path), "--journal", str(fifo), env=env_for(server)
        )
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert server.requests == []


# -- --verify ----------------------------------------------------------------------------------


def test_verify_reports_verified_when_the_stored_bytes_match(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    with KomboServer(
        api_key=API_KEY, integration_id=INTEGRATION_ID, rename_as="Candidate - {name}"
    ) as server:
        result = run_kombo(
            "attach", CANDIDATE_ID, str(path), "--verify", "--json", env=env_for(server)
        )
        human = run_kombo("attach", CANDIDATE_ID, str(path), "--verify", env=env_for(server))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verified"] is True
    assert human.returncode == 0
    assert "verified" in human.stdout


def test_verify_fails_the_item_when_the_ats_stored_other_bytes(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        # Kombo says it is stored; what the ATS lists since is another file's bytes.
        server.queue(ScriptedResponse(status=200, body={"status": "success", "data": {}}))
        seed_file(server, CANDIDATE_ID, "cv.pdf", b"re-encoded by the ATS", created_at=_now_iso())
        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            str(path),
            "--verify",
            "--json",
            "--settle-delay",
            "0",
            env=env_for(server),
        )

        assert result.returncode == 5
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "CLI.VERIFY_MISMATCH"
        assert "not the one sent" in error["message"]
        assert posts(server) == 1


def test_verify_says_why_it_could_not_verify(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        # Accepted, but the ATS does not list it (yet).
        server.queue(ScriptedResponse(status=200, body={"status": "success", "data": {}}))
        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            str(path),
            "--verify",
            "--json",
            "--settle-delay",
            "0",
            env=env_for(server),
        )

        assert result.returncode == 0, result.stderr
        payload = json.loads(result.stdout)
        assert payload["verified"] is None
        assert payload["unverified_because"] == "it is not among the candidate's attachments yet"
        assert "could not be verified" in result.stderr
        assert posts(server) == 1


def _now_iso() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat()


def test_a_half_sent_item_that_cannot_be_looked_for_stays_unknown(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    journal_path = tmp_path / "run.journal"
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        journal = Journal.open(journal_path)
        leave_open(journal, server, CANDIDATE_ID, path, "unknown")
        journal.close()
        # The listing taken first fails: the item may still be stored, so not "failed".
        server.queue(ScriptedResponse(status=500, body=b"oops", method="GET"))
        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            str(path),
            "--journal",
            str(journal_path),
            "--list-first",
            "--retries",
            "0",
            "--json",
            env=env_for(server),
        )

        assert result.returncode == 6
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "CLI.OUTCOME_UNKNOWN"
        assert "an earlier run stopped while sending it" in error["message"]
        assert posts(server) == 0


def test_a_download_that_fails_once_is_asked_again(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        server.queue(
            ScriptedResponse(drop_connection=True, store=True, method="POST"),
            # The listing as usual, then a proxy's 502 on the stored file's download.
            ScriptedResponse(store=True, method="GET"),
            ScriptedResponse(status=502, body=b"Bad gateway", method="GET"),
        )
        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            str(path),
            "--settle-delay",
            "0",
            "--json",
            env=env_for(server),
        )

        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["confirmed_by"] == "content"
        downloads = [r for r in server.requests if r.path.startswith("/files/")]
        assert len(downloads) == 2
        assert posts(server) == 1


@pytest.mark.parametrize("how", [("--list-first",), ()], ids=["list-first", "two-files"])
def test_verify_with_a_listing_taken_first_compares_bytes(
    tmp_path: Path, how: tuple[str, ...]
) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    first.write_bytes(make_pdf() + b"a")
    second.write_bytes(make_pdf() + b"b")
    files = [str(first)] + ([] if how else [str(second)])
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            *files,
            *how,
            "--verify",
            "--json",
            "-j",
            "1",
            env=env_for(server),
        )

    assert result.returncode == 0, result.stderr
    results = [json.loads(line) for line in result.stdout.splitlines()]
    uploads = [r for r in results if "status" in r]
    assert len(uploads) == len(files)
    assert all(r["verified"] is True for r in uploads)


def test_a_file_that_is_not_a_journal_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    other = tmp_path / "notes.txt"
    other.write_text("candidate_id,file\n")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"candidate_id,file\n{CANDIDATE_ID},{path}\n")
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        not_journal = run_kombo(
            "attach", CANDIDATE_ID, str(path), "--journal", str(other), env=env_for(server)
        )
        is_manifest = run_kombo(
            "attach",
            "--manifest",
            str(manifest),
            "--journal",
            str(manifest),
            env=env_for(server),
        )
        is_upload = run_kombo(
            "attach", CANDIDATE_ID, str(path), "--journal", str(path), env=env_for(server)
        )
        assert server.requests == []

    assert not_journal.returncode == 2
    assert "is not a kombo journal" in not_journal.stderr
    assert other.read_text() == "candidate_id,file\n"
    assert is_manifest.returncode == 2
    assert "is the manifest" in is_manifest.stderr
    assert is_upload.returncode == 2
    assert "is a file to upload" in is_upload.stderr
    assert path.read_bytes() == make_pdf()


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_settle_delay_and_timeout_must_be_real_numbers_of_seconds(
    tmp_path: Path, value: str
) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        for option in ("--settle-delay", "--timeout"):
            result = run_kombo(
                "attach", CANDIDATE_ID, str(path), option, value, env=env_for(server)
            )
            assert result.returncode == 2, (option, result.stderr)
            assert option in result.stderr
        assert server.requests == []


def test_ctrl_c_while_settling_half_sent_items_names_them_and_points_to_the_journal(
    tmp_path: Path,
) -> None:
    journal_path = tmp_path / "run.journal"
    manifest = tmp_path / "m.csv"
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        journal = Journal.open(journal_path)
        lines = ["candidate_id,file"]
        for n, target in enumerate(TARGETS[:2]):
            path = tmp_path / f"cv{n}.pdf"
            path.write_bytes(make_pdf() + bytes([n]))
            lines.append(f"{target},{path}")
            leave_open(journal, server, target, path)
        journal.close()
        manifest.write_text("\n".join(lines) + "\n")
        process = start_kombo(
            "attach",
            "--manifest",
            str(manifest),
            "--journal",
            str(journal_path),
            "--settle-delay",
            "30",
            "--json",
            "-j",
            "2",
            env=env_for(server),
        )
        try:
            # Wait until both items say they are in the pause before their first look.
            assert process.stderr is not None
            seen = b""
            deadline = time.monotonic() + 20
            while seen.count(b"checking the candidate's attachments") < 2:
                assert time.monotonic() < deadline, seen
                seen += process.stderr.readline()
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=20)
            stderr = seen + stderr
        finally:
            process.kill()

    assert process.returncode == 130, stderr
    lines_out = [json.loads(line) for line in stdout.decode().splitlines()]
    error = lines_out[-1]["error"]
    assert error["code"] == "CLI.INTERRUPTED"
    named = {item["file"] for item in error["may_have_been_stored"]}
    assert named == {str(tmp_path / "cv0.pdf"), str(tmp_path / "cv1.pdf")}
    assert "--journal" in error["hint"]
    assert server.requests == []


def test_a_journal_never_lets_records_for_one_api_or_integration_stand_for_another(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    journal = tmp_path / "run.journal"
    args = ["attach", CANDIDATE_ID, str(path), "--journal", str(journal), "--json"]
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as first:
        assert run_kombo(*args, env=env_for(first)).returncode == 0
    with KomboServer(api_key=API_KEY, integration_id="other:integration") as second:
        other = {**env_for(second), "KOMBO_INTEGRATION_ID": "other:integration"}
        result = run_kombo(*args, env=other)

        # Stored in the first integration; this one still needs it.
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["status"] == "success"
        assert [a.data for a in second.attachments] == [make_pdf()]
