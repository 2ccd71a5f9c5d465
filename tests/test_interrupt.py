"""Ctrl-C in a batch, through the installed `kombo` against the loopback server.

From the first Ctrl-C no upload starts (no new item, no retry); the report names every
upload that may have been stored, on stderr and in the CLI.INTERRUPTED JSON; the summary
counts only lines that were written; a reader that stopped reading stdout loses nothing;
and a second Ctrl-C leaves at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kombo_cli.sandbox.exchange import Reply, Request
from kombo_cli.sandbox.server import SandboxServer
from kombo_cli.ui.interrupt import SECOND_PRESS_LINES
from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    KOMBO_EXECUTABLE,
    clean_env,
    interrupt_kombo,
    make_pdf,
    run_kombo_process,
)
from tests.recording_server import KomboServer, ScriptedResponse, error_envelope

pytestmark = pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
    reason="SIGINT is ignored here (e.g. a background job), and kombo would inherit that",
)

RATE_LIMITED = error_envelope("Rate limit exceeded.", code="PLATFORM.RATE_LIMIT_EXCEEDED")


class UploadScriptedServer(KomboServer):
    """Scripted replies answer uploads only: listings and lookups get the sandbox's own."""

    def respond(self, request: Request) -> Reply | None:
        if request.method == "POST":
            return super().respond(request)
        self._record(request)
        return SandboxServer.respond(self, request)


@pytest.fixture
def server() -> KomboServer:  # type: ignore[misc]
    with UploadScriptedServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as running:
        yield running


def env_for(server: KomboServer) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
    }


def write_pdfs(folder: Path, count: int) -> list[Path]:
    paths = []
    for number in range(count):
        path = folder / f"doc-{number:02d}.pdf"
        path.write_bytes(make_pdf() + f"% doc {number}\n".encode())
        paths.append(path)
    return paths


def posts(server: KomboServer) -> int:
    return sum(1 for request in server.requests if request.method == "POST")


def start(args: list[str], server: KomboServer, stdout: int = subprocess.PIPE) -> subprocess.Popen:  # type: ignore[type-arg]
    return subprocess.Popen(
        [str(KOMBO_EXECUTABLE), *args],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=clean_env(env_for(server)),
    )


def wait_for_posts(server: KomboServer, count: int) -> None:
    deadline = time.monotonic() + 20
    while posts(server) < count:
        assert time.monotonic() < deadline, [f"{r.method} {r.path}" for r in server.requests]
        time.sleep(0.02)


def stored_names(server: KomboServer) -> set[str]:
    return {attachment.name for attachment in server.attachments}


STORED = {"status": "success", "data": {}, "warnings": []}


def held(seconds: float) -> ScriptedResponse:
    """Stored at once, answered `seconds` later."""
    return ScriptedResponse(body=STORED, delay_s=seconds, store=True)


# -- (a) no new upload after Ctrl-C ----------------------------------------------------------


def test_after_ctrl_c_no_upload_starts_neither_a_new_item_nor_a_retry(
    server: KomboServer, tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path, 10)
    # The first upload is refused and waits 1 s to retry; two more are stored and answered
    # a second later. At Ctrl-C all three workers are busy and seven files wait.
    server.queue(
        ScriptedResponse(status=429, body=RATE_LIMITED, headers={"Retry-After": "1"}),
        held(1.0),
        held(1.0),
    )
    process = start(["attach", CANDIDATE_ID, *map(str, files), "-j", "3"], server)
    try:
        wait_for_posts(server, 3)
        time.sleep(0.2)
        at_interrupt = posts(server)
        process.send_signal(signal.SIGINT)
        stdout, stderr = (part.decode() for part in process.communicate(timeout=20))
    finally:
        process.kill()
    # Longer than the retry's pause and than the replies held: nothing more comes.
    time.sleep(1.5)

    assert at_interrupt == 3
    assert posts(server) == 3, [f"{r.method} {r.path}" for r in server.requests]
    assert process.returncode == 130
    # The two answered within the grace are shown and counted; the refused one was not
    # stored and is not sent again.
    attached = [line for line in stdout.splitlines() if line.startswith("Attached ")]
    assert len(attached) == 2
    assert "2 attached, 0 failed" in stderr
    assert "retrying in" not in stderr.split("Interrupted", 1)[-1]
    assert "may have been stored" not in stderr
    assert {line.split()[1] for line in attached} == stored_names(server)
    assert "Traceback" not in stderr


