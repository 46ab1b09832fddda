"""Stream text behaves like a terminal inside its execution's block: the cursor and erase codes
that progress bars use rewrite the stream's own lines, and never the header or other items.

Each test feeds stream text through `render_stream`, as the router does, so the ANSI parser and
the writer are checked together; `Mirror` (from test_output) checks that the edits sent to the
editor build the same lines as the model holds.
"""

from __future__ import annotations

import random

import pytest
from test_output import Mirror

from kernel_nvim.output.ansi import AnsiState
from kernel_nvim.output.document import OutputDocument
from kernel_nvim.output.render import render_stream

ESC = "\x1b"
UP, ERASE = f"{ESC}[A", f"{ESC}[K"
RED, BLUE, RESET = f"{ESC}[31m", f"{ESC}[34m", f"{ESC}[0m"


class Stream:
    """One execution's block and the stdout state carried from message to message."""

    def __init__(self, max_lines: int = 100, max_line_bytes: int = 10_000) -> None:
        self.doc = OutputDocument(max_lines, max_line_bytes)
        self.block = self.doc.new_block([("In [1]: x\n", ())])
        self.state = AnsiState()

    def send(self, *messages: str, name: str = "stdout") -> Stream:
        for text in messages:
            pieces, self.state = render_stream(name, text, self.state)
            self.doc.append(self.block, pieces, name)
        return self

    def err(self, *messages: str) -> Stream:
        return self.send(*messages, name="stderr")

    def lines(self) -> list[str]:
        """The block's lines after its header."""
        return self.block.texts[1:]


def lines_of(*messages: str) -> list[str]:
    return Stream().send(*messages).lines()


# Section: carriage return and backspace


def test_carriage_return_overwrites_from_the_first_column() -> None:
    assert lines_of("abcdef\rXY") == ["XYcdef"]


def test_carriage_return_then_erase_empties_the_line() -> None:
    assert lines_of("abcdef\r", ERASE) == [""]
    assert lines_of("abcdef\r", ERASE, "ab\n") == ["ab"]


def test_progress_with_carriage_returns_stays_one_line() -> None:
    assert lines_of(*(f"\r{i:3d}%" for i in range(0, 101, 10)), "\n", "done\n") == [
        "100%",
        "done",
    ]


def test_spaces_left_over_at_the_end_are_empty_cells() -> None:
    # tqdm clears a line with spaces (on stderr); what is printed next should not end in them.
    assert lines_of("\r" + " " * 40, "\rdone\n") == ["done"]
    assert Stream().err("\r" + " " * 40, "\rdone\n").lines() == ["done"]
    assert lines_of("ab   cd\rx") == ["xb   cd"]


def test_highlighted_spaces_left_over_stay() -> None:
    stream = Stream().send(f"{ESC}[44m    {RESET}\rx")
    assert stream.lines() == ["x   "]
    assert stream.block.spans[1] == ((1, 4, "KernelAnsiBgBlue"),)


def test_many_redraws_in_one_message_end_as_when_sent_one_by_one() -> None:
    rng = random.Random(7)
    for _ in range(200):
        redraws = [
            rng.choice(["", RED, BLUE, f"{ESC}[44m"])
            + rng.choice(["ab", "abcd  ", "  ", "é"]) * rng.randint(0, 3)
            for _ in range(rng.randint(1, 6))
        ]
        start = rng.choice(["", "xyz", "     "])
        one = Stream().send(start, "\r".join(redraws))
        apart = Stream().send(start, *(f"\r{r}" if i else r for i, r in enumerate(redraws)))
        assert one.lines() == apart.lines(), redraws
        assert one.block.spans[1:] == apart.block.spans[1:], redraws


def test_windows_line_endings_are_newlines() -> None:
    assert lines_of("a\r\nb\r\n") == ["a", "b"]


def test_backspace_moves_left_without_erasing() -> None:
    assert lines_of("ab\b") == ["ab"]
    assert lines_of("ab\bc") == ["ac"]
    assert lines_of("ab\b", ERASE) == ["a"]


def test_backspace_stops_at_the_first_column() -> None:
    assert lines_of("a\b\b\bz") == ["z"]


# Section: cursor moves


def test_cursor_up_rewrites_a_line_above_and_keeps_the_column() -> None:
    assert lines_of("one\ntwo\n", f"{ESC}[2A", "ONE") == ["ONE", "two"]
    assert lines_of("abc\nxy", UP, "Z") == ["abZ", "xy"]


def test_cursor_up_stops_at_the_streams_first_line() -> None:
    stream = Stream().send("a\nb\n", f"{ESC}[9A", "X")
    assert stream.block.texts == ["In [1]: x", "X", "b"]


