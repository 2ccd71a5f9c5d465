"""`kombo attach` end to end: the installed executable against the strict loopback Kombo."""

# Non-ASCII names are part of what is tested.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    KOMBO_EXECUTABLE,
    clean_env,
    dead_server_env,
    interrupt_kombo,
    make_docx,
    make_pdf,
    run_kombo,
    run_kombo_process,
)
from tests.recording_server import KomboServer, ScriptedResponse, error_envelope

# An application ID in Kombo's format: without --strict-ids the sandbox knows any such ID.
APPLICATION_ID = "App123xxxxxxxxxxxxxxxxxx"

ANSI_OR_CONTROL = ("\x1b", "\r")


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert API_KEY not in text
        # Not even a long piece of it.
        assert API_KEY[8:20] not in text


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text


# -- the happy path, per format ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "sample", "content_type"),
    [
        ("Frank Doe CV.pdf", "pdf", "application/pdf"),
        ("photo.png", "png", "image/png"),
        ("photo.JPG", "jpeg", "image/jpeg"),
        ("anim.gif", "gif", "image/gif"),
        (
            "letter.docx",
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("letter.odt", "odt", "application/vnd.oasis.opendocument.text"),
        ("notes.txt", b"Hi there,\nKombo is hiring.\n", "text/plain"),
        ("notes.md", b"# Frank Doe\n", "text/markdown"),
        ("page.html", b"<!doctype html><title>cv</title>", "text/html"),
        ("resume.rtf", b"{\\rtf1\\ansi Frank}", "application/rtf"),
    ],
)
def test_uploads_exact_bytes_with_detected_content_type(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    sample_file,
    file_name: str,
    sample: object,
    content_type: str,
) -> None:
    path = sample_file(file_name, sample)
    result = run_kombo("attach", CANDIDATE_ID, str(path), "--type", "CV", env=server_env)

    assert result.returncode == 0, result.stderr
    [stored] = kombo_server.attachments
    assert stored.data == path.read_bytes()
    assert stored.name == file_name
    assert stored.type == "CV"
    assert stored.content_type == content_type
    assert stored.target_kind == "candidate"
    assert stored.target_id == CANDIDATE_ID
    assert f"Attached {file_name} to candidate {CANDIDATE_ID}" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("sample", "content_type"),
    [
        ("pdf", "application/pdf"),
        ("png", "image/png"),
        ("jpeg", "image/jpeg"),
        ("gif", "image/gif"),
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("odt", "application/vnd.oasis.opendocument.text"),
        (b"plain words only\n", "text/plain"),
    ],
)
def test_content_type_comes_from_magic_bytes_without_extension(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    sample_file,
    sample: object,
    content_type: str,
) -> None:
    path = sample_file("scan_0001", sample)
    result = run_kombo("attach", CANDIDATE_ID, str(path), "--name", "Scan.bin", env=server_env)

    assert result.returncode == 0, result.stderr
    assert kombo_server.attachments[0].content_type == content_type
    assert kombo_server.attachments[0].name == "Scan.bin"


def test_request_line_headers_and_body_are_what_kombo_documents(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), "-t", "cv", env=server_env)

    assert result.returncode == 0, result.stderr
    [request] = kombo_server.requests
    assert request.method == "POST"
    assert request.path == f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"
    assert request.header("Authorization") == f"Bearer {API_KEY}"
    assert request.header("X-Integration-Id") == INTEGRATION_ID
    assert request.header("Content-Type") == "application/json"
    assert request.header("Accept") == "application/json"
    assert request.header(
        "User-Agent",
    ).startswith("kombo-cli/")
    # A known length, not chunked: the body is streamed but its size is computed up front.
    assert request.header("Content-Length") == str(len(request.body))
    assert request.header("Transfer-Encoding") is None
    assert json.loads(request.body) == {
        "attachment": {
            "name": "cv.pdf",
            "type": "CV",
            "content_type": "application/pdf",
            "data": base64.b64encode(make_pdf()).decode(),
        }
    }


