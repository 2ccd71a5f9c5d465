"""Lost replies settled on evidence, never on a name or a date alone: the hard cases.

Each test runs `kombo attach` against the loopback Kombo with one upload whose reply is
lost (or a listing shaped as ATSs shape them), and asserts what the server stored.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.helpers import API_KEY, CANDIDATE_ID, INTEGRATION_ID, make_pdf, run_kombo
from tests.recording_server import KomboServer, ScriptedResponse, StoredAttachment, error_envelope
from tests.seeding import seed_file

POST_PATH = f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"
# Check at once: the tests do not wait on the settle pauses.
FAST = ("--settle-delay", "0", "--json")


def env_for(server: KomboServer) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
    }


def cv(tmp_path: Path, extra: bytes = b"") -> Path:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf() + extra)
    return path


def posts(server: KomboServer) -> int:
    return sum(1 for r in server.requests if r.method == "POST" and r.path == POST_PATH)


def stored_bytes(server: KomboServer) -> list[bytes]:
    return [a.data or b"" for a in server.attachments]


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


LOST_AFTER_STORING = {
    "dropped": ScriptedResponse(drop_connection=True, store=True),
    "502": ScriptedResponse(status=502, body=b"Bad gateway", store=True),
    "520": ScriptedResponse(status=520, body=b"error code: 520", store=True),
    "524": ScriptedResponse(status=524, body=b"error code: 524", store=True),
    "html-503": ScriptedResponse(
        status=503,
        body=b"<html><title>503 Service Temporarily Unavailable</title></html>",
        headers={"Content-Type": "text/html"},
        store=True,
    ),
    "kombo-500": ScriptedResponse(
        status=500, body=error_envelope("Oops.", code="PLATFORM.UNKNOWN_ERROR"), store=True
    ),
}


@pytest.mark.parametrize("failure", sorted(LOST_AFTER_STORING))
@pytest.mark.parametrize(
    "style",
    [
        {},
        {"undated": True},
        {"rename_as": "Candidate - {name}"},
        {"undated": True, "rename_as": "{name}.renamed"},
    ],
    ids=["plain", "undated", "renamed", "undated-renamed"],
)
def test_a_stored_upload_whose_reply_is_lost_is_found_by_its_bytes_and_not_sent_twice(
    tmp_path: Path, failure: str, style: dict[str, object]
) -> None:
    path = cv(tmp_path)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, **style) as server:  # type: ignore[arg-type]
        server.queue(LOST_AFTER_STORING[failure])
        result = run_kombo("attach", CANDIDATE_ID, str(path), *FAST, env=env_for(server))

        assert result.returncode == 0, result.stderr
        payload = json.loads(result.stdout)
        assert payload["status"] == "success"
        assert payload["confirmed_by"] == "content"
        assert posts(server) == 1
        assert stored_bytes(server) == [path.read_bytes()]


@pytest.mark.parametrize(
    "style", [{}, {"undated": True}, {"rename_as": "Candidate - {name}"}], ids=str
)
def test_with_a_listing_taken_first_a_new_attachment_id_proves_storage(
    tmp_path: Path, style: dict[str, object]
) -> None:
    path = cv(tmp_path)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, **style) as server:  # type: ignore[arg-type]
        # Another file was there before: its id is in the snapshot, so it is not new.
        seed_file(server, CANDIDATE_ID, "cv.pdf", b"an older CV", created_at=None)
        server.queue(
            ScriptedResponse(status=524, body=b"error code: 524", store=True, method="POST")
        )
        result = run_kombo(
            "attach", CANDIDATE_ID, str(path), "--list-first", *FAST, env=env_for(server)
        )

        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["confirmed_by"] == "id"
        assert posts(server) == 1
        assert sorted(stored_bytes(server)) == sorted([b"an older CV", path.read_bytes()])
        # Identity needs no download.
        assert not any(r.path.startswith("/files/") for r in server.requests)


@pytest.mark.parametrize(
    "created_at",
    [None, "2024-01-02T03:04:05Z"],
    ids=["undated", "older"],
)
def test_an_earlier_same_name_file_with_other_bytes_never_makes_a_lost_upload_attached(
    tmp_path: Path, created_at: str | None
) -> None:
    path = cv(tmp_path)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        seed_file(server, CANDIDATE_ID, "cv.pdf", b"last year's CV", created_at=created_at)
        # Kombo's own error: it did not store the file.
        server.queue(
            ScriptedResponse(
                status=500, body=error_envelope("Oops.", code="PLATFORM.UNKNOWN_ERROR")
            )
        )
        result = run_kombo("attach", CANDIDATE_ID, str(path), *FAST, env=env_for(server))

        assert result.returncode == 0, result.stderr
        payload = json.loads(result.stdout)
        assert payload["confirmed_by"] == "reply"
        assert payload["attempts"] == 2
        assert sorted(stored_bytes(server)) == sorted([b"last year's CV", path.read_bytes()])


def test_a_same_name_file_with_other_bytes_dated_since_the_upload_began_is_not_taken_for_it(
    tmp_path: Path,
) -> None:
    # It may be this upload changed by the ATS, or someone else's: neither "attached" nor
    # sent again, but exit 6 naming the file to look at.
    path = cv(tmp_path)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        seed_file(
            server,
            CANDIDATE_ID,
            "cv.pdf",
            b"another CV",
            created_at=iso(datetime.now(timezone.utc)),
        )
        server.queue(ScriptedResponse(status=502, body=b"Bad gateway"))
        result = run_kombo("attach", CANDIDATE_ID, str(path), *FAST, env=env_for(server))

        assert result.returncode == 6
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "CLI.OUTCOME_UNKNOWN"
        assert (
            "dated about when the upload began or later, but with other bytes" in error["message"]
        )
        assert server.attachments[0].id in error["message"]
        assert posts(server) == 1
        assert stored_bytes(server) == [b"another CV"]


@pytest.mark.parametrize(
    "skew", [timedelta(minutes=-10), timedelta(days=-1)], ids=["clock-10-min-behind", "a-day"]
)
def test_a_stored_file_with_a_skewed_date_is_found_by_its_bytes(
    tmp_path: Path, skew: timedelta
) -> None:
    path = cv(tmp_path)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        server.queue(ScriptedResponse(status=502, body=b"Bad gateway"))
        # The lost upload reached the ATS, whose clock (or day-only date) says otherwise.
        moment = datetime.now(timezone.utc) + skew
        seed_file(server, CANDIDATE_ID, "cv.pdf", path.read_bytes(), created_at=iso(moment))
        result = run_kombo("attach", CANDIDATE_ID, str(path), *FAST, env=env_for(server))

        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["confirmed_by"] == "content"
        assert posts(server) == 1
        assert len(server.attachments) == 1


def test_a_day_precision_date_counts_as_today(tmp_path: Path) -> None:
    path = cv(tmp_path)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        # A renamed file dated only by day, with other bytes: it may be this upload.
        seed_file(
            server, CANDIDATE_ID, "CV (1).pdf", b"changed by the ATS", created_at=iso(midnight)
        )
        server.queue(ScriptedResponse(status=502, body=b"Bad gateway"))
        result = run_kombo("attach", CANDIDATE_ID, str(path), *FAST, env=env_for(server))

        assert result.returncode == 6
        assert posts(server) == 1


def test_the_key_never_goes_to_another_hosts_data_url(tmp_path: Path) -> None:
    path = cv(tmp_path)
    with (
        KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as files,
        KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as api,
    ):
        # The ATS stored the upload; Kombo lists it with a download address on another host.
        hosted = seed_file(files, CANDIDATE_ID, "cv.pdf", path.read_bytes())
        elsewhere = files.base_url[: -len("/v1")] + f"/files/{hosted.id}"
        api.attachments.append(
            StoredAttachment(
                target_kind="candidate",
                target_id=CANDIDATE_ID,
                name="cv.pdf",
                type="CV",
                data_url=elsewhere,
            )
        )
        api.queue(ScriptedResponse(status=502, body=b"Bad gateway", method="POST"))
        result = run_kombo("attach", CANDIDATE_ID, str(path), *FAST, env=env_for(api))

        downloads = [r for r in files.requests if r.path == f"/files/{hosted.id}"]
        assert downloads, result.stderr
        for request in downloads:
            assert "authorization" not in {name.lower() for name, _ in request.headers}
            assert API_KEY not in repr(request.headers)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["confirmed_by"] == "content"
        assert posts(api) == 1


def test_an_upload_by_url_is_settled_by_identity_or_reported_unknown(tmp_path: Path) -> None:
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        server.queue(ScriptedResponse(status=502, body=b"Bad gateway", store=True))
        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            "--url",
            "https://files.example/cv.pdf",
            *FAST,
            env=env_for(server),
        )

        # No local bytes to compare, and no listing from before: it cannot tell.
        assert result.returncode == 6
        assert "no local bytes to compare" in json.loads(result.stdout)["error"]["message"]
        assert posts(server) == 1


def test_the_debug_log_shows_the_download_but_never_the_key(tmp_path: Path) -> None:
    path = cv(tmp_path)
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        server.queue(ScriptedResponse(status=502, body=b"Bad gateway", store=True))
        result = run_kombo(
            "attach", CANDIDATE_ID, str(path), "-vv", "--settle-delay", "0", env=env_for(server)
        )

    assert result.returncode == 0, result.stderr
    assert "a listed file, to compare its SHA-256; with the key" in result.stderr
    assert API_KEY not in result.stderr + result.stdout


def test_a_listed_file_longer_than_what_it_could_match_is_not_read_to_the_end() -> None:
    import hashlib

    from kombo_cli.api.client import KomboClient

    data = b"x" * 300_000
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        stored = seed_file(server, CANDIDATE_ID, "big.pdf", data)
        client = KomboClient(server.base_url, API_KEY, INTEGRATION_ID)
        url = server.base_url[: -len("/v1")] + f"/files/{stored.id}"

        found = client.stored_file_digest(url, len(data))
        longer = client.stored_file_digest(url, len(data) - 1)

    assert found is not None
    assert found.sha256 == hashlib.sha256(data).hexdigest()
    assert found.size == len(data)
    # Longer than the limit: no digest, so it is never taken for a file of that size.
    assert longer is None
