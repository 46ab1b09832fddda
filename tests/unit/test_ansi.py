"""ANSI escapes become plain text plus highlight groups; for streams, also the cursor moves and
erases a terminal obeys; nothing else survives."""

from __future__ import annotations

import pytest

from kernel_nvim.output import ansi
from kernel_nvim.output.ansi import AnsiState, parse, parse_terminal, strip
from kernel_nvim.output.segments import Control

ESC = "\x1b"


def test_plain_text_is_one_segment_with_the_state_groups() -> None:
    state = AnsiState(fg="Red", bold=True)

    assert parse("hello\nworld\t\r", state) == (
        [("hello\nworld\t\r", ("KernelAnsiRed", "KernelAnsiBold"))],
        state,
    )


def test_plain_text_in_the_reset_state_has_no_groups() -> None:
    assert parse("x = 1\n") == ([("x = 1\n", ())], AnsiState())


def test_empty_text_gives_no_segments() -> None:
    assert parse("") == ([], AnsiState())
    assert parse(f"{ESC}[31m{ESC}[0m") == ([], AnsiState())


def test_plain_text_takes_the_fast_path_without_regex_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class NoRegex:
        def __getattr__(self, name: str) -> None:
            raise AssertionError(f"regex used for plain text: {name}")

    monkeypatch.setattr(ansi, "_ESCAPE", NoRegex())
    text = "a line of output\n" * 100_000

    assert parse(text) == ([(text, ())], AnsiState())
    assert strip(text) is text


@pytest.mark.parametrize(
    ("code", "group"),
    [
        (30, "KernelAnsiBlack"),
        (31, "KernelAnsiRed"),
        (32, "KernelAnsiGreen"),
        (33, "KernelAnsiYellow"),
        (34, "KernelAnsiBlue"),
        (35, "KernelAnsiMagenta"),
        (36, "KernelAnsiCyan"),
        (37, "KernelAnsiWhite"),
        (90, "KernelAnsiBrightBlack"),
        (91, "KernelAnsiBrightRed"),
        (97, "KernelAnsiBrightWhite"),
        (40, "KernelAnsiBgBlack"),
        (41, "KernelAnsiBgRed"),
        (47, "KernelAnsiBgWhite"),
        (100, "KernelAnsiBgBrightBlack"),
        (101, "KernelAnsiBgBrightRed"),
        (107, "KernelAnsiBgBrightWhite"),
        (1, "KernelAnsiBold"),
        (3, "KernelAnsiItalic"),
        (4, "KernelAnsiUnderline"),
    ],
)
def test_sgr_code_names_its_group(code: int, group: str) -> None:
    assert parse(f"{ESC}[{code}mx")[0] == [("x", (group,))]


@pytest.mark.parametrize(
    ("params", "groups"),
    [
        ("38;5;1", ("KernelAnsiRed",)),
        ("38;5;9", ("KernelAnsiBrightRed",)),
        ("38;5;208", ("KernelAnsi256_208",)),
        ("48;5;4", ("KernelAnsiBgBlue",)),
        ("48;5;255", ("KernelAnsiBg256_255",)),
        ("38;2;255;135;0", ("KernelAnsiRGB_ff8700",)),
        ("48;2;0;10;171", ("KernelAnsiBgRGB_000aab",)),
        ("38;5;28;01", ("KernelAnsi256_28", "KernelAnsiBold")),
    ],
)
def test_extended_colours_name_their_groups(params: str, groups: tuple[str, ...]) -> None:
    assert parse(f"{ESC}[{params}mx")[0] == [("x", groups)]


def test_groups_are_ordered_fg_bg_bold_italic_underline() -> None:
    text = f"{ESC}[4m{ESC}[3m{ESC}[1m{ESC}[44m{ESC}[31mx"

    assert parse(text)[0] == [
        (
            "x",
            (
                "KernelAnsiRed",
                "KernelAnsiBgBlue",
                "KernelAnsiBold",
                "KernelAnsiItalic",
                "KernelAnsiUnderline",
            ),
        )
    ]


