"""Shell completion: the checked-in scripts match the command, and completion answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_kombo_process

COMPLETIONS = Path(__file__).resolve().parent.parent / "completions"


@pytest.mark.parametrize(
    ("shell", "file_name"), [("bash", "kombo.bash"), ("zsh", "_kombo"), ("fish", "kombo.fish")]
)
def test_checked_in_script_matches_the_command(shell: str, file_name: str) -> None:
    result = run_kombo_process("completion", shell)
    assert result.returncode == 0
    assert (COMPLETIONS / file_name).read_text() == result.stdout, (
        f"regenerate with: kombo completion {shell} > completions/{file_name}"
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("kombo att", {"attach"}),
        ("kombo attach X cv.pdf --type ", {"CV", "COVER_LETTER", "OTHER"}),
        ("kombo attach X cv.pdf --region ", {"eu", "us", "ca"}),
    ],
)
def test_bash_completion_suggests_commands_and_choices(words: str, expected: set[str]) -> None:
    parts = words.split(" ")
    result = run_kombo_process(
        env={
            "_KOMBO_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
        }
    )
    assert set(result.stdout.split()) >= expected


def test_bash_completion_suggests_stored_profile_names(tmp_path: Path) -> None:
    config = tmp_path / "config"
    for name in ("staging", "production"):
        result = run_kombo_process(
            "config",
            "set",
            "region",
            "us",
            "--profile",
            name,
            env={"KOMBO_CONFIG_DIR": str(config)},
        )
        assert result.returncode == 0, result.stderr
    words = "kombo attach X cv.pdf --profile st"
    result = run_kombo_process(
        env={
            "KOMBO_CONFIG_DIR": str(config),
            "_KOMBO_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
        }
    )
    assert result.stdout.split() == ["staging"]


def test_file_arguments_fall_back_to_file_completion() -> None:
    # zsh is told to complete files; bash gets no words and its script's `-o default`
    # completes file names.
    zsh = run_kombo_process(
        env={"_KOMBO_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "kombo attach X "}
    )
    assert zsh.stdout.strip() == "_files"
    bash = run_kombo_process(
        env={"_KOMBO_COMPLETE": "complete_bash", "COMP_WORDS": "kombo attach X ", "COMP_CWORD": "3"}
    )
    assert bash.stdout.strip() == ""
    assert "complete -o default" in (COMPLETIONS / "kombo.bash").read_text()
