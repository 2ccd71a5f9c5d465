"""Every `kombo` command the README shows runs, as shown, against the loopback server.

The commands are taken from the README's shell blocks (and the `run:` steps of its CI
examples), so an example that stops working, or an option that is renamed, fails here.
Shell around them (pipes, redirections, loops) is not run; the `kombo` part is, with the
files and variables it needs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from kombo_cli.sandbox.sample_candidates import FRANK_DOE_ID
from tests.helpers import API_KEY, INTEGRATION_ID, make_pdf, run_kombo_process
from tests.recording_server import KomboServer

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```(sh|bash|yaml)\n(.*?)```", re.DOTALL)
# Where a kombo command starts inside a line of shell.
COMMAND_START = re.compile(r"(?:^|\$\(|\|\s|&&\s|;\s|\bdo\s|\bthen\s)\s*(kombo\s)")
# Where it ends: a pipe, a list operator, a redirection, a comment, or the end of $(...).
COMMAND_END = re.compile(r"\s(\|\|?|&&|;|>|<|#)\s|\)\s*\|?|\s&$")

# Values for the variables the examples use.
VARIABLES = {
    '"$(basename "$cv" .pdf)"': FRANK_DOE_ID,
    '"$cv"': f"incoming/{FRANK_DOE_ID}.pdf",
    '"$CANDIDATE_ID"': FRANK_DOE_ID,
    '"$CV_URL"': "https://files.example/cv.pdf",
}
# Long-running: shown in the README for people, exercised by test_sandbox_cli.py.
NOT_RUN = ("kombo sandbox --data-dir", "kombo sandbox --port")


def readme_commands() -> list[tuple[str, bool]]:
    """Each kombo command in the README, and whether the README feeds it standard input."""
    commands = []
    for match in BLOCK.finditer(README.read_text(encoding="utf-8")):
        for line in match.group(2).splitlines():
            for variable, value in VARIABLES.items():
                line = line.replace(variable, value)
            for start in COMMAND_START.finditer(line):
                text = line[start.start(1) :]
                end = COMMAND_END.search(text)
                command = (text[: end.start()] if end else text).strip()
                fed = " | " in line[: start.start(1)] or bool(end and end.group(1) == "<")
                if not command.startswith(NOT_RUN):
                    commands.append((command, fed))
    return commands


COMMANDS = readme_commands()


def test_the_readme_shows_the_commands_this_test_expects() -> None:
    shown = {command.split()[1] for command, _ in COMMANDS}
    assert {"attach", "attachments", "config", "doctor", "completion", "sandbox"} <= shown
    assert any("--manifest" in command for command, _ in COMMANDS)
    assert len(COMMANDS) >= 25


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The files the examples name, in the folder they run in."""
    for name in (
        "cv.pdf",
        "cover-letter.pdf",
        "scans/page-1.pdf",
        "scans/page-2.pdf",
        f"incoming/{FRANK_DOE_ID}.pdf",
        "cvs/frank.pdf",
        "cvs/maria.pdf",
        "letters/frank.pdf",
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_pdf() + name.encode())
    (tmp_path / "key.txt").write_text(API_KEY + "\n")
    # The manifest is the README's own example.
    manifest = re.search(r"```csv\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert manifest is not None
    (tmp_path / "uploads.csv").write_text(manifest.group(1))
    return tmp_path


@pytest.mark.parametrize(("command", "fed"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_command_runs(
    command: str, fed: bool, kombo_server: KomboServer, workspace: Path
) -> None:
    words = shlex.split(command)
    # The shell would expand globs; do it here, in the workspace.
    argv: list[str] = []
    for word in words[1:]:
        expanded = (
            sorted(str(path.relative_to(workspace)) for path in workspace.glob(word))
            if "*" in word
            else []
        )
        argv.extend(expanded or [word])
    stdin = None
    if fed:
        stdin = (API_KEY + "\n").encode() if "config set api-key" in command else make_pdf()
    env = {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": kombo_server.base_url,
        "KOMBO_CONFIG_DIR": str(workspace / "config"),
    }
    if command.startswith("kombo config set api-key") and not fed:
        # The README shows the prompt; answer it the way a pipe would.
        stdin = (API_KEY + "\n").encode()

    result = run_kombo_process(*argv, env=env, cwd=workspace, stdin=stdin, timeout=60)

    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.stdout + result.stderr or "--reveal" in command
