"""A server that cannot be reached at all stops the run, instead of every row retrying on
its own; a server that answers anything meanwhile does not."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from kombo_cli.errors import ApiError, NetworkError
from kombo_cli.library import Kombo
from kombo_cli.upload.reachability import ServerWatch, _WatchedAdapter
from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    dead_server_env,
    make_pdf,
    run_kombo_process,
)
from tests.recording_server import KomboServer

REFUSED = NetworkError("Could not connect to 127.0.0.1:9: connection refused.", unreachable=True)


def manifest_of(folder: Path, rows: int) -> Path:
    lines = ["candidate_id,file"]
    for number in range(rows):
        name = f"cv-{number:02d}.pdf"
        (folder / name).write_bytes(make_pdf() + f"% {number}\n".encode())
        # One candidate per row: no listing is shared, each row goes its own way.
        lines.append(f"{CANDIDATE_ID[:-2]}{number:02d},{name}")
    manifest = folder / "uploads.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def test_a_server_nothing_listens_on_stops_the_run_after_one_rows_retries(
    tmp_path: Path,
) -> None:
    manifest = manifest_of(tmp_path, 12)
    result = run_kombo_process(
        "attach",
        "--manifest",
        str(manifest),
        "--json",
        "--retries",
        "1",
        "-j",
        "2",
        env=dead_server_env(),
        timeout=60,
    )

    objects = [json.loads(line) for line in result.stdout.splitlines()]
    items, summary = objects[:-1], objects[-1]["summary"]
    codes = Counter(item["error"]["code"] for item in items)
    assert result.returncode == 7, result.stderr
    assert summary["failed"] == 12 and summary["succeeded"] == 0
    # The rows in flight when the first gave up fail on their own; the others are not
    # tried at all, and say why, with the network's exit code and hint.
    assert 1 <= codes["CLI.NETWORK"] <= 4
    assert codes["CLI.RUN_STOPPED"] == 12 - codes["CLI.NETWORK"]
    stopped = next(item["error"] for item in items if item["error"]["code"] == "CLI.RUN_STOPPED")
    assert stopped["message"].startswith(
        "Not attempted: no connection to Kombo could be made for line "
    )
    assert stopped["message"].endswith(", so nothing more was tried.")
    assert stopped["exit_code"] == 6
    assert stopped["attempts"] == 0
    assert stopped["hint"] == (
        "check your network connection and the base URL (KOMBO_BASE_URL or --base-url);"
        " once it can be reached, run the same command again with --skip-existing to attach"
        " only what is missing"
    )
    # Every line is a row of the manifest, each once.
    assert sorted(item["line"] for item in items) == list(range(2, 14))
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert len(retries) == codes["CLI.NETWORK"]
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.stdout + result.stderr


def test_any_answer_from_the_server_keeps_a_rows_failure_its_own() -> None:
    with KomboServer() as server:
        session = requests.Session()
        watch = ServerWatch.over(session)
        before = time.monotonic()
        # Unreachable with no answer since the row began: the server is not there.
        assert watch.unreachable(REFUSED, before)
        # An answer, even an error, shows that it is: the row's failure is its own.
        session.get(f"{server.base_url}/check", timeout=10)
        assert not watch.unreachable(REFUSED, before)
        # ...for rows begun before that answer; one begun after it has seen none.
        assert watch.unreachable(REFUSED, time.monotonic())
        session.close()


def test_a_request_on_its_way_longer_than_connecting_takes_shows_the_server_is_there() -> None:
    # A slow ATS: an upload waits long for its answer, on a connection that did open,
    # while a crowded server refuses new ones.
    with KomboServer(latency_s=4.0) as server:
        session = requests.Session()
        watch = ServerWatch.over(session)
        waiting = threading.Thread(
            target=session.get, args=(f"{server.base_url}/check",), kwargs={"timeout": (0.1, 30)}
        )
        waiting.start()
        time.sleep(0.3)
        # Still within what connecting may take (twice 0.1 s, and a second): no evidence.
        assert watch.unreachable(REFUSED, time.monotonic())
        time.sleep(1.5)
        assert not watch.unreachable(REFUSED, time.monotonic())
        waiting.join(timeout=30)
        session.close()


def test_only_a_failure_to_reach_the_server_counts_and_a_certificate_at_once() -> None:
    watch = ServerWatch()
    later = time.monotonic() + 60
    assert not watch.unreachable(None, later)
    # The request may have arrived: the server is there, or was.
    assert not watch.unreachable(
        NetworkError("The connection broke.", may_have_arrived=True), later
    )
    assert not watch.unreachable(ApiError("Service unavailable.", http_status=503), later)
    certificate = NetworkError("The TLS connection failed.", transient=False, unreachable=True)
    # A certificate that does not verify will not on a retry, whatever else answered.
    assert watch.unreachable(certificate, float("-inf"))


def test_a_dry_run_that_looks_things_up_stops_too(tmp_path: Path) -> None:
    lines = ["email,file"]
    for number in range(5):
        (tmp_path / f"cv-{number}.pdf").write_bytes(make_pdf())
        lines.append(f"person{number}@example.com,cv-{number}.pdf")
    manifest = tmp_path / "uploads.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = run_kombo_process(
        "attach",
        "--manifest",
        str(manifest),
        "--dry-run",
        "--resolve",
        "--retries",
        "1",
        "--json",
        env=dead_server_env(),
    )

    objects = [json.loads(line) for line in result.stdout.splitlines()]
    codes = [item["error"]["code"] for item in objects if "error" in item]
    # A dry run goes one row at a time: the first finds the server unreachable.
    assert codes == ["CLI.NETWORK"] + ["CLI.RUN_STOPPED"] * 4, result.stderr
    assert "Traceback" not in result.stderr


def test_a_base_url_without_v1_stops_the_run_after_the_first_answer(tmp_path: Path) -> None:
    manifest = manifest_of(tmp_path, 8)
    with KomboServer() as server:
        root = server.base_url[: -len("/v1")]
        env = {"KOMBO_API_KEY": API_KEY, "KOMBO_INTEGRATION_ID": INTEGRATION_ID}
        result = run_kombo_process(
            "attach",
            "--manifest",
            str(manifest),
            "--json",
            "-j",
            "2",
            env={**env, "KOMBO_BASE_URL": root},
        )
        posts = [request for request in server.requests if request.method == "POST"]

    objects = [json.loads(line) for line in result.stdout.splitlines()]
    errors = [item["error"] for item in objects[:-1]]
    stopped = [error for error in errors if error["code"] == "CLI.RUN_STOPPED"]
    assert result.returncode == 7, result.stderr
    # Only the rows already on their way were sent; every other row says why it was not.
    assert len(posts) == len(errors) - len(stopped) <= 4
    assert len(stopped) >= 4
    assert stopped[0]["message"].startswith(
        "Not attempted: the base URL has no API route for line "
    )
    assert stopped[0]["exit_code"] == 3 and stopped[0]["attempts"] == 0
    assert f"use {root}/v1" in stopped[0]["hint"]


def test_one_watch_per_session_however_many_runs(tmp_path: Path) -> None:
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    with KomboServer() as server, Kombo(API_KEY, INTEGRATION_ID, base_url=server.base_url) as kombo:
        for _ in range(3):
            kombo.attach(CANDIDATE_ID, str(cv))
        session = kombo.client.session if kombo.client is not None else None
        assert session is not None
        layers = 0
        adapter: object = session.get_adapter(server.base_url)
        while hasattr(adapter, "inner"):
            layers += isinstance(adapter, _WatchedAdapter)
            adapter = adapter.inner
    assert layers == 1