@pytest.mark.parametrize(
    ("off", "left"),
    [
        ("0", ()),
        ("", ()),
        ("22", ("KernelAnsiRed", "KernelAnsiBgBlue", "KernelAnsiItalic", "KernelAnsiUnderline")),
        ("23", ("KernelAnsiRed", "KernelAnsiBgBlue", "KernelAnsiBold", "KernelAnsiUnderline")),
        ("24", ("KernelAnsiRed", "KernelAnsiBgBlue", "KernelAnsiBold", "KernelAnsiItalic")),
        ("39", ("KernelAnsiBgBlue", "KernelAnsiBold", "KernelAnsiItalic", "KernelAnsiUnderline")),
        ("49", ("KernelAnsiRed", "KernelAnsiBold", "KernelAnsiItalic", "KernelAnsiUnderline")),
        ("00", ()),
    ],
)
def test_sgr_codes_turn_attributes_off(off: str, left: tuple[str, ...]) -> None:
    assert parse(f"{ESC}[31;44;1;3;4m{ESC}[{off}mx")[0] == [("x", left)]


def test_unknown_and_malformed_sgr_codes_are_ignored() -> None:
    assert parse(f"{ESC}[5;7;31mx")[0] == [("x", ("KernelAnsiRed",))]
    assert parse(f"{ESC}[38;5mx")[0] == [("x", ())]
    assert parse(f"{ESC}[38;5;300mx")[0] == [("x", ())]
    assert parse(f"{ESC}[38;2;1;2mx")[0] == [("x", ())]
    assert parse(f"{ESC}[38;9;1mx")[0] == [("x", ())]


def test_adjacent_text_with_equal_groups_is_one_segment() -> None:
    text = f"a{ESC}[31mb{ESC}[2Kc{ESC}[39;31md{ESC}[0me{ESC}[1m{ESC}[22mf"

    assert parse(text)[0] == [("a", ()), ("bcd", ("KernelAnsiRed",)), ("ef", ())]


def test_state_carries_a_colour_into_the_next_message() -> None:
    first, state = parse(f"{ESC}[32mgreen start ")
    second, state = parse("green end\n", state)
    third, state = parse(f"still{ESC}[0m plain", state)

    assert first == [("green start ", ("KernelAnsiGreen",))]
    assert second == [("green end\n", ("KernelAnsiGreen",))]
    assert third == [("still", ("KernelAnsiGreen",)), (" plain", ())]
    assert state == AnsiState()


@pytest.mark.parametrize(
    "escape",
    [
        f"{ESC}[2K",  # erase line
        f"{ESC}[1A",  # cursor up
        f"{ESC}[10;20H",  # cursor position
        f"{ESC}[?25l",  # hide cursor (private parameter)
        f"{ESC}[38:5:1m",  # colon sub-parameters: not understood, still removed
        f"{ESC}]0;window title\x07",  # OSC ended by BEL
        f"{ESC}]8;;https://example.com{ESC}\\",  # OSC hyperlink ended by ST
        f"{ESC}(B",  # charset selection
        f"{ESC}=",  # keypad mode
        f"{ESC}M",  # reverse index
        "\x07",
        "\b",
        "\x00",
        "\x7f",
    ],
)
def test_other_escapes_and_control_characters_are_removed(escape: str) -> None:
    text = f"a{escape}b"

    assert parse(text)[0] == [("ab", ())]
    assert strip(text) == "ab"


def test_lone_trailing_escape_is_removed() -> None:
    assert parse(f"{ESC}[31mred{ESC}") == ([("red", ("KernelAnsiRed",))], AnsiState(fg="Red"))
    assert strip(f"text{ESC}") == "text"


def test_newline_tab_and_carriage_return_are_kept() -> None:
    assert strip(f"{ESC}[31ma\tb\r\nc{ESC}[0m") == "a\tb\r\nc"


