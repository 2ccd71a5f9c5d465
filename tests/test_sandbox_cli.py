"""`kombo sandbox` as users run it: the installed executable, real ports, real signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kombo_cli.sandbox.sample_candidates import FRANK_DOE_ID
from kombo_cli.sandbox.sample_cv import sample_cv_bytes
from tests.helpers import (
    KOMBO_EXECUTABLE,
    clean_env,
    make_pdf,
    read_banner,
    run_kombo_process,
)


class RunningSandbox:
    def __init__(self, process: subprocess.Popen[bytes], banner: str) -> None:
        self.process = process
        self.banner = banner
        exports = dict(
            line.strip().removeprefix("export ").split("=", 1)
            for line in banner.splitlines()
            if line.strip().startswith("export ")
        )
        self.env = exports
        self.base_url = exports["KOMBO_BASE_URL"]

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.process.send_signal(sig)
        _out, err = self.process.communicate(timeout=20)
        return self.process.returncode, err.decode()


@contextmanager
def sandbox(*args: str, env: dict[str, str] | None = None) -> Iterator[RunningSandbox]:
    process = subprocess.Popen(
        [str(KOMBO_EXECUTABLE), "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(env),
    )
    banner = read_banner(process)
    try:
        assert "Press Ctrl-C to stop." in banner, banner + process.stderr.read().decode()
        yield RunningSandbox(process, banner)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_demo_runs_the_main_job_end_to_end_and_cleans_up(tmp_path: Path) -> None:
    # Whatever the user has configured must not matter: the demo never leaves the machine.
    (tmp_path / ".env").write_text("KOMBO_API_KEY=ks_prod_real_key_real_key_1234\n")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        "KOMBO_BASE_URL": "https://api.kombo.dev/v1",
        "KOMBO_API_KEY": "ks_prod_do_not_use_do_not_use",
        "KOMBO_INTEGRATION_ID": "workday:real",
        "TMPDIR": str(temp),
    }
    result = run_kombo_process("sandbox", "--demo", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"Attached Frank Doe CV.pdf to candidate {FRANK_DOE_ID} (CV, application/pdf" in (
        result.stdout
    )
    assert "Frank Doe CV.pdf  CV  application/pdf" in result.stdout
    assert "stored exactly the bytes that were sent" in result.stdout
    assert list(temp.iterdir()) == []


def test_attach_against_a_running_sandbox_stores_the_exact_bytes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf() + os.urandom(3000))
    with sandbox("--data-dir", str(data_dir)) as running:
        assert running.env["KOMBO_API_KEY"] == "sandbox-key"
        assert running.env["KOMBO_INTEGRATION_ID"] == "sandbox:local"
        assert running.base_url.startswith("http://127.0.0.1:")
        assert f"kombo attach {FRANK_DOE_ID} cv.pdf --type CV" in running.banner

        first = run_kombo_process("attach", FRANK_DOE_ID, str(cv), "--type", "CV", env=running.env)
        second = run_kombo_process("attach", FRANK_DOE_ID, str(cv), "--json", env=running.env)
        code, stderr = running.stop()

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    folder = data_dir / "candidates" / FRANK_DOE_ID
    # A second file of the same name is stored beside the first, never over it.
    assert (folder / "cv.pdf").read_bytes() == cv.read_bytes()
    assert (folder / "cv (2).pdf").read_bytes() == cv.read_bytes()
    assert code == 0
    assert f"POST /v1/ats/candidates/{FRANK_DOE_ID}/attachments -> 200" in stderr
    assert f"Sandbox stopped; uploads are kept in {data_dir}." in stderr
    assert "Traceback" not in stderr


def test_sigterm_stops_the_sandbox_cleanly() -> None:
    with sandbox("-q") as running:
        code, stderr = running.stop(signal.SIGTERM)
    assert code == 0
    assert stderr == ""


def test_a_port_in_use_is_a_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_kombo_process("sandbox", "--port", str(port), timeout=20)
    assert result.returncode == 2
    assert f"Error: Port {port} on 127.0.0.1 is already in use." in result.stderr
    assert "Traceback" not in result.stderr


def test_strict_ids_turn_unknown_candidates_into_404(tmp_path: Path) -> None:
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    with sandbox("--strict-ids", "--data-dir", str(tmp_path / "data")) as running:
        unknown = run_kombo_process("attach", "NoSuchCandidate", str(cv), env=running.env)
        known = run_kombo_process("attach", FRANK_DOE_ID, str(cv), env=running.env)
    assert unknown.returncode == 5
    assert "could not be found" in unknown.stderr
    assert known.returncode == 0


def test_custom_candidates_and_their_errors(tmp_path: Path) -> None:
    good = tmp_path / "people.json"
    good.write_text(
        json.dumps([{"id": "Cand1", "first_name": "Ada", "email_addresses": ["a@x.org"]}])
    )
    with sandbox(
        "--candidates", str(good), "--strict-ids", "--data-dir", str(tmp_path / "d")
    ) as running:
        assert "Cand1  Ada" in running.banner
        cv = tmp_path / "cv.pdf"
        cv.write_bytes(make_pdf())
        assert run_kombo_process("attach", "Cand1", str(cv), env=running.env).returncode == 0

    bad = tmp_path / "bad.json"
    bad.write_text('[{"first_name": "no id"}]')
    result = run_kombo_process("sandbox", "--candidates", str(bad), timeout=20)
    assert result.returncode == 2
    assert str(bad) in result.stderr


def test_fail_rate_rehearses_refusals_with_retry_after(tmp_path: Path) -> None:
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    with sandbox("--fail-rate", "1", "--data-dir", str(tmp_path / "d")) as running:
        result = run_kombo_process(
            "attach", FRANK_DOE_ID, str(cv), "--retries", "1", env=running.env
        )
    assert result.returncode == 6
    assert "HTTP 503" in result.stderr or "HTTP 429" in result.stderr
    assert "gave up after 2 attempts" in result.stderr
    assert not (tmp_path / "d" / "candidates").exists()


def test_ambiguous_rate_stores_then_answers_500_and_the_cli_does_not_duplicate(
    tmp_path: Path,
) -> None:
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    with sandbox("--ambiguous-rate", "1", "--data-dir", str(tmp_path / "d")) as running:
        result = run_kombo_process("attach", FRANK_DOE_ID, str(cv), env=running.env)
    # Stored, then answered 500: the listing finds it, so it is not sent a second time.
    assert result.returncode == 0, result.stderr
    assert "HTTP 500" in result.stderr
    assert "not sent again" in result.stderr
    folder = tmp_path / "d" / "candidates" / FRANK_DOE_ID
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["cv.pdf"]


def test_the_sample_cv_is_a_pdf() -> None:
    data = sample_cv_bytes()
    assert data.startswith(b"%PDF-1.4")
    assert data.rstrip().endswith(b"%%EOF")


def test_sigterm_without_uploads_leaves_no_temporary_folder(tmp_path: Path) -> None:
    with sandbox("-q", env={"TMPDIR": str(tmp_path)}) as running:
        assert "Uploads are stored in " + str(tmp_path) in running.banner
        code, _stderr = running.stop(signal.SIGTERM)
    assert code == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "--port"),
        (["--key", "a b"], "--key must be printable ASCII"),
        (["--integration-id", ""], "--integration-id must be printable ASCII"),
        (["--data-dir", "/proc/kombo-sandbox-test"], "Cannot create the data directory"),
        (["--fail-rate", "1.5"], "--fail-rate"),
        (["--host", ""], "--host is empty."),
    ],
)
def test_unusable_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_kombo_process("sandbox", *args, env={"TMPDIR": str(tmp_path)}, timeout=20)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_data_dir_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    result = run_kombo_process("sandbox", "--data-dir", str(not_a_folder), timeout=20)
    assert result.returncode == 2
    assert "exists and is not a directory" in result.stderr


def test_the_demo_ignores_proxy_settings(tmp_path: Path) -> None:
    dead_proxy = "http://127.0.0.1:9"
    env = {"HTTP_PROXY": dead_proxy, "http_proxy": dead_proxy, "HTTPS_PROXY": dead_proxy}
    result = run_kombo_process("sandbox", "--demo", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "stored exactly the bytes" in result.stdout


def test_demo_refuses_options_it_would_ignore(tmp_path: Path) -> None:
    result = run_kombo_process(
        "sandbox", "--demo", "--data-dir", str(tmp_path / "d"), "--strict-ids"
    )

    assert result.returncode == 2
    assert "--data-dir, --strict-ids cannot be used with it" in result.stderr
    assert not (tmp_path / "d").exists()


def test_ctrl_c_the_moment_the_banner_shows_is_a_normal_stop() -> None:
    # The banner is the signal people (and scripts) act on: a Ctrl-C that comes before the
    # sandbox starts waiting must still stop it cleanly, not as an interruption.
    for _ in range(5):
        with sandbox() as running:
            code, stderr = running.stop(signal.SIGINT)
        assert code == 0, stderr
        assert "Sandbox stopped" in stderr and "Interrupted" not in stderr
