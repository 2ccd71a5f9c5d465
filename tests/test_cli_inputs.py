"""`kombo attach` inputs end to end: standard input, remote fields, names and IDs, and
`kombo attachments list`, all through the installed executable against the loopback Kombo."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import time
import unicodedata
from pathlib import Path

import pytest

from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    KOMBO_EXECUTABLE,
    clean_env,
    interrupt_kombo,
    make_pdf,
    make_png,
    run_kombo,
    start_kombo,
)
from tests.recording_server import KomboServer, ScriptedResponse, StoredAttachment, error_envelope

# An application ID in Kombo's format: without --strict-ids the sandbox knows any such ID.
APPLICATION_ID = "App123xxxxxxxxxxxxxxxxxx"

ATTACHMENTS_PATH = f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"
ANSI_OR_CONTROL = ("\x1b", "\r")
RATE_LIMITED = ScriptedResponse(
    status=429,
    body=error_envelope("Too many requests.", code="PLATFORM.RATE_LIMIT_EXCEEDED"),
    headers={"retry-after-ms": "50"},
)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert API_KEY not in text
        # Not even a long piece of it.
        assert API_KEY[8:20] not in text


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error: ")]


def hint_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip().startswith("Hint: ")]


def table_rows(stdout: str) -> list[list[str]]:
    """The human table split into cells (columns are separated by two or more spaces)."""
    return [re.split(r" {2,}", line) for line in stdout.splitlines()]


@pytest.fixture
def spool_root(tmp_path: Path) -> Path:
    """A private TMPDIR for the subprocess, to see whether the stdin spool is left behind."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    return folder


# -- standard input ---------------------------------------------------------------------------


def test_stdin_is_uploaded_byte_for_byte(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "cv.pdf",
        "--type",
        "CV",
        env=server_env,
        stdin=make_pdf(),
    )

    assert result.returncode == 0, result.stderr
    [request] = kombo_server.requests
    assert (request.method, request.path) == ("POST", ATTACHMENTS_PATH)
    assert request.json() == {
        "attachment": {
            "name": "cv.pdf",
            "type": "CV",
            "content_type": "application/pdf",
            "data": base64.b64encode(make_pdf()).decode(),
        }
    }
    [stored] = kombo_server.attachments
    assert stored.data == make_pdf()
    assert (stored.name, stored.type, stored.content_type) == ("cv.pdf", "CV", "application/pdf")
    assert (stored.target_kind, stored.target_id) == ("candidate", CANDIDATE_ID)
    assert result.stdout.startswith(
        f"Attached cv.pdf to candidate {CANDIDATE_ID} (CV, application/pdf, "
    )
    assert result.stderr == ""


def test_stdin_in_json_mode_is_named_stdin(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    data = make_png()
    result = run_kombo(
        "attach", CANDIDATE_ID, "-", "--name", "photo.png", "--json", env=server_env, stdin=data
    )

    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["status"] == "success"
    assert payload["file"] == "<stdin>"
    assert payload["name"] == "photo.png"
    assert payload["content_type"] == "image/png"
    assert payload["size"] == len(data)
    assert payload["sha256"] == hashlib.sha256(data).hexdigest()
    assert payload["attempts"] == 1
    assert kombo_server.attachments[0].data == data


def test_stdin_without_a_name_is_a_usage_error(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo("attach", CANDIDATE_ID, "-", env=server_env, stdin=make_pdf())

    assert result.returncode == 2
    [error] = error_lines(result.stderr)
    assert "--name" in error
    assert "--name cv.pdf" in hint_lines(result.stderr)[0]
    assert result.stdout == ""
    assert kombo_server.requests == []


@pytest.mark.parametrize(
    ("files", "extra", "message"),
    [
        (["-", "-"], [], "Standard input (-) can only be attached once."),
        (["-", "-"], ["--name", "cv.pdf"], "Standard input (-) can only be attached once."),
        (["cv.pdf", "-"], ["--name", "cv.pdf"], "Standard input (-) must be the only FILE."),
        (["cv.pdf", "-"], [], "Standard input (-) must be the only FILE."),
    ],
    ids=["twice", "twice-with-name", "with-a-file-and-name", "with-a-file"],
)
def test_stdin_given_twice_or_with_other_files_is_a_usage_error(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    sample_file,
    files: list[str],
    extra: list[str],
    message: str,
) -> None:
    folder = sample_file("cv.pdf", "pdf").parent
    result = run_kombo(
        "attach", CANDIDATE_ID, *files, *extra, env=server_env, cwd=folder, stdin=make_pdf()
    )

    assert result.returncode == 2
    [error] = error_lines(result.stderr)
    assert message in error
    assert_no_traceback(result.stderr)
    assert kombo_server.requests == []


def test_empty_stdin_is_a_usage_error_and_leaves_no_spool(
    kombo_server: KomboServer, server_env: dict[str, str], spool_root: Path
) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "cv.pdf",
        env={**server_env, "TMPDIR": str(spool_root)},
        stdin=b"",
    )

    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "Error: Standard input is empty; Kombo does not accept empty attachments."
    ]
    assert kombo_server.requests == []
    assert list(spool_root.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("resume", make_pdf(), "application/pdf"),
        ("Passfoto", make_png(), "image/png"),
    ],
)
def test_stdin_content_type_comes_from_magic_bytes_when_the_name_has_no_extension(
    kombo_server: KomboServer, server_env: dict[str, str], name: str, data: bytes, content_type: str
) -> None:
    result = run_kombo("attach", CANDIDATE_ID, "-", "--name", name, env=server_env, stdin=data)

    assert result.returncode == 0, result.stderr
    [stored] = kombo_server.attachments
    assert (stored.name, stored.content_type, stored.data) == (name, content_type, data)
    assert f"Warning: the name {name!r} has no extension" in result.stderr
    assert f"Attached {name} to candidate {CANDIDATE_ID}" in result.stdout


