"""The sandbox's own behaviour beyond the attachment rules: candidates, integrations, storage."""

from __future__ import annotations

import base64
import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from kombo_cli.sandbox.candidate_shape import full_candidate
from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.sample_candidates import (
    FRANK_DOE_ID,
    MARIA_GARCIA_ID,
)
from kombo_cli.sandbox.server import SandboxServer

KEY = "sandbox-key"
INTEGRATION = "sandbox:local"
# IDs in Kombo's format that no sample has: without --strict-ids they exist, with no files.
CANDIDATE = "GRKdd9dibYKKCrmGRSMJf3wu"
APPLICATION = "8Xi6iZrwusZqJmDGXs49GBmJ"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(data_dir=tmp_path / "data")) as server:
        yield server


def call(
    server: SandboxServer, method: str, path: str, body: Any = None, integration: bool = True
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}
    if integration:
        headers["X-Integration-Id"] = INTEGRATION
    raw = None
    if body is not None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=raw, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def upload(server: SandboxServer, target: str, name: str, data: bytes) -> int:
    body = {
        "attachment": {
            "name": name,
            "type": "CV",
            "content_type": "application/pdf",
            "data": base64.b64encode(data).decode(),
        }
    }
    status, _ = call(
        server, "POST", f"/v1/ats/candidates/{quote(target, safe='')}/attachments", body
    )
    return status


def test_candidates_by_email_ignore_case(sandbox: SandboxServer) -> None:
    status, payload = call(sandbox, "GET", "/v1/ats/candidates?email=maria.garcia%40EXAMPLE.com")
    assert status == 200
    assert [c["id"] for c in payload["data"]["results"]] == [MARIA_GARCIA_ID]
    assert payload["data"]["next"] is None
    assert "warnings" not in payload


def test_candidates_page_with_a_cursor_that_requires_the_same_filters(
    sandbox: SandboxServer,
) -> None:
    _, first = call(sandbox, "GET", "/v1/ats/candidates?page_size=2&include_deleted=false")
    cursor = first["data"]["next"]
    assert len(first["data"]["results"]) == 2 and cursor

    _, second = call(
        sandbox, "GET", f"/v1/ats/candidates?page_size=2&include_deleted=false&cursor={cursor}"
    )
    status, changed = call(sandbox, "GET", f"/v1/ats/candidates?page_size=2&cursor={cursor}")

    seen = [c["id"] for c in first["data"]["results"] + second["data"]["results"]]
    assert seen == [c["id"] for c in sandbox.candidates]
    assert second["data"]["next"] is None
    assert status == 400
    assert "same filters" in changed["error"]["message"]


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("emails=x", 400, "Unknown query parameter 'emails'"),
        ("page_size=0", 400, "'page_size'"),
        ("page_size=251", 400, "'page_size'"),
        ("include_deleted=yes", 400, "true or false"),
        ("email=a%40b.c&email=d%40e.f", 400, "more than once"),
        ("cursor=garbage", 400, "'cursor'"),
        ("ids=NoSuchCandidate", 404, "NoSuchCandidate"),
        ("updated_after=yesterday", 400, "'updated_after'"),
    ],
)
def test_candidate_query_errors(
    sandbox: SandboxServer, query: str, status: int, message: str
) -> None:
    got_status, payload = call(sandbox, "GET", f"/v1/ats/candidates?{query}")
    assert got_status == status
    assert payload["error"]["code"] == "PLATFORM.INPUT_INVALID"
    assert message in payload["error"]["message"]


def test_candidate_filters_combine(sandbox: SandboxServer) -> None:
    _, payload = call(
        sandbox, "GET", f"/v1/ats/candidates?ids={FRANK_DOE_ID},{MARIA_GARCIA_ID}&first_name=FRANK"
    )
    assert [c["id"] for c in payload["data"]["results"]] == [FRANK_DOE_ID]


def test_integration_details_need_no_integration_header(sandbox: SandboxServer) -> None:
    status, payload = call(sandbox, "GET", "/v1/integrations/sandbox%3Alocal", integration=False)
    assert status == 200
    assert payload["data"]["id"] == INTEGRATION

    status, payload = call(sandbox, "GET", "/v1/integrations/workday:other", integration=False)
    assert status == 404
    assert payload["error"]["code"] == "PLATFORM.INTEGRATION_NOT_FOUND"