def test_application_flag_uses_the_application_route(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cover.docx", make_docx())
    result = run_kombo(
        "attach",
        APPLICATION_ID,
        str(path),
        "--application",
        "--type",
        "cover_letter",
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    assert kombo_server.requests[0].path == f"/v1/ats/applications/{APPLICATION_ID}/attachments"
    stored = kombo_server.attachments[0]
    assert (stored.target_kind, stored.target_id, stored.type) == (
        "application",
        APPLICATION_ID,
        "COVER_LETTER",
    )
    assert f"to application {APPLICATION_ID}" in result.stdout


def test_default_type_is_other_and_name_can_be_overridden(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("tmp123.pdf", "pdf")
    result = run_kombo(
        "attach", CANDIDATE_ID, str(path), "-n", "Frank Doe – Lebenslauf é.pdf", env=server_env
    )

    assert result.returncode == 0, result.stderr
    stored = kombo_server.attachments[0]
    assert stored.type == "OTHER"
    # Non-ASCII names arrive intact.
    assert stored.name == "Frank Doe – Lebenslauf é.pdf"


def test_content_type_option_overrides_detection(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("data.pdf", "pdf")
    result = run_kombo(
        "attach", CANDIDATE_ID, str(path), "--content-type", "application/x-pdf", env=server_env
    )

    assert result.returncode == 0, result.stderr
    assert kombo_server.attachments[0].content_type == "application/x-pdf"


def test_extension_wins_over_content_but_a_mismatch_is_warned(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "png")
    result = run_kombo("attach", CANDIDATE_ID, str(path), env=server_env)

    assert result.returncode == 0, result.stderr
    assert kombo_server.attachments[0].content_type == "application/pdf"
    assert "Warning: cv.pdf looks like image/png" in result.stderr


def test_kombo_warnings_are_shown_on_stderr(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(
        ScriptedResponse(
            status=200,
            body={"status": "success", "data": {}, "warnings": [{"message": "File renamed."}]},
            store=True,
        )
    )
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), env=server_env)

    assert result.returncode == 0, result.stderr
    assert "Warning: Kombo: File renamed." in result.stderr
    assert "Attached cv.pdf" in result.stdout


def test_several_files_go_to_one_target_in_order_with_concurrency_1(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    first = sample_file("a.pdf", "pdf")
    second = sample_file("b.png", "png")
    result = run_kombo(
        "attach", CANDIDATE_ID, str(first), str(second), "--concurrency", "1", env=server_env
    )

    assert result.returncode == 0, result.stderr
    assert [a.name for a in kombo_server.attachments] == ["a.pdf", "b.png"]
    assert "2 attached, 0 failed" in result.stderr


# -- JSON output ------------------------------------------------------------------------------


def test_json_success_object(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), "--type", "CV", "--json", env=server_env)

    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload.pop("elapsed_s") >= 0
    assert payload == {
        "status": "success",
        "target": {"kind": "candidate", "id": CANDIDATE_ID},
        "file": str(path),
        "name": "cv.pdf",
        "type": "CV",
        "content_type": "application/pdf",
        "size": len(make_pdf()),
        "sha256": hashlib.sha256(make_pdf()).hexdigest(),
        "warnings": [],
        "notes": [],
        "attempts": 1,
        "confirmed_by": "reply",
        "confirmed_by_listing": False,
        "integration_id": server_env["KOMBO_INTEGRATION_ID"],
    }


def test_json_error_object_carries_kombos_envelope(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    envelope = error_envelope(
        "The job is closed.",
        code="ATS.JOB_CLOSED",
        title="Job closed",
        log_url_value="https://app.kombo.dev/test/logs?interactionId=abc",
    )
    kombo_server.queue(ScriptedResponse(status=400, body=envelope))
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), "--json", env=server_env)

    assert result.returncode == 5
    payload = json.loads(result.stdout)
    assert payload["status"] == "error"
    assert payload["target"] == {"kind": "candidate", "id": CANDIDATE_ID}
    assert payload["error"] == {
        "code": "ATS.JOB_CLOSED",
        "title": "Job closed",
        "message": "The job is closed.",
        "log_url": "https://app.kombo.dev/test/logs?interactionId=abc",
        "http_status": 400,
        "hint": None,
        "exit_code": 5,
        "attempts": 1,
    }
    assert "Error: The job is closed." in result.stderr


def test_json_for_several_files_is_one_line_per_file_then_a_summary(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    good = sample_file("a.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(good), "missing.pdf", "--json", env=server_env)

    assert result.returncode == 7
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    # In the order they finish: uploads run in parallel.
    by_status = {line.get("status"): line for line in lines[:2]}
    assert sorted(by_status) == ["error", "success"]
    assert by_status["error"]["error"]["code"] == "CLI.USAGE"
    assert by_status["error"]["file"] == "missing.pdf"
    assert lines[2]["summary"]["succeeded"] == 1
    assert lines[2]["summary"]["failed"] == 1


# -- exit codes -------------------------------------------------------------------------------


def test_exit_2_for_a_missing_file(server_env: dict[str, str], kombo_server: KomboServer) -> None:
    result = run_kombo("attach", CANDIDATE_ID, "nope.pdf", env=server_env)

    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "Error: File not found: nope.pdf."
    assert kombo_server.requests == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (d / "folder").mkdir() or d / "folder", "is a directory"),
        (lambda d: ((d / "empty.pdf").write_bytes(b"") and None) or d / "empty.pdf", "is empty"),
        (lambda d: os.mkfifo(d / "fifo") or d / "fifo", "not a regular file"),
    ],
    ids=["directory", "empty", "fifo"],
)
def test_exit_2_for_files_that_cannot_be_attached(
    server_env: dict[str, str], kombo_server: KomboServer, tmp_path: Path, make, message: str
) -> None:
    path = make(tmp_path)
    result = run_kombo_process("attach", CANDIDATE_ID, str(path), env=server_env, timeout=20)

    assert result.returncode == 2
    assert message in result.stderr
    assert kombo_server.requests == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_exit_2_for_an_unreadable_file(
    server_env: dict[str, str], kombo_server: KomboServer, sample_file
) -> None:
    path = sample_file("secret.pdf", "pdf")
    path.chmod(0)
    result = run_kombo("attach", CANDIDATE_ID, str(path), env=server_env)

    assert result.returncode == 2
    assert "permission denied" in result.stderr


def test_exit_2_when_the_content_type_cannot_be_found(
    server_env: dict[str, str], kombo_server: KomboServer, sample_file
) -> None:
    path = sample_file("blob", bytes(range(256)) * 4)
    result = run_kombo("attach", CANDIDATE_ID, str(path), env=server_env)

    assert result.returncode == 2
    assert "Cannot tell the content type of blob." in result.stderr
    assert "--content-type" in result.stderr
    assert kombo_server.requests == []


@pytest.mark.parametrize(
    "value", ["application/octet-stream", "image/svg+xml", "text/plain; charset=utf-8", "pdf"]
)
def test_exit_2_for_a_content_type_kombo_refuses(
    server_env: dict[str, str], kombo_server: KomboServer, sample_file, value: str
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), "--content-type", value, env=server_env)

    assert result.returncode == 2
    assert kombo_server.requests == []


