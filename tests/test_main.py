"""Entry point behaviour: --version, --help, and the error boundary for unexpected failures."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from kombo_cli import __version__
from kombo_cli.errors import EXIT_CODE_LABELS
from tests.helpers import API_KEY, run_kombo, run_kombo_process


def test_version_prints_the_package_version() -> None:
    result = run_kombo_process("--version")
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
    result = run_kombo_process("--help")
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


class _ExplodingStdin(io.TextIOWrapper):
    """Standard input that fails the way only a bug would, naming the key in its message."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(b""), encoding="utf-8")

    @property
    def buffer(self) -> io.BufferedReader:
        raise RuntimeError(f"something internal mentioning {API_KEY}")


CREDENTIALS = {"KOMBO_API_KEY": API_KEY, "KOMBO_INTEGRATION_ID": "test:1"}
READ_STDIN = ["attach", "X", "-", "--name", "cv.pdf", "--base-url", "http://127.0.0.1:9/v1"]


def test_unexpected_errors_exit_1_with_one_line_and_no_traceback() -> None:
    result = run_kombo(*READ_STDIN, env=CREDENTIALS, stdin_stream=_ExplodingStdin())

    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "Error: kombo hit an unexpected internal error (RuntimeError)."
    )
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.stderr + result.stdout


def test_unexpected_errors_still_print_a_json_error_with_json() -> None:
    result = run_kombo(*READ_STDIN, "--json", env=CREDENTIALS, stdin_stream=_ExplodingStdin())

    payload = json.loads(result.stdout)
    assert result.returncode == 1
    assert payload["error"]["code"] == "CLI.INTERNAL"
    assert payload["error"]["exit_code"] == 1


def test_kombo_debug_shows_the_traceback_with_the_key_masked() -> None:
    result = run_kombo(
        *READ_STDIN, env={**CREDENTIALS, "KOMBO_DEBUG": "1"}, stdin_stream=_ExplodingStdin()
    )

    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "RuntimeError: something internal mentioning ks_test_…" in result.stderr
    assert API_KEY not in result.stderr + result.stdout