def test_cursor_up_never_reaches_an_earlier_item() -> None:
    stream = Stream().send("first stream\n")
    stream.doc.add_item(stream.block, [("Out[1]: 1\n", ())])
    stream.send("second\n", f"{ESC}[5A", "X")
    assert stream.block.texts == ["In [1]: x", "first stream", "Out[1]: 1", "Xecond"]


def test_cursor_down_moves_over_lines_without_erasing_them() -> None:
    assert lines_of("a\nb\nc\n", f"{ESC}[3A{ESC}[B", "B") == ["a", "B", "c"]


def test_cursor_down_past_the_last_line_makes_no_lines_until_written_to() -> None:
    stream = Stream().send("a\n", f"{ESC}[99999999B")
    assert stream.lines() == ["a"]
    assert stream.send("b").lines() == ["a", "b"]


def test_newline_in_the_middle_moves_down_without_erasing() -> None:
    assert lines_of("a\nb\nc", f"{ESC}[2A\r\nX") == ["a", "X", "c"]


def test_next_and_previous_line_go_to_the_first_column() -> None:
    assert lines_of("abc\ndef", f"{ESC}[F", "X", f"{ESC}[E", "Y") == ["Xbc", "Yef"]


def test_column_is_one_based_and_pads_with_spaces_past_the_end() -> None:
    assert lines_of("abcdef", f"{ESC}[3G", "X") == ["abXdef"]
    assert lines_of("ab", f"{ESC}[6G", "X") == ["ab   X"]
    assert lines_of("ab", f"{ESC}[G", "X") == ["Xb"]


def test_cursor_right_and_left() -> None:
    assert lines_of("abcdef\r", f"{ESC}[2C", "X", f"{ESC}[2D", "Y") == ["aYXdef"]


def test_a_huge_column_is_capped_like_the_line() -> None:
    stream = Stream(max_line_bytes=20).send(f"{ESC}[999999999999G", "x\n")
    assert stream.lines() == [" " * 20 + " [... 1 more bytes]"]


# Section: erase in line


def test_erase_to_the_end_of_the_line() -> None:
    assert lines_of("abcdef", f"{ESC}[3D", ERASE) == ["abc"]
    assert lines_of("abcdef", f"{ESC}[3D{ESC}[0K") == ["abc"]
    assert lines_of("abc", ERASE, "d\n", ERASE) == ["abcd"]  # what most erases after text do


def test_erase_to_the_cursor_blanks_up_to_and_under_it() -> None:
    assert lines_of("abcdef", f"{ESC}[3G{ESC}[1K") == ["   def"]


def test_erase_the_line_keeps_the_column() -> None:
    assert lines_of("abcdef", f"{ESC}[2K", "X") == ["      X"]
    assert lines_of("abcdef", f"\r{ESC}[2K", "X") == ["X"]


def test_erase_after_the_last_line_makes_no_line() -> None:
    assert lines_of("a\n", f"{ESC}[2K{ESC}[K") == ["a"]


# Section: highlights


def test_colours_overwritten_mid_line_are_rebuilt_for_that_range() -> None:
    stream, mirror = Stream(), Mirror()
    stream.send(f"{RED}abcdef")
    mirror.apply(stream.doc)
    stream.send(f"\r{ESC}[2C{BLUE}XY{RESET}\n")
    edit = mirror.apply(stream.doc)
    assert stream.lines() == ["abXYef"]
    assert edit is not None and edit.start == 1
    assert sorted(edit.highlights) == [
        (0, 0, 2, "KernelAnsiRed"),
        (0, 2, 4, "KernelAnsiBlue"),
        (0, 4, 6, "KernelAnsiRed"),
    ]


def test_highlights_stay_byte_columns_when_overwriting_wide_text() -> None:
    stream = Stream().send(f"{RED}éééé{RESET}\r{ESC}[C{BLUE}x{RESET}\n")
    assert stream.lines() == ["éxéé"]
    assert sorted(stream.block.spans[1]) == [
        (0, 2, "KernelAnsiRed"),
        (2, 3, "KernelAnsiBlue"),
        (3, 7, "KernelAnsiRed"),
    ]


def test_erase_cuts_the_highlights_too() -> None:
    stream = Stream().send(f"{RED}abcdef{RESET}", f"{ESC}[4D", ERASE)
    assert stream.lines() == ["ab"]
    assert stream.block.spans[1] == ((0, 2, "KernelAnsiRed"),)


# Section: stdout and stderr


def test_a_print_after_a_bar_starts_its_own_line_and_the_bars_late_newline_goes() -> None:
    # What ipykernel sends for tqdm then print: the bar's last newline comes after the print.
    stream = Stream().err("\r 50%|", "\r100%|").send("done\n").err("\n")
    assert stream.lines() == ["100%|", "done"]
    assert stream.send("next\n").lines() == ["100%|", "done", "next"]