@pytest.mark.parametrize(
    "args",
    [
        ["attach", CANDIDATE_ID, "cv.pdf", "--type", "RESUME"],
        ["attach", CANDIDATE_ID],
        ["attach", CANDIDATE_ID, "cv.pdf", "--bogus"],
        ["attach", "../../check-api-key", "cv.pdf"],
        ["attach", "a b", "cv.pdf"],
        ["attach", CANDIDATE_ID, "cv.pdf", "--region", "mars"],
    ],
)
def test_exit_2_for_usage_errors(
    server_env: dict[str, str], kombo_server: KomboServer, sample_file, args: list[str]
) -> None:
    sample_file("cv.pdf", "pdf")
    result = run_kombo(*args, env=server_env, cwd=Path(sample_file("x.pdf", "pdf")).parent)

    assert result.returncode == 2, result.stderr
    assert result.stderr.strip()
    assert_no_traceback(result.stderr)
    assert kombo_server.requests == []


def test_exit_3_without_an_api_key(sample_file, kombo_server: KomboServer) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(path),
        env={"KOMBO_INTEGRATION_ID": INTEGRATION_ID, "KOMBO_BASE_URL": kombo_server.base_url},
    )

    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == "Error: KOMBO_API_KEY is not set."
    assert kombo_server.requests == []