def test_stdin_that_cannot_be_typed_is_a_usage_error(
    kombo_server: KomboServer, server_env: dict[str, str], spool_root: Path
) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "blob",
        env={**server_env, "TMPDIR": str(spool_root)},
        stdin=bytes(range(256)) * 4,
    )

    assert result.returncode == 2
    [error] = error_lines(result.stderr)
    assert "Cannot tell the content type of blob" in error
    assert kombo_server.requests == []
    assert list(spool_root.iterdir()) == []


def test_stdin_is_sent_again_identically_after_a_429(
    kombo_server: KomboServer, server_env: dict[str, str], spool_root: Path
) -> None:
    # Larger than one read chunk (1 MiB), so the spool is read in several pieces, twice.
    data = b"%PDF-1.4\n" + hashlib.sha256(b"seed").digest() * (2_500_000 // 32)
    kombo_server.queue(RATE_LIMITED)
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "big.pdf",
        "--json",
        env={**server_env, "TMPDIR": str(spool_root)},
        stdin=data,
    )

    assert result.returncode == 0, result.stderr
    first, second = kombo_server.requests
    assert [(r.method, r.path) for r in (first, second)] == [("POST", ATTACHMENTS_PATH)] * 2
    assert first.body == second.body
    assert base64.b64decode(first.json()["attachment"]["data"]) == data
    [stored] = kombo_server.attachments
    assert stored.data == data
    assert json.loads(result.stdout)["attempts"] == 2
    assert "HTTP 429" in result.stderr
    assert "retrying in" in result.stderr
    assert list(spool_root.iterdir()) == []


def test_stdin_is_spooled_under_tmpdir_while_uploading_and_removed_after(
    kombo_server: KomboServer, server_env: dict[str, str], spool_root: Path
) -> None:
    # The reply waits a little, so the spool can be seen while the upload is in flight.
    kombo_server.queue(ScriptedResponse(delay_s=0.2, store=True, body={"status": "success"}))
    process = start_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "cv.pdf",
        env={**server_env, "TMPDIR": str(spool_root)},
        stdin=make_pdf(),
    )
    try:
        kombo_server.wait_for_requests(1, timeout=20)
        during = sorted(p.relative_to(spool_root) for p in spool_root.rglob("*"))
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()

    assert process.returncode == 0, stderr.decode()
    assert len(during) == 2, during
    assert during[0].name.startswith("kombo-stdin-")
    assert (spool_root / during[1]).parent == spool_root / during[0]
    assert stdout.decode().startswith("Attached cv.pdf")
    assert list(spool_root.iterdir()) == []


@pytest.mark.parametrize(
    ("response", "extra", "exit_code"),
    [
        (ScriptedResponse(status=400, body=error_envelope("The job is closed.")), [], 5),
        (RATE_LIMITED, ["--retries", "0"], 6),
        (None, ["--dry-run"], 0),
        (None, ["--remote-field", "nope"], 2),
    ],
    ids=["rejected", "gave-up", "dry-run", "bad-option"],
)
def test_no_spool_is_left_behind_whatever_the_outcome(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    spool_root: Path,
    response: ScriptedResponse | None,
    extra: list[str],
    exit_code: int,
) -> None:
    if response is not None:
        kombo_server.queue(response)
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "cv.pdf",
        *extra,
        env={**server_env, "TMPDIR": str(spool_root)},
        stdin=make_pdf(),
    )

    assert result.returncode == exit_code, result.stderr
    assert list(spool_root.iterdir()) == []
    assert kombo_server.attachments == []
    assert_no_traceback(result.stderr)


