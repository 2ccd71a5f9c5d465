"""What a person sees: `kombo attach` run in a real pseudo-terminal, its output read back
through a terminal emulator, for every way the terminal and pipes can be combined.

On the final screen (scroll-back included) every result line must be there exactly once,
whole, each on a line of its own; nothing of the progress bars may be left behind; and
where no bars may be drawn, no cursor movement may be written at all.
"""

from __future__ import annotations

import os
import re
import shlex
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.helpers import API_KEY, CANDIDATE_ID, INTEGRATION_ID, KOMBO_EXECUTABLE, make_pdf
from tests.recording_server import KomboServer
from tests.screen import Screen, run_on_screen

FILES = 30
# Long enough that bars are drawn and redrawn many times while results come in.
LATENCY_S = 0.25
# Anything a bar draws: the bar itself, the overall line, a file's amount, the waiting note.
BAR_REMNANT = re.compile(r"[━╸╺]|Attaching|/\d+ files|\d+(\.\d+)? [kM]?B/|waiting for Kombo|… and")
# Cursor movement and erasing: what a redraw writes.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CURSOR_CONTROL = re.compile(rb"\x1b\[\d*[ABCDJK]|\x1b\[\?25[lh]")
RESULT = re.compile(
    rf"^Attached (scan-\d\d\.pdf) to candidate {CANDIDATE_ID} "
    r"\(OTHER, application/pdf, 2\d\.\d kB\)$"
)


@pytest.fixture
def slow_server() -> Iterator[KomboServer]:
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, latency_s=LATENCY_S) as server:
        yield server


@pytest.fixture
def scans(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "scans"
    folder.mkdir()
    paths = []
    for number in range(FILES):
        path = folder / f"scan-{number:02d}.pdf"
        path.write_bytes(make_pdf() + os.urandom(20_000))
        paths.append(path)
    return paths


def env_for(server: KomboServer, **extra: str) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
        **extra,
    }


def attach_command(files: list[Path], *options: str) -> str:
    words = [str(KOMBO_EXECUTABLE), "attach", CANDIDATE_ID, *map(str, files), *options]
    return " ".join(shlex.quote(word) for word in words)


def assert_results_shown_once(screen: Screen, files: list[Path]) -> None:
    """Every file has its result line, whole and once; no line holds a result glued to
    something else."""
    names = [match.group(1) for line in screen.lines if (match := RESULT.match(line))]
    assert sorted(names) == sorted(path.name for path in files), screen.text()
    for path in files:
        assert screen.count(f"Attached {path.name} ") == 1, screen.text()


def assert_no_bar_left(screen: Screen) -> None:
    left = [line for line in screen.lines if BAR_REMNANT.search(line)]
    assert not left, screen.text()


def block_lines(screen: Screen) -> set[str]:
    """Every line the progress block drew while it was up, as plain text."""
    text = screen.raw.decode("utf-8", "replace")
    lines = {ANSI.sub("", part).replace("\r", "") for part in text.split("\r\n")}
    return {line for line in lines if BAR_REMNANT.search(line)}


def assert_block_lines_fit(screen: Screen) -> None:
    """Each line of the block fits the window with a column to spare: a line that wraps
    is a line the display cannot count, and so cannot erase. Redrawn line by line, never
    by erasing to the end of the screen (from the top row, tmux would keep a copy)."""
    drawn = block_lines(screen)
    assert drawn
    too_wide = [line for line in drawn if cell_len(line) > screen.columns - 1]
    assert not too_wide, too_wide
    assert b"\x1b[J" not in screen.raw


def assert_summary(screen: Screen) -> None:
    summaries = [line for line in screen.lines if re.fullmatch(r"\d+ attached, .* in .*", line)]
    assert summaries == [summaries[0]] and summaries[0].startswith(f"{FILES} attached, 0 failed")


