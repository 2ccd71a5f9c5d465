"""`kombo config` and `kombo doctor`: stored profiles, precedence, and honest checks."""

from __future__ import annotations

import json
import os
import stat
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
    run_kombo,
)
from tests.recording_server import KomboServer


@pytest.fixture
def config_env(tmp_path: Path) -> dict[str, str]:
    return {"KOMBO_CONFIG_DIR": str(tmp_path / "config")}


def profile_file(env: dict[str, str], profile: str = "default") -> Path:
    return Path(env["KOMBO_CONFIG_DIR"]) / "profiles" / f"{profile}.env"


def test_key_set_from_stdin_is_used_by_attach_with_no_environment(
    kombo_server: KomboServer, sample_file, tmp_path: Path
) -> None:
    # No KOMBO_CONFIG_DIR either: the platform's config folder under the (test) home is used.
    assert run_kombo("config", "set", "api-key", stdin=f"{API_KEY}\n".encode()).returncode == 0
    assert run_kombo("config", "set", "integration-id", INTEGRATION_ID).returncode == 0
    assert run_kombo("config", "set", "base-url", kombo_server.base_url).returncode == 0

    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert kombo_server.requests[0].header("Authorization") == f"Bearer {API_KEY}"
    folder = Path(os.environ["HOME"]) / ".config" / "kombo"
    stored = folder / "profiles" / "default.env"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "profiles").stat().st_mode) == 0o700
    assert sorted(p.name for p in (folder / "profiles").iterdir()) == [".lock", "default.env"]


def _read_until(leader: int, marker: bytes, seen: bytes, timeout: float = 20) -> bytes:
    import select
    import time

    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _own_terminal() -> None:
    # The pty becomes the child's controlling terminal, which a hidden prompt reads from.
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_set_prompts_without_echo_on_a_terminal(config_env: dict[str, str]) -> None:
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(KOMBO_EXECUTABLE), "config", "set", "api-key"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=clean_env(config_env),
        preexec_fn=_own_terminal,
    )
    os.close(follower)
    # The prompt's final space is written once echo is off; typing earlier would be flushed.
    seen = _read_until(leader, b"api-key: ", b"")
    os.write(leader, f"{API_KEY}\n".encode())
    seen = _read_until(leader, b"Saved api-key", seen)
    # Closing the terminal before the process has exited would hang it up (SIGHUP).
    code = process.wait(timeout=30)
    os.close(leader)

    assert code == 0
    assert API_KEY not in seen.decode(errors="replace")
    assert f"KOMBO_API_KEY='{API_KEY}'" in profile_file(config_env).read_text()


def test_show_names_every_source_and_never_prints_the_key(
    config_env: dict[str, str], tmp_path: Path
) -> None:
    run_kombo("config", "set", "api-key", API_KEY, env=config_env)
    (tmp_path / ".env").write_text(f"KOMBO_INTEGRATION_ID={INTEGRATION_ID}\n")
    env = {**config_env, "KOMBO_REGION": "us"}

    human = run_kombo("config", "show", env=env, cwd=tmp_path)
    machine = run_kombo("config", "show", "--json", env=env, cwd=tmp_path)

    assert human.returncode == machine.returncode == 0
    settings = json.loads(machine.stdout)["settings"]
    assert {name: item["source"] for name, item in settings.items()} == {
        "api-key": "config file",
        "integration-id": "dotenv file",
        "region": "environment",
        "base-url": "environment",
    }
    assert settings["api-key"]["value"] == f"ks_test_…{API_KEY[-4:]}"
    assert settings["integration-id"]["origin"] == f"KOMBO_INTEGRATION_ID in {tmp_path / '.env'}"
    assert settings["base-url"]["value"] == "https://api.us.kombo.dev/v1"
    for result in (human, machine):
        assert API_KEY not in result.stdout + result.stderr
    assert "config file" in human.stdout and "dotenv file" in human.stdout