def test_stdin_without_a_key_exits_3_and_leaves_no_spool(
    kombo_server: KomboServer, server_env: dict[str, str], spool_root: Path
) -> None:
    env = {k: v for k, v in server_env.items() if k != "KOMBO_API_KEY"}
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "cv.pdf",
        env={**env, "TMPDIR": str(spool_root)},
        stdin=make_pdf(),
    )

    assert result.returncode == 3
    assert error_lines(result.stderr) == ["Error: KOMBO_API_KEY is not set."]
    assert kombo_server.requests == []
    assert list(spool_root.iterdir()) == []


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
    reason="SIGINT is ignored here (e.g. a background job), and kombo would inherit that",
)
def test_ctrl_c_during_a_stdin_upload_removes_the_spool(
    kombo_server: KomboServer, server_env: dict[str, str], spool_root: Path
) -> None:
    kombo_server.queue(ScriptedResponse(delay_s=30, store=True))

    def upload_started_with_a_spool() -> None:
        kombo_server.wait_for_requests(1, timeout=20)
        assert any(p.name.startswith("kombo-stdin-") for p in spool_root.iterdir())

    result = interrupt_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "cv.pdf",
        env={**server_env, "TMPDIR": str(spool_root)},
        stdin=make_pdf(),
        when=upload_started_with_a_spool,
        settle_s=0.1,
    )

    assert result.returncode == 130
    assert "Error: Interrupted while attaching" in result.stderr
    assert f"kombo attachments list {CANDIDATE_ID}" in result.stderr
    assert_no_traceback(result.stderr)
    assert list(spool_root.iterdir()) == []


@pytest.mark.parametrize("stdin_kind", ["terminal", "closed"])
def test_stdin_that_is_a_terminal_or_closed_is_a_usage_error(
    kombo_server: KomboServer, server_env: dict[str, str], spool_root: Path, stdin_kind: str
) -> None:
    import pty

    args = [str(KOMBO_EXECUTABLE), "attach", CANDIDATE_ID, "-", "--name", "cv.pdf"]
    env = clean_env({**server_env, "TMPDIR": str(spool_root)})
    leader, follower = pty.openpty()
    try:
        if stdin_kind == "terminal":
            completed = subprocess.run(
                args, stdin=follower, capture_output=True, env=env, timeout=30, check=False
            )
        else:
            # The shell closes file descriptor 0 before it starts kombo.
            completed = subprocess.run(
                ["/bin/sh", "-c", 'exec "$0" "$@" <&-', *args],
                capture_output=True,
                env=env,
                timeout=30,
                check=False,
            )
    finally:
        os.close(follower)
        os.close(leader)
    stderr = completed.stderr.decode()

    assert completed.returncode == 2, stderr
    [error] = error_lines(stderr)
    assert error.startswith("Error: Standard input (-) ")
    assert "pipe the file in" in hint_lines(stderr)[0]
    assert_no_traceback(stderr)
    assert kombo_server.requests == []
    assert list(spool_root.iterdir()) == []


def test_dry_run_from_stdin_summarises_the_bytes_and_sends_nothing(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "cv.pdf",
        "--dry-run",
        "--json",
        env=server_env,
        stdin=make_pdf(),
    )

    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["status"] == "dry_run"
    assert plan["file"] == "<stdin>"
    data = plan["request"]["body"]["attachment"]["data"]
    assert hashlib.sha256(make_pdf()).hexdigest() in data
    assert f"base64 of {len(make_pdf())} bytes" in data
    assert kombo_server.requests == []


# -- remote fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--remote-field", "greenhouse.post_headers.On-Behalf-Of=123"],
            # A text value stays text, even when it looks like a number.
            {"greenhouse": {"post_headers": {"On-Behalf-Of": "123"}}},
        ),
        (
            ["--remote-field", "greenhouse.post_headers.On-Behalf-Of:=null"],
            {"greenhouse": {"post_headers": {"On-Behalf-Of": None}}},
        ),
        (
            ["--remote-field", 'greenhouse.post_headers.On-Behalf-Of:="4 2"'],
            {"greenhouse": {"post_headers": {"On-Behalf-Of": "4 2"}}},
        ),
        (
            [
                "--remote-field",
                "workable.on_behalf_of_user_remote_id=u=42.Zoë",
                "--remote-field",
                "greenhouse.post_headers.On-Behalf-Of=7",
            ],
            {
                "workable": {"on_behalf_of_user_remote_id": "u=42.Zoë"},
                "greenhouse": {"post_headers": {"On-Behalf-Of": "7"}},
            },
        ),
        (
            ["--remote-fields", '{"workable": {"on_behalf_of_user_remote_id": ""}}'],
            {"workable": {"on_behalf_of_user_remote_id": ""}},
        ),
        (
            [
                "--remote-fields",
                '{"greenhouse": {"post_headers": {"On-Behalf-Of": "1"}}}',
                "--remote-field",
                "greenhouse.post_headers.On-Behalf-Of=2",
            ],
            {"greenhouse": {"post_headers": {"On-Behalf-Of": "2"}}},
        ),
        (["--remote-fields", "{}"], {}),
    ],
    ids=["text", "json-null", "json-string", "two-fields", "inline", "inline-override", "empty"],
)
def test_remote_fields_reach_kombo_exactly(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    sample_file,
    args: list[str],
    expected: dict[str, object],
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), *args, env=server_env)

    assert result.returncode == 0, result.stderr
    [request] = kombo_server.requests
    body = request.json()
    assert body["remote_fields"] == expected
    assert body["attachment"]["name"] == "cv.pdf"
    assert kombo_server.attachments[0].remote_fields == expected