def test_exit_3_without_an_integration_id(sample_file, kombo_server: KomboServer) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(path),
        env={"KOMBO_API_KEY": API_KEY, "KOMBO_BASE_URL": kombo_server.base_url},
    )

    assert result.returncode == 3
    assert "KOMBO_INTEGRATION_ID is not set" in result.stderr
    assert_no_secret(result.stdout, result.stderr)


def test_exit_3_for_a_plain_http_base_url_to_a_remote_host(sample_file) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(path),
        env={
            "KOMBO_API_KEY": API_KEY,
            "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
            "KOMBO_BASE_URL": "http://api.kombo.dev/v1",
        },
    )

    assert result.returncode == 3
    assert "plain http" in result.stderr
    assert "https is required" in result.stderr


def test_exit_4_when_kombo_rejects_the_key(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    wrong_key = "ks_test_WRONGWRONGWRONGWRONG1234"
    result = run_kombo(
        "attach", CANDIDATE_ID, str(path), env={**server_env, "KOMBO_API_KEY": wrong_key}
    )

    assert result.returncode == 4
    assert "PLATFORM.AUTHENTICATION_INVALID" in result.stderr
    assert "HTTP 401" in result.stderr
    # The sandbox gives no dashboard log link (a scripted one is shown: see above).
    assert "log:" not in result.stderr
    assert "Hint: check KOMBO_API_KEY" in result.stderr
    assert wrong_key not in result.stderr + result.stdout
    assert kombo_server.attachments == []


def test_exit_4_for_a_missing_permission(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(
        ScriptedResponse(
            status=403,
            body=error_envelope(
                "The ATS user may not upload documents.", code="INTEGRATION.PERMISSION_MISSING"
            ),
        )
    )
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=server_env)

    assert result.returncode == 4
    assert "Error: The ATS user may not upload documents." in result.stderr


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (404, None),
        (409, "INTEGRATION.SETUP_SYNC_PENDING"),
        (400, "PLATFORM.INPUT_INVALID"),
        (404, "PLATFORM.INTEGRATION_NOT_FOUND"),
    ],
)
def test_exit_5_when_kombo_rejects_the_request(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file, status: int, code
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=status, body=error_envelope("Rejected here.", code=code))
    )
    if (status, code) == (404, None):
        # Nor is the ID an application's: the one lookup after the 404 finds nothing either.
        kombo_server.queue(ScriptedResponse(status=404, body=error_envelope("Not found.")))
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=server_env)

    assert result.returncode == 5
    assert result.stderr.startswith("Error: Rejected here.\n")
    assert f"HTTP {status}" in result.stderr


def test_exit_5_for_an_unknown_candidate(sample_file) -> None:
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, known_ids={"KNOWN"}) as server:
        env = {
            "KOMBO_API_KEY": API_KEY,
            "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
            "KOMBO_BASE_URL": server.base_url,
        }
        result = run_kombo("attach", "UNKNOWN", str(sample_file("cv.pdf")), env=env)

    assert result.returncode == 5
    assert "could not be found" in result.stderr
    assert "HTTP 404" in result.stderr


def test_exit_5_for_a_wrong_integration_id(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    env = {**server_env, "KOMBO_INTEGRATION_ID": "workday:unknown"}
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=env)

    assert result.returncode == 5
    assert "PLATFORM.INTEGRATION_NOT_FOUND" in result.stderr
    assert "Hint: check KOMBO_INTEGRATION_ID" in result.stderr


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            ScriptedResponse(
                status=429,
                body=error_envelope("Too many requests.", code="PLATFORM.RATE_LIMIT_EXCEEDED"),
            ),
            "Too many requests.",
        ),
        (
            ScriptedResponse(
                status=500, body=error_envelope("Something broke.", code="PLATFORM.UNKNOWN_ERROR")
            ),
            "Something broke.",
        ),
        (
            ScriptedResponse(
                status=503,
                body=b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
                b"<body><center><h1>503 Service Temporarily Unavailable</h1></center>"
                b"<hr><center>nginx</center></body></html>",
                headers={"Content-Type": "text/html"},
            ),
            'answered HTTP 503 Service Unavailable (an HTML page titled "503 Service'
            ' Temporarily Unavailable").',
        ),
        (
            ScriptedResponse(
                status=502, body=b"upstream connect error\n", headers={"Content-Type": "text/plain"}
            ),
            'answered HTTP 502 Bad Gateway: "upstream connect error".',
        ),
    ],
    ids=["429", "500-json", "503-html", "502-text"],
)
def test_exit_6_when_kombo_is_unavailable(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    sample_file,
    response: ScriptedResponse,
    expected: str,
) -> None:
    kombo_server.queue(response)
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(sample_file("cv.pdf")),
        "--retries",
        "0",
        # The looks after an ambiguous answer need not wait seconds here.
        "--settle-delay",
        "0.1",
        env=server_env,
    )

    assert result.returncode == 6
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error_lines) == 1
    assert expected in error_lines[0]
    assert "<html" not in result.stderr


