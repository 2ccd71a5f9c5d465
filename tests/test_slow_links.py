"""Uploads over slow and stalled links: --timeout bounds a stall while sending, not a piece
of the body and not the whole transfer, and connecting keeps its own short timeout.

The links are `SlowProxy`s on 127.0.0.1 in front of the loopback Kombo, reading what the
client sends at a fixed rate, or not at all once a connection has sent enough.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
import urllib3.exceptions

from kombo_cli.api.client import KomboClient
from kombo_cli.api.network_errors import network_error
from kombo_cli.api.retry import Retryability, classify
from kombo_cli.api.targets import Target
from kombo_cli.api.transport import (
    SendStalled,
    StallBoundedAdapter,
    StallBoundedHTTPConnection,
    StallBoundedHTTPSConnection,
)
from kombo_cli.errors import ExitCode, NetworkError
from kombo_cli.upload.body import DEFAULT_CHUNK_BYTES, AttachmentBody, UrlAttachmentBody
from kombo_cli.upload.files import inspect_local_file
from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    run_kombo,
    run_kombo_process,
    start_kombo,
)
from tests.recording_server import KomboServer, RecordedRequest
from tests.slow_proxy import SlowProxy

PIECE_LIMIT = 64 * 1024
FIELDS = {"name": "cv.pdf", "type": "CV", "content_type": "application/pdf"}


def write_random(path: Path, size: int) -> bytes:
    content = b"%PDF-1.4\n" + os.urandom(size - 9)
    path.write_bytes(content)
    return content


def posts(server: KomboServer) -> list[RecordedRequest]:
    return [request for request in server.requests if request.method == "POST"]


# -- the body's pieces ----------------------------------------------------------------------


def test_the_body_never_yields_a_piece_over_64_kib(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    write_random(path, 1_000_003)
    # remote_fields longer than a piece: the JSON after the file is cut up too.
    remote = {"note": "x" * 200_000}
    body = AttachmentBody(FIELDS, inspect_local_file(str(path)), remote_fields=remote)

    pieces = list(body)

    assert max(len(piece) for piece in pieces) <= PIECE_LIMIT
    assert sum(len(piece) for piece in pieces) == len(body)
    # Full pieces of the file are exactly 64 KiB of base64.
    assert 4 * DEFAULT_CHUNK_BYTES // 3 == PIECE_LIMIT
    url_body = UrlAttachmentBody(FIELDS, "https://files.example.com/cv.pdf", remote)
    assert max(len(piece) for piece in url_body) <= PIECE_LIMIT
    assert b"".join(url_body) == b"".join(UrlAttachmentBody(FIELDS, url_body.data_url, remote))


def test_a_chunk_size_over_the_piece_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    write_random(path, 100)
    with pytest.raises(ValueError, match="at most"):
        AttachmentBody(FIELDS, inspect_local_file(str(path)), chunk_bytes=DEFAULT_CHUNK_BYTES + 3)


# -- what a stalled send means ----------------------------------------------------------------


@pytest.mark.parametrize(
    "wrapped",
    [
        # urllib3 2.x, and 1.26 without a proxy.
        lambda cause: requests.exceptions.ConnectionError(
            urllib3.exceptions.ProtocolError("Connection aborted.", cause)
        ),
        # urllib3 1.26 through a proxy calls every socket error a proxy failure.
        lambda cause: requests.exceptions.ProxyError(
            urllib3.exceptions.MaxRetryError(
                None,  # type: ignore[arg-type]
                "/",
                urllib3.exceptions.ProxyError("Cannot connect to proxy.", cause),
            )
        ),
    ],
)
def test_a_stalled_send_is_a_timeout_that_may_have_arrived(wrapped) -> None:  # type: ignore[no-untyped-def]
    error = network_error(
        wrapped(SendStalled(2.0)), "api.kombo.dev", connect_timeout_s=2, read_timeout_s=2
    )

    assert (
        error.message == "api.kombo.dev stopped taking the request: nothing could be sent for 2 s."
    )
    assert error.timed_out is True
    assert error.may_have_arrived is True
    assert error.transient is True
    assert classify(error, idempotent=False) is Retryability.CHECK_FIRST


def test_the_adapter_installs_its_connections_for_direct_and_proxied_requests() -> None:
    adapter = StallBoundedAdapter(7.0, pool_connections=1, pool_maxsize=2)
    for manager in (adapter.poolmanager, adapter.proxy_manager_for("http://127.0.0.1:3128")):
        classes = manager.pool_classes_by_scheme
        assert issubclass(classes["http"].ConnectionCls, StallBoundedHTTPConnection)
        assert issubclass(classes["https"].ConnectionCls, StallBoundedHTTPSConnection)
        assert classes["https"].ConnectionCls.stall_timeout_s == 7.0  # type: ignore[attr-defined]
    # urllib3's own table, shared by every PoolManager, is left alone.
    assert not issubclass(
        urllib3.PoolManager().pool_classes_by_scheme["http"].ConnectionCls,
        StallBoundedHTTPConnection,
    )


# -- over real slow links ---------------------------------------------------------------------


@pytest.mark.timeout(180)
def test_a_6_mb_upload_at_80_kb_per_second_succeeds_with_a_30_s_timeout(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    # 4.5 MB of file is 6 MB of base64 on the wire: about 75 s at 80 kB/s. With the socket
    # left at the connect timeout while sending (10 s), this failed after about 13 s.
    path = tmp_path / "scan.pdf"
    content = write_random(path, 4_500_000)

    with SlowProxy(kombo_server.base_url, rate_bytes_s=80_000) as proxy:
        result = run_kombo_process(
            "attach",
            CANDIDATE_ID,
            str(path),
            "--timeout",
            "30",
            env={**server_env, "KOMBO_BASE_URL": proxy.url},
            timeout=170,
        )

    assert result.returncode == 0, result.stderr
    # Kombo's own answer, not a lost reply found again by listing.
    assert result.stderr == ""
    assert "lost" not in result.stdout
    [stored] = kombo_server.attachments
    assert stored.data == content
    assert len(posts(kombo_server)) == 1


def test_the_timeout_bounds_a_stall_not_the_whole_transfer(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    # 400 kB of base64 at 40 kB/s takes about 10 s, more than twice --timeout.
    path = tmp_path / "cv.pdf"
    content = write_random(path, 300_000)

    with SlowProxy(kombo_server.base_url, rate_bytes_s=40_000) as proxy:
        started = time.monotonic()
        result = run_kombo(
            "attach",
            CANDIDATE_ID,
            str(path),
            "--timeout",
            "4",
            env={**server_env, "KOMBO_BASE_URL": proxy.url},
        )
        elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    # Kombo's own answer, not a lost reply found again by listing.
    assert result.stderr == ""
    assert "lost" not in result.stdout
    assert elapsed > 4
    [stored] = kombo_server.attachments
    assert stored.data == content
    assert len(posts(kombo_server)) == 1


def test_a_link_that_stops_taking_the_body_fails_after_the_timeout(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    # Large enough that loopback's socket buffers (a few MB) cannot swallow the rest.
    path = tmp_path / "scan.pdf"
    write_random(path, 12_000_000)

    with SlowProxy(kombo_server.base_url, stall_after_bytes=512 * 1024) as proxy:
        started = time.monotonic()
        process = start_kombo(
            "attach",
            CANDIDATE_ID,
            str(path),
            "--timeout",
            "2",
            env={**server_env, "KOMBO_BASE_URL": proxy.url},
        )
        try:
            assert process.stderr is not None
            # The first line is the failure; what follows is the check of the attachments.
            first_line = process.stderr.readline().decode()
            failed_after = time.monotonic() - started
            _, rest = process.communicate(timeout=60)
        finally:
            process.kill()
        assert proxy.stalled.is_set()

    assert "stopped taking the request: nothing could be sent for 2 s" in first_line
    # About --timeout after the link stalled (plus start-up): not the connect timeout (10 s
    # by default, 2 s here too) and not hanging. Loose: the machine may be busy.
    assert 1.5 < failed_after < 20
    # A timeout after bytes went out: the attachments are listed and, as after any
    # timeout, the file is not sent again: exit 6, the outcome unknown.
    assert process.returncode == ExitCode.NETWORK, first_line + rest.decode()
    assert "may or may not have been stored" in rest.decode()
    assert kombo_server.attachments == []
    # The stalled upload reaches the server (cut short) once the proxy closes it.
    deadline = time.monotonic() + 10
    while not posts(kombo_server) and time.monotonic() < deadline:
        time.sleep(0.05)
    [upload] = posts(kombo_server)
    assert upload.complete is False


@pytest.mark.parametrize(
    "size",
    [
        # Stalls while pieces are still being handed to the socket.
        12_000_000,
        # Fits in the socket buffers: stalls while the last of it waits to leave.
        300_000,
    ],
)
def test_the_client_reports_a_stalled_send_as_a_timeout(
    kombo_server: KomboServer, tmp_path: Path, size: int
) -> None:
    path = tmp_path / "scan.pdf"
    write_random(path, size)
    body = AttachmentBody(FIELDS, inspect_local_file(str(path)))

    with SlowProxy(kombo_server.base_url, stall_after_bytes=100_000) as proxy:
        client = KomboClient(proxy.url, API_KEY, INTEGRATION_ID, read_timeout_s=1.5)
        started = time.monotonic()
        with pytest.raises(NetworkError) as caught:
            client.add_attachment(Target.parse(CANDIDATE_ID, application=False), body)
        elapsed = time.monotonic() - started

    assert "nothing could be sent for 1.5 s" in caught.value.message
    assert caught.value.timed_out is True
    assert caught.value.may_have_arrived is True
    assert 1 < elapsed < 15


def test_connecting_keeps_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A proxy that accepts the connection and never answers CONNECT: setting up the tunnel
    # is connecting, so the short connect timeout applies, not --timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{silent.getsockname()[1]}")
    client = KomboClient(
        "https://kombo.invalid/v1", API_KEY, INTEGRATION_ID, read_timeout_s=60, connect_timeout_s=1
    )

    started = time.monotonic()
    try:
        with pytest.raises(NetworkError):
            client.list_attachments(Target.parse(CANDIDATE_ID, application=False))
        elapsed = time.monotonic() - started
    finally:
        silent.close()
        for sock in accepted:
            sock.close()

    assert elapsed < 10