def test_stdout_and_stderr_on_one_terminal(slow_server: KomboServer, scans: list[Path]) -> None:
    screen = run_on_screen(attach_command(scans, "-j", "8"), env=env_for(slow_server))
    assert screen.returncode == 0
    assert_results_shown_once(screen, scans)
    assert_no_bar_left(screen)
    assert_summary(screen)
    # The bars were really drawn (and then erased), the waiting state named while uploads
    # waited for Kombo's answer, and the cursor shown again at the end.
    assert "━".encode() in screen.raw
    assert b"sent, waiting for Kombo" in screen.raw
    assert b"\x1b[?25l" not in screen.raw  # the cursor is never hidden
    assert_block_lines_fit(screen)
    # The terminal's settings are as they were (kept output on Ctrl-C only while drawing).
    assert not screen.local_modes & termios.NOFLSH
    assert screen.local_modes & termios.ECHOCTL  # as the terminal had it


@pytest.mark.parametrize("reader", ["tee", "cat"])
def test_stdout_piped_to_a_reader_that_writes_to_the_same_screen(
    slow_server: KomboServer, scans: list[Path], tmp_path: Path, reader: str
) -> None:
    log = tmp_path / "log"
    pipe = f"tee {shlex.quote(str(log))}" if reader == "tee" else "cat"
    screen = run_on_screen(f"{attach_command(scans, '-j', '8')} | {pipe}", env=env_for(slow_server))
    assert screen.returncode == 0
    assert_results_shown_once(screen, scans)
    assert_no_bar_left(screen)
    assert_summary(screen)
    # The reader writes between our lines whenever it likes: no redraw may be attempted.
    assert not CURSOR_CONTROL.search(screen.raw)
    if reader == "tee":
        logged = log.read_text().splitlines()
        assert sorted(RESULT.match(line).group(1) for line in logged) == sorted(  # type: ignore[union-attr]
            path.name for path in scans
        )


def test_both_piped(slow_server: KomboServer, scans: list[Path]) -> None:
    screen = run_on_screen(
        f"{attach_command(scans, '-j', '8')} 2>&1 | cat", env=env_for(slow_server)
    )
    assert screen.returncode == 0
    assert_results_shown_once(screen, scans)
    assert_no_bar_left(screen)
    assert_summary(screen)
    assert b"\x1b" not in screen.raw