def serving(tmp_path: Path, *candidate_ids: str) -> SandboxServer:
    """A sandbox whose candidates file names these IDs, which then exist as written."""
    candidates = [full_candidate({"id": candidate_id}) for candidate_id in candidate_ids]
    return SandboxServer(SandboxConfig(data_dir=tmp_path / "data", candidates=candidates))


def test_uploads_are_files_named_after_the_attachment(tmp_path: Path) -> None:
    data = os.urandom(5000)
    with serving(tmp_path, "a/b") as sandbox:
        assert upload(sandbox, "a/b", "cv.pdf", data) == 200
        assert upload(sandbox, "a/b", "cv.pdf", data[::-1]) == 200
        assert upload(sandbox, "a/b", "../../etc/passwd", b"x") == 200
        assert upload(sandbox, "a/b", ".hidden", b"y") == 200

    folder = sandbox.config.data_dir / "candidates" / "a%2Fb"
    assert (folder / "cv.pdf").read_bytes() == data
    assert (folder / "cv (2).pdf").read_bytes() == data[::-1]
    assert (folder / "_.._etc_passwd").read_bytes() == b"x"
    assert (folder / "hidden").read_bytes() == b"y"
    assert sorted(p.name for p in folder.iterdir()) == [
        "_.._etc_passwd",
        "cv (2).pdf",
        "cv.pdf",
        "hidden",
    ]


def test_a_data_url_upload_is_a_text_file_holding_the_url(sandbox: SandboxServer) -> None:
    body = {"attachment": {"name": "cv.pdf", "type": "CV", "data_url": "https://x.example/cv.pdf"}}
    status, _ = call(sandbox, "POST", f"/v1/ats/applications/{APPLICATION}/attachments", body)

    assert status == 200
    stored = sandbox.config.data_dir / "applications" / APPLICATION / "cv.pdf.url.txt"
    assert stored.read_text() == "https://x.example/cv.pdf\n"
    _, listing = call(sandbox, "GET", f"/v1/ats/applications/{APPLICATION}/attachments")
    [item] = listing["data"]["results"]
    assert (item["data_url"], item["content_type"]) == (
        "https://x.example/cv.pdf",
        "application/pdf",
    )


def test_large_uploads_are_spooled_and_stored_exactly(sandbox: SandboxServer) -> None:
    data = os.urandom(9 * 1024 * 1024)
    assert upload(sandbox, CANDIDATE, "scan.pdf", data) == 200
    assert (sandbox.config.data_dir / "candidates" / CANDIDATE / "scan.pdf").read_bytes() == data


def test_a_bad_upload_leaves_no_file_behind(sandbox: SandboxServer) -> None:
    body = {
        "attachment": {
            "name": "cv.pdf",
            "type": "CV",
            "content_type": "application/pdf",
            "data": "QUJD" * 1000 + "!!!!",
        }
    }
    status, payload = call(sandbox, "POST", f"/v1/ats/candidates/{CANDIDATE}/attachments", body)

    assert status == 400
    assert "not valid base64" in payload["error"]["message"]
    folder = sandbox.config.data_dir / "candidates" / CANDIDATE
    assert not folder.exists() or list(folder.iterdir()) == []


def test_listings_survive_a_restart_with_the_same_data_dir(tmp_path: Path) -> None:
    config = SandboxConfig(data_dir=tmp_path)
    with SandboxServer(config) as first:
        assert upload(first, CANDIDATE, "cv.pdf", b"%PDF-1.4") == 200
    with SandboxServer(config) as second:
        status, payload = call(second, "GET", f"/v1/ats/candidates/{CANDIDATE}/attachments")
    assert status == 200
    assert [item["file_name"] for item in payload["data"]["results"]] == ["cv.pdf"]


