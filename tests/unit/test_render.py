"""Iopub message content becomes IPython-like text with highlight groups."""

from __future__ import annotations

import sys

import pytest

from kernel_nvim.output.ansi import AnsiState
from kernel_nvim.output.render import (
    Segment,
    error_summary,
    render_display,
    render_error,
    render_input,
    render_notice,
    render_result,
    render_stream,
)
from kernel_nvim.output.segments import Control

ESC = "\x1b"

# What ipykernel 7.4 sent for `import sys; print('\udcff'); 1/0`.
IPYKERNEL_TRACEBACK = [
    "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
    "\x1b[31mZeroDivisionError\x1b[39m                         Traceback (most recent call last)",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 1\x1b[39m\n"
    "\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m \x1b[38;5;28;01mimport\x1b[39;00m sys; "
    "print(\x1b[33m'\\udcff'\x1b[39m); \x1b[32m1\x1b[39m/\x1b[32m0\x1b[39m\n",
    "\x1b[31mZeroDivisionError\x1b[39m: division by zero",
]

# What ipykernel 7.4 (IPython 9.18) sent for code that does not compile: the traceback ends with
# the message alone, while evalue adds the place, as str(SyntaxError) does.
SYNTAX_ERRORS = {
    "1 +": {
        "ename": "SyntaxError",
        "evalue": "invalid syntax (1278102326.py, line 1)",
        "traceback": [
            "  \x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 1\x1b[39m\n"
            "\x1b[31m    \x1b[39m\x1b[31m1 +\x1b[39m\n       ^\n"
            "\x1b[31mSyntaxError\x1b[39m\x1b[31m:\x1b[39m invalid syntax\n"
        ],
    },
    "def f(:": {
        "ename": "SyntaxError",
        "evalue": "invalid syntax (2747763117.py, line 1)",
        "traceback": [
            "  \x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 1\x1b[39m\n"
            "\x1b[31m    \x1b[39m\x1b[31mdef f(:\x1b[39m\n          ^\n"
            "\x1b[31mSyntaxError\x1b[39m\x1b[31m:\x1b[39m invalid syntax\n"
        ],
    },
    "'abc": {
        "ename": "SyntaxError",
        "evalue": "unterminated string literal (detected at line 1) (2276159364.py, line 1)",
        "traceback": [
            "  \x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 1\x1b[39m\n"
            "\x1b[31m    \x1b[39m\x1b[31m'abc\x1b[39m\n    ^\n"
            "\x1b[31mSyntaxError\x1b[39m\x1b[31m:\x1b[39m unterminated string literal (detected at"
            " line 1)\n"
        ],
    },
    "if 1:\nx": {
        "ename": "IndentationError",
        "evalue": "expected an indented block after 'if' statement on line 1 (49015842.py, line 2)",
        "traceback": [
            "  \x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 2\x1b[39m\n"
            "\x1b[31m    \x1b[39m\x1b[31mx\x1b[39m\n    ^\n"
            "\x1b[31mIndentationError\x1b[39m\x1b[31m:\x1b[39m expected an indented block after"
            " 'if' statement on line 1\n"
        ],
    },
    'exec("1 +")': {
        "ename": "SyntaxError",
        "evalue": "invalid syntax (<string>, line 1)",
        "traceback": [
            "Traceback \x1b[36m(most recent call last)\x1b[39m:\n",
            "\x1b[36m  \x1b[39m\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[6]\x1b[39m\x1b[32m,"
            ' line 1\x1b[39m\n\x1b[31m    \x1b[39m\x1b[31mexec("1 +")\x1b[39m\n',
            "  \x1b[36mFile \x1b[39m\x1b[32m<string>:1\x1b[39m\n\x1b[31m    \x1b[39m\x1b[31m1 +"
            "\x1b[39m\n       ^\n\x1b[31mSyntaxError\x1b[39m\x1b[31m:\x1b[39m invalid syntax\n",
        ],
    },
}

# What bash_kernel sends when a command fails: no name, the exit status, no traceback. Its
# stderr ("bash: nosuch: command not found") came as a stream before.
BASH_KERNEL_ERROR = {"ename": "", "evalue": "127", "traceback": []}


def text_of(segments: list[Segment]) -> str:
    return "".join(piece for piece, _ in segments)


def assert_clean(segments: list[Segment]) -> None:
    assert all(ESC not in piece for piece, _ in segments)
    assert all(piece for piece, _ in segments), "no empty segments"
    text_of(segments).encode("utf-8")


# render_input


def test_input_shows_the_prompt_and_continuation_prompts_aligned() -> None:
    segments = render_input(7, "for i in range(3):\n    print(i)\n\n  \n")

    assert segments == [
        ("In [7]: ", ("KernelIn",)),
        ("for i in range(3):\n", ()),
        ("   ...: ", ("KernelIn",)),
        ("    print(i)\n", ()),
    ]


def test_input_continuation_prompt_grows_with_the_count() -> None:
    assert text_of(render_input(123, "a\nb")) == "In [123]: a\n     ...: b\n"


def test_input_without_a_count_has_an_empty_prompt() -> None:
    assert text_of(render_input(None, "x")) == "In [ ]: x\n"


def test_input_of_blank_code_is_just_the_prompt() -> None:
    assert render_input(1, "\n\n") == [("In [1]: ", ("KernelIn",)), ("\n", ())]


def test_input_keeps_blank_lines_inside_the_code() -> None:
    assert text_of(render_input(2, "a\n\nb")) == "In [2]: a\n   ...: \n   ...: b\n"


# render_stream


def test_stdout_stream_is_parsed_and_kept_as_is() -> None:
    segments, state = render_stream("stdout", f"partial {ESC}[32mgreen", AnsiState())

    assert segments == [("partial ", ()), ("green", ("KernelAnsiGreen",))]
    assert state == AnsiState(fg="Green")


def test_stderr_stream_puts_kernel_stderr_first_on_every_segment() -> None:
    segments, _ = render_stream("stderr", f"warn {ESC}[1mbold{ESC}[0m\n", AnsiState())

    assert segments == [
        ("warn ", ("KernelStderr",)),
        ("bold", ("KernelStderr", "KernelAnsiBold")),
        ("\n", ("KernelStderr",)),
    ]


def test_stream_keeps_cursor_moves_for_the_writer_and_colours_only_the_text() -> None:
    pieces, _ = render_stream("stderr", f"\r 50%{ESC}[A\b", AnsiState())

    assert pieces == [
        ("\r 50%", ("KernelStderr",)),
        Control("up", 1),
        Control("left", 1),
    ]


def test_display_drops_cursor_moves() -> None:
    assert render_display({"text/plain": f"a{ESC}[Ab\bc"}) == [("abc\n", ())]


def test_stream_state_carries_across_messages() -> None:
    _, state = render_stream("stdout", f"{ESC}[31mred", AnsiState())
    segments, state = render_stream("stdout", " still red\n", state)

    assert segments == [(" still red\n", ("KernelAnsiRed",))]
    assert state == AnsiState(fg="Red")


def test_stream_replaces_lone_surrogates() -> None:
    segments, _ = render_stream("stdout", "bad \udcff byte\n", AnsiState())

    assert segments == [("bad \ufffd byte\n", ())]


# render_result and render_display


def test_result_puts_a_one_line_repr_after_the_prompt() -> None:
    assert render_result(7, {"text/plain": "42"}) == [
        ("Out[7]: ", ("KernelOut",)),
        ("42\n", ()),
    ]


def test_result_starts_a_multi_line_repr_on_the_next_line() -> None:
    segments = render_result(3, {"text/plain": "   a\n0  1\n1  2"})

    assert text_of(segments) == "Out[3]: \n   a\n0  1\n1  2\n"


def test_result_parses_ansi_in_its_text() -> None:
    segments = render_result(None, {"text/plain": f"{ESC}[34mblue{ESC}[0m"})

    assert segments == [
        ("Out[ ]: ", ("KernelOut",)),
        ("blue", ("KernelAnsiBlue",)),
        ("\n", ()),
    ]


def test_result_shows_its_text_and_no_line_for_the_other_forms() -> None:
    data = {"text/html": "<b>x</b>", "text/plain": "x", "image/png": "iVBOR"}

    assert render_result(1, data) == [("Out[1]: ", ("KernelOut",)), ("x\n", ())]


def test_result_without_text_shows_its_image_line() -> None:
    assert render_result(2, {"image/png": "iVBOR"}) == [
        ("Out[2]: ", ("KernelOut",)),
        ("[image/png: cannot decode]", ("KernelInfo",)),
        ("\n", ()),
    ]


def test_result_with_no_data_still_ends_the_line() -> None:
    assert text_of(render_result(2, {})) == "Out[2]: \n"


def test_display_shows_its_text_without_a_prompt() -> None:
    assert render_display({"text/plain": "[1, 2]", "text/html": "<b>x</b>"}) == [
        ("[1, 2]\n", ()),
    ]


def test_display_with_nothing_to_show_names_its_mimetypes() -> None:
    assert render_display({"application/pdf": "x", "text/x-foo": "y"}) == [
        ("[application/pdf, text/x-foo]", ("KernelInfo",)),
        ("\n", ()),
    ]


def test_display_keeps_a_trailing_newline_single() -> None:
    assert text_of(render_display({"text/plain": "line\n"})) == "line\n"


def test_display_accepts_text_split_in_a_list_like_nbformat() -> None:
    assert text_of(render_display({"text/plain": ["a\n", "b"]})) == "a\nb\n"


def test_display_replaces_lone_surrogates() -> None:
    assert render_display({"text/plain": "\udcff"}) == [("\ufffd\n", ())]


# render_error


def test_error_from_ipykernel_is_parsed_without_repeating_the_summary() -> None:
    segments = render_error("ZeroDivisionError", "division by zero", IPYKERNEL_TRACEBACK)
    text = text_of(segments)

    assert_clean(segments)
    assert text.endswith("\nZeroDivisionError: division by zero\n")
    assert text.count("ZeroDivisionError: division by zero") == 1
    assert text.startswith("-" * 75 + "\nZeroDivisionError" + " " * 25 + "Traceback")
    assert ("import", ("KernelAnsi256_28", "KernelAnsiBold")) in segments
    assert ("ZeroDivisionError", ("KernelAnsiRed",)) in segments
    assert all("KernelError" not in groups for _, groups in segments)


def test_error_from_a_real_ipython_shell_is_not_summarised_twice() -> None:
    traceback = ipython_traceback("1/0")

    segments = render_error("ZeroDivisionError", "division by zero", traceback)

    assert_clean(segments)
    assert text_of(segments).count("ZeroDivisionError: division by zero") == 1


def test_error_whose_traceback_lacks_the_summary_gets_it_added() -> None:
    traceback = ["Traceback (most recent call last):", '  File "x.py", line 1']

    segments = render_error("ValueError", "bad", traceback)

    assert segments[-1] == ("ValueError: bad\n", ("KernelError",))
    assert text_of(segments) == (
        'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad\n'
    )


def test_error_with_an_empty_traceback_is_just_the_summary() -> None:
    assert render_error("NameError", "name 'x' is not defined", []) == [
        ("NameError: name 'x' is not defined\n", ("KernelError",)),
    ]


def test_error_with_an_empty_value_matches_ipythons_trailing_colon() -> None:
    traceback = [f"{ESC}[31mKeyboardInterrupt{ESC}[39m: "]

    segments = render_error("KeyboardInterrupt", "", traceback)

    assert text_of(segments) == "KeyboardInterrupt: \n"


def test_error_with_an_empty_value_and_no_traceback_names_the_exception() -> None:
    assert render_error("KeyboardInterrupt", "", []) == [
        ("KeyboardInterrupt\n", ("KernelError",)),
    ]


def test_error_with_a_multi_line_value_is_not_summarised_twice() -> None:
    traceback = ["Traceback:", "AssertionError: first\nsecond"]

    segments = render_error("AssertionError", "first\nsecond", traceback)

    assert text_of(segments) == "Traceback:\nAssertionError: first\nsecond\n"


def test_error_replaces_lone_surrogates_and_strips_escapes_from_the_summary() -> None:
    segments = render_error("OSError", f"{ESC}[31mbad \udcff{ESC}[0m", ["\udcff"])

    assert_clean(segments)
    assert segments[-1] == ("OSError: bad \ufffd\n", ("KernelError",))


@pytest.mark.parametrize("code", list(SYNTAX_ERRORS))
def test_syntax_error_from_ipykernel_is_not_summarised_twice(code: str) -> None:
    error = SYNTAX_ERRORS[code]

    segments = render_error(error["ename"], error["evalue"], error["traceback"])

    assert_clean(segments)
    text = text_of(segments)
    assert text.count(f"{error['ename']}:") == 1
    assert text.endswith("\n")
    assert all("KernelError" not in groups for _, groups in segments)


def test_syntax_error_whose_traceback_lacks_the_message_gets_the_summary() -> None:
    segments = render_error("SyntaxError", "invalid syntax (x.py, line 1)", ["Cell In[1]"])

    assert segments[-1] == ("SyntaxError: invalid syntax (x.py, line 1)\n", ("KernelError",))


def test_syntax_error_with_another_message_in_its_traceback_gets_the_summary() -> None:
    traceback = ["Cell In[1], line 1", "SyntaxError: something else"]

    segments = render_error("SyntaxError", "invalid syntax (x.py, line 1)", traceback)

    assert segments[-1] == ("SyntaxError: invalid syntax (x.py, line 1)\n", ("KernelError",))


def test_bash_kernel_error_adds_no_bare_exit_status() -> None:
    error = BASH_KERNEL_ERROR

    assert render_error(error["ename"], error["evalue"], error["traceback"]) == []


@pytest.mark.parametrize(
    ("ename", "evalue", "summary"),
    [
        ("", "127", ""),
        ("", " -1 ", ""),
        ("", "", ""),
        ("", "no such file", "no such file"),
        ("ValueError", "", "ValueError"),
        ("ValueError", "bad", "ValueError: bad"),
        ("SystemExit", "1", "SystemExit: 1"),
        (f"{ESC}[31mE{ESC}[0m", "\udcff", "E: \ufffd"),
    ],
)
def test_error_summary_says_only_what_the_names_say(ename: str, evalue: str, summary: str) -> None:
    assert error_summary(ename, evalue) == summary


def test_error_with_no_name_shows_a_value_that_says_something() -> None:
    assert render_error("", "permission denied", []) == [("permission denied\n", ("KernelError",))]


# render_stream and sanitize


def test_stream_strips_c1_controls_and_shows_bidi_controls() -> None:
    segments, _ = render_stream("stdout", "a\x9b31m\u202eb\n", AnsiState())

    assert text_of(segments) == "a31m<U+202E>b\n"


def test_display_and_input_show_bidi_controls() -> None:
    assert text_of(render_display({"text/plain": "x\u2066y"})) == "x<U+2066>y\n"
    assert text_of(render_input(1, "s = 'a\u202eb'")) == "In [1]: s = 'a<U+202E>b'\n"


# render_notice


def test_notice_is_a_bracketed_info_line() -> None:
    assert render_notice("kernel died") == [("[kernel died]\n", ("KernelInfo",))]


def ipython_traceback(code: str) -> list[str]:
    """The traceback IPython itself formats for ``code``, as ipykernel would send it."""
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    shell = interactiveshell.InteractiveShell.instance()
    try:
        exec(compile(code, "<cell>", "exec"), {})
    except Exception:
        etype, value, tb = sys.exc_info()
        traceback: list[str] = shell.InteractiveTB.structured_traceback(etype, value, tb)
        return traceback
    raise AssertionError(f"{code!r} did not raise")
