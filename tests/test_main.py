"""Entry point behaviour: --version, --help, and the error boundary for unexpected failures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kombo_cli import __version__, cli
from kombo_cli.errors import EXIT_CODE_LABELS
from tests.conftest import API_KEY, run_kombo


def test_version_prints_the_package_version() -> None:
    result = run_kombo("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"kombo {__version__}\n", "")


def test_version_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from kombo_cli.main import main; sys.argv = ['kombo', '--version'];"
        " main(); heavy = [m for m in ('typer', 'rich', 'requests', 'dotenv') if m in sys.modules];"
        " print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "[]"


def test_help_lists_the_command_and_the_exit_codes() -> None:
    result = run_kombo("--help")
    assert result.returncode == 0
    assert "attach" in result.stdout
    text = " ".join(result.stdout.split())
    for code, label in EXIT_CODE_LABELS.items():
        assert f"{int(code)} {label}" in text


def test_attach_help_names_environment_variables() -> None:
    result = run_kombo("attach", "--help")
    assert result.returncode == 0
    for name in ("KOMBO_REGION", "KOMBO_BASE_URL", "KOMBO_INTEGRATION_ID", "KOMBO_DEBUG"):
        assert name in result.stdout


def test_python_dash_m_runs_the_same_app() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kombo_cli", "--version"], capture_output=True, text=True
    )
    assert result.stdout == f"kombo {__version__}\n"


def _explode(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError(f"something internal mentioning {API_KEY}")


def test_unexpected_errors_exit_1_with_one_line_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setenv("KOMBO_API_KEY", API_KEY)
    monkeypatch.setenv("KOMBO_INTEGRATION_ID", "test:1")
    monkeypatch.setattr("kombo_cli.commands.attach.resolve_settings", _explode)
    (tmp_path / "cv.pdf").write_bytes(b"%PDF-1.4")

    code = cli.run(["attach", "X", str(tmp_path / "cv.pdf")])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines()[0] == (
        "Error: kombo hit an unexpected internal error (RuntimeError)."
    )
    assert "Traceback" not in captured.err
    assert API_KEY not in captured.err + captured.out


def test_unexpected_errors_still_print_a_json_error_with_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setattr("kombo_cli.commands.attach.resolve_settings", _explode)

    code = cli.run(["attach", "X", str(tmp_path / "cv.pdf"), "--json"])

    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["error"]["code"] == "CLI.INTERNAL"
    assert payload["error"]["exit_code"] == 1


def test_kombo_debug_shows_the_traceback_with_the_key_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setenv("KOMBO_DEBUG", "1")
    monkeypatch.setenv("KOMBO_API_KEY", API_KEY)
    monkeypatch.setenv("KOMBO_INTEGRATION_ID", "test:1")
    (tmp_path / "cv.pdf").write_bytes(b"%PDF-1.4")
    monkeypatch.setattr("kombo_cli.delivery.upload", _explode)

    code = cli.run(["attach", "X", str(tmp_path / "cv.pdf"), "--base-url", "http://127.0.0.1:9"])

    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" in captured.err
    assert "RuntimeError: something internal mentioning ks_test_…" in captured.err
    assert API_KEY not in captured.err + captured.out