@pytest.mark.parametrize(
    ("higher", "lower", "winner"),
    [
        ("environment", "dotenv", "from-env"),
        ("dotenv", "config", "from-dotenv"),
        ("config", "default", "from-config"),
    ],
)
def test_precedence_between_each_pair_of_sources(
    config_env: dict[str, str], tmp_path: Path, higher: str, lower: str, winner: str
) -> None:
    env = dict(config_env)
    sources = {higher, lower}
    if "environment" in sources:
        env["KOMBO_INTEGRATION_ID"] = "x:from-env"
    if "dotenv" in sources:
        (tmp_path / ".env").write_text("KOMBO_INTEGRATION_ID=x:from-dotenv\n")
    if "config" in sources:
        run_kombo("config", "set", "integration-id", "x:from-config", env=config_env)

    result = run_kombo("config", "get", "integration-id", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"x:{winner}\n"


def test_a_flag_beats_the_environment(
    kombo_server: KomboServer, server_env: dict[str, str], sample_file
) -> None:
    env = {**server_env, "KOMBO_INTEGRATION_ID": "x:from-env"}
    run_kombo(
        "attach",
        CANDIDATE_ID,
        str(sample_file("cv.pdf")),
        "--integration-id",
        INTEGRATION_ID,
        env=env,
    )
    assert kombo_server.requests[0].header("X-Integration-Id") == INTEGRATION_ID


def test_get_exits_3_when_nothing_sets_a_value(config_env: dict[str, str]) -> None:
    result = run_kombo("config", "get", "api-key", env=config_env)
    assert result.returncode == 3
    assert "api-key is not set" in result.stderr


def test_get_masks_the_key_unless_revealed(config_env: dict[str, str]) -> None:
    run_kombo("config", "set", "api-key", API_KEY, env=config_env)
    masked = run_kombo("config", "get", "api-key", env=config_env)
    revealed = run_kombo("config", "get", "api-key", "--reveal", env=config_env)
    assert masked.stdout == f"ks_test_…{API_KEY[-4:]}\n"
    assert revealed.stdout == f"{API_KEY}\n"


def test_profiles_are_isolated(config_env: dict[str, str]) -> None:
    run_kombo("config", "set", "api-key", API_KEY, "--profile", "acme", env=config_env)
    run_kombo("config", "set", "integration-id", "a:1", "--profile", "acme", env=config_env)
    run_kombo("config", "set", "integration-id", "b:1", "--profile", "beta", env=config_env)

    beta_key = run_kombo("config", "get", "api-key", "--profile", "beta", env=config_env)
    acme = run_kombo("config", "get", "integration-id", env={**config_env, "KOMBO_PROFILE": "acme"})
    listing = run_kombo("config", "profiles", "--profile", "beta", env=config_env)

    assert beta_key.returncode == 3
    assert acme.stdout == "a:1\n"
    assert listing.stdout == "  acme\n* beta\n"
    assert API_KEY not in profile_file(config_env, "beta").read_text()


def test_unset_removes_only_that_setting(config_env: dict[str, str]) -> None:
    run_kombo("config", "set", "api-key", API_KEY, env=config_env)
    run_kombo("config", "set", "region", "US", env=config_env)

    result = run_kombo("config", "unset", "api-key", env=config_env)

    assert result.returncode == 0
    assert profile_file(config_env).read_text() == "KOMBO_REGION='us'\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["config", "set", "region", "mars"], "Unknown region 'mars'."),
        (["config", "set", "base-url", "http://api.kombo.dev/v1"], "https is required"),
        (["config", "set", "api-key", "“quoted”"], "not plain ASCII"),
        (["config", "set", "colour", "red"], "colour"),
        (["config", "set", "api-key", "x", "--profile", "../evil"], "not a valid profile name"),
    ],
)
def test_invalid_values_are_usage_errors(
    config_env: dict[str, str], args: list[str], message: str
) -> None:
    result = run_kombo(*args, env=config_env)
    assert result.returncode == 2
    assert message in result.stderr
    assert not profile_file(config_env).exists()


