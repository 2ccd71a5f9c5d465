"""Odd and hostile input, closed pipes and odd environments: a clear error, never a crash."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kombo_cli.errors import ExitCode, exit_code_for_api_error
from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    KOMBO_EXECUTABLE,
    clean_env,
    make_pdf,
    run_kombo_process,
)
from tests.recording_server import KomboServer, ScriptedResponse
from tests.test_cli_attach import _run_on_a_terminal


def assert_clean(text: str) -> None:
    assert "Traceback" not in text
    assert "Exception ignored" not in text
    for marker in ("\x1b", "\x9b", "\u202e", "\r"):
        assert marker not in text


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KOMBO_API_KEY", f"\u201c{API_KEY}\u201d"),
        ("KOMBO_API_KEY", f"{API_KEY[:10]} {API_KEY[10:]}"),
        ("KOMBO_INTEGRATION_ID", "greenhouse:\u2013abc"),
    ],
    ids=["curly-quotes", "inner-space", "en-dash"],
)
def test_credentials_with_non_ascii_or_spaces_are_a_config_error(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file, variable: str, value: str
) -> None:
    env = {**server_env, variable: value}
    for extra in ([], ["--dry-run"]):
        result = run_kombo_process(
            "attach", CANDIDATE_ID, str(sample_file("cv.pdf")), *extra, env=env
        )
        assert result.returncode == 3, result.stderr
        assert f"The {'API key' if 'KEY' in variable else 'integration id'} from {variable}" in (
            result.stderr
        )
        assert API_KEY[10:] not in result.stdout + result.stderr
        assert_clean(result.stderr)
    assert kombo_server.requests == []


def test_a_closed_stdout_does_not_stop_a_batch_or_change_the_exit_code(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    first, second = sample_file("a.pdf"), sample_file("b.pdf")
    process = subprocess.Popen(
        [str(KOMBO_EXECUTABLE), "attach", CANDIDATE_ID, str(first), str(second), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(server_env),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head -c0`: the reader is gone before anything is written
    stderr = process.stderr.read().decode()
    process.wait(timeout=30)

    assert process.returncode == 0, stderr
    assert sorted(a.name for a in kombo_server.attachments) == ["a.pdf", "b.pdf"]
    assert_clean(stderr)


def test_version_into_a_closed_pipe_is_quiet() -> None:
    process = subprocess.Popen(
        [str(KOMBO_EXECUTABLE), "--version"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=30) == 0
    assert stderr == ""


def test_a_file_name_that_is_not_utf8(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    path = Path(os.fsdecode(bytes(tmp_path) + b"/\xffcv.pdf"))
    path.write_bytes(make_pdf())

    named = run_kombo_process(
        "attach", CANDIDATE_ID, str(path), "--name", "cv.pdf", "--json", env=server_env
    )
    unnamed = run_kombo_process("attach", CANDIDATE_ID, str(path), env=server_env)

    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout)["file"].endswith("/\\xffcv.pdf")
    assert unnamed.returncode == 2
    assert "The file name is not valid UTF-8 text." in unnamed.stderr
    assert "Hint: rename the file or pass --name" in unnamed.stderr
    assert [a.name for a in kombo_server.attachments] == ["cv.pdf"]


def test_control_characters_from_kombo_never_reach_the_terminal(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(
        ScriptedResponse(
            status=400,
            body={
                "status": "error",
                "error": {
                    "code": "PLATFORM.INPUT_INVALID\x1b[31m",
                    "title": "Input\ninvalid\x9b31m",
                    "message": "Bad\r\ninput \u202eexe.pdf",
                    "log_url": "https://x\n\x1b]8;;evil\x07",
                },
            },
        )
    )
    result = run_kombo_process("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=server_env)

    assert result.returncode == 5
    assert result.stderr.splitlines()[0] == "Error: Bad input \\u202eexe.pdf"
    assert_clean(result.stderr)


def test_a_file_argument_with_escape_sequences_is_shown_escaped(
    server_env: dict[str, str], kombo_server: KomboServer
) -> None:
    result = run_kombo_process("attach", CANDIDATE_ID, "nope\x1b[2J.pdf", env=server_env)

    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "Error: File not found: nope\\x1b[2J.pdf."


def test_brackets_in_names_are_not_markup_in_the_progress_bar(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "cv[red]x.pdf"
    path.write_bytes(make_pdf() + os.urandom(2 * 1024 * 1024))
    code, output = _run_on_a_terminal(
        ["attach", CANDIDATE_ID, str(path), "--name", "CV [/] final.pdf"], server_env
    )

    assert code == 0, output
    assert "Attached CV [/] final.pdf" in output
    assert kombo_server.attachments[0].data == path.read_bytes()


def test_kombo_warnings_are_yellow_on_a_terminal(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    kombo_server.queue(
        ScriptedResponse(
            body={"status": "success", "data": {}, "warnings": [{"message": "Renamed."}]},
            store=True,
        )
    )
    code, output = _run_on_a_terminal(
        ["attach", CANDIDATE_ID, str(sample_file("cv.pdf"))], server_env
    )

    assert code == 0
    assert "\x1b[33mWarning: Kombo: Renamed." in output


@pytest.mark.parametrize(
    ("content", "expected_code"),
    [
        (f"\ufeffKOMBO_API_KEY={API_KEY}\nKOMBO_INTEGRATION_ID={INTEGRATION_ID}\n", 0),
        (f"KOMBO_INTEGRATION_ID={INTEGRATION_ID}\r\nKOMBO_API_KEY={API_KEY}\r\n", 0),
        (f"KOMBO_INTEGRATION_ID={INTEGRATION_ID}\n{API_KEY}\n", 3),
    ],
    ids=["byte-order-mark", "crlf", "bare-key-without-name"],
)
def test_dotenv_quirks(
    kombo_server: KomboServer, sample_file, tmp_path: Path, content: str, expected_code: int
) -> None:
    (tmp_path / ".env").write_text(content, encoding="utf-8")
    env = {"KOMBO_BASE_URL": kombo_server.base_url}
    result = run_kombo_process(
        "attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=env, cwd=tmp_path
    )

    assert result.returncode == expected_code, result.stderr
    if expected_code == 3:
        assert "(line 2)" in result.stderr
        assert API_KEY not in result.stderr


def test_a_deleted_current_directory_does_not_matter(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file, tmp_path: Path
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    cv = sample_file("cv.pdf")
    script = (
        f'cd "{gone}" && rmdir "{gone}" && exec "{KOMBO_EXECUTABLE}" attach {CANDIDATE_ID} "{cv}"'
    )
    result = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, env=clean_env(server_env), timeout=30
    )

    assert result.returncode == 0, result.stderr
    assert len(kombo_server.attachments) == 1


def test_an_env_file_that_is_a_directory_is_a_config_error(sample_file, tmp_path: Path) -> None:
    result = run_kombo_process(
        "attach", CANDIDATE_ID, str(sample_file("cv.pdf")), "--env-file", str(tmp_path)
    )

    assert result.returncode == 3
    assert "is a directory" in result.stderr


@pytest.mark.parametrize(
    "url", ["https://[::1/v1", "https://api.kombo.dev:99999/v1", "https://exa mple.com/v1"]
)
def test_malformed_base_urls_are_config_errors(sample_file, url: str) -> None:
    env = {"KOMBO_API_KEY": API_KEY, "KOMBO_INTEGRATION_ID": INTEGRATION_ID, "KOMBO_BASE_URL": url}
    result = run_kombo_process("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=env)

    assert result.returncode == 3, result.stderr
    assert "The base URL from KOMBO_BASE_URL" in result.stderr


def test_an_unreachable_proxy_is_not_reported_as_a_possibly_stored_upload(sample_file) -> None:
    env = {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "HTTPS_PROXY": "http://user:proxy-password@127.0.0.1:9",
    }
    result = run_kombo_process(
        "attach", CANDIDATE_ID, str(sample_file("cv.pdf")), "--retries", "0", env=env
    )

    assert result.returncode == 6
    assert "through the configured proxy" in result.stderr
    assert "may have been stored" not in result.stderr
    assert "proxy-password" not in result.stderr


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "INTEGRATION.AUTHENTICATION_INVALID", ExitCode.AUTH),
        (403, "INTEGRATION.ACTION_DISABLED", ExitCode.AUTH),
        (400, "PLATFORM.AUTHENTICATION_INVALID", ExitCode.AUTH),
        (400, "PLATFORM.RATE_LIMIT_EXCEEDED", ExitCode.NETWORK),
        (409, "INTEGRATION.SETUP_SYNC_PENDING", ExitCode.REJECTED),
        (404, None, ExitCode.REJECTED),
        (422, "SOMETHING.NEW", ExitCode.REJECTED),
        (429, None, ExitCode.NETWORK),
        (502, None, ExitCode.NETWORK),
        (503, "REMOTE.SERVICE_UNAVAILABLE", ExitCode.NETWORK),
        (302, None, ExitCode.NETWORK),
    ],
)
def test_exit_code_table(status: int, code: str | None, expected: ExitCode) -> None:
    assert exit_code_for_api_error(code, status) == expected


def test_a_500_after_the_upload_was_stored_is_confirmed_by_listing(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    from tests.recording_server import error_envelope

    kombo_server.queue(
        ScriptedResponse(
            status=500, body=error_envelope("Oops.", code="PLATFORM.UNKNOWN_ERROR"), store=True
        )
    )
    result = run_kombo_process(
        "attach", CANDIDATE_ID, str(sample_file("cv.pdf")), "--json", env=server_env
    )

    assert result.returncode == 0, result.stderr
    assert len(kombo_server.attachments) == 1
    payload = json.loads(result.stdout)
    assert payload["status"] == "success"
    assert payload["confirmed_by_listing"] is True
    assert payload["attempts"] == 1
    assert "HTTP 500 (PLATFORM.UNKNOWN_ERROR)" in result.stderr