def test_attachment_gets_count_towards_the_concurrency_limit(tmp_path: Path) -> None:
    config = SandboxConfig(data_dir=tmp_path, concurrency_limit=1, latency_s=0.5)
    with SandboxServer(config) as server:
        results: list[int] = []
        slow = threading.Thread(
            target=lambda: results.append(
                call(server, "GET", f"/v1/ats/candidates/{CANDIDATE}/attachments")[0]
            )
        )
        slow.start()
        time.sleep(0.15)
        status, payload = call(server, "GET", f"/v1/ats/candidates/{CANDIDATE}/attachments")
        slow.join()
    assert results == [200]
    assert status == 429
    assert payload["error"]["code"] == "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"


@pytest.mark.parametrize(
    ("host", "url_host"),
    [("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("::1", "[::1]"), ("::", "[::1]")],
)
def test_printed_url_is_one_clients_on_this_machine_can_use(
    tmp_path: Path, host: str, url_host: str
) -> None:
    try:
        server = SandboxServer(SandboxConfig(data_dir=tmp_path, host=host)).start()
    except OSError:
        pytest.skip(f"cannot bind {host} here")
    try:
        assert server.base_url == f"http://{url_host}:{server.port}/v1"
        status, _ = call_url(server.base_url + "/check-api-key")
        assert status == 200
    finally:
        server.stop()


def call_url(url: str) -> tuple[int, Any]:
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


# -- robustness ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"attachment":{"name":"\\ud800.pdf","type":"CV","content_type":"application/pdf",'
            b'"data":"QQ=="}}',
            "unpaired UTF-16 surrogate",
        ),
        (
            b'{"attachment":{"name":"cv.pdf","type":"CV","data_url":"http://[::1"}}',
            "absolute http(s) URL",
        ),
        (
            b'{"attachment":{"name":"' + b"n" * (1024 * 1024) + b'.pdf","type":"CV",'
            b'"content_type":"application/pdf","data":"QQ=="}}',
            "must fit in 1024 KiB",
        ),
    ],
    ids=["surrogate", "broken-ipv6-url", "huge-name"],
)
def test_odd_bodies_are_refused_not_crashed(
    sandbox: SandboxServer, body: bytes, message: str
) -> None:
    status, payload = call(sandbox, "POST", f"/v1/ats/candidates/{CANDIDATE}/attachments", body)
    assert status == 400
    assert payload["error"]["code"] == "PLATFORM.INPUT_INVALID"
    assert message in payload["error"]["message"]
    assert sandbox.errors == []
    assert sandbox.store.all() == []


def test_a_cursor_with_an_absurd_offset_is_refused(sandbox: SandboxServer) -> None:
    raw = base64.urlsafe_b64encode(b'{"offset": 1e9999, "filters": "x"}').decode().rstrip("=")
    status, payload = call(sandbox, "GET", f"/v1/ats/candidates?cursor={raw}")
    assert status == 400
    assert "'cursor'" in payload["error"]["message"]
    assert sandbox.errors == []


def test_very_long_ids_get_a_short_unique_folder(tmp_path: Path) -> None:
    long_a, long_b = "é" * 150 + "a", "é" * 150 + "b"
    with serving(tmp_path, long_a, long_b) as sandbox:
        assert upload(sandbox, long_a, "cv.pdf", b"a") == 200
        assert upload(sandbox, long_b, "cv.pdf", b"b") == 200
        stored = {a.target_id: a.data for a in sandbox.store.all()}
    assert stored == {long_a: b"a", long_b: b"b"}


