"""The chaos proxy on its own: each fault does what it says, seen with plain `requests` calls
against a KomboServer behind it (what reached the server, what it stored, what came back).
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from tests.chaos_proxy import FAULTS, ChaosProxy
from tests.recording_server import DEFAULT_API_KEY, DEFAULT_INTEGRATION_ID, KomboServer

CANDIDATE_ID = "GRKdd9dibYKKCrmGRSMJf3wu"
FILE_BYTES = b"%PDF-1.7\n" + bytes(range(256)) * 8
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}", "X-Integration-Id": DEFAULT_INTEGRATION_ID}


@contextmanager
def behind_proxy(**proxy_args: Any) -> Iterator[tuple[KomboServer, ChaosProxy]]:
    with KomboServer() as server, ChaosProxy(server.base_url, **proxy_args) as proxy:
        yield server, proxy


def only(fault: str, **proxy_args: Any) -> Any:
    """A server behind a proxy that gives every upload `fault` and passes everything else."""
    return behind_proxy(upload_weights={fault: 1}, other_weights={"pass": 1}, **proxy_args)


def upload_body(name: str = "cv.pdf", content: bytes = FILE_BYTES) -> dict[str, Any]:
    data = base64.b64encode(content).decode("ascii")
    return {
        "attachment": {"name": name, "type": "CV", "content_type": "application/pdf", "data": data}
    }


def attachments_url(base_url: str) -> str:
    return f"{base_url}/ats/candidates/{CANDIDATE_ID}/attachments"


def post(proxy: ChaosProxy, timeout: float = 10, **body: Any) -> requests.Response:
    return requests.post(
        attachments_url(proxy.base_url), json=upload_body(**body), headers=AUTH, timeout=timeout
    )


def stored_names(server: KomboServer) -> list[str]:
    return [a.name for a in server.attachments]


def test_pass_relays_the_reply_and_keeps_the_host() -> None:
    with only("pass") as (server, proxy):
        reply = post(proxy)
        listing = requests.get(attachments_url(proxy.base_url), headers=AUTH, timeout=10)
        [item] = listing.json()["data"]["results"]
        download = requests.get(item["data_url"], timeout=10)

        assert reply.status_code == 200
        assert reply.json() == {"status": "success", "data": {}, "warnings": []}
        assert reply.headers["Concurrency-Limit"] == "30"
        assert stored_names(server) == ["cv.pdf"]
        # The sandbox saw the proxy's Host, so its data_url leads back through the proxy.
        assert server.requests[0].header("Host") == proxy.url.removeprefix("http://")
        assert item["data_url"].startswith(f"{proxy.url}/files/")
        assert download.content == FILE_BYTES
        assert server.requests[-1].path == f"/files/{item['id']}"
        assert server.requests[0].json() == upload_body()
        assert proxy.counts == {"pass": 3}
        assert proxy.upload_counts == {"pass": 1}
        assert proxy.forwarded_uploads == 1


def test_drop_before_closes_and_nothing_reaches_the_server() -> None:
    with only("drop_before") as (server, proxy):
        with pytest.raises(requests.ConnectionError):
            post(proxy)

        assert server.requests == []
        assert proxy.upload_counts == {"drop_before": 1}
        assert proxy.forwarded_uploads == 0


def test_502_before_answers_without_forwarding() -> None:
    with only("502_before") as (server, proxy):
        reply = post(proxy)

        assert (reply.status_code, reply.text) == (502, "error code: 502")
        assert reply.headers["Server"] == "cloudflare"
        assert server.requests == []


def test_reset_upload_sends_a_tcp_reset_mid_body_and_forwards_nothing() -> None:
    big = bytes(4 * 1024 * 1024)
    with only("reset_upload") as (server, proxy):
        with pytest.raises(requests.ConnectionError):
            post(proxy, content=big)
        # At the socket: headers and part of the body sent, then the reset arrives.
        port = int(proxy.url.rpartition(":")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/ats/candidates/x/attachments HTTP/1.1\r\nHost: proxy\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b"{" * 600
            )
            with pytest.raises(ConnectionResetError):
                while sock.recv(1024):
                    pass

        assert server.requests == []
        assert proxy.upload_counts == {"reset_upload": 2}


def test_drop_after_stores_then_closes_without_replying() -> None:
    with only("drop_after") as (server, proxy):
        with pytest.raises(requests.ConnectionError):
            post(proxy)

        assert stored_names(server) == ["cv.pdf"]
        assert proxy.forwarded_uploads == 1
        [event] = proxy.events
        assert (event.fault, event.upstream_status, event.upload) == ("drop_after", 200, True)


def test_hold_outlasts_the_clients_timeout_after_storing() -> None:
    with only("hold", hold_s=2.0) as (server, proxy):
        started = time.monotonic()
        with pytest.raises(requests.ReadTimeout):
            post(proxy, timeout=0.5)

        assert time.monotonic() - started < 1.5
        server.wait_for_requests(1)
        assert stored_names(server) == ["cv.pdf"]


def test_hold_delivers_the_reply_late_to_a_patient_client() -> None:
    with only("hold", hold_s=0.3) as (_server, proxy):
        started = time.monotonic()
        reply = post(proxy, timeout=10)

        assert reply.status_code == 200
        assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("status", [502, 520, 524])
def test_a_cloudflare_status_replaces_the_stored_uploads_reply(status: int) -> None:
    with only(f"{status}_after") as (server, proxy):
        reply = post(proxy)

        assert (reply.status_code, reply.text) == (status, f"error code: {status}")
        assert reply.headers["Content-Type"].startswith("text/plain")
        assert "CF-RAY" in reply.headers
        assert stored_names(server) == ["cv.pdf"]


def test_an_html_503_page_replaces_the_stored_uploads_reply() -> None:
    with only("503_html_after") as (server, proxy):
        reply = post(proxy)

        assert reply.status_code == 503
        assert reply.headers["Content-Type"] == "text/html"
        assert "<h1>503 Service Temporarily Unavailable</h1>" in reply.text
        assert stored_names(server) == ["cv.pdf"]


def test_cut_off_sends_the_headers_and_half_the_body_then_closes() -> None:
    with only("cut_off") as (server, proxy):
        try:
            reply = post(proxy)
            # urllib3 1.26 hands over a short body as it came; urllib3 2 raises instead.
            assert len(reply.content) < int(reply.headers["Content-Length"])
        except requests.RequestException:
            pass
        assert stored_names(server) == ["cv.pdf"]

        raw = _raw_upload(proxy, upload_body("second.pdf"))
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        length = int(
            next(v for k, _, v in (h.partition(": ") for h in lines) if k == "Content-Length")
        )

        assert lines[0] == "HTTP/1.1 200 OK"
        assert 0 < len(body) == length // 2
        assert stored_names(server) == ["cv.pdf", "second.pdf"]


def test_gets_draw_from_their_own_weights() -> None:
    with behind_proxy(upload_weights={"pass": 1}, other_weights={"502_before": 1}) as (
        server,
        proxy,
    ):
        listing = requests.get(attachments_url(proxy.base_url), headers=AUTH, timeout=10)
        upload = post(proxy)

        assert listing.status_code == 502
        assert upload.status_code == 200
        assert [r.method for r in server.requests] == ["POST"]
        assert proxy.counts == {"502_before": 1, "pass": 1}
        assert proxy.upload_counts == {"pass": 1}


def test_a_seed_repeats_the_draws_and_the_counts_add_up() -> None:
    weights = {"pass": 3, "502_before": 1, "524_after": 1, "503_html_after": 1}

    def run(seed: int) -> list[str]:
        with behind_proxy(seed=seed, upload_weights=weights) as (_server, proxy):
            for n in range(30):
                post(proxy, name=f"f{n}.pdf")
            assert sum(proxy.upload_counts.values()) == 30
            assert proxy.forwarded_uploads == 30 - proxy.upload_counts.get("502_before", 0)
            assert "pass: " in proxy.summary()
            return [event.fault for event in proxy.events]

    first = run(3)
    assert first == run(3)
    assert set(first) == set(weights)


def test_it_serves_sixteen_clients_at_once() -> None:
    # Sixteen held replies at once end together, not one after another.
    with only("hold", hold_s=0.5) as (server, proxy):
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(lambda n: post(proxy, name=f"{n}.pdf"), range(16)))
        elapsed = time.monotonic() - started

        assert [r.status_code for r in replies] == [200] * 16
        assert elapsed < 3
        assert len(server.attachments) == 16
        assert proxy.upload_counts == {"hold": 16}


def test_stop_cuts_a_held_reply_short() -> None:
    with only("hold", hold_s=30) as (server, proxy):
        outcome: list[BaseException] = []

        def client() -> None:
            try:
                post(proxy, timeout=20)
            except requests.RequestException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=client)
        thread.start()
        server.wait_for_requests(1)
        time.sleep(0.2)
        started = time.monotonic()
        proxy.stop()
        thread.join(10)

        assert time.monotonic() - started < 5
        assert not thread.is_alive()


def test_weights_must_name_known_faults() -> None:
    with pytest.raises(ValueError, match="unknown faults"):
        ChaosProxy("http://127.0.0.1:1/v1", upload_weights={"explode": 1})
    with pytest.raises(ValueError, match="above 0"):
        ChaosProxy("http://127.0.0.1:1/v1", other_weights={"pass": 0})
    assert len(FAULTS) == 11


def _raw_upload(proxy: ChaosProxy, body: dict[str, Any]) -> bytes:
    import json

    payload = json.dumps(body).encode()
    port = int(proxy.url.rpartition(":")[2])
    headers = "".join(f"{key}: {value}\r\n" for key, value in AUTH.items())
    request = (
        f"POST /v1/ats/candidates/{CANDIDATE_ID}/attachments HTTP/1.1\r\nHost: x\r\n{headers}"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            received += chunk
    return received