def test_exit_6_when_nothing_listens(sample_file) -> None:
    env = dead_server_env()
    port = env["KOMBO_BASE_URL"].split(":")[2].split("/")[0]
    result = run_kombo(
        "attach", CANDIDATE_ID, str(sample_file("cv.pdf")), "--retries", "0", env=env
    )

    assert result.returncode == 6
    assert result.stderr.startswith(
        f"Error: Could not connect to 127.0.0.1:{port}: connection refused."
    )
    assert_no_traceback(result.stderr)


def test_a_stored_upload_whose_reply_is_lost_is_confirmed_by_listing_not_sent_again(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(ScriptedResponse(drop_connection=True, store=True))
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=server_env)

    assert result.returncode == 0, result.stderr
    assert [a.name for a in kombo_server.attachments] == ["cv.pdf"]
    assert [(r.method, r.path) for r in kombo_server.requests] == [
        ("POST", f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"),
        ("GET", f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"),
        ("GET", f"/files/{kombo_server.attachments[0].id}"),
    ]
    assert "broke before Kombo answered" in result.stderr
    assert "so it was not sent again" in result.stderr
    assert result.stdout.startswith("Attached cv.pdf to candidate")


def test_exit_7_when_some_files_of_several_fail(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    good = sample_file("a.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, "missing.pdf", str(good), env=server_env)

    assert result.returncode == 7
    assert [a.name for a in kombo_server.attachments] == ["a.pdf"]
    assert "Error: File not found: missing.pdf." in result.stderr
    assert "1 attached, 1 failed" in result.stderr


def test_exit_130_on_ctrl_c_during_an_upload(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(ScriptedResponse(delay_s=30, store=True))
    result = interrupt_kombo(
        "attach",
        CANDIDATE_ID,
        str(sample_file("cv.pdf")),
        env=server_env,
        when=lambda: kombo_server.wait_for_requests(1, timeout=20),
    )
    assert result.returncode == 130
    assert "Interrupted while attaching" in result.stderr
    assert_no_traceback(result.stderr)


# -- dotenv discovery -------------------------------------------------------------------------


def test_credentials_are_read_from_dotenv_in_the_current_directory(
    kombo_server: KomboServer, sample_file, tmp_path: Path
) -> None:
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / ".env").write_text(
        f"# Kombo\nKOMBO_API_KEY={API_KEY}\nexport KOMBO_INTEGRATION_ID='{INTEGRATION_ID}'\n"
        f'KOMBO_BASE_URL="{kombo_server.base_url}"\n'
    )
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert kombo_server.requests[0].header("Authorization") == f"Bearer {API_KEY}"


def test_env_file_option_replaces_the_local_dotenv(
    kombo_server: KomboServer, sample_file, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("KOMBO_API_KEY=ks_test_from_cwd_dotenv_xxxxxxxx\n")
    other = tmp_path / "ci.env"
    other.write_text(
        f"KOMBO_API_KEY={API_KEY}\nKOMBO_INTEGRATION_ID={INTEGRATION_ID}\n"
        f"KOMBO_BASE_URL={kombo_server.base_url}\n"
    )
    result = run_kombo(
        "attach", CANDIDATE_ID, str(sample_file("cv.pdf")), "--env-file", str(other), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert kombo_server.requests[0].header("Authorization") == f"Bearer {API_KEY}"


def test_environment_beats_dotenv(kombo_server: KomboServer, sample_file, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"KOMBO_API_KEY=ks_test_dotenv_loses_xxxxxxxxxxxx\nKOMBO_INTEGRATION_ID={INTEGRATION_ID}\n"
        "KOMBO_BASE_URL=http://127.0.0.1:9/v1\n"
    )
    env = {"KOMBO_API_KEY": API_KEY, "KOMBO_BASE_URL": kombo_server.base_url}
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert kombo_server.requests[0].header("Authorization") == f"Bearer {API_KEY}"
    assert kombo_server.requests[0].header("X-Integration-Id") == INTEGRATION_ID


def test_exit_3_for_a_malformed_dotenv_names_file_and_line(sample_file, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"KOMBO_API_KEY={API_KEY}\nthis line is not a setting\n")
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), cwd=tmp_path)

    assert result.returncode == 3
    assert f"{tmp_path / '.env'}" in result.stderr
    assert "line 2" in result.stderr
    assert_no_secret(result.stderr)


def test_exit_3_for_a_binary_dotenv(sample_file, tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"KOMBO_API_KEY=x\n\xff\xfe\x00garbage")
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), cwd=tmp_path)

    assert result.returncode == 3
    assert "not a text file" in result.stderr
    assert "line 2" in result.stderr


def test_exit_3_for_a_missing_env_file(sample_file) -> None:
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), "--env-file", "nope.env")

    assert result.returncode == 3
    assert "The env file nope.env does not exist." in result.stderr