def test_an_upload_ctrl_c_kept_from_being_sent_is_journaled_as_failed_not_left_sending(
    server: KomboServer, tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path, 6)
    journal = tmp_path / "run.journal"
    # The first upload is refused and waits to retry; Ctrl-C comes during that wait, so its
    # retry is stopped before a byte goes out. The other two are stored.
    server.queue(
        ScriptedResponse(status=429, body=RATE_LIMITED, headers={"Retry-After": "1"}),
        held(1.0),
        held(1.0),
    )
    args = ["attach", CANDIDATE_ID, *map(str, files), "-j", "3", "--journal", str(journal)]
    process = start(args, server)
    try:
        wait_for_posts(server, 3)
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    finally:
        process.kill()
    time.sleep(1.5)
    assert process.returncode == 130
    last: dict[str, str] = {}
    for line in journal.read_text().splitlines():
        record = json.loads(line)
        last[record["item"]] = record["event"]
    # Nothing is left "sending": a rerun would have to look for those before sending them.
    assert sorted(last.values()) == ["failed", "stored", "stored"], last

    again = run_kombo_process(*args, env=env_for(server))
    assert again.returncode == 0, again.stderr
    assert "an earlier run stopped" not in again.stderr
    assert len(stored_names(server)) == 6


# -- (b), (c), (e): every stored upload is shown or named; counts are what was shown -------


@pytest.mark.parametrize("json_mode", [False, True], ids=["human", "json"])
def test_every_stored_upload_is_shown_or_named_and_counts_are_the_lines_shown(
    server: KomboServer, tmp_path: Path, json_mode: bool
) -> None:
    files = write_pdfs(tmp_path, 14)
    # Six answered at once, then six stored whose answers are held far beyond Ctrl-C.
    server.queue(*[held(0) for _ in range(6)], *[held(30) for _ in range(6)])
    args = ["attach", CANDIDATE_ID, *map(str, files), "-j", "6"]
    process = start([*args, "--json"] if json_mode else args, server)
    try:
        wait_for_posts(server, 12)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        out, err = (part.decode() for part in process.communicate(timeout=20))
        took = time.monotonic() - started
    finally:
        process.kill()
    time.sleep(0.5)

    assert process.returncode == 130
    assert took < 6  # the grace (2 s) and the report, not the 30 s held answers
    assert posts(server) == 12
    stored = stored_names(server)
    assert len(stored) == 12
    by_name = {path.name: str(path) for path in files}

    if json_mode:
        objects = [json.loads(line) for line in out.splitlines()]
        results = [o for o in objects if "status" in o and o["status"] != "error"]
        [summary] = [o["summary"] for o in objects if "summary" in o]
        [interrupted] = [o["error"] for o in objects if o.get("status") == "error"]
        shown = {o["name"] for o in results if o["status"] == "success"}
        named = {Path(item["file"]).name for item in interrupted["may_have_been_stored"]}
        assert interrupted["code"] == "CLI.INTERRUPTED"
        assert interrupted["stored_not_reported"] == []
        # Every one of the six, not the first five.
        assert len(interrupted["may_have_been_stored"]) == 6
        assert all(
            item["target"] == {"kind": "candidate", "id": CANDIDATE_ID}
            for item in interrupted["may_have_been_stored"]
        )
        assert summary["succeeded"] == len(results) == len(shown)
        assert summary["failed"] == summary["skipped"] == 0
    else:
        attached = [line for line in out.splitlines() if line.startswith("Attached ")]
        shown = {line.split()[1] for line in attached}
        named = {
            Path(line.split(": ", 1)[1]).name
            for line in err.splitlines()
            if line.startswith("  may have been stored: ")
        }
        assert f"{len(attached)} attached, 0 failed" in err
        # Every item is in the counts: shown, open, or never started.
        assert (
            f"{len(attached)} attached, 0 failed, 6 may or may not have been stored,"
            " 2 not attempted (interrupted)"
        ) in err
        assert "Error: Interrupted; 6 uploads may or may not have been stored." in err
        assert all(by_name[name] in err for name in named)
    assert len(shown) == 6
    assert shown | named == stored
    assert not shown & named
    assert "Traceback" not in err