def test_streams_never_share_a_line() -> None:
    assert Stream().send("out").err("err\n").lines() == ["out", "err"]
    assert Stream().err("err").send("\nout\n").lines() == ["err", "out"]


def test_a_stream_going_on_after_its_line_was_ended_keeps_what_it_sends() -> None:
    stream = Stream().err("\r 0%").send("0\n").err("\r 50%").send("1\n").err("\r100%\n")
    assert stream.lines() == [" 0%", "0", " 50%", "1", "100%"]


# Section: edits, ends and caps


def test_rewriting_a_line_above_sends_from_that_line() -> None:
    stream, mirror = Stream(), Mirror()
    stream.send("a\nb\nc\n")
    mirror.apply(stream.doc)
    stream.send(f"{ESC}[2A", "B")
    edit = mirror.apply(stream.doc)
    assert edit is not None and edit.start == 2
    assert mirror.lines == stream.block.texts == ["In [1]: x", "a", "B", "c"]


def test_output_after_the_stream_starts_below_its_last_line() -> None:
    stream = Stream().send("a\nb\nc\n", f"{ESC}[3A")
    stream.doc.add_item(stream.block, [("Out[1]: 1\n", ())])
    assert stream.block.texts == ["In [1]: x", "a", "b", "c", "Out[1]: 1"]


def test_blank_lines_left_under_the_cursor_go_when_the_stream_ends() -> None:
    stream, mirror = Stream(), Mirror()
    stream.send("kept\n", "\r" + " " * 20 + "\n" + " " * 20, f"{ESC}[A\r")
    mirror.apply(stream.doc)
    stream.doc.finish(stream.block)
    mirror.apply(stream.doc)
    assert mirror.lines == stream.block.texts == ["In [1]: x", "kept"]
    assert [item.lines for item in stream.block.items] == [1, 1]


def test_empty_lines_printed_above_the_cursor_stay() -> None:
    stream = Stream().send("a\n\n\n")
    stream.doc.finish(stream.block)
    assert stream.lines() == ["a", "", ""]


def test_a_header_growing_above_keeps_the_cursor_on_its_line() -> None:
    stream = Stream().send("p\nq")
    stream.doc.set_header(stream.block, [("In [1]: x\n   ...: y\n", ())])
    stream.send("\rQ", UP, "\rP")
    assert stream.block.texts == ["In [1]: x", "   ...: y", "P", "Q"]


def test_an_earlier_item_replaced_with_more_lines_keeps_the_cursor() -> None:
    stream = Stream()
    stream.doc.add_item(stream.block, [("old\n", ())], key="d")
    stream.send("a\nb")
    stream.doc.replace_item("d", [("new\nnewer\n", ())])
    stream.send(UP, "\rA")
    assert stream.block.texts == ["In [1]: x", "new", "newer", "A", "b"]


def test_after_clear_output_the_stream_starts_again_under_the_header() -> None:
    stream = Stream().send("a\nb\n", UP)
    stream.doc.clear_block(stream.block)
    stream.send("x", f"{ESC}[5A", "\ry\n")
    assert stream.block.texts == ["In [1]: x", "y"]


def test_a_live_stream_item_replaced_goes_on_after_its_new_lines() -> None:
    stream = Stream().send("a\nb", UP)
    assert stream.doc.replace(stream.block.items[-1], [("new\n", ())])
    stream.send(UP, "c\n")
    assert stream.block.texts == ["In [1]: x", "new", "c"]


def test_trimming_under_the_cap_keeps_the_cursor_in_what_is_left() -> None:
    stream, mirror = Stream(max_lines=3), Mirror()
    stream.send("a\nb\nc\nd\ne")
    mirror.apply(stream.doc)
    stream.send(f"{ESC}[9A", "\rX", f"{ESC}[B", "\rD")
    mirror.apply(stream.doc)
    assert mirror.lines == stream.block.texts == ["X", "D", "e"]


def test_carriage_return_overwrites_what_a_cut_line_kept_and_erase_empties_it() -> None:
    stream = Stream(max_line_bytes=10).send("x" * 30, "more\r50%")
    assert stream.lines() == ["50%xxxxxxx [... 24 more bytes]"]
    assert stream.send("\r", ERASE, "100%\n").lines() == ["100%"]


def test_a_plain_long_line_after_cursor_moves_is_still_cut() -> None:
    stream = Stream(max_line_bytes=10).send("a\n", UP, "\n", "y" * 25 + "\n")
    assert stream.lines() == ["a", "yyyyyyyyyy [... 15 more bytes]"]


@pytest.mark.parametrize("escape", [f"{ESC}[10;20H", f"{ESC}[J", f"{ESC}[?25l", f"{ESC}]0;t\x07"])
def test_other_escapes_are_still_dropped_from_streams(escape: str) -> None:
    assert lines_of(f"a{escape}b\n") == ["ab"]