def test_no_escape_character_survives_a_mixed_stream() -> None:
    text = f"{ESC}[1;31m{ESC}]2;t\x07x{ESC}[K{ESC}(0y{ESC}[38;2;1;2;3mz{ESC}[0m{ESC}"

    segments, _ = parse(text)

    assert all(ESC not in piece for piece, _ in segments)
    assert "".join(piece for piece, _ in segments) == strip(text) == "xyz"


def test_strip_keeps_plain_text() -> None:
    assert strip(f"{ESC}[31mZeroDivisionError{ESC}[39m: division by zero") == (
        "ZeroDivisionError: division by zero"
    )


def test_sgr_codes_of_thousands_of_digits_are_ignored_not_fatal() -> None:
    assert parse(f"{ESC}[{'9' * 5000}mx{ESC}[{'0' * 5000}31my")[0] == [
        ("x", ()),
        ("y", ("KernelAnsiRed",)),
    ]


# Section: parse_terminal


@pytest.mark.parametrize(
    ("escape", "controls"),
    [
        (f"{ESC}[A", [Control("up", 1)]),
        (f"{ESC}[3A", [Control("up", 3)]),
        (f"{ESC}[0A", [Control("up", 1)]),  # like xterm: a count of 0 moves one
        (f"{ESC}[2B", [Control("down", 2)]),
        (f"{ESC}[C", [Control("right", 1)]),
        (f"{ESC}[4D", [Control("left", 4)]),
        (f"{ESC}[2E", [Control("down", 2), Control("column", 0)]),
        (f"{ESC}[F", [Control("up", 1), Control("column", 0)]),
        (f"{ESC}[G", [Control("column", 0)]),
        (f"{ESC}[12G", [Control("column", 11)]),
        (f"{ESC}[K", [Control("erase", 0)]),
        (f"{ESC}[0K", [Control("erase", 0)]),
        (f"{ESC}[1K", [Control("erase", 1)]),
        (f"{ESC}[2K", [Control("erase", 2)]),
        (f"{ESC}[3K", []),
        ("\b", [Control("left", 1)]),
        (f"{ESC}[{'9' * 5000}A", [Control("up", 999_999)]),
    ],
)
def test_terminal_parse_keeps_cursor_moves_and_erases(escape: str, controls: list[Control]) -> None:
    pieces, _ = parse_terminal(f"a{escape}b")
    assert pieces == ([("a", ()), *controls, ("b", ())] if controls else [("ab", ())])
    assert parse(f"a{escape}b")[0] == [("ab", ())]  # outside streams they are still dropped


@pytest.mark.parametrize(
    "escape", [f"{ESC}[10;20H", f"{ESC}[J", f"{ESC}[?25l", f"{ESC}[1;2A", f"{ESC}]0;t\x07", "\x07"]
)
def test_terminal_parse_drops_what_it_does_not_move_by(escape: str) -> None:
    assert parse_terminal(f"a{escape}b")[0] == [("ab", ())]


def test_terminal_parse_keeps_the_colour_across_a_control() -> None:
    pieces, _ = parse_terminal(f"{ESC}[31ma{ESC}[Kb")
    assert pieces == [("a", ("KernelAnsiRed",)), Control("erase", 0), ("b", ("KernelAnsiRed",))]


@pytest.mark.parametrize("split", [1, 2, 3])
def test_an_escape_split_across_messages_is_finished_by_the_next(split: int) -> None:
    escape = f"{ESC}[2A"
    first, state = parse_terminal(f"x{escape[:split]}", AnsiState(fg="Red"))
    second, state = parse_terminal(f"{escape[split:]}y", state)
    assert first == [("x", ("KernelAnsiRed",))]
    assert second == [Control("up", 2), ("y", ("KernelAnsiRed",))]
    assert state == AnsiState(fg="Red")