def test_key_with_stray_whitespace_is_trimmed(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    env = {**server_env, "KOMBO_API_KEY": f"  {API_KEY}\n"}
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=env)

    assert result.returncode == 0, result.stderr
    assert kombo_server.requests[0].header("Authorization") == f"Bearer {API_KEY}"


# -- dry run ----------------------------------------------------------------------------------


def test_dry_run_prints_the_request_and_sends_nothing(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo(
        "attach", CANDIDATE_ID, str(path), "--type", "CV", "--dry-run", env=server_env
    )

    assert result.returncode == 0, result.stderr
    assert kombo_server.requests == []
    lines = result.stdout.splitlines()
    assert lines[0] == f"POST {kombo_server.base_url}/ats/candidates/{CANDIDATE_ID}/attachments"
    assert "Authorization: Bearer ks_test_…fD1".replace("fD1", API_KEY[-4:]) in lines
    assert f"X-Integration-Id: {INTEGRATION_ID}" in lines
    digest = hashlib.sha256(make_pdf()).hexdigest()
    assert f"sha256 {digest}" in result.stdout
    assert base64.b64encode(make_pdf()).decode()[:20] not in result.stdout
    assert_no_secret(result.stdout, result.stderr)


def test_dry_run_without_a_key_prints_the_plan_then_exits_3(sample_file) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), "--dry-run", "--json")

    assert result.returncode == 3
    plan = json.loads(result.stdout.splitlines()[0])
    assert plan["status"] == "dry_run"
    assert plan["request"]["url"] == (
        f"https://api.kombo.dev/v1/ats/candidates/{CANDIDATE_ID}/attachments"
    )
    assert plan["request"]["headers"]["Authorization"] == "Bearer <missing: set KOMBO_API_KEY>"
    assert plan["request"]["body"]["attachment"]["content_type"] == "application/pdf"
    assert "Neither KOMBO_API_KEY nor KOMBO_INTEGRATION_ID is set." in result.stderr


@pytest.mark.parametrize(
    ("region", "host"), [("us", "api.us.kombo.dev"), ("CA", "api.ca.kombo.dev")]
)
def test_region_selects_the_base_url(sample_file, region: str, host: str) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(sample_file("cv.pdf")),
        "--dry-run",
        "--region",
        region,
        env={"KOMBO_API_KEY": API_KEY, "KOMBO_INTEGRATION_ID": INTEGRATION_ID},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"POST https://{host}/v1/ats/candidates/")


def test_region_from_the_environment(sample_file) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(sample_file("cv.pdf")),
        "--dry-run",
        env={
            "KOMBO_API_KEY": API_KEY,
            "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
            "KOMBO_REGION": "us",
        },
    )

    assert result.stdout.startswith("POST https://api.us.kombo.dev/v1/")


# -- output hygiene ---------------------------------------------------------------------------


