"""Help that reads well: options in panels, metavars instead of type labels, choices in
Kombo's case, usage lines that never break a word, `kombo help COMMAND`, and help that a
closed pipe (`| head -1`) ends quietly. All through the installed executable."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import (
    API_KEY,
    CANDIDATE_ID,
    INTEGRATION_ID,
    KOMBO_EXECUTABLE,
    clean_env,
    run_kombo_process,
)
from tests.recording_server import KomboServer

# Every command, as `kombo --help` and the groups' help list them.
COMMANDS = [
    [],
    ["attach"],
    ["attachments"],
    ["attachments", "list"],
    ["doctor"],
    ["config"],
    ["config", "set"],
    ["config", "get"],
    ["config", "unset"],
    ["config", "show"],
    ["config", "path"],
    ["config", "profiles"],
    ["sandbox"],
    ["completion"],
    ["help"],
]
COMMAND_IDS = [" ".join(["kombo", *path]) for path in COMMANDS]

# What Typer and Click print where kombo names a value: type names, Python types, ranges,
# and `{name}:<a|b>` choice labels.
TYPE_LABELS = re.compile(
    r"\b(TEXT|INTEGER|FLOAT|BOOLEAN|DIRECTORY|FILENAME|UUID)\b"
    r"|<(str|int|float|path|bool)|x<=|x>=|<=x|>=x|\{[A-Z_]+\}|\{\w+\}:<|\(s\)"
)
PANEL = re.compile(r"^╭─ (.+?) ─")
OPTION = re.compile(r"^│ (?:-\w, |    )(--[\w-]+)")


def help_of(*path: str, columns: int = 80) -> str:
    result = run_kombo_process(*path, "--help", env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def panels_of(text: str) -> dict[str, list[str]]:
    """Each panel's title and the long options in it, in order."""
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        title = PANEL.match(line)
        if title:
            current = title.group(1)
            found[current] = []
            continue
        option = OPTION.match(line)
        if option and current is not None:
            found[current].append(option.group(1))
    return found


