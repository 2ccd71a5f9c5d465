"""The display thread on its own: lines above a redrawn block, plain status lines, and a
clean screen at the end, read back through a terminal emulator."""

from __future__ import annotations

import io
import time

import pyte

from kombo_cli.ui.display import LIVE, PLAIN, TerminalDisplay


def screen_of(output: str, columns: int = 60, rows: int = 20) -> list[str]:
    screen = pyte.HistoryScreen(columns, rows, history=1000)
    pyte.Stream(screen).feed(output.replace("\n", "\r\n").replace("\r\r\n", "\r\n"))
    top = ["".join(line[x].data for x in range(columns)).rstrip() for line in screen.history.top]
    lines = top + [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_lines_go_above_the_block_and_the_block_is_erased_at_the_end() -> None:
    stream = io.StringIO()
    frames = 0

    def frame() -> list[str]:
        nonlocal frames
        frames += 1
        return [f"bar {frames}", "  one.pdf ━━━━", "  two.pdf ━━"]

    display = TerminalDisplay(stream, LIVE, frame, lambda: None, refresh_s=0.01)
    display.start()
    for number in range(30):
        display.print(stream, f"result {number}")
        time.sleep(0.002)
    display.stop()
    output = stream.getvalue()
    assert frames > 1
    assert screen_of(output) == [f"result {number}" for number in range(30)]
    # Erased line by line, never "to the end of the screen"; the cursor never hidden.
    assert "\x1b[J" not in output and "\x1b[?25l" not in output
    # After the end, lines are written straight away, in order.
    display.print(stream, "after")
    assert stream.getvalue().endswith("after\n")


def test_a_plain_display_never_moves_the_cursor_and_says_where_it_is_now_and_then() -> None:
    stream = io.StringIO()
    display = TerminalDisplay(
        stream,
        PLAIN,
        lambda: ["never drawn"],
        lambda: "Attaching: 3 of 9 files done",
        refresh_s=0.01,
        status_every_s=0.05,
    )
    display.start()
    display.print(stream, "result 1")
    time.sleep(0.2)
    display.print(stream, "result 2")
    display.stop()
    output = stream.getvalue()
    assert "\x1b" not in output and "never drawn" not in output
    lines = output.splitlines()
    assert lines[0] == "result 1" and lines[-1] == "result 2"
    assert lines[1:-1] and set(lines[1:-1]) == {"Attaching: 3 of 9 files done"}


def test_a_block_taller_than_the_frame_allows_is_cut_by_the_frame_not_the_display() -> None:
    # The display draws what the frame returns; fitting it to the window is the frame's job
    # (see ui.progress): here a frame of one line, redrawn in place, leaves nothing behind.
    stream = io.StringIO()
    display = TerminalDisplay(stream, LIVE, lambda: ["only line"], lambda: None, refresh_s=0.01)
    display.start()
    time.sleep(0.05)
    display.stop()
    assert screen_of(stream.getvalue()) == []
