"""Every `kombo` command the README and docs/ show runs, as shown, against `kombo sandbox
--strict-ids`.

The commands are taken from the shell blocks (and the `run:` steps of CI examples) of
README.md and of every docs/*.md file but the generated reference, so an example that
stops working, an option that is renamed, or an ID the sandbox does not have fails here.
Shell around them (pipes, redirections, loops) is not run; the `kombo` part is, with the
files and variables it needs, as the installed executable. Each runs against a sandbox of
its own, started as a user would start it, with `--strict-ids`: only the sample candidates
and their applications exist, so an example with a made-up ID exits 5.

Long-running `kombo sandbox` commands are started on a free port instead of the one shown,
checked for their banner and stopped with SIGTERM, as a CI runner stops them.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kombo_cli.sandbox.sample_candidates import FRANK_DOE_ID
from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    KOMBO_EXECUTABLE,
    clean_env,
    make_pdf,
    read_banner,
    run_kombo_process,
)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# docs/cli.md is generated from the command line definition: a reference, not examples.
NOT_SCANNED = ("cli.md",)
DOCUMENTS = [README, *sorted(p for p in DOCS.glob("*.md") if p.name not in NOT_SCANNED)]

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
    # CI matrices' shard numbers, as a runner sets them.
    "${{ matrix.shard }}": "2",
    '"$CI_NODE_INDEX/$CI_NODE_TOTAL"': "3/3",
}
# Commands shown but not run, each with the reason. Keep this short: an example that is not
# run can silently stop working.
NOT_RUN: dict[str, str] = {}


@dataclass(frozen=True)
class Example:
    document: str
    command: str
    # Whether the document feeds the command standard input (a pipe or `<`).
    fed: bool

    @property
    def serves(self) -> bool:
        """A `kombo sandbox` that runs until stopped (the demo stops by itself)."""
        words = self.command.split()
        return words[1] == "sandbox" and "--demo" not in words


def commands_in(document: Path) -> list[Example]:
    """Each kombo command in the document's shell blocks, in order."""
    name = document.relative_to(ROOT).as_posix()
    examples = []
    for match in BLOCK.finditer(document.read_text(encoding="utf-8")):
        for line in match.group(2).splitlines():
            for variable, value in VARIABLES.items():
                line = line.replace(variable, value)
            for start in COMMAND_START.finditer(line):
                text = line[start.start(1) :]
                end = COMMAND_END.search(text)
                command = (text[: end.start()] if end else text).strip()
                fed = " | " in line[: start.start(1)] or bool(end and end.group(1) == "<")
                if not command.startswith(tuple(NOT_RUN)):
                    examples.append(Example(name, command, fed))
    return examples


def all_examples() -> list[Example]:
    """Every document's commands; a command shown in several places runs once."""
    seen: set[tuple[str, bool]] = set()
    examples = []
    for document in DOCUMENTS:
        for example in commands_in(document):
            if (example.command, example.fed) not in seen:
                seen.add((example.command, example.fed))
                examples.append(example)
    return examples


README_COMMANDS = [(e.command, e.fed) for e in commands_in(README)]
EXAMPLES = all_examples()


def test_the_readme_shows_the_commands_this_test_expects() -> None:
    shown = {command.split()[1] for command, _ in README_COMMANDS}
    assert {"attach", "attachments", "config", "doctor", "completion", "sandbox"} <= shown
    assert any("--manifest" in command for command, _ in README_COMMANDS)
    assert len(README_COMMANDS) >= 25


def test_the_docs_show_commands_too() -> None:
    documents = {e.document for e in EXAMPLES}
    for name in ("attach", "manifests", "settings", "sandbox", "json-output"):
        assert f"docs/{name}.md" in documents
    assert len([e for e in EXAMPLES if e.document != "README.md"]) >= 20


def test_every_not_run_entry_still_matches_a_command() -> None:
    # An entry that matches nothing any more would hide the next command that starts so.
    text = "\n".join(d.read_text(encoding="utf-8") for d in DOCUMENTS)
    for prefix, reason in NOT_RUN.items():
        assert reason and prefix in text, prefix


def test_the_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 260, f"README.md has {len(lines)} lines; move reference to docs/"


def test_the_readme_set_up_commands_are_the_ones_ci_runs() -> None:
    readme = README.read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    blocks = [block for _, block in BLOCK.findall(readme)]
    # The first two blocks, near the top: install and run, then the tests.
    assert blocks[0].strip() == "pip install . && kombo sandbox --demo"
    assert blocks[1].strip() == "pip install -e '.[test]' && pytest"
    assert readme.index(blocks[1]) < len(readme) // 5
    assert "pip install -e '.[test]' && pytest\n" in ci
    assert 'kombo" sandbox --demo' in ci


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    process: subprocess.Popen[bytes]