def test_verbose_http_log_masks_the_key_and_never_logs_file_content(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    content = b"Frank Doe, +49 151 12345678, frank@example.com\n"
    path = sample_file("cv.txt", content)
    result = run_kombo("attach", CANDIDATE_ID, str(path), "-vv", env=server_env)

    assert result.returncode == 0, result.stderr
    assert "http: > POST" in result.stderr
    assert "http: > Authorization: Bearer ********\n" in result.stderr
    assert "http: < 200 OK" in result.stderr
    assert_no_secret(result.stdout, result.stderr)
    assert "Frank Doe" not in result.stderr
    assert base64.b64encode(content).decode()[:16] not in result.stderr


def test_kombo_debug_turns_on_the_http_log(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    result = run_kombo(
        "attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env={**server_env, "KOMBO_DEBUG": "1"}
    )

    assert result.returncode == 0
    assert "http: > POST" in result.stderr
    assert_no_secret(result.stderr)


def test_quiet_prints_nothing_on_success(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), "-q", env=server_env)

    assert result.returncode == 0
    assert (result.stdout, result.stderr) == ("", "")
    assert len(kombo_server.attachments) == 1


def test_piped_output_has_no_colour_or_control_characters(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(
        ScriptedResponse(
            store=True,
            body={"status": "success", "data": {}, "warnings": [{"message": "Check\x1b[31m this"}]},
        )
    )
    result = run_kombo(
        "attach", CANDIDATE_ID, str(sample_file("cv.pdf", "png")), "-v", env=server_env
    )

    assert result.returncode == 0
    for text in (result.stdout, result.stderr):
        for marker in ANSI_OR_CONTROL:
            assert marker not in text


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run kombo with stdout and stderr on a pseudo-terminal; returns (exit code, output)."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(KOMBO_EXECUTABLE), *args],
        stdout=follower,
        stderr=follower,
        env=clean_env({**env, "TERM": "xterm-256color"}),
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_terminal_unless_no_color(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = str(sample_file("cv.pdf"))
    code, coloured = _run_on_a_terminal(["attach", CANDIDATE_ID, path], server_env)
    assert code == 0
    assert "\x1b[" in coloured
    assert "Attached cv.pdf" in coloured

    code, plain = _run_on_a_terminal(
        ["attach", CANDIDATE_ID, path], {**server_env, "NO_COLOR": "1"}
    )
    assert code == 0
    assert "\x1b[" not in plain
    assert "Attached cv.pdf" in plain


def test_the_key_never_appears_in_any_output(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = str(sample_file("cv.pdf"))
    kombo_server.queue(
        ScriptedResponse(status=400, body=error_envelope(f"Bad key {API_KEY} in request")),
    )
    runs = [
        run_kombo("attach", CANDIDATE_ID, path, "-vv", "--json", env=server_env),
        run_kombo("attach", CANDIDATE_ID, path, "-vv", "--dry-run", env=server_env),
        # A key the client refuses (a line break inside) must not be echoed either.
        run_kombo(
            "attach",
            CANDIDATE_ID,
            path,
            "-vv",
            env={**server_env, "KOMBO_API_KEY": f"{API_KEY}\nx"},
        ),
    ]
    assert [run.returncode for run in runs] == [5, 0, 3]
    for result in runs:
        assert_no_secret(result.stdout, result.stderr)


def test_a_file_named_twice_is_attached_once(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file, tmp_path: Path
) -> None:
    # Overlapping globs (`scans/*.pdf scans/2026-*.pdf`) name a file twice; two spellings
    # of one path, or a link to it, are the same file too.
    cv = sample_file("cv.pdf")
    other = sample_file("other.pdf", make_pdf() + b"%other\n")
    link = tmp_path / "link.pdf"
    link.symlink_to(cv)
    result = run_kombo_process(
        "attach",
        CANDIDATE_ID,
        str(cv),
        str(other),
        str(tmp_path / "." / "cv.pdf"),
        str(link),
        cwd=tmp_path,
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    posts = [request for request in kombo_server.requests if request.method == "POST"]
    assert len(posts) == 2
    assert sorted(stored.name for stored in kombo_server.attachments) == ["cv.pdf", "other.pdf"]
    assert result.stdout.count("Attached ") == 2
    assert result.stderr.count("is named more than once; it is attached once") == 2