def test_remote_fields_from_a_file_with_an_override(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file, tmp_path: Path
) -> None:
    (tmp_path / "rf.json").write_text(
        json.dumps(
            {
                "greenhouse": {"post_headers": {"On-Behalf-Of": "100"}},
                "workable": {"on_behalf_of_user_remote_id": "u-1"},
            }
        ),
        encoding="utf-8",
    )
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(path),
        "--remote-fields",
        "@rf.json",
        "--remote-field",
        "greenhouse.post_headers.On-Behalf-Of=123",
        env=server_env,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert kombo_server.requests[0].json()["remote_fields"] == {
        "greenhouse": {"post_headers": {"On-Behalf-Of": "123"}},
        "workable": {"on_behalf_of_user_remote_id": "u-1"},
    }


def test_remote_fields_for_an_application_from_stdin(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo(
        "attach",
        APPLICATION_ID,
        "-",
        "--application",
        "--name",
        "cv.pdf",
        "--remote-field",
        "oracle.multi_post_to_all_current_applications:=true",
        env=server_env,
        stdin=make_pdf(),
    )

    assert result.returncode == 0, result.stderr
    [request] = kombo_server.requests
    assert request.path == f"/v1/ats/applications/{APPLICATION_ID}/attachments"
    expected = {"oracle": {"multi_post_to_all_current_applications": True}}
    assert request.json()["remote_fields"] == expected
    [stored] = kombo_server.attachments
    assert (stored.target_kind, stored.target_id) == ("application", APPLICATION_ID)
    assert stored.remote_fields == expected
    assert stored.data == make_pdf()
    assert f"to application {APPLICATION_ID}" in result.stdout


def test_remote_field_keys_are_left_for_kombo_to_judge(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    # Oracle's fields exist for applications only; the CLI sends them, and the sandbox, like
    # Kombo's open schema, takes the upload and says in its warnings that it ignored them.
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(path),
        "--remote-field",
        "oracle.multi_post_to_all_current_applications:=true",
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    [request] = kombo_server.requests
    assert request.json()["remote_fields"] == {
        "oracle": {"multi_post_to_all_current_applications": True}
    }
    assert "Kombo: Ignored 'remote_fields.oracle'" in result.stderr
    assert len(kombo_server.attachments) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--remote-field", "nope"], "has no '=' between path and value"),
        (["--remote-field", "=x"], "has no path before '='"),
        (["--remote-field", "a..b=1"], "has an empty part in its path"),
        (["--remote-field", "a:=nottjson"], "has invalid JSON after ':='"),
        (["--remote-field", "a:=NaN"], "has invalid JSON after ':='"),
        (["--remote-field", "a b=1"], "whitespace or a control or invisible character"),
        (["--remote-fields", "[1]"], "must be a JSON object, not an array"),
        (["--remote-fields", "{"], "is not valid JSON"),
        (["--remote-fields", ""], "is empty"),
        (["--remote-fields", "@missing.json"], "file 'missing.json' does not exist"),
        (
            [
                "--remote-field",
                "greenhouse.post_headers.On-Behalf-Of=1",
                "--remote-field",
                "greenhouse.post_headers.On-Behalf-Of=2",
            ],
            "sets the path 'greenhouse.post_headers.On-Behalf-Of' again",
        ),
        (
            [
                "--remote-field",
                "greenhouse.post_headers:={}",
                "--remote-field",
                "greenhouse.post_headers.On-Behalf-Of=1",
            ],
            "conflicts with",
        ),
        (
            [
                "--remote-fields",
                '{"greenhouse": "x"}',
                "--remote-field",
                "greenhouse.post_headers.On-Behalf-Of=1",
            ],
            "'greenhouse' in --remote-fields is a string, not an object",
        ),
    ],
    ids=[
        "no-equals",
        "no-path",
        "empty-segment",
        "bad-json",
        "nan",
        "space-in-path",
        "not-an-object",
        "truncated-object",
        "empty-object-text",
        "missing-file",
        "same-path-twice",
        "path-inside-path",
        "through-a-string",
    ],
)
def test_malformed_remote_fields_are_usage_errors_and_nothing_is_sent(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    sample_file,
    args: list[str],
    fragment: str,
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), *args, env=server_env, cwd=path.parent)

    assert result.returncode == 2, result.stderr
    [error] = error_lines(result.stderr)
    assert fragment in error
    assert "--remote-field" in error
    assert len(hint_lines(result.stderr)) == 1
    assert_no_traceback(result.stderr)
    assert result.stdout == ""
    assert kombo_server.requests == []