# -- (d) a second Ctrl-C leaves at once ----------------------------------------------------


def test_a_second_ctrl_c_exits_130_at_once_while_an_answer_is_held(
    server: KomboServer, tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path, 3)
    server.queue(held(30), held(30), held(30))
    process = start(["attach", CANDIDATE_ID, *map(str, files)], server)
    try:
        wait_for_posts(server, 3)
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, err = (part.decode() for part in process.communicate(timeout=20))
        took = time.monotonic() - started
    finally:
        process.kill()

    assert process.returncode == 130
    assert took < 1.5
    lines = err.splitlines()
    # What the first press said while waiting, then the message of the second (a
    # sentence and its hint).
    second = SECOND_PRESS_LINES.decode().splitlines()
    assert lines[-len(second) :] == second
    assert [
        line for line in lines[: -len(second)] if not line.startswith("Interrupted: waiting")
    ] == []


# -- a reader that stops reading stdout ----------------------------------------------------


def full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is already full: the next write to it waits for a reader."""
    read_end, write_end = os.pipe()
    flags = fcntl.fcntl(write_end, fcntl.F_GETFL)
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(write_end, b"#" * 4095 + b"\n")
    except BlockingIOError:
        pass
    # kombo shares this open file: it must get the pipe in its usual, blocking mode.
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags)
    return read_end, write_end


def read_all(fd: int, into: list[bytes]) -> None:
    with os.fdopen(fd, "rb") as pipe:
        into.append(pipe.read())


def lines_after_filler(data: bytes) -> list[str]:
    return [line for line in data.decode().splitlines() if not line.startswith("#")]


def test_stored_uploads_are_named_when_stdouts_reader_never_reads_again(
    server: KomboServer, tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path, 6)
    read_end, write_end = full_pipe()
    process = start(["attach", CANDIDATE_ID, *map(str, files), "-j", "3"], server, write_end)
    os.close(write_end)
    try:
        wait_for_posts(server, 6)
        time.sleep(0.5)  # every upload answered; the first line waits for the reader
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        assert process.stderr is not None
        err = process.stderr.read().decode()
    finally:
        process.kill()
    output: list[bytes] = []
    read_all(read_end, output)

    assert process.returncode == 130
    assert lines_after_filler(output[0]) == []
    assert len(stored_names(server)) == 6
    # The count says what was stored, and how much of it stdout never carried.
    assert "6 attached (6 not reported on standard output), 0 failed" in err
    assert "Error: Interrupted; 6 uploads were stored but not reported on standard output." in err
    named = [
        line.split(": ", 1)[1] for line in err.splitlines() if line.startswith("  stored, not ")
    ]
    assert sorted(named) == sorted(map(str, files))
    assert "Traceback" not in err


# Shows the first line it reads, then takes every later line without passing it on, as
# `cat` does in the instant between its read and its write when Ctrl-C kills it there.
DYING_READER = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
shown = open(sys.argv[1], "ab", buffering=0)
pending = b""
showing = True
while True:
    data = os.read(0, 65536)
    if not data:
        break
    pending += data
    while b"\\n" in pending:
        line, pending = pending.split(b"\\n", 1)
        if showing:
            shown.write(line + b"\\n")
            showing = False
        else:
            open(sys.argv[2], "w").close()
"""


