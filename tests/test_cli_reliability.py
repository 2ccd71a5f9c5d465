"""Retries, timeouts and Ctrl-C end to end: the installed executable, real waits, real HTTP."""

from __future__ import annotations

import base64
import json
import time

from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    interrupt_kombo,
    make_pdf,
    run_kombo_process,
)
from tests.recording_server import KomboServer, ScriptedResponse, error_envelope

RATE_LIMITED = error_envelope("Rate limit exceeded.", code="PLATFORM.RATE_LIMIT_EXCEEDED")


def assert_clean(*texts: str, file_bytes: bytes) -> None:
    """No key, no traceback, and not even a piece of the file's base64 in any output."""
    encoded = base64.b64encode(file_bytes).decode()
    for text in texts:
        assert API_KEY not in text
        assert API_KEY[8:20] not in text
        assert "Traceback" not in text
        assert encoded[:24] not in text
        assert encoded[-24:] not in text


def test_a_429_with_retry_after_1_waits_about_a_second_then_succeeds(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=429, body=RATE_LIMITED, headers={"Retry-After": "1"})
    )
    started = time.monotonic()
    result = run_kombo_process("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=server_env)
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    # A lower bound only: the wait must have happened; how fast the rest ran is not tested.
    assert elapsed >= 0.95
    assert "cv.pdf: HTTP 429 (PLATFORM.RATE_LIMIT_EXCEEDED); retrying in 1.0 s" in result.stderr
    assert [r.method for r in kombo_server.requests] == ["POST", "POST"]
    assert kombo_server.requests[0].body == kombo_server.requests[1].body
    assert [a.data for a in kombo_server.attachments] == [make_pdf()]


def test_quiet_hides_retry_notices(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=503, headers={"retry-after-ms": "10"}),
    )
    result = run_kombo_process(
        "attach",
        CANDIDATE_ID,
        str(sample_file("cv.pdf")),
        "-q",
        "--settle-delay",
        "0.1",
        env=server_env,
    )

    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout == ""


def test_giving_up_reports_the_attempts_in_json(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    for _ in range(2):
        kombo_server.queue(
            ScriptedResponse(
                status=503,
                body=error_envelope("Busy.", code="PLATFORM.UNAVAILABLE"),
                headers={"retry-after-ms": "10"},
            )
        )
    result = run_kombo_process(
        "attach",
        CANDIDATE_ID,
        str(sample_file("cv.pdf")),
        "--retries",
        "1",
        "--json",
        env=server_env,
    )

    assert result.returncode == 6
    payload = json.loads(result.stdout)
    assert payload["status"] == "error"
    assert payload["error"]["attempts"] == 2
    assert payload["error"]["message"].endswith("; gave up after 2 attempts.")
    assert kombo_server.attachments == []


def test_a_slow_server_ends_in_exit_6_and_says_the_outcome_is_unknown(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    # The upload is never answered in time, and neither is the listing that would tell.
    kombo_server.queue(ScriptedResponse(delay_s=8), ScriptedResponse(delay_s=8))
    started = time.monotonic()
    result = run_kombo_process(
        "attach",
        CANDIDATE_ID,
        str(sample_file("cv.pdf")),
        "--timeout",
        "1",
        "--retries",
        "0",
        env=server_env,
    )

    assert result.returncode == 6
    # 1 s for the upload, the settle pause, 1 s for the listing: nowhere near the 8 s.
    assert time.monotonic() - started < 7.5
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert error_lines == [
        "Error: cv.pdf may or may not have been stored: the upload failed (127.0.0.1:"
        f"{kombo_server.port} did not answer within 1 s) and the candidate's attachments could"
        f" not be listed to check (127.0.0.1:{kombo_server.port} did not answer within 1 s)."
    ]
    assert f"kombo attachments list {CANDIDATE_ID}" in result.stderr
    assert [r.method for r in kombo_server.requests] == ["POST", "GET"]


def test_ctrl_c_while_waiting_to_retry_exits_130_and_says_nothing_was_stored(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=429, body=RATE_LIMITED, headers={"Retry-After": "30"})
    )
    result = interrupt_kombo(
        "attach",
        CANDIDATE_ID,
        str(sample_file("cv.pdf")),
        env=server_env,
        when=lambda: kombo_server.wait_for_requests(1, timeout=20),
        settle_s=0.5,
    )
    text = result.stderr
    assert result.returncode == 130
    assert "Error: Interrupted while waiting to retry " in text
    assert "cv.pdf; it was not stored." in text
    assert "Traceback" not in text
    assert result.stdout == ""
    assert len(kombo_server.requests) == 1


def test_the_debug_log_of_a_retried_upload_masks_the_key_and_never_shows_the_file(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    content = make_pdf() * 50
    path = sample_file("cv.pdf", content)
    kombo_server.queue(ScriptedResponse(status=502, store=True))
    result = run_kombo_process("attach", CANDIDATE_ID, str(path), "-vv", "--json", env=server_env)

    assert result.returncode == 0, result.stderr
    assert_clean(result.stdout, result.stderr, file_bytes=content)
    assert "> Authorization: Bearer ********\n" in result.stderr
    assert "file content not logged" in result.stderr
    assert f"> GET {kombo_server.base_url}/ats/candidates/{CANDIDATE_ID}/attachments" in (
        result.stderr
    )
    assert json.loads(result.stdout)["confirmed_by_listing"] is True
    assert len(kombo_server.attachments) == 1


def test_a_redirect_to_another_host_is_not_followed_with_the_key(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as elsewhere:
        location = f"{elsewhere.base_url}/ats/candidates/{CANDIDATE_ID}/attachments"
        kombo_server.queue(ScriptedResponse(status=307, headers={"Location": location}))
        result = run_kombo_process(
            "attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=server_env
        )

        assert result.returncode == 6
        assert "a redirect to" in result.stderr
        assert elsewhere.requests == []
    assert len(kombo_server.requests) == 1