def test_same_name_uploads_at_once_never_overwrite_each_other(sandbox: SandboxServer) -> None:
    payloads = [os.urandom(2000) for _ in range(24)]
    statuses: list[int] = []
    threads = [
        threading.Thread(
            target=lambda payload=payload: statuses.append(
                upload(sandbox, CANDIDATE, "cv.pdf", payload)
            )
        )
        for payload in payloads
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(payloads)
    folder = sandbox.config.data_dir / "candidates" / CANDIDATE
    on_disk = sorted(path.read_bytes() for path in folder.iterdir())
    assert on_disk == sorted(payloads)


def test_refusals_over_the_limit_report_no_remaining_capacity(tmp_path: Path) -> None:
    config = SandboxConfig(data_dir=tmp_path, concurrency_limit=1, latency_s=0.5)
    with SandboxServer(config) as server:
        slow = threading.Thread(
            target=call, args=(server, "GET", f"/v1/ats/candidates/{CANDIDATE}/attachments")
        )
        slow.start()
        time.sleep(0.15)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request(
            "GET",
            f"/v1/ats/candidates/{CANDIDATE}/attachments",
            headers={"Authorization": f"Bearer {KEY}", "X-Integration-Id": INTEGRATION},
        )
        response = connection.getresponse()
        response.read()
        slow.join()
    assert response.status == 429
    assert response.getheader("Concurrency-Limit") == "1"
    assert response.getheader("Concurrency-Remaining") == "0"


def test_fail_rate_answers_carry_retry_after(tmp_path: Path) -> None:
    with SandboxServer(SandboxConfig(data_dir=tmp_path, fail_rate=1.0, random_seed=7)) as server:
        statuses = set()
        for _ in range(12):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request(
                "POST",
                f"/v1/ats/candidates/{CANDIDATE}/attachments",
                body=b"{}",
                headers={
                    "Authorization": f"Bearer {KEY}",
                    "X-Integration-Id": INTEGRATION,
                    "Content-Type": "application/json",
                },
            )
            response = connection.getresponse()
            response.read()
            statuses.add(response.status)
            assert response.getheader("Retry-After") == "1"
    assert statuses == {429, 503}
    assert server.store.all() == []


def test_a_candidate_listing_includes_its_applications_files(sandbox: SandboxServer) -> None:
    from kombo_cli.sandbox.sample_candidates import FRANK_DOE_APPLICATION_ID

    body = {
        "attachment": {
            "name": "letter.pdf",
            "type": "COVER_LETTER",
            "content_type": "application/pdf",
            "data": base64.b64encode(b"%PDF").decode(),
        }
    }
    call(sandbox, "POST", f"/v1/ats/applications/{FRANK_DOE_APPLICATION_ID}/attachments", body)
    _, payload = call(sandbox, "GET", f"/v1/ats/candidates/{FRANK_DOE_ID}/attachments")

    [item] = payload["data"]["results"]
    assert (item["file_name"], item["application_id"], item["candidate_id"]) == (
        "letter.pdf",
        FRANK_DOE_APPLICATION_ID,
        FRANK_DOE_ID,
    )


def test_strict_ids_keep_candidates_and_applications_apart(tmp_path: Path) -> None:
    from kombo_cli.commands.sandbox import known_ids
    from kombo_cli.sandbox.sample_candidates import FRANK_DOE_APPLICATION_ID, sample_candidates

    config = SandboxConfig(data_dir=tmp_path, known_ids=known_ids(sample_candidates()))
    with SandboxServer(config) as server:
        swapped = call(server, "GET", f"/v1/ats/applications/{FRANK_DOE_ID}/attachments")[0]
        right = call(server, "GET", f"/v1/ats/applications/{FRANK_DOE_APPLICATION_ID}/attachments")
    assert swapped == 404
    assert right[0] == 200


def test_unfinished_uploads_are_removed_and_damaged_index_lines_skipped(tmp_path: Path) -> None:
    with SandboxServer(SandboxConfig(data_dir=tmp_path)) as server:
        assert upload(server, CANDIDATE, "cv.pdf", b"%PDF") == 200
    partial = tmp_path / "candidates" / CANDIDATE / ".upload-abc.part"
    partial.write_bytes(b"half")
    with (tmp_path / "index.jsonl").open("a") as index:
        index.write('{"name": 5}\nnot json\n')

    with SandboxServer(SandboxConfig(data_dir=tmp_path)) as server:
        _, payload = call(server, "GET", f"/v1/ats/candidates/{CANDIDATE}/attachments")
    assert not partial.exists()
    assert [item["file_name"] for item in payload["data"]["results"]] == ["cv.pdf"]


def test_an_index_that_is_not_text_stops_the_start(tmp_path: Path) -> None:
    from kombo_cli.sandbox.store import StoreError

    (tmp_path / "index.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(StoreError, match=r"index\.jsonl"):
        SandboxServer(SandboxConfig(data_dir=tmp_path))