@pytest.fixture
def strict_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """`kombo sandbox --strict-ids` on a free port, with the tests' key (so leak checks mean
    something), until the test ends."""
    process = subprocess.Popen(
        [
            str(KOMBO_EXECUTABLE),
            "sandbox",
            "--strict-ids",
            "--port",
            "0",
            "--key",
            API_KEY,
            "--integration-id",
            INTEGRATION_ID,
            "--data-dir",
            str(tmp_path / "sandbox-data"),
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        banner = read_banner(process)
        found = re.search(r"export KOMBO_BASE_URL=(\S+)", banner)
        assert found and "Press Ctrl-C to stop." in banner, banner
        yield Sandbox(found.group(1), process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def block_after(document: Path, language: str, starting: str = "") -> str:
    """The first block of that language in the document whose text starts so."""
    text = document.read_text(encoding="utf-8")
    for found in re.finditer(rf"```{language}\n(.*?)```", text, re.DOTALL):
        if found.group(1).startswith(starting):
            return found.group(1)
    raise AssertionError(f"no {language} block in {document.name}")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The files the examples name, in the folder they run in."""
    folder = tmp_path / "work"
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
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_pdf() + name.encode())
    (folder / "key.txt").write_text(API_KEY + "\n")
    (folder / "fields.json").write_text('{"greenhouse": {"post_headers": {"On-Behalf-Of": "123"}}}')
    # The manifests and the candidates file are the docs' own examples.
    manifests = DOCS / "manifests.md"
    (folder / "uploads.csv").write_text(block_after(manifests, "csv"))
    (folder / "uploads.jsonl").write_text(block_after(manifests, "jsonl"))
    (folder / "candidates.json").write_text(block_after(DOCS / "sandbox.md", "json", "["))
    return folder


def argv_of(command: str, workspace: Path) -> list[str]:
    """The command's arguments after `kombo`, with globs expanded as the shell would."""
    argv: list[str] = []
    for word in shlex.split(command)[1:]:
        expanded = (
            sorted(str(path.relative_to(workspace)) for path in workspace.glob(word))
            if "*" in word
            else []
        )
        argv.extend(expanded or [word])
    return argv


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.document}: {e.command}" for e in EXAMPLES])
def test_documented_command_runs(
    example: Example, strict_sandbox: Sandbox, workspace: Path
) -> None:
    command, fed = example.command, example.fed
    argv = argv_of(command, workspace)
    env = {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": strict_sandbox.base_url,
        "KOMBO_CONFIG_DIR": str(workspace / "config"),
    }
    if example.serves:
        code, output = serve_and_stop(argv, workspace)
        assert code == 0, f"{example.document}: {command}\n{output}"
        assert "Traceback" not in output
        return

    stdin = None
    if fed:
        stdin = (API_KEY + "\n").encode() if "config set api-key" in command else make_pdf()
    if command.startswith("kombo config set api-key") and not fed:
        # The docs show the prompt; answer it the way a pipe would.
        stdin = (API_KEY + "\n").encode()

    result = run_kombo_process(*argv, env=env, cwd=workspace, stdin=stdin, timeout=60)

    assert result.returncode == 0, (
        f"{example.document}: {command}\n{result.stdout}\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.stdout + result.stderr or "--reveal" in command


def serve_and_stop(argv: list[str], workspace: Path) -> tuple[int, str]:
    """Start a long-running `kombo sandbox` on a free port, wait for its banner, stop it
    with SIGTERM; its exit code and everything it printed."""
    argv = list(argv)
    if "--port" in argv:
        argv[argv.index("--port") + 1] = "0"
    else:
        argv += ["--port", "0"]
    process = subprocess.Popen(
        [str(KOMBO_EXECUTABLE), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
        cwd=str(workspace),
    )
    try:
        banner = read_banner(process)
        if "Press Ctrl-C to stop." in banner:
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = banner + out.decode() + err.decode()
    assert "Press Ctrl-C to stop." in banner, output
    return process.returncode, output


def test_an_id_the_sandbox_does_not_have_fails(strict_sandbox: Sandbox, workspace: Path) -> None:
    # What makes the examples' IDs count: with --strict-ids a made-up one is a 404 (exit 5).
    env = {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": strict_sandbox.base_url,
    }
    made_up = run_kombo_process("attach", CANDIDATE_ID, "cv.pdf", env=env, cwd=workspace)
    swapped = run_kombo_process(
        "attach", FRANK_DOE_ID, "cv.pdf", "--application", env=env, cwd=workspace
    )
    assert (made_up.returncode, swapped.returncode) == (5, 5), made_up.stderr + swapped.stderr


def test_the_readme_python_example_runs(
    strict_sandbox: Sandbox, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    monkeypatch.setenv("KOMBO_API_KEY", API_KEY)
    monkeypatch.setenv("KOMBO_INTEGRATION_ID", INTEGRATION_ID)
    monkeypatch.setenv("KOMBO_BASE_URL", strict_sandbox.base_url)
    monkeypatch.chdir(workspace)
    for number, code in enumerate(blocks, start=1):
        exec(compile(code, f"README.md python example {number}", "exec"), {})
