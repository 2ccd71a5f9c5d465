"""Hostile files and hostile answers: settings files that are not files, integration ids
that climb out of their path, folders kombo did not make, and servers that echo a CV."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from kombo_cli.safe_read import MAX_SETTINGS_FILE_BYTES
from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    KOMBO_EXECUTABLE,
    clean_env,
    run_kombo,
    run_kombo_process,
)
from tests.recording_server import KomboServer, ScriptedResponse, error_envelope

# Quick, but not so tight that a loaded CI machine fails it: a hang would take the timeout.
QUICK_S = 10


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


# -- 1. settings files are small regular files -------------------------------------------


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda env: env.symlink_to("/dev/zero"), "is a device, not a regular file"),
        (_fifo, "is a named pipe (FIFO), not a regular file"),
        (lambda env: env.mkdir(), "is a directory, not a file"),
    ],
    ids=["symlink-to-dev-zero", "fifo", "directory"],
)
def test_a_dotenv_that_is_not_a_regular_file_is_refused_at_once(
    tmp_path: Path, make, reason: str
) -> None:
    make(tmp_path / ".env")
    started = time.monotonic()
    # A real process: were the FIFO opened blocking, the timeout would end it, not the test.
    result = run_kombo_process("config", "show", cwd=tmp_path, timeout=QUICK_S)

    assert time.monotonic() - started < QUICK_S
    assert result.returncode == 3, result.stderr
    assert f"Error: The env file {tmp_path / '.env'} {reason}." in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_an_env_file_option_naming_a_pipe_or_device_is_refused(tmp_path: Path, kind: str) -> None:
    name = str(_fifo(tmp_path / "pipe.env")) if kind == "fifo" else "/dev/zero"
    result = run_kombo_process(
        "attach", CANDIDATE_ID, "cv.pdf", "--env-file", name, cwd=tmp_path, timeout=QUICK_S
    )

    assert result.returncode == 3, result.stderr
    assert f"Error: The env file {name} is a " in result.stderr
    assert "not a regular file." in result.stderr


def test_a_dotenv_over_the_cap_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    line = b"# " + b"x" * 1021 + b"\n"
    (tmp_path / ".env").write_bytes(line * (MAX_SETTINGS_FILE_BYTES // len(line) + 2))
    result = run_kombo("config", "show", cwd=tmp_path)

    assert result.returncode == 3
    assert f"The env file {tmp_path / '.env'} is larger than 1 MiB." in result.stderr


def test_a_dotenv_at_the_cap_is_still_read(tmp_path: Path) -> None:
    text = f"KOMBO_REGION=us\n# {'x' * (MAX_SETTINGS_FILE_BYTES - 19)}\n".encode()
    assert len(text) == MAX_SETTINGS_FILE_BYTES
    (tmp_path / ".env").write_bytes(text)
    result = run_kombo("config", "get", "region", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "us\n"


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "too-large"])
def test_remote_fields_from_a_pipe_a_device_or_a_huge_file_are_refused(
    tmp_path: Path, server_env: dict[str, str], kombo_server: KomboServer, sample_file, kind: str
) -> None:
    if kind == "fifo":
        name = str(_fifo(tmp_path / "fields.json"))
        reason = "is a named pipe (FIFO), not a regular file"
    elif kind == "dev-zero":
        name, reason = "/dev/zero", "is a device, not a regular file"
    else:
        name, reason = str(tmp_path / "big.json"), "is larger than 1 MiB"
        Path(name).write_bytes(b" " * (MAX_SETTINGS_FILE_BYTES + 1))
    cv = str(sample_file("cv.pdf"))
    result = run_kombo_process(
        "attach", CANDIDATE_ID, cv, "--remote-fields", f"@{name}", env=server_env, timeout=QUICK_S
    )

    # A bad --remote-fields is a usage error (exit 2), as its other file problems are.
    assert result.returncode == 2, result.stderr
    assert f"--remote-fields file {name!r} {reason}." in result.stderr
    assert kombo_server.requests == []


@pytest.fixture
def config_env(tmp_path: Path) -> dict[str, str]:
    return {"KOMBO_CONFIG_DIR": str(tmp_path / "config")}


def test_a_profile_that_is_a_fifo_is_refused_by_every_command(config_env: dict[str, str]) -> None:
    profiles = Path(config_env["KOMBO_CONFIG_DIR"]) / "profiles"
    profiles.mkdir(parents=True)
    profile = _fifo(profiles / "default.env")

    shown = run_kombo_process("config", "show", env=config_env, timeout=QUICK_S)
    saved = run_kombo_process("config", "set", "region", "us", env=config_env, timeout=QUICK_S)

    for result in (shown, saved):
        assert result.returncode == 3, result.stderr
        assert f"The profile file {profile} is a named pipe (FIFO)" in result.stderr
    assert stat.S_ISFIFO(profile.lstat().st_mode)


def test_a_lock_file_that_is_a_fifo_is_an_error_not_a_wait(config_env: dict[str, str]) -> None:
    profiles = Path(config_env["KOMBO_CONFIG_DIR"]) / "profiles"
    profiles.mkdir(parents=True)
    _fifo(profiles / ".lock")

    result = run_kombo_process("config", "set", "region", "us", env=config_env, timeout=QUICK_S)

    assert result.returncode == 3, result.stderr
    assert f"Cannot write to {profiles}" in result.stderr


# -- 2. integration ids that are not path segments ---------------------------------------

BAD_IDS = [".", "..", "../x", "a/b", "/", "a\\b", "a\x01b", "a\x7fb"]


@pytest.mark.parametrize("source", ["flag", "environment", "dotenv", "profile"])
@pytest.mark.parametrize("bad_id", BAD_IDS, ids=repr)
def test_an_integration_id_that_is_no_path_segment_is_refused_from_every_source(
    kombo_server: KomboServer, tmp_path: Path, source: str, bad_id: str
) -> None:
    env = {"KOMBO_API_KEY": API_KEY, "KOMBO_BASE_URL": kombo_server.base_url}
    env["KOMBO_CONFIG_DIR"] = str(tmp_path / "config")
    args = ["doctor"]
    if source == "flag":
        args += ["--integration-id", bad_id]
    elif source == "environment":
        env["KOMBO_INTEGRATION_ID"] = bad_id
    elif source == "dotenv":
        (tmp_path / ".env").write_text(f"KOMBO_INTEGRATION_ID='{bad_id}'\n")
    else:
        profile = Path(env["KOMBO_CONFIG_DIR"]) / "profiles" / "default.env"
        profile.parent.mkdir(parents=True)
        profile.write_text(f"KOMBO_INTEGRATION_ID='{bad_id}'\n")

    result = run_kombo(*args, env=env, cwd=tmp_path)

    # doctor reports the settings as its first check, on stdout.
    assert result.returncode == 3, result.stdout + result.stderr
    assert "FAIL  Settings: The integration id from " in result.stdout
    assert kombo_server.requests == []


def test_dot_dot_as_integration_id_says_why(kombo_server: KomboServer, tmp_path: Path) -> None:
    env = {"KOMBO_API_KEY": API_KEY, "KOMBO_BASE_URL": kombo_server.base_url}
    result = run_kombo(
        "attach", CANDIDATE_ID, "cv.pdf", "--integration-id", "..", env=env, cwd=tmp_path
    )

    assert result.returncode == 3
    assert (
        "Error: The integration id from --integration-id is '..'; an integration id is never"
        " '.' or '..' and never contains '/'." in result.stderr
    )
    assert kombo_server.requests == []


@pytest.mark.parametrize("bad_id", ["..", "a/b"])
def test_config_set_refuses_such_an_integration_id(config_env: dict[str, str], bad_id: str) -> None:
    result = run_kombo("config", "set", "integration-id", bad_id, env=config_env)

    assert result.returncode == 2
    assert "never contains '/'" in result.stderr
    assert not (Path(config_env["KOMBO_CONFIG_DIR"]) / "profiles" / "default.env").exists()


def test_an_ordinary_integration_id_still_works(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo("doctor", env=server_env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert any(INTEGRATION_ID in request.path for request in kombo_server.requests)


# -- 3. folders and files of `kombo config set` --------------------------------------------


def test_config_set_leaves_a_shared_folder_it_did_not_create_as_it_was(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    env = {"KOMBO_CONFIG_DIR": str(shared)}

    result = run_kombo("config", "set", "api-key", stdin=f"{API_KEY}\n".encode(), env=env)

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE((shared / "profiles").stat().st_mode) == 0o700
    assert stat.S_IMODE((shared / "profiles" / "default.env").stat().st_mode) == 0o600


def _under_umask(umask: int, *args: str, env: dict[str, str], stdin: bytes = b"") -> str:
    completed = subprocess.run(
        [str(KOMBO_EXECUTABLE), *args],
        input=stdin,
        capture_output=True,
        env=clean_env(env),
        preexec_fn=lambda: os.umask(umask),
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    return completed.stdout.decode()


@pytest.mark.parametrize("umask", [0o277, 0o777], ids=["0277", "0777"])
def test_config_set_works_under_a_restrictive_umask(tmp_path: Path, umask: int) -> None:
    folder = tmp_path / "new" / "kombo"
    env = {"KOMBO_CONFIG_DIR": str(folder)}

    _under_umask(umask, "config", "set", "api-key", env=env, stdin=f"{API_KEY}\n".encode())
    _under_umask(umask, "config", "set", "region", "us", env=env)

    assert _under_umask(umask, "config", "get", "api-key", "--reveal", env=env) == f"{API_KEY}\n"
    assert _under_umask(umask, "config", "get", "region", env=env) == "us\n"
    for created in (tmp_path / "new", folder, folder / "profiles"):
        assert stat.S_IMODE(created.stat().st_mode) == 0o700, created
    stored = folder / "profiles" / "default.env"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    # Written through a temporary file renamed into place: none is left behind.
    assert sorted(path.name for path in stored.parent.iterdir()) == [".lock", "default.env"]


# -- 4. what a server says is shortened, and base64 in it elided ----------------------------

ECHO = "JVBERi0xLjQK" + "QUJDRGVmZ2hpams0NTY3Kys/" * 4200  # 100 kB of a CV's base64
BASE64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{40,}")


def _assert_short_and_elided(text: str, limit: int = 300) -> None:
    assert len(text) <= limit, len(text)
    assert not BASE64_RUN.search(text), text


def test_an_error_message_echoing_the_request_is_shortened(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    envelope = error_envelope(f"Invalid body {ECHO}", code="ATS.BAD", title=f"Bad {ECHO}")
    kombo_server.queue(ScriptedResponse(status=400, body=envelope))
    cv = sample_file("cv.pdf")

    result = run_kombo("attach", CANDIDATE_ID, str(cv), env=server_env)

    assert result.returncode == 5
    stderr = result.stderr.replace(str(cv), "cv.pdf")
    assert len(stderr) < 1200, stderr
    assert not BASE64_RUN.search(stderr), stderr
    assert f"Invalid body <… {len(ECHO)} characters elided>" in stderr


def test_the_json_error_object_is_shortened_the_same_way(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    words = "The request was refused because it was wrong. " * 20
    envelope = error_envelope(f"{words}{ECHO}", code=f"X.{ECHO}", title=ECHO)
    kombo_server.queue(ScriptedResponse(status=400, body=envelope))

    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), "--json", env=server_env)

    assert result.returncode == 5
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 5
    for name in ("message", "title", "code", "log_url"):
        _assert_short_and_elided(error[name])
    assert error["message"].endswith("…")
    assert error["message"].startswith("The request was refused because it was wrong.")


def test_a_foreign_error_body_echoing_the_request_is_shortened(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    body = f"bad request: {ECHO}".encode()
    kombo_server.queue(
        ScriptedResponse(status=400, body=body, headers={"Content-Type": "text/plain"})
    )
    cv = sample_file("cv.pdf")

    result = run_kombo("attach", CANDIDATE_ID, str(cv), "--json", env=server_env)

    assert result.returncode == 5
    assert not BASE64_RUN.search(result.stderr.replace(str(cv), "cv.pdf"))
    assert "bad request: <… " in json.loads(result.stdout)["error"]["message"]


def test_a_warning_in_a_success_echoing_the_request_is_shortened(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    reply = {"status": "success", "data": {}, "warnings": [{"message": f"Stored {ECHO}"}]}
    kombo_server.queue(ScriptedResponse(status=200, body=reply, store=True))
    kombo_server.queue(ScriptedResponse(status=200, body=reply, store=True))
    cv = str(sample_file("cv.pdf"))

    human = run_kombo("attach", CANDIDATE_ID, cv, env=server_env)
    as_json = run_kombo("attach", CANDIDATE_ID, cv, "--json", env=server_env)

    assert human.returncode == as_json.returncode == 0
    assert f"Warning: Kombo: Stored <… {len(ECHO)} characters elided>" in human.stderr
    assert not BASE64_RUN.search(human.stderr.replace(cv, "cv.pdf"))
    [warning] = json.loads(as_json.stdout)["warnings"]
    _assert_short_and_elided(warning)


def test_an_api_path_in_a_message_is_not_taken_for_base64() -> None:
    from kombo_cli.redact import shorten_server_text

    path = "/ats/candidates/GRKdd9dibYKKCrmGRSMJf3wu/attachments"
    assert shorten_server_text(f"No route matches POST {path}") == f"No route matches POST {path}"
    # Base64 that happens to start with a slash is still elided: its parts run long.
    run = "/" + "QUJDRGVmZ2hpams0NTY3Kys" * 3
    assert shorten_server_text(f"echo {run}") == f"echo <… {len(run)} characters elided>"
