"""stdout on a real pipe whose reader dies (as Ctrl-C stops a `| tee`): the lines it never
read are told apart from those it did, so their results can be named elsewhere."""

from __future__ import annotations

import io
import os
import time

from kombo_cli.ui.stdout_pipe import PipedStdout


def piped(interrupted: bool = False) -> tuple[PipedStdout, int, io.TextIOWrapper]:
    read_end, write_end = os.pipe()
    stream = io.TextIOWrapper(io.FileIO(write_end, "w"), encoding="utf-8")
    return PipedStdout(stream, write_end, lambda: False, lambda: interrupted), read_end, stream


def test_lines_a_dead_reader_never_read_are_the_ones_lost() -> None:
    out, read_end, stream = piped()
    for number in range(1, 5):
        assert out.write(f"Attached scan-{number}.pdf", about=number)
    # The reader takes the first two lines, then dies (its end closes) with two unread.
    taken = os.read(read_end, len("Attached scan-1.pdf\nAttached scan-2.pdf\n"))
    assert taken.decode().splitlines() == ["Attached scan-1.pdf", "Attached scan-2.pdf"]
    assert out.lost()[0] == []  # alive: unread lines are on their way, not lost
    os.close(read_end)

    assert sorted(out.lost()[0]) == [3, 4]  # type: ignore[type-var]
    stream.close()


def test_after_ctrl_c_a_line_the_dead_reader_cannot_take_is_not_counted_as_shown() -> None:
    out, read_end, stream = piped(interrupted=True)
    assert out.write("Attached a.pdf", about="a")
    os.read(read_end, 100)
    os.close(read_end)

    # The write itself fails (the pipe has no reader): the line is given up, and nothing
    # written earlier is lost.
    assert out.write("Attached b.pdf", about="b") is False
    assert out.lost()[0] == []
    stream.close()


def test_lines_a_reader_took_as_ctrl_c_stopped_it_are_named_as_perhaps_not_shown() -> None:
    # `cat` may take a line from the pipe in the instant Ctrl-C reaches it, and die before
    # writing it out: nothing in the pipe tells. Lines written around the press are named.
    out, read_end, stream = piped()
    assert out.write("Attached early.pdf", about="early")
    os.read(read_end, 100)
    time.sleep(0.7)  # well before the press: passed on by a reader still alive then
    assert out.write("Attached a.pdf", about="a")
    out.ctrl_c_pressed()
    assert out.write("Attached b.pdf", about="b")
    assert out.write("Attached c.pdf", about="c")
    os.read(read_end, len("Attached a.pdf\nAttached b.pdf\n"))

    assert out.lost()[1] == []  # still reading: what it took, it passes on
    os.close(read_end)

    assert out.lost()[0] == ["c"]  # never taken
    assert sorted(out.lost()[1]) == ["a", "b"]  # type: ignore[type-var]
    stream.close()


def test_without_ctrl_c_a_gone_reader_leaves_nothing_perhaps_lost() -> None:
    # `| head -1`: the reader chose to stop reading; its lines were not cut off by Ctrl-C.
    out, read_end, stream = piped()
    assert out.write("Attached a.pdf", about="a")
    os.read(read_end, 100)
    os.close(read_end)
    assert out.lost()[1] == []
    assert out.lost()[0] == []
    stream.close()


def test_a_later_line_that_finds_the_reader_gone_does_not_hide_what_it_left_unread() -> None:
    # After the reader died, the next write fails and stdout is pointed at /dev/null (so
    # that nothing else fails): the pipe's unread lines must still be told.
    out, read_end, stream = piped()
    assert out.write("Attached a.pdf", about="a")
    out.ctrl_c_pressed()
    assert out.write("Attached b.pdf", about="b")
    os.read(read_end, len("Attached a.pdf\n"))
    os.close(read_end)
    assert out.write("Attached c.pdf", about="c") is True  # not interrupted: given up silently

    lost, perhaps = out.lost()
    assert lost == ["b"]
    assert perhaps == ["a"]
    stream.close()