@pytest.mark.parametrize("setting", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_plain_terminals_get_plain_text(
    slow_server: KomboServer, scans: list[Path], setting: dict[str, str]
) -> None:
    screen = run_on_screen(attach_command(scans, "-j", "8"), env=env_for(slow_server, **setting))
    assert screen.returncode == 0
    assert_results_shown_once(screen, scans)
    assert_no_bar_left(screen)
    assert_summary(screen)
    assert b"\x1b" not in screen.raw


def test_a_narrow_window_with_long_names(slow_server: KomboServer, tmp_path: Path) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    files = []
    for number in range(12):
        path = folder / f"scan-{number:02d}.pdf"
        path.write_bytes(make_pdf() + os.urandom(20_000))
        files.append(path)
    # Each is named in its bar by its long path's last part: make that long too.
    renamed = []
    for path in files:
        target = path.with_name(f"{'quarterly-assessment-report-' * 2}{path.name}")
        path.rename(target)
        renamed.append(target)
    # Eight uploads in flight do not fit in eight rows: the block shows what fits.
    screen = run_on_screen(
        attach_command(renamed, "-j", "8"), env=env_for(slow_server), columns=40, rows=8
    )
    assert screen.returncode == 0
    assert_no_bar_left(screen)
    # A result longer than the window wraps like any text; put back together, each is
    # there once.
    joined = " ".join("".join(line.ljust(screen.columns) for line in screen.lines).split())
    for path in renamed:
        assert joined.count(f"Attached {path.name} to candidate") == 1, screen.text()
    assert_block_lines_fit(screen)
    # What does not fit is counted in uploads (at most the eight in flight), not lines.
    hidden = [
        int(match.group(1))
        for line in block_lines(screen)
        if (match := re.search(r"… and (\d+) more upload", line))
    ]
    assert hidden and max(hidden) <= 8


def test_one_large_file_shows_its_bar_then_only_its_result(
    slow_server: KomboServer, tmp_path: Path
) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(make_pdf() + os.urandom(3_000_000))
    screen = run_on_screen(attach_command([big]), env=env_for(slow_server))
    assert screen.returncode == 0
    assert screen.lines == [
        f"Attached big.pdf to candidate {CANDIDATE_ID} (OTHER, application/pdf, 3.0 MB)"
    ]
    assert b"sent, waiting for Kombo" in screen.raw
    assert_block_lines_fit(screen)


def test_ctrl_c_mid_batch_leaves_a_clean_screen(
    slow_server: KomboServer, scans: list[Path]
) -> None:
    def some_results_shown(raw: bytes) -> bool:
        return raw.count(b"Attached scan-") >= 5

    screen = run_on_screen(
        # exec: the shell itself would die of the Ctrl-C and hide kombo's exit code.
        f"exec {attach_command(scans, '-j', '4')}",
        env=env_for(slow_server),
        press_ctrl_c_when=some_results_shown,
    )
    assert screen.returncode == 130
    assert_no_bar_left(screen)
    assert "^C" not in screen.text()
    stored = {attachment.name for attachment in slow_server.attachments}
    shown = [match.group(1) for line in screen.lines if (match := RESULT.match(line))]
    # Each result line once, and only for what was stored; nothing stored goes unnamed.
    assert len(shown) == len(set(shown)) and set(shown) <= stored
    for name in stored - set(shown):
        assert screen.count(name) >= 1, screen.text()
    assert any(line.startswith("Error: Interrupted") for line in screen.lines), screen.text()
    assert b"\x1b[?25l" not in screen.raw  # the cursor is never hidden


def test_ctrl_c_with_stdout_piped(slow_server: KomboServer, scans: list[Path]) -> None:
    def some_results_shown(raw: bytes) -> bool:
        return raw.count(b"Attached scan-") >= 5

    screen = run_on_screen(
        f"{attach_command(scans, '-j', '4')} | cat",
        env=env_for(slow_server),
        press_ctrl_c_when=some_results_shown,
    )
    assert_no_bar_left(screen)
    assert not CURSOR_CONTROL.search(screen.raw)
    # The echoed "^C" is written over, not left glued to the front of a line.
    assert "^C" not in screen.text()
    # Ctrl-C stops `cat` too: results that follow cannot reach the screen through it, and
    # are named on stderr instead. Nothing stored goes unmentioned.
    shown = [match.group(1) for line in screen.lines if (match := RESULT.match(line))]
    assert len(shown) == len(set(shown))
    stored = {attachment.name for attachment in slow_server.attachments}
    for name in stored - set(shown):
        assert screen.count(name) >= 1, screen.text()


@pytest.mark.parametrize("columns", [80, 50])
def test_the_bars_fit_narrower_windows(
    slow_server: KomboServer, scans: list[Path], columns: int
) -> None:
    screen = run_on_screen(
        attach_command(scans[:12], "-j", "6"), env=env_for(slow_server), columns=columns, rows=24
    )
    assert screen.returncode == 0
    assert_block_lines_fit(screen)
    assert_no_bar_left(screen)
    # Result lines are longer than the window and wrap like any text; joined up, each is
    # there once.
    joined = " ".join("".join(line.ljust(screen.columns) for line in screen.lines).split())
    for path in scans[:12]:
        assert joined.count(f"Attached {path.name} to candidate") == 1, screen.text()


def test_an_error_wraps_between_words_in_a_narrow_window(
    slow_server: KomboServer, scans: list[Path]
) -> None:
    # A base URL without /v1: a long sentence and a long hint, with a URL in it.
    base_url = slow_server.base_url.removesuffix("/v1")
    screen = run_on_screen(
        f"exec {attach_command(scans[:1])}",
        env=env_for(slow_server, KOMBO_BASE_URL=base_url),
        columns=50,
    )
    assert screen.returncode == 3
    # The terminal cuts a line only when it fills the window. Such a line may only be one
    # word too long for any line (a path, a URL); every other break is kombo's, between
    # words.
    cut = [line for line in screen.lines if len(line) >= screen.columns]
    assert all(" " not in line.strip() for line in cut), screen.text()
    assert len(screen.lines) > 4
    joined = " ".join(" ".join(screen.lines).split())
    assert f"Hint: the base URL must end in /v1: use {base_url}/v1" in joined, joined


# -- what else happens to a terminal: jobs, signals, tiny windows ----------------------------


def test_a_background_job_leaves_the_screen_alone(
    slow_server: KomboServer, scans: list[Path]
) -> None:
    # `set -m`: job control, so `&` puts kombo in a process group of its own, not the
    # terminal's foreground one, as an interactive shell does. The shell and other jobs
    # write to this screen meanwhile: no bars may be drawn over them.
    screen = run_on_screen(
        f"set -m; {attach_command(scans[:8], '-j', '4')} & sleep 0.5; echo OTHER-OUTPUT; wait",
        env=env_for(slow_server),
    )
    assert "━".encode() not in screen.raw
    assert not re.search(rb"\x1b\[\d*A", screen.raw)
    assert screen.count("OTHER-OUTPUT") == 1
    assert sum(bool(RESULT.match(line)) for line in screen.lines) == 8


def test_sigterm_while_bars_are_up_puts_the_terminal_back(
    slow_server: KomboServer, scans: list[Path]
) -> None:
    # timeout --foreground: kombo stays the terminal's foreground job, as when a person's
    # own script or a supervisor sends SIGTERM.
    screen = run_on_screen(
        f"timeout --foreground -s TERM 1.5 {attach_command(scans, '-j', '2')}",
        env=env_for(slow_server),
    )
    assert screen.returncode == 124  # timeout's own code for "had to stop it"
    assert "━".encode() in screen.raw
    assert_no_bar_left(screen)
    assert not screen.local_modes & termios.NOFLSH
    assert screen.local_modes & termios.ECHOCTL  # as the terminal had it


def test_two_quick_ctrl_c_put_the_terminal_back(
    slow_server: KomboServer, scans: list[Path]
) -> None:
    presses = 0

    def press(raw: bytes) -> bool:
        nonlocal presses
        if raw.count(b"Attached scan-") >= 3 or presses:
            presses += 1
            return presses <= 2
        return False

    screen = run_on_screen(
        f"exec {attach_command(scans, '-j', '4')}",
        env=env_for(slow_server),
        press_ctrl_c_when=press,
        presses=2,
    )
    assert screen.returncode == 130
    assert not screen.local_modes & termios.NOFLSH
    assert screen.local_modes & termios.ECHOCTL  # as the terminal had it
    assert "^C" not in screen.text()
    assert "Hint: see what was stored with kombo attachments list ID" in screen.text()


def test_ctrl_c_on_a_plain_terminal_leaves_no_echo_glued(
    slow_server: KomboServer, scans: list[Path]
) -> None:
    screen = run_on_screen(
        f"exec {attach_command(scans, '-j', '4')}",
        env=env_for(slow_server, NO_COLOR="1"),
        press_ctrl_c_when=lambda raw: raw.count(b"Attached scan-") >= 3,
    )
    assert screen.returncode == 130
    assert "^C" not in screen.text()
    assert b"\x1b" not in screen.raw


@pytest.mark.parametrize(("columns", "rows"), [(100, 2), (100, 3), (18, 24)])
def test_a_window_too_small_for_bars_gets_the_results_alone(
    slow_server: KomboServer, scans: list[Path], columns: int, rows: int
) -> None:
    screen = run_on_screen(
        attach_command(scans[:6], "-j", "3"), env=env_for(slow_server), columns=columns, rows=rows
    )
    assert screen.returncode == 0
    assert "━".encode() not in screen.raw
    assert_no_bar_left(screen)


@pytest.mark.parametrize("stdout", ["terminal", "pipe"])
def test_a_terminal_in_a_legacy_encoding_gets_question_marks_not_a_crash(
    slow_server: KomboServer, tmp_path: Path, stdout: str
) -> None:
    cv = tmp_path / "lebenslauf_ä.pdf"
    cv.write_bytes(make_pdf())
    pipe = " | cat" if stdout == "pipe" else ""
    screen = run_on_screen(
        f"{attach_command([cv])}{pipe}", env=env_for(slow_server, PYTHONIOENCODING="ascii")
    )
    assert screen.returncode == 0, screen.text()
    assert screen.count("Attached lebenslauf_?.pdf to candidate") == 1, screen.text()
    assert "Traceback" not in screen.text()
