"""Exactly-once edge cases: journals, siblings under way, --verify bounds, stale evidence."""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kombo_cli.api.client import KomboClient
from kombo_cli.api.retry import RetryPolicy
from kombo_cli.api.targets import Target
from kombo_cli.errors import KomboError
from kombo_cli.upload.delivery import deliver
from kombo_cli.upload.evidence import Sibling, Sought, Verdict, look_for
from kombo_cli.upload.journal import Journal
from kombo_cli.upload.ledger import Ledger, Listing
from kombo_cli.upload.plan import plan_attachment
from tests.helpers import API_KEY, CANDIDATE_ID, INTEGRATION_ID, make_pdf, run_kombo
from tests.recording_server import (
    KomboServer,
    ScriptedResponse,
    StoredAttachment,
    error_envelope,
)
from tests.seeding import seed_file, tolerate_odd_dates


def env_for(server: KomboServer, base_url: str | None = None) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": base_url or server.base_url,
    }


def posts(server: KomboServer) -> int:
    return sum(1 for r in server.requests if r.method == "POST")


def lines(stdout: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def iso_now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


# -- the journal --------------------------------------------------------------------------------


def test_a_url_upload_stored_by_an_earlier_run_is_not_sent_again_on_a_rerun(
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"candidate_id,url\n{CANDIDATE_ID},https://files.example/cv.pdf\n")
    journal = tmp_path / "journal.jsonl"
    args = ["attach", "--manifest", str(manifest), "--journal", str(journal), "--json"]
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        first = run_kombo(*args, env=env_for(server))
        assert first.returncode == 0, first.stderr
        assert posts(server) == 1

        rerun = run_kombo(*args, env=env_for(server))

        assert rerun.returncode == 0, rerun.stderr
        assert lines(rerun.stdout)[0]["status"] == "skipped"
        assert posts(server) == 1
        assert len(server.attachments) == 1


def test_a_rerun_with_the_same_base_url_spelled_otherwise_still_uses_the_journal(
    tmp_path: Path,
) -> None:
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    journal = tmp_path / "journal.jsonl"
    args = ["attach", CANDIDATE_ID, str(cv), "--journal", str(journal), "--json"]
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        assert run_kombo(*args, env=env_for(server)).returncode == 0
        # The same API: only the scheme's case differs.
        spelled = "HTTP" + server.base_url[len("http") :]

        rerun = run_kombo(*args, env=env_for(server, spelled))

        assert rerun.returncode == 0, rerun.stderr
        assert posts(server) == 1, "stored by the first run, sent again"
        assert len(server.attachments) == 1


def test_an_immediate_rerun_after_a_timeout_does_not_resend_while_kombo_may_still_store(
    tmp_path: Path,
) -> None:
    """The first run's upload timed out (Kombo may store it minutes later): the run ends
    unknown and says to run again with the journal. A rerun seconds later finds nothing
    listed yet; sending again then risks the second copy the first run refused to risk."""
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    journal = tmp_path / "journal.jsonl"
    args = [
        "attach",
        CANDIDATE_ID,
        str(cv),
        "--journal",
        str(journal),
        "--json",
        "--timeout",
        "0.5",
        "--settle-delay",
        "0",
    ]
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        # Held past --timeout; not stored yet when the listings are read.
        server.queue(ScriptedResponse(status=504, body=b"", delay_s=1.5, method="POST"))
        first = run_kombo(*args, env=env_for(server))
        assert first.returncode == 6, first.stdout
        assert posts(server) == 1

        rerun = run_kombo(*args, env=env_for(server))

        assert posts(server) == 1, "sent again seconds after a timed-out attempt"
        assert rerun.returncode == 6


# -- siblings under way -------------------------------------------------------------------------


def _client(server: KomboServer) -> KomboClient:
    return KomboClient(server.base_url, API_KEY, INTEGRATION_ID)


def test_an_upload_under_way_with_the_same_bytes_does_not_account_for_a_lost_ones_file(
    tmp_path: Path,
) -> None:
    """Two rows send the same bytes under two names to one candidate, concurrently. The
    first one's reply is lost after Kombo stored it; the second one is still being sent (not
    stored yet). The file listed is the first one's: it must not be sent again."""
    data = make_pdf()
    (tmp_path / "a.pdf").write_bytes(data)
    (tmp_path / "b.pdf").write_bytes(data)
    target = Target.parse(CANDIDATE_ID, application=False)
    first = plan_attachment(target, str(tmp_path / "a.pdf"))
    second = plan_attachment(target, str(tmp_path / "b.pdf"))
    ledger = Ledger()
    ledger.begin(second)  # under way on another worker
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        server.queue(
            ScriptedResponse(
                status=500,
                body=error_envelope("Oops.", code="PLATFORM.UNKNOWN_ERROR"),
                store=True,
                method="POST",
            )
        )
        with contextlib.suppress(KomboError):  # unknown is acceptable, a second copy is not
            deliver(
                _client(server),
                first,
                RetryPolicy(retries=3, settle_delay_s=0, jitter=lambda: 0.0),
                ledger=ledger,
                sleep=lambda _s: None,
            )

        assert posts(server) == 1
        assert len(server.attachments) == 1


def test_look_for_does_not_call_absent_when_only_an_unsettled_sibling_explains_the_file() -> None:
    digest = hashlib.sha256(b"same bytes").hexdigest()
    sought = Sought("a.pdf", "candidate", digest, 10, datetime.now(timezone.utc))
    listed = [
        {"id": "A1", "file_name": "a.pdf", "remote_created_at": iso_now(), "data_url": "u://a"}
    ]
    under_way = Sibling(digest, 10, stored=False)

    found = look_for(listed, sought, None, [under_way], lambda _url, _limit: digest)

    assert found.verdict is not Verdict.ABSENT


# -- --verify and the bounds --------------------------------------------------------------------


def test_verify_of_the_21st_upload_to_one_target_is_not_a_mismatch(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    rows = ["candidate_id,file"]
    for n in range(21):
        path = folder / f"f{n:02d}.txt"
        path.write_bytes(f"file number {n}\n".encode())
        rows.append(f"{CANDIDATE_ID},{path}")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    args = ["attach", "--manifest", str(manifest), "--verify", "-j", "1", "--json"]
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        ran = run_kombo(*args, "--settle-delay", "0", env=env_for(server))
        assert len(server.attachments) == 21

    results = lines(ran.stdout)[:21]
    failed = [r for r in results if r["status"] != "success"]
    assert not failed, failed
    assert ran.returncode == 0


# -- stale siblings -----------------------------------------------------------------------------


def test_an_old_journal_record_does_not_excuse_a_new_file_with_other_bytes(tmp_path: Path) -> None:
    """As test_evidence's "dated since the upload began with other bytes" (exit 6), but the
    journal also holds a file an earlier run stored there long ago, under another name."""
    other_bytes = make_pdf() + b"other"
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    journal = tmp_path / "journal.jsonl"
    common = ["--journal", str(journal), "--json", "--settle-delay", "0"]
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        # An earlier run stored other.pdf there long ago, as its journal says.
        seed_file(server, CANDIDATE_ID, "other.pdf", other_bytes)
        scope = f"{server.base_url} {INTEGRATION_ID}"
        opened = Journal.open(journal)
        opened.write(
            opened.item("candidate", CANDIDATE_ID, str(tmp_path / "other.pdf"), scope),
            "stored",
            scope=scope,
            target={"kind": "candidate", "id": CANDIDATE_ID},
            name="other.pdf",
            size=len(other_bytes),
            sha256=hashlib.sha256(other_bytes).hexdigest(),
            started_at="2024-01-02T03:04:00+00:00",
            confirmed_by="reply",
        )
        opened.close()
        seed_file(server, CANDIDATE_ID, "cv.pdf", b"another CV", created_at=iso_now())
        server.queue(ScriptedResponse(status=502, body=b"Bad gateway", method="POST"))

        ran = run_kombo("attach", CANDIDATE_ID, str(cv), *common, env=env_for(server))

        assert posts(server) == 1, "sent again although a file dated since has other bytes"
        assert ran.returncode == 6


# -- the key and data_url -----------------------------------------------------------------------


def test_the_key_never_goes_to_a_host_hidden_behind_a_backslash_in_a_data_url(
    tmp_path: Path,
) -> None:
    """`http://other\\@api/...`: urlsplit reads the host after the "@" (the API's own), while
    requests connects to the host before the backslash."""
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    with (
        KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as elsewhere,
        KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as api,
    ):
        api_netloc = api.base_url.split("/")[2]
        other_netloc = elsewhere.base_url.split("/")[2]
        api.attachments.append(
            StoredAttachment(
                target_kind="candidate",
                target_id=CANDIDATE_ID,
                name="cv.pdf",
                type="CV",
                data_url=f"http://{other_netloc}\\@{api_netloc}/files/x",
            )
        )
        api.queue(ScriptedResponse(status=502, body=b"Bad gateway", method="POST"))
        run_kombo(
            "attach", CANDIDATE_ID, str(cv), "--settle-delay", "0", "--json", env=env_for(api)
        )

        assert elsewhere.requests, "the crafted data_url was not fetched from the other host"
        for request in elsewhere.requests:
            assert request.header("Authorization") is None
            assert API_KEY not in repr(request.headers)


# -- listings as ATSs give them -----------------------------------------------------------------


def test_one_new_attachment_listed_twice_is_not_two_new_ids() -> None:
    """Snapshot {old}; this run's other upload stored B; the lost upload A was not stored.
    The ATS lists B twice (as some do across pages): still one new id, B's."""
    digest = hashlib.sha256(b"A").hexdigest()
    sought = Sought("a.pdf", "candidate", digest, 1, datetime.now(timezone.utc))
    snapshot = Listing([{"id": "old", "file_name": "old.pdf"}])
    b = {"id": "B", "file_name": "b.pdf", "data_url": "u://b"}
    other = Sibling(hashlib.sha256(b"B").hexdigest(), 1, stored=True)

    found = look_for(
        [{"id": "old", "file_name": "old.pdf"}, b, dict(b)],
        sought,
        snapshot,
        [other],
        lambda _url, _limit: other.sha256,
    )

    assert found.verdict is not Verdict.STORED


def test_a_renamed_file_with_a_time_of_day_but_no_time_zone_is_compared(tmp_path: Path) -> None:
    """An ATS that lists local time without an offset, seven hours behind UTC: the stored
    upload (renamed) looks seven hours old. Like a day-only date, it may be this upload."""
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        local = (datetime.now(timezone.utc) - timedelta(hours=7)).replace(tzinfo=None)
        seed_file(
            server,
            CANDIDATE_ID,
            "Candidate - cv.pdf",
            cv.read_bytes(),
            created_at=local.isoformat(timespec="seconds"),
        )
        tolerate_odd_dates(server)
        server.queue(ScriptedResponse(status=502, body=b"Bad gateway", method="POST"))

        ran = run_kombo(
            "attach", CANDIDATE_ID, str(cv), "--settle-delay", "0", "--json", env=env_for(server)
        )

        assert posts(server) == 1, "the stored upload was sent again"
        assert ran.returncode in (0, 6)