def test_a_key_file_others_can_read_draws_a_warning(config_env: dict[str, str]) -> None:
    run_kombo("config", "set", "api-key", API_KEY, env=config_env)
    profile_file(config_env).chmod(0o644)

    result = run_kombo("config", "show", env=config_env)

    assert f"other users can access {profile_file(config_env)}; run: chmod 600" in result.stderr


def test_path_prints_the_folder_and_the_file(config_env: dict[str, str]) -> None:
    result = run_kombo("config", "path", "--profile", "acme", env=config_env)
    assert result.stdout.splitlines() == [
        config_env["KOMBO_CONFIG_DIR"],
        str(profile_file(config_env, "acme")),
    ]


# -- doctor ---------------------------------------------------------------------------------


def test_doctor_passes_against_a_working_setup(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo("doctor", "--json", env=server_env)

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [check["status"] for check in report["checks"]] == ["ok"] * 7
    assert API_KEY not in result.stdout + result.stderr
    paths = [request.path for request in kombo_server.requests]
    assert paths == ["/v1/check-api-key", f"/v1/integrations/{INTEGRATION_ID}"]
    # The general endpoints take no integration header.
    assert all(request.header("X-Integration-Id") is None for request in kombo_server.requests)


@pytest.mark.parametrize(
    ("change", "exit_code", "failed"),
    [
        ({"KOMBO_API_KEY": "ks_test_wrong_wrong_wrong_wrong"}, 4, "API key accepted"),
        ({"KOMBO_INTEGRATION_ID": "workday:unknown"}, 5, "Integration"),
        ({"KOMBO_API_KEY": ""}, 3, "API key"),
    ],
    ids=["bad-key", "unknown-integration", "missing-key"],
)
def test_doctor_fails_with_the_right_exit_code(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    change: dict[str, str],
    exit_code: int,
    failed: str,
) -> None:
    result = run_kombo("doctor", env={**server_env, **change})

    assert result.returncode == exit_code
    assert f"FAIL  {failed}:" in result.stdout
    assert "    Hint: " in result.stdout
    assert result.stderr.startswith("Error: 1 check failed: ")


def test_doctor_against_a_dead_server_exits_6() -> None:
    result = run_kombo("doctor", env=dead_server_env())

    assert result.returncode == 6
    assert "connection refused" in result.stdout
    # The way to Kombo failed, not the key, which was never seen.
    assert "FAIL  Kombo API: Could not connect to 127.0.0.1:" in result.stdout
    assert "skip  API key accepted: not checked" in result.stdout


@pytest.mark.parametrize(
    ("details", "exit_code", "statuses"),
    [
        (
            {
                "tool": {"label": "Workday"},
                "status": "INACTIVE",
                "setup_status": "COMPLETED",
                "write_actions": [{"id": "ats_add_application_attachment", "is_available": True}],
            },
            5,
            ["fail", "warn", "ok"],
        ),
        (
            {
                "tool": {"label": "Lever"},
                "status": "ACTIVE",
                "setup_status": "COMPLETED",
                "write_actions": [
                    {
                        "id": "ats_add_candidate_attachment",
                        "is_available": False,
                        "coverage_status": "SUPPORTED",
                        "scope_config_setting": "DISABLED",
                    }
                ],
            },
            5,
            ["ok", "warn", "warn", "fail"],
        ),
        (
            {
                "tool": {"label": "Ashby"},
                "status": "ACTIVE",
                "setup_status": "COMPLETED",
                "write_actions": [{"id": "ats_add_candidate_attachment", "is_available": True}],
            },
            0,
            ["ok", "ok", "warn"],
        ),
    ],
    ids=["inactive", "attachments-disabled", "applications-unsupported"],
)
def test_doctor_judges_the_integration(
    details: dict[str, object], exit_code: int, statuses: list[str]
) -> None:
    from kombo_cli.commands.doctor_checks import DoctorReport, judge_integration

    report = DoctorReport([])
    judge_integration(details, report)

    assert [check.status for check in report.checks] == statuses
    assert report.exit_code == exit_code


@pytest.mark.parametrize(
    "value", ["ab${HOME}c", "it's", "back\\slash", 'q"uote', "mix ' \" ${X} \\ end", "é ünïcode"]
)
def test_stored_values_round_trip_exactly(tmp_path: Path, value: str) -> None:
    from kombo_cli.config.store import ConfigStore

    store = ConfigStore(tmp_path)
    store.set("default", "KOMBO_BASE_URL", value)
    assert store.read("default") == {"KOMBO_BASE_URL": value}
    assert sorted(p.name for p in (tmp_path / "profiles").iterdir()) == [".lock", "default.env"]


# -- robustness of the store and of doctor ----------------------------------------------------


def test_concurrent_sets_of_different_names_keep_both(config_env: dict[str, str]) -> None:
    env = clean_env(config_env)
    for round_number in range(6):
        processes = [
            subprocess.Popen(
                [str(KOMBO_EXECUTABLE), "config", "set", name, value],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for name, value in (
                ("integration-id", f"x:{round_number}"),
                ("base-url", f"https://e{round_number}.example/v1"),
                ("region", "us"),
            )
        ]
        assert [process.wait(timeout=30) for process in processes] == [0, 0, 0]
        text = profile_file(config_env).read_text()
        assert f"x:{round_number}'" in text
        assert f"e{round_number}.example" in text


def test_a_leftover_temporary_file_never_blocks_a_set(config_env: dict[str, str]) -> None:
    run_kombo("config", "set", "region", "us", env=config_env)
    folder = profile_file(config_env).parent
    for pid in range(1, 200):  # whatever pid the next process gets
        (folder / f".default.env.{pid}.tmp").write_text("stale")

    result = run_kombo("config", "set", "region", "ca", env=config_env)

    assert result.returncode == 0, result.stderr
    assert profile_file(config_env).read_text() == "KOMBO_REGION='ca'\n"


def test_folders_are_private_whatever_the_umask(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b" / "kombo"
    script = f'umask 000; exec "{KOMBO_EXECUTABLE}" config set region us'
    result = subprocess.run(
        ["sh", "-c", script],
        env=clean_env({"KOMBO_CONFIG_DIR": str(nested)}),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    for folder in (tmp_path / "a", tmp_path / "a" / "b", nested, nested / "profiles"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((nested / "profiles" / "default.env").stat().st_mode) == 0o600


def test_an_existing_loose_folder_keeps_its_mode_and_is_warned_about(
    config_env: dict[str, str],
) -> None:
    # A folder kombo did not create may be shared on purpose; it is named, not changed.
    profiles = Path(config_env["KOMBO_CONFIG_DIR"]) / "profiles"
    profiles.mkdir(parents=True)
    profiles.chmod(0o777)
    profiles.parent.chmod(0o777)

    saved = run_kombo("config", "set", "api-key", API_KEY, env=config_env)
    shown = run_kombo("config", "show", env=config_env)

    assert saved.returncode == 0, saved.stderr
    assert stat.S_IMODE(profiles.stat().st_mode) == 0o777
    assert stat.S_IMODE(profiles.parent.stat().st_mode) == 0o777
    assert f"other users can access {profiles}" in shown.stderr


def test_a_symlinked_profile_is_updated_where_it_lives(
    config_env: dict[str, str], tmp_path: Path
) -> None:
    real = tmp_path / "dotfiles" / "kombo.env"
    real.parent.mkdir()
    real.write_text("KOMBO_REGION='us'\n")
    link = profile_file(config_env)
    link.parent.mkdir(parents=True)
    link.symlink_to(real)

    run_kombo("config", "set", "integration-id", "x:1", env=config_env)

    assert link.is_symlink()
    assert real.read_text() == "KOMBO_INTEGRATION_ID='x:1'\nKOMBO_REGION='us'\n"


@pytest.mark.parametrize(
    "value", ['"ks_test_abcdefghijklmnop"', "KOMBO_API_KEY=ks_test_abcdefghijklmnop"]
)
def test_pasted_quotes_or_names_are_refused(config_env: dict[str, str], value: str) -> None:
    result = run_kombo("config", "set", "api-key", stdin=f"{value}\n".encode(), env=config_env)
    assert result.returncode == 2
    assert "paste only the api-key itself" in result.stderr
    assert not profile_file(config_env).exists()


def test_a_misspelled_profile_draws_a_warning(config_env: dict[str, str]) -> None:
    run_kombo("config", "set", "region", "us", "--profile", "acme", env=config_env)
    result = run_kombo("config", "get", "region", "--profile", "acmee", env=config_env)
    assert "the profile 'acmee' has no stored settings" in result.stderr
    empty = run_kombo("config", "get", "region", "--profile", "", env=config_env)
    assert empty.returncode == 2


def _queue_check_api_key_ok(server: KomboServer) -> None:
    from tests.recording_server import ScriptedResponse

    server.queue(ScriptedResponse(body={"status": "success", "data": {"environment_id": "E1"}}))


@pytest.mark.parametrize(
    ("status", "code", "exit_code"),
    [
        (429, "PLATFORM.RATE_LIMIT_EXCEEDED", 6),
        (403, "PLATFORM.AUTHENTICATION_INVALID", 4),
        (404, "PLATFORM.INTEGRATION_NOT_FOUND", 5),
        (503, None, 6),
    ],
)
def test_doctor_maps_integration_errors_like_every_command(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    status: int,
    code: str | None,
    exit_code: int,
) -> None:
    from tests.recording_server import ScriptedResponse, error_envelope

    _queue_check_api_key_ok(kombo_server)
    kombo_server.queue(ScriptedResponse(status=status, body=error_envelope("No.", code=code)))

    result = run_kombo("doctor", env=server_env)

    assert result.returncode == exit_code
    assert "FAIL  Integration: No." in result.stdout


def test_doctor_fails_when_something_else_answers(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    from tests.recording_server import ScriptedResponse

    kombo_server.queue(
        ScriptedResponse(
            body=b"<html>Welcome to the hotel wifi</html>", headers={"Content-Type": "text/html"}
        )
    )
    result = run_kombo("doctor", env=server_env)

    assert result.returncode == 6
    assert "answered, but not as Kombo's API does" in result.stdout
    assert "it must end in /v1" in result.stdout


def test_doctor_reports_an_invalid_setting_as_a_check(tmp_path: Path) -> None:
    result = run_kombo("doctor", "--json", env={"KOMBO_REGION": "mars"}, cwd=tmp_path)

    report = json.loads(result.stdout)
    assert result.returncode == 3
    assert report["checks"][0]["name"] == "Settings"
    assert report["checks"][0]["status"] == "fail"
    assert "mars" in report["checks"][0]["detail"]


def test_attach_warns_about_a_key_file_others_can_read(
    kombo_server: KomboServer, sample_file, config_env: dict[str, str]
) -> None:
    env = {**config_env, "KOMBO_BASE_URL": kombo_server.base_url}
    run_kombo("config", "set", "api-key", API_KEY, env=env)
    run_kombo("config", "set", "integration-id", INTEGRATION_ID, env=env)
    profile_file(config_env).chmod(0o640)

    result = run_kombo("attach", CANDIDATE_ID, str(sample_file("cv.pdf")), env=env)

    assert result.returncode == 0
    assert "Warning: other users can access" in result.stderr
    assert API_KEY not in result.stderr