def test_malformed_remote_fields_are_reported_before_stdin_is_read(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "-",
        "--name",
        "cv.pdf",
        "--remote-field",
        "a..b=1",
        "--json",
        env=server_env,
        stdin=make_pdf(),
    )

    assert result.returncode == 2
    payload = json.loads(result.stdout)
    assert payload["status"] == "error"
    assert payload["error"]["code"] == "CLI.USAGE"
    assert payload["error"]["exit_code"] == 2
    assert "empty part" in payload["error"]["message"]
    assert kombo_server.requests == []


def test_dry_run_shows_remote_fields_and_the_real_length_and_sends_nothing(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    args = [
        "attach",
        CANDIDATE_ID,
        str(path),
        "--remote-field",
        "greenhouse.post_headers.On-Behalf-Of=123",
        "--remote-field",
        "workable.on_behalf_of_user_remote_id=u-42",
    ]
    expected = {
        "greenhouse": {"post_headers": {"On-Behalf-Of": "123"}},
        "workable": {"on_behalf_of_user_remote_id": "u-42"},
    }
    preview = run_kombo(*args, "--dry-run", env=server_env)

    assert preview.returncode == 0, preview.stderr
    assert kombo_server.requests == []
    lines = preview.stdout.splitlines()
    body_start = lines.index("{")
    shown_body = json.loads("\n".join(lines[body_start:]))
    assert shown_body["remote_fields"] == expected
    [length_line] = [line for line in lines if line.startswith("Content-Length: ")]

    # The preview's Content-Length is the length of what is really sent.
    sent = run_kombo(*args, env=server_env)
    assert sent.returncode == 0, sent.stderr
    [request] = kombo_server.requests
    assert request.json()["remote_fields"] == expected
    assert length_line == f"Content-Length: {len(request.body)}"


def test_dry_run_json_shows_remote_fields(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        str(path),
        "--dry-run",
        "--json",
        "--remote-fields",
        '{"workable": {"on_behalf_of_user_remote_id": "u-42"}}',
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["request"]["body"]["remote_fields"] == {
        "workable": {"on_behalf_of_user_remote_id": "u-42"}
    }
    assert kombo_server.requests == []


def test_without_remote_options_the_body_has_no_remote_fields_key(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo("attach", CANDIDATE_ID, str(path), env=server_env)

    assert result.returncode == 0, result.stderr
    [request] = kombo_server.requests
    assert set(request.json()) == {"attachment"}
    assert b"remote_fields" not in request.body
    assert kombo_server.attachments[0].remote_fields is None


# -- kombo attachments list -------------------------------------------------------------------


def stored(name: str, *, created_at: str, target_id: str = CANDIDATE_ID, **fields: str):  # type: ignore[no-untyped-def]
    return StoredAttachment(
        target_kind=fields.pop("target_kind", "candidate"),
        target_id=target_id,
        name=name,
        type=fields.pop("type", "CV"),
        content_type=fields.pop("content_type", "application/pdf"),
        created_at=created_at,
    )


def test_list_prints_a_table_with_one_row_per_attachment(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    kombo_server.attachments.append(stored("Frank Doe CV.pdf", created_at="2024-05-01T09:30:00Z"))
    kombo_server.attachments.append(
        stored(
            "Anschreiben.docx",
            created_at="2024-05-02T10:00:00Z",
            type="COVER_LETTER",
            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
    )
    result = run_kombo("attachments", "list", CANDIDATE_ID, env=server_env)

    assert result.returncode == 0, result.stderr
    assert table_rows(result.stdout) == [
        ["NAME", "TYPE", "CONTENT TYPE", "CREATED", "APPLICATION"],
        ["Frank Doe CV.pdf", "CV", "application/pdf", "2024-05-01T09:30:00Z", "-"],
        [
            "Anschreiben.docx",
            "COVER_LETTER",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "2024-05-02T10:00:00Z",
            "-",
        ],
    ]
    # Columns line up: every row starts its second column where the header does.
    lines = result.stdout.splitlines()
    starts = {
        line.index(row[1], len(row[0])) for line, row in zip(lines, table_rows(result.stdout))
    }
    assert starts == {len("Frank Doe CV.pdf  ")}
    [request] = kombo_server.requests
    assert (request.method, request.path) == ("GET", ATTACHMENTS_PATH)
    assert request.header("Authorization") == f"Bearer {API_KEY}"
    assert request.header("X-Integration-Id") == INTEGRATION_ID
    assert request.body == b""
    assert result.stderr == ""


def test_list_shows_what_attach_uploaded(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    for name, sample in (("cv.pdf", "pdf"), ("photo.png", "png")):
        upload = run_kombo(
            "attach", CANDIDATE_ID, str(sample_file(name, sample)), "-t", "OTHER", env=server_env
        )
        assert upload.returncode == 0, upload.stderr
    result = run_kombo("attachments", "list", CANDIDATE_ID, env=server_env)

    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout)
    assert header == ["NAME", "TYPE", "CONTENT TYPE", "CREATED", "APPLICATION"]
    assert [row[:3] for row in rows] == [
        ["cv.pdf", "OTHER", "application/pdf"],
        ["photo.png", "OTHER", "image/png"],
    ]
    assert [a.created_at for a in kombo_server.attachments] == [row[3] for row in rows]


def test_list_names_the_application_of_an_applications_file(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    # A seeded sample candidate with applications: Kombo lists their files with the candidate's.
    [candidate] = [c for c in kombo_server.candidates if c.get("applications")][:1]
    application_id = candidate["applications"][0]["id"]
    kombo_server.attachments.append(
        stored("own.pdf", created_at="2024-05-01T09:30:00Z", target_id=candidate["id"])
    )
    kombo_server.attachments.append(
        stored(
            "for-the-job.pdf",
            created_at="2024-05-03T12:00:00Z",
            target_id=application_id,
            target_kind="application",
        )
    )
    result = run_kombo("attachments", "list", candidate["id"], env=server_env)

    assert result.returncode == 0, result.stderr
    assert [(row[0], row[-1]) for row in table_rows(result.stdout)[1:]] == [
        ("own.pdf", "-"),
        ("for-the-job.pdf", application_id),
    ]


def test_list_json_is_one_object_with_kombos_items(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    kombo_server.attachments.append(stored("a.pdf", created_at="2024-05-01T09:30:00Z"))
    kombo_server.attachments.append(
        stored("b.pdf", created_at="2024-05-02T09:30:00Z", type="OTHER")
    )
    result = run_kombo("attachments", "list", CANDIDATE_ID, "--json", env=server_env)

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    payload = json.loads(result.stdout)
    assert set(payload) == {"target", "attachments"}
    assert payload["target"] == {"kind": "candidate", "id": CANDIDATE_ID}
    items = payload["attachments"]
    assert [(i["file_name"], i["type"]) for i in items] == [("a.pdf", "CV"), ("b.pdf", "OTHER")]
    assert [i["id"] for i in items] == [a.id for a in kombo_server.attachments]
    assert all(i["data_url"].startswith("https://") for i in items)
    assert all(i["candidate_id"] == CANDIDATE_ID for i in items)
    assert result.stderr == ""


def test_list_for_an_application_uses_the_application_route(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    kombo_server.attachments.append(
        stored(
            "cover.pdf",
            created_at="2024-05-01T09:30:00Z",
            target_id=APPLICATION_ID,
            target_kind="application",
            type="COVER_LETTER",
        )
    )
    # A candidate's file with the same id must not show up under the application.
    kombo_server.attachments.append(
        stored("wrong.pdf", created_at="2024-05-01T09:30:00Z", target_id=APPLICATION_ID)
    )
    result = run_kombo("attachments", "list", APPLICATION_ID, "--application", env=server_env)

    assert result.returncode == 0, result.stderr
    [request] = kombo_server.requests
    assert (request.method, request.path) == (
        "GET",
        f"/v1/ats/applications/{APPLICATION_ID}/attachments",
    )
    assert table_rows(result.stdout) == [
        ["NAME", "TYPE", "CONTENT TYPE", "CREATED"],
        ["cover.pdf", "COVER_LETTER", "application/pdf", "2024-05-01T09:30:00Z"],
    ]

    as_json = run_kombo(
        "attachments", "list", APPLICATION_ID, "--application", "--json", env=server_env
    )
    assert json.loads(as_json.stdout)["target"] == {"kind": "application", "id": APPLICATION_ID}


def test_an_empty_list_prints_nothing_on_stdout(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    # Another candidate's file is not this candidate's.
    kombo_server.attachments.append(
        stored("other.pdf", created_at="2024-05-01T09:30:00Z", target_id="someone-else")
    )
    result = run_kombo("attachments", "list", CANDIDATE_ID, env=server_env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"Kombo lists no attachments for candidate {CANDIDATE_ID}.\n"
    assert [(r.method, r.path) for r in kombo_server.requests] == [("GET", ATTACHMENTS_PATH)]

    as_json = run_kombo("attachments", "list", CANDIDATE_ID, "--json", env=server_env)
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout) == {
        "target": {"kind": "candidate", "id": CANDIDATE_ID},
        "attachments": [],
    }


def test_a_429_on_the_listing_is_retried(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    kombo_server.attachments.append(stored("cv.pdf", created_at="2024-05-01T09:30:00Z"))
    kombo_server.queue(RATE_LIMITED)
    started = time.monotonic()
    result = run_kombo("attachments", "list", CANDIDATE_ID, env=server_env)

    assert result.returncode == 0, result.stderr
    assert [(r.method, r.path) for r in kombo_server.requests] == [("GET", ATTACHMENTS_PATH)] * 2
    assert table_rows(result.stdout)[1][0] == "cv.pdf"
    assert "listing the attachments failed: HTTP 429" in result.stderr
    # retry-after-ms was honoured rather than the default backoff of about a second.
    assert time.monotonic() - started < 5


def test_a_429_that_persists_gives_up_with_exit_6(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    kombo_server.queue(RATE_LIMITED, RATE_LIMITED)
    result = run_kombo("attachments", "list", CANDIDATE_ID, "--retries", "1", env=server_env)

    assert result.returncode == 6
    assert len(kombo_server.requests) == 2
    assert result.stdout == ""
    [error] = error_lines(result.stderr)
    # Kombo's own message, and that the retries were used up (as an upload's failure says).
    assert "Too many requests; gave up after 2 attempts." in error


def test_list_with_a_wrong_key_exits_4_without_showing_a_key(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    wrong_key = "ks_test_Wr0ngKeyWr0ngKeyWr0ngK"
    result = run_kombo(
        "attachments", "list", CANDIDATE_ID, env={**server_env, "KOMBO_API_KEY": wrong_key}
    )

    assert result.returncode == 4
    assert len(kombo_server.requests) == 1
    [error] = error_lines(result.stderr)
    assert "invalid or has expired" in error
    assert "PLATFORM.AUTHENTICATION_INVALID" in result.stderr
    assert result.stdout == ""
    assert wrong_key not in result.stderr
    assert wrong_key[8:20] not in result.stderr
    assert_no_secret(result.stdout, result.stderr)


def test_list_without_a_key_exits_3_and_sends_nothing(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    env = {k: v for k, v in server_env.items() if k != "KOMBO_API_KEY"}
    result = run_kombo("attachments", "list", CANDIDATE_ID, env=env)

    assert result.returncode == 3
    assert error_lines(result.stderr) == ["Error: KOMBO_API_KEY is not set."]
    assert kombo_server.requests == []


def test_list_never_shows_the_key_even_when_kombo_echoes_it(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=400, body=error_envelope(f"Bad key {API_KEY} in request")),
    )
    human = run_kombo("attachments", "list", CANDIDATE_ID, env=server_env)
    kombo_server.attachments.append(stored(f"{API_KEY}.pdf", created_at="2024-05-01T09:30:00Z"))
    table = run_kombo("attachments", "list", CANDIDATE_ID, env=server_env)
    as_json = run_kombo("attachments", "list", CANDIDATE_ID, "--json", env=server_env)

    assert [run.returncode for run in (human, table, as_json)] == [5, 0, 0]
    assert "Error: Bad key " in human.stderr
    assert len(table_rows(table.stdout)) == 2
    # Masked, but still one valid JSON object.
    assert len(json.loads(as_json.stdout)["attachments"]) == 1
    for run in (human, table, as_json):
        assert_no_secret(run.stdout, run.stderr)


def test_piped_list_output_has_no_colour_or_control_characters(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    kombo_server.attachments.append(
        stored("evil\x1b[31mred\rover.pdf", created_at="2024-05-01T09:30:00Z")
    )
    kombo_server.attachments.append(stored("plain.pdf", created_at="2024-05-02T09:30:00Z"))
    result = run_kombo("attachments", "list", CANDIDATE_ID, env=server_env)

    assert result.returncode == 0, result.stderr
    for marker in ANSI_OR_CONTROL:
        assert marker not in result.stdout
        assert marker not in result.stderr
    _header, first, second = table_rows(result.stdout)
    assert first[0].startswith("evil\\x1b[31mred")
    assert second[0] == "plain.pdf"


# -- names and IDs ----------------------------------------------------------------------------


LONG_NFC_NAME = "é" * 110 + " Lebenslauf.pdf"
LONG_NFD_NAME = unicodedata.normalize("NFD", "é" * 70) + " Lebenslauf.pdf"


@pytest.mark.parametrize("name", [LONG_NFC_NAME, LONG_NFD_NAME], ids=["nfc", "nfd"])
@pytest.mark.parametrize("source", ["file-name", "--name"])
def test_a_long_non_ascii_name_is_sent_intact(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file, name: str, source: str
) -> None:
    assert 200 < len(name.encode("utf-8")) < 255
    if source == "file-name":
        path = sample_file(name, "pdf")
        args = [str(path)]
    else:
        path = sample_file("upload.pdf", "pdf")
        args = [str(path), "--name", name]
    result = run_kombo("attach", CANDIDATE_ID, *args, "--json", env=server_env)

    assert result.returncode == 0, result.stderr
    [request] = kombo_server.requests
    # Not shortened and not normalised (NFD stays NFD).
    assert request.json()["attachment"]["name"] == name
    [attachment] = kombo_server.attachments
    assert attachment.name == name
    assert attachment.data == make_pdf()
    assert attachment.content_type == "application/pdf"
    assert json.loads(result.stdout)["name"] == name

    listing = run_kombo("attachments", "list", CANDIDATE_ID, env=server_env)
    assert table_rows(listing.stdout)[1][0] == name


UNSAFE_IDS = {
    "slash": "abc/def",
    "leading-slash": "/abc",
    "dot-dot": "..",
    "dot": ".",
    "question-mark": "cand?x=1",
    "hash": "cand#top",
    "encoded-slash": "cand%2Fx",
    "percent": "100%",
    "control": "cand\x01id",
    "delete": "cand\x7fid",
    "escape": "cand\x1b[31m",
    "tab": "cand\tid",
    "newline": "cand\nid",
    "leading-space": " GRKdd9dibYKKCrmGRSMJf3wu",
    "backslash": "cand\\id",
    "empty": "",
}
# Every ID through `attach`; a few through the other commands, which share the same check.
UNSAFE_ID_CASES = [
    pytest.param("attach", value, id=f"attach-{name}") for name, value in UNSAFE_IDS.items()
] + [
    pytest.param(command, UNSAFE_IDS[name], id=f"{command.replace(' ', '')}-{name}")
    for command in ("attach --application", "list", "list --application")
    for name in ("slash", "dot-dot", "question-mark", "escape")
]


@pytest.mark.parametrize(("command", "candidate_id"), UNSAFE_ID_CASES)
def test_unsafe_target_ids_are_usage_errors_and_nothing_is_sent(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    sample_file,
    candidate_id: str,
    command: str,
) -> None:
    path = sample_file("cv.pdf", "pdf")
    application = ["--application"] if "--application" in command else []
    if command.startswith("attach"):
        args = ["attach", candidate_id, str(path), *application]
    else:
        args = ["attachments", "list", candidate_id, *application]
    result = run_kombo(*args, env=server_env)

    assert result.returncode == 2, result.stderr
    [error] = error_lines(result.stderr)
    kind = "application" if application else "candidate"
    assert f"{kind} ID" in error
    assert_no_traceback(result.stderr)
    # The ID is shown escaped, so it cannot move the cursor or colour the terminal.
    for character in ("\x01", "\x7f", "\x1b", "\t"):
        assert character not in result.stderr
    assert result.stdout == ""
    assert kombo_server.requests == []


@pytest.mark.parametrize(
    ("target_id", "encoded"),
    [
        ("kandidat-ü", "kandidat-%C3%BC"),
        ("a+b;c", "a%2Bb%3Bc"),
        ("user@ats:42", "user%40ats%3A42"),
        ("...", "..."),
    ],
)
def test_ids_with_other_characters_are_percent_encoded_into_one_segment(
    target_id: str, encoded: str
) -> None:
    # No Kombo ID looks like these, so the sandbox knows them only when told to, and its
    # listings then break the document's ID pattern on purpose.
    with KomboServer(known_ids={target_id}) as kombo_server:
        kombo_server.contract.tolerate("pattern", "data.results[*].candidate_id")
        kombo_server.contract.tolerate("minLength", "data.results[*].candidate_id")
        server_env = {
            "KOMBO_API_KEY": API_KEY,
            "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
            "KOMBO_BASE_URL": kombo_server.base_url,
        }
        result = run_kombo(
            "attach", target_id, "-", "--name", "cv.pdf", env=server_env, stdin=make_pdf()
        )

        assert result.returncode == 0, result.stderr
        [request] = kombo_server.requests
        assert request.path == f"/v1/ats/candidates/{encoded}/attachments"
        [attachment] = kombo_server.attachments
        assert attachment.target_id == target_id

        listing = run_kombo("attachments", "list", target_id, env=server_env)
        assert listing.returncode == 0, listing.stderr
        assert kombo_server.requests[1].path == f"/v1/ats/candidates/{encoded}/attachments"
        assert table_rows(listing.stdout)[1][0] == "cv.pdf"
