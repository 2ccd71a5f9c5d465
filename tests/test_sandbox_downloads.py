"""The sandbox's downloads and listing styles: a stored file's `data_url` serves its bytes,
`undated` lists null dates, and `rename_as` lists each file under a template's name.

Real HTTP on loopback with `requests`, as a client that checks a listing would use it.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.helpers import run_kombo
from tests.recording_server import DEFAULT_API_KEY, DEFAULT_INTEGRATION_ID, KomboServer
from tests.test_sandbox_cli import sandbox

CANDIDATE_ID = "GRKdd9dibYKKCrmGRSMJf3wu"
FILE_BYTES = b"%PDF-1.7\n\x00\x01\xff\xfe binary \xe2\x82\xac" * 50
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}", "X-Integration-Id": DEFAULT_INTEGRATION_ID}


@pytest.fixture
def server() -> Iterator[KomboServer]:
    with KomboServer() as running:
        yield running


def upload(
    server: KomboServer, name: str = "cv.pdf", content: bytes = FILE_BYTES, **fields: Any
) -> None:
    attachment: dict[str, Any] = {"name": name, "type": "CV"}
    if "data_url" not in fields:
        attachment["content_type"] = "application/pdf"
        attachment["data"] = base64.b64encode(content).decode("ascii")
    attachment.update(fields)
    reply = requests.post(
        f"{server.base_url}/ats/candidates/{CANDIDATE_ID}/attachments",
        json={"attachment": attachment},
        headers=AUTH,
        timeout=10,
    )
    assert reply.status_code == 200, reply.text


def listing(server: KomboServer, **headers: str) -> list[dict[str, Any]]:
    reply = requests.get(
        f"{server.base_url}/ats/candidates/{CANDIDATE_ID}/attachments",
        headers={**AUTH, **headers},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    results: list[dict[str, Any]] = reply.json()["data"]["results"]
    return results


# -- downloads ---------------------------------------------------------------------------


def test_a_stored_files_data_url_points_at_the_sandbox_and_serves_its_bytes(
    server: KomboServer,
) -> None:
    upload(server, "Frank CV.pdf")
    [item] = listing(server)

    assert item["data_url"] == f"{server.url}/files/{item['id']}"
    reply = requests.get(item["data_url"], timeout=10)

    assert reply.status_code == 200
    assert reply.content == FILE_BYTES
    assert reply.headers["Content-Length"] == str(len(FILE_BYTES))
    assert reply.headers["Content-Type"] == "application/pdf"


def test_the_download_serves_the_stored_content_type_and_each_file_its_own_bytes(
    server: KomboServer,
) -> None:
    upload(server, "notes.txt", b"first", content_type="text/plain")
    upload(server, "notes.txt", b"second", content_type="text/markdown")
    first, second = listing(server)

    assert first["data_url"] != second["data_url"]
    one, two = (requests.get(item["data_url"], timeout=10) for item in (first, second))
    assert (one.content, one.headers["Content-Type"]) == (b"first", "text/plain")
    assert (two.content, two.headers["Content-Type"]) == (b"second", "text/markdown")


def test_a_download_needs_no_key_and_ignores_a_wrong_one(server: KomboServer) -> None:
    upload(server)
    [item] = listing(server)

    plain = requests.get(item["data_url"], timeout=10)
    wrong = requests.get(
        item["data_url"], headers={"Authorization": "Bearer not-the-key"}, timeout=10
    )

    assert plain.content == wrong.content == FILE_BYTES
    assert plain.status_code == wrong.status_code == 200


def test_an_unknown_id_is_a_404_in_kombos_envelope(server: KomboServer) -> None:
    reply = requests.get(f"{server.url}/files/NoSuchAttachmentId12345", timeout=10)

    assert reply.status_code == 404
    assert reply.headers["Content-Type"] == "application/json"
    payload = reply.json()
    assert payload["status"] == "error"
    assert "NoSuchAttachmentId12345" in payload["error"]["message"]


def test_only_get_and_head_download(server: KomboServer) -> None:
    upload(server)
    [item] = listing(server)

    head = requests.head(item["data_url"], timeout=10)
    post = requests.post(item["data_url"], data=b"x", timeout=10)

    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(FILE_BYTES))
    assert post.status_code == 405
    assert post.headers["Allow"] == "GET, HEAD"


def test_a_data_url_upload_keeps_its_own_url(server: KomboServer) -> None:
    url = "https://files.example.com/cv.pdf?signature=abc"
    upload(server, "cv.pdf", data_url=url)
    [item] = listing(server)

    assert item["data_url"] == url
    # The sandbox never fetched it, so it has nothing to serve under its own origin.
    assert requests.get(f"{server.url}/files/{item['id']}", timeout=10).status_code == 404


def test_the_data_url_follows_the_host_the_client_used(server: KomboServer) -> None:
    # A proxy in front that keeps the Host header gets its own origin back.
    upload(server)
    [item] = listing(server, Host="proxy.test:9999")

    assert item["data_url"] == f"http://proxy.test:9999/files/{item['id']}"


@pytest.mark.parametrize("host", ["evil.test/path?", "a b", "x@y", ""])
def test_a_host_unfit_for_a_url_is_not_echoed(server: KomboServer, host: str) -> None:
    upload(server)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    path = f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"
    auth = "".join(f"{key}: {value}\r\n" for key, value in AUTH.items())
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    with sock:
        sock.sendall(request.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    body = received.partition(b"\r\n\r\n")[2].decode()

    assert f'"data_url":"{server.url}/files/' in body.replace(" ", "")


def test_downloads_are_recorded_with_the_headers_they_came_with(server: KomboServer) -> None:
    upload(server)
    [item] = listing(server)
    requests.get(item["data_url"], headers={"X-Probe": "1"}, timeout=10)

    download = server.requests[-1]
    assert (download.method, download.path) == ("GET", f"/files/{item['id']}")
    assert download.header("X-Probe") == "1"
    assert download.header("Authorization") is None


def test_a_download_is_not_counted_against_the_concurrency_limit(server: KomboServer) -> None:
    upload(server)
    [item] = listing(server)

    reply = requests.get(item["data_url"], timeout=10)

    assert "Concurrency-Limit" not in reply.headers


# -- listing styles ----------------------------------------------------------------------


def test_undated_lists_null_dates() -> None:
    with KomboServer(undated=True) as server:
        upload(server)
        [item] = listing(server)

    assert item["remote_created_at"] is None
    assert item["remote_updated_at"] is None


def test_dates_are_listed_by_default(server: KomboServer) -> None:
    upload(server)
    [item] = listing(server)

    assert item["remote_created_at"] == item["remote_updated_at"]
    assert item["remote_created_at"].endswith("Z")


def test_rename_as_lists_the_templates_name_and_keeps_the_bytes() -> None:
    with KomboServer(rename_as="Candidate - {name}") as server:
        upload(server, "Frank CV.pdf")
        [item] = listing(server)
        downloaded = requests.get(item["data_url"], timeout=10).content

    assert item["file_name"] == "Candidate - Frank CV.pdf"
    assert item["content_type"] == "application/pdf"
    assert downloaded == FILE_BYTES


def test_rename_as_leaves_other_braces_alone() -> None:
    with KomboServer(rename_as="{name} {id} {{x}}") as server:
        upload(server, "cv.pdf")
        [item] = listing(server)

    assert item["file_name"] == "cv.pdf {id} {{x}}"


def test_a_running_servers_config_change_applies_at_once(server: KomboServer) -> None:
    upload(server, "cv.pdf")
    server.config.rename_as = "[{name}]"
    server.config.undated = True
    [item] = listing(server)

    assert (item["file_name"], item["remote_created_at"]) == ("[cv.pdf]", None)


# -- the command line --------------------------------------------------------------------


def test_kombo_sandbox_takes_undated_and_rename_as() -> None:
    with sandbox("--undated", "--rename-as", "Candidate - {name}", "-q") as running:
        base_url = running.base_url
        headers = {
            "Authorization": f"Bearer {running.env['KOMBO_API_KEY']}",
            "X-Integration-Id": running.env["KOMBO_INTEGRATION_ID"],
        }
        body = {
            "attachment": {
                "name": "cv.pdf",
                "type": "CV",
                "content_type": "application/pdf",
                "data": base64.b64encode(FILE_BYTES).decode("ascii"),
            }
        }
        path = f"{base_url}/ats/candidates/{CANDIDATE_ID}/attachments"
        assert requests.post(path, json=body, headers=headers, timeout=10).status_code == 200
        [item] = requests.get(path, headers=headers, timeout=10).json()["data"]["results"]
        downloaded = requests.get(item["data_url"], timeout=10).content
        running.stop()

    assert item["file_name"] == "Candidate - cv.pdf"
    assert item["remote_created_at"] is None
    assert item["data_url"].startswith(base_url.removesuffix("/v1") + "/files/")
    assert downloaded == FILE_BYTES


def test_rename_as_without_name_is_refused() -> None:
    result = run_kombo("sandbox", "--port", "0", "--rename-as", "CV.pdf")

    assert result.returncode == 2
    assert "{name}" in result.stderr


def test_demo_refuses_the_listing_options() -> None:
    result = run_kombo("sandbox", "--demo", "--undated")

    assert result.returncode == 2
    assert "--undated" in result.stderr