def flat(text: str) -> str:
    """Help text without the panels' borders, on one line: wrapped phrases joined again."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def usage_block(text: str) -> list[str]:
    """The usage lines at the top of a help text (up to the first blank line)."""
    lines = []
    for line in text.splitlines():
        if not line.strip():
            break
        lines.append(line)
    return lines


# -- panels ---------------------------------------------------------------------------------


def test_attach_help_groups_every_option_into_panels() -> None:
    panels = panels_of(help_of("attach", columns=100))

    assert list(panels) == [
        "Arguments",
        "Target",
        "File",
        "Request",
        "Batch",
        "Connection",
        "Output",
    ]
    assert panels["Target"] == ["--application", "--email"]
    assert panels["File"][:2] == ["--type", "--name"]
    assert panels["Request"][0] == "--dry-run"
    assert panels["Batch"][0] == "--manifest"
    assert panels["Connection"][:2] == ["--profile", "--env-file"]
    assert panels["Output"] == ["--json", "--quiet", "--verbose", "--help"]
    shown = [option for options in panels.values() for option in options]
    assert len(shown) == len(set(shown))
    assert set(shown) == set(attach_options())


def attach_options() -> list[str]:
    import typer

    from kombo_cli.app import app

    command = typer.main.get_command(app).commands["attach"]  # type: ignore[attr-defined]
    return [*(opt for p in command.params for opt in p.opts if opt.startswith("--")), "--help"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (["attachments", "list"], ["Arguments", "Target", "Connection", "Output"]),
        (["doctor"], ["Batch", "Connection", "Output"]),
        (["sandbox"], ["Server", "Data", "Rehearsed failures", "Other"]),
        (["config", "show"], ["Options"]),
    ],
)
def test_other_commands_with_many_options_have_panels_too(
    path: list[str], expected: list[str]
) -> None:
    panels = panels_of(help_of(*path, columns=100))
    assert list(panels) == expected
    assert "--help" in panels[expected[-1]]


# -- no type labels -------------------------------------------------------------------------


@pytest.mark.parametrize("path", COMMANDS, ids=COMMAND_IDS)
def test_help_names_values_not_types(path: list[str]) -> None:
    for columns in (60, 100):
        text = help_of(*path, columns=columns)
        assert not TYPE_LABELS.search(text), TYPE_LABELS.search(text)
        assert "[default: None]" not in text


def test_options_show_what_their_value_is() -> None:
    text = help_of("attach", columns=100)
    for option, metavar in [
        ("--type", "TYPE"),
        ("--email", "ADDRESS"),
        ("--manifest", "FILE"),
        ("--concurrency", "N"),
        ("--timeout", "SECONDS"),
        ("--base-url", "URL"),
        ("--integration-id", "ID"),
        ("--region", "REGION"),
    ]:
        assert re.search(rf"{option}\s+{metavar}\s", text), option
    # A flag takes no value, and shows none.
    assert re.search(r"-v, --verbose\s+-v: progress detail", text)


# -- choices in Kombo's case ----------------------------------------------------------------


def test_the_type_choices_are_shown_and_refused_in_kombos_case() -> None:
    assert "CV, COVER_LETTER, OTHER" in flat(help_of("attach"))

    result = run_kombo_process("attach", CANDIDATE_ID, "cv.pdf", "--type", "resume")

    assert result.returncode == 2
    assert "'resume' is not one of CV, COVER_LETTER, OTHER." in result.stderr
    assert "cover_letter" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("given", "sent"), [("cv", "CV"), ("Cover_Letter", "COVER_LETTER"), ("OTHER", "OTHER")]
)
def test_the_type_is_accepted_in_any_case_and_sent_in_kombos(
    kombo_server: KomboServer,
    server_env: dict[str, str],
    sample_file,  # type: ignore[no-untyped-def]
    given: str,
    sent: str,
) -> None:
    path = sample_file("cv.pdf", "pdf")
    result = run_kombo_process("attach", CANDIDATE_ID, str(path), "--type", given, env=server_env)

    assert result.returncode == 0, result.stderr
    [request] = kombo_server.requests
    assert request.json()["attachment"]["type"] == sent


def test_other_choices_are_accepted_in_any_case_and_listed_when_wrong(
    sample_file,  # type: ignore[no-untyped-def]
) -> None:
    path = sample_file("cv.pdf", "pdf")
    env = {"KOMBO_API_KEY": API_KEY, "KOMBO_INTEGRATION_ID": INTEGRATION_ID}
    dry = run_kombo_process(
        "attach", CANDIDATE_ID, str(path), "--region", "US", "--dry-run", env=env
    )
    assert dry.returncode == 0, dry.stderr
    assert "https://api.us.kombo.dev/v1/" in dry.stdout

    for args, listed in [
        (["attachments", "list", CANDIDATE_ID, "--region", "mars"], "eu, us, ca"),
        (["config", "get", "colour"], "api-key, integration-id, region, base-url"),
        (["completion", "tcsh"], "bash, zsh, fish"),
    ]:
        result = run_kombo_process(*args)
        assert result.returncode == 2, args
        assert f"is not one of {listed}." in result.stderr

    assert run_kombo_process("completion", "BASH").returncode == 0


def test_numbers_out_of_range_are_refused_in_words() -> None:
    result = run_kombo_process("attach", CANDIDATE_ID, "cv.pdf", "-j", "999")
    assert result.returncode == 2
    assert "must be from 1 to 300, not 999." in result.stderr
    result = run_kombo_process("attach", CANDIDATE_ID, "cv.pdf", "--timeout", "nan")
    assert result.returncode == 2
    assert "must be from 0.1 to 86400 seconds, not nan." in result.stderr


# -- usage lines ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", COMMANDS, ids=COMMAND_IDS)
def test_usage_lines_break_between_words_only(path: list[str]) -> None:
    whole = " ".join(" ".join(usage_block(help_of(*path, columns=200))).split())
    assert whole.startswith(" ".join(["Usage: kombo", *path]))
    for columns in (80, 60, 40):
        text = help_of(*path, columns=columns)
        lines = usage_block(text)
        assert " ".join(" ".join(lines).split()) == whole, (columns, lines)
        for line in lines:
            assert len(line) <= columns
            assert not line.rstrip().endswith("-"), (columns, lines)
        # Nothing else on the screen is wider than it either.
        assert max(len(line) for line in text.splitlines()) <= columns


def test_the_usage_line_of_a_usage_error_breaks_between_words_only() -> None:
    result = run_kombo_process("config", "set", "--bogus", env={"COLUMNS": "40"})

    assert result.returncode == 2
    lines = result.stderr.split("\nTry ")[0].splitlines()
    assert " ".join(" ".join(lines).split()) == "Usage: kombo config set [OPTIONS] NAME [VALUE]"
    assert not any(line.rstrip().endswith("-") for line in lines)


# -- kombo help -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [[], ["attach"], ["attachments", "list"], ["config"]])
def test_kombo_help_prints_what_dash_dash_help_prints(path: list[str]) -> None:
    for columns in ("80", "60"):
        env = {"COLUMNS": columns}
        helped = run_kombo_process("help", *path, env=env)
        assert helped.returncode == 0, helped.stderr
        assert helped.stderr == ""
        assert helped.stdout == run_kombo_process(*path, "--help", env=env).stdout


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (["nope"], "Error: kombo has no command 'nope'; kombo --help lists them.\n"),
        (
            ["attachments", "nope"],
            "Error: kombo attachments has no command 'nope'; kombo attachments --help lists"
            " them.\n",
        ),
        (
            ["attach", "x"],
            "Error: kombo attach has no commands under it; see kombo attach --help.\n",
        ),
    ],
)
def test_kombo_help_of_an_unknown_command_is_a_usage_error(path: list[str], message: str) -> None:
    result = run_kombo_process("help", *path)

    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)


# -- a reader that goes away ----------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["attach", "--help"], ["help", "attachments"]])
def test_help_into_a_closed_pipe_exits_0_quietly(args: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before kombo writes a byte
    try:
        completed = subprocess.run(
            [str(KOMBO_EXECUTABLE), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=clean_env(),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)

    assert (completed.returncode, completed.stderr) == (0, b"")


def test_help_piped_into_head_exits_0(tmp_path: Path) -> None:
    status = tmp_path / "status"
    completed = subprocess.run(
        ["/bin/sh", "-c", f'{{ "{KOMBO_EXECUTABLE}" --help; echo $? > "{status}"; }} | head -1'],
        capture_output=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )

    assert completed.stdout.decode().startswith(" Usage: kombo")
    assert len(completed.stdout.decode().splitlines()) == 1
    assert completed.stderr == b""
    assert status.read_text().strip() == "0"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("kombo help att", ["attach", "attachments"]),
        ("kombo help attachments ", ["list"]),
        ("kombo attach X cv.pdf --type c", ["cv", "cover_letter"]),
        ("kombo attach X cv.pdf --type CO", ["COVER_LETTER"]),
    ],
)
def test_completion_offers_commands_to_help_and_choices_in_the_case_typed(
    words: str, expected: list[str]
) -> None:
    result = run_kombo_process(
        env={
            "_KOMBO_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
        }
    )
    assert result.stdout.split() == expected


@pytest.mark.parametrize("args", [(), ("attachments",), ("config",)])
def test_a_group_alone_prints_its_help_on_stdout_and_exits_0(args: tuple[str, ...]) -> None:
    # The same on every Click release (they disagree on stream and exit code).
    alone = run_kombo_process(*args)
    asked = run_kombo_process("help", *args)
    assert alone.returncode == 0 and alone.stderr == ""
    assert alone.stdout == asked.stdout and "Usage: kombo" in alone.stdout