def test_a_line_stdouts_reader_took_as_ctrl_c_stopped_it_is_named_on_stderr(
    server: KomboServer, tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path, 3)
    # Two answered at once (the second line is the one the reader dies with), and one
    # held far beyond Ctrl-C, so that the run is still going when it comes.
    server.queue(held(0), held(0), held(30))
    shown_file, holding = tmp_path / "shown.txt", tmp_path / "holding"
    read_end, write_end = os.pipe()
    reader = subprocess.Popen(
        [sys.executable, "-c", DYING_READER, str(shown_file), str(holding)], stdin=read_end
    )
    os.close(read_end)
    process = start(["attach", CANDIDATE_ID, *map(str, files), "-j", "3"], server, write_end)
    os.close(write_end)
    try:
        deadline = time.monotonic() + 20
        while not holding.exists():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # As a terminal does: the same Ctrl-C reaches the whole pipeline.
        reader.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        _, err_bytes = process.communicate(timeout=20)
        err = err_bytes.decode()
        reader.wait(timeout=10)
    finally:
        process.kill()
        reader.kill()

    assert process.returncode == 130
    stored = stored_names(server)
    assert len(stored) == 3
    [shown] = [line.split()[1] for line in shown_file.read_text().splitlines()]
    named = {
        Path(line.split(": ", 1)[1]).name
        for line in err.splitlines()
        if line.startswith(("  may have been stored: ", "  stored, "))
    }
    # The line the reader died with is named; nothing stored goes unmentioned.
    [answered_second] = (
        stored
        - {shown}
        - {
            Path(line.split(": ", 1)[1]).name
            for line in err.splitlines()
            if line.startswith("  may have been stored: ")
        }
    )
    assert f"  stored, perhaps not shown: {tmp_path / answered_second}" in err.splitlines()
    assert stored <= named | {shown}
    [sentence] = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert "reported as standard output's reader stopped, and may not have been shown" in sentence
    assert "Traceback" not in err


def test_a_reader_back_after_ctrl_c_gets_every_line_and_the_counts_match(
    server: KomboServer, tmp_path: Path
) -> None:
    files = write_pdfs(tmp_path, 6)
    read_end, write_end = full_pipe()
    process = start(
        ["attach", CANDIDATE_ID, *map(str, files), "-j", "3", "--json"], server, write_end
    )
    os.close(write_end)
    output: list[bytes] = []
    reader = threading.Thread(target=read_all, args=(read_end, output))
    try:
        wait_for_posts(server, 6)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)  # the reader is back, within the grace
        reader.start()
        process.wait(timeout=20)
        assert process.stderr is not None
        err = process.stderr.read().decode()
    finally:
        process.kill()
    reader.join(timeout=10)

    # Every upload had started before Ctrl-C and every one finished and was reported
    # within the grace: the run is complete, and says so with exit 0 (an "interrupted"
    # run would invite a rerun, and a duplicate without --skip-existing).
    assert process.returncode == 0, err
    objects = [json.loads(line) for line in lines_after_filler(output[0])]
    results = [o for o in objects if o.get("status") == "success"]
    [summary] = [o["summary"] for o in objects if "summary" in o]
    assert [o for o in objects if o.get("status") == "error"] == []
    assert {o["name"] for o in results} == stored_names(server) == {p.name for p in files}
    assert summary["succeeded"] == 6 and summary["not_attempted"] == 0
    assert "Traceback" not in err and "Error" not in err


def test_ctrl_c_during_the_only_upload_that_then_finishes_is_a_normal_end(
    server: KomboServer, tmp_path: Path
) -> None:
    # The upload was under way; the run waited for it, it was stored and reported. Saying
    # "interrupted" (exit 130) after "Attached" would invite a rerun and a duplicate.
    [cv] = write_pdfs(tmp_path, 1)
    server.queue(held(1.0))
    result = interrupt_kombo(
        "attach", CANDIDATE_ID, str(cv), env=env_for(server), when=lambda: wait_for_posts(server, 1)
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Attached {cv.name} ")
    assert "Interrupted: waiting a moment for 1 upload being sent" in result.stderr
    assert "Error" not in result.stderr
    assert stored_names(server) == {cv.name}
