"""Frames found in the tracebacks of Jupyter error messages.

The IPython 9 tracebacks at the end of this file are the `traceback` entries of real error
messages from ipykernel 7, escapes included (see there). IPython 7 and 8.0 cannot run here: their
tracebacks are written in the shapes those versions print.
"""

from __future__ import annotations

import os

from kernel_nvim.output import ansi
from kernel_nvim.output.tracebacks import (
    Frame,
    frame_at,
    parse_frames,
    traceback_lines,
)

AMOD = "/tmp/kn_demo/pkg/amod.py"
HMOD = os.path.expanduser("~/proj/hmod.py")


def lines_of(traceback: list[str]) -> list[str]:
    """What the plugin passes: the entries joined, escapes stripped, split into lines."""
    return ansi.strip("\n".join(traceback)).split("\n")


def frames(text: str) -> list[Frame]:
    return parse_frames(text.split("\n"))


# ansi.strip


def test_stripping_leaves_the_text_of_a_coloured_header() -> None:
    header = CONTEXT[-2].split("\n")[0]

    assert ansi.strip(header) == "File ~/proj/hmod.py:3, in g(x)"


def test_stripping_removes_cursor_moves_hyperlinks_and_charset_escapes() -> None:
    text = "\x1b[2K\x1b]8;;file:///srv/mod.py\x1b\\mod.py\x1b]8;;\x07\x1b(B:3"

    assert ansi.strip(text) == "mod.py:3"


# IPython 9, each %xmode


def test_context_mode_gives_cells_files_and_home_files_outermost_first() -> None:
    assert parse_frames(lines_of(CONTEXT)) == [
        Frame(row=2, line=2, count=4, path=None, text=""),
        Frame(row=6, line=3, count=2, path=None, text="in h(a)"),
        Frame(row=11, line=6, count=None, path=AMOD, text="in f(x)"),
        Frame(row=16, line=3, count=None, path=HMOD, text="in g(x)"),
    ]


def test_plain_mode_gives_the_same_frames_with_bare_function_names() -> None:
    assert parse_frames(lines_of(PLAIN)) == [
        Frame(row=2, line=2, count=9, path=None, text=""),
        Frame(row=5, line=3, count=2, path=None, text="in h"),
        Frame(row=8, line=6, count=None, path=AMOD, text="in f"),
        Frame(row=11, line=3, count=None, path=HMOD, text="in g"),
    ]


def test_verbose_mode_frames_follow_variable_lines_without_a_blank_line() -> None:
    assert parse_frames(lines_of(VERBOSE)) == [
        Frame(row=2, line=2, count=14, path=None, text=""),
        Frame(row=6, line=3, count=2, path=None, text="in h(a=1)"),
        Frame(row=11, line=6, count=None, path=AMOD, text="in f(x=2)"),
        Frame(row=16, line=3, count=None, path=HMOD, text="in g(x=2)"),
    ]


def test_minimal_mode_has_no_frames() -> None:
    assert parse_frames(lines_of(MINIMAL)) == []


def test_a_syntax_error_in_a_cell_is_a_frame_of_that_cell() -> None:
    assert parse_frames(lines_of(SYNTAX_ERROR_IN_CELL)) == [
        Frame(row=0, line=1, count=5, path=None, text="")
    ]


def test_a_syntax_error_in_a_file_and_the_kernels_own_frames_are_frames() -> None:
    shell = "/opt/venv/lib/python3.11/site-packages/IPython/core/interactiveshell.py"

    assert parse_frames(lines_of(SYNTAX_ERROR_IN_FILE)) == [
        Frame(row=2, line=3823, count=None, path=shell, text="in run_code"),
        Frame(row=5, line=1, count=6, path=None, text=""),
        Frame(row=8, line=2, count=None, path="/tmp/kn_demo/pkg/bad.py", text=""),
    ]


def test_code_run_from_a_string_is_not_a_frame() -> None:
    assert parse_frames(lines_of(EXEC)) == [Frame(row=2, line=1, count=7, path=None, text="")]


def test_each_traceback_of_a_chained_exception_gives_its_frames() -> None:
    assert parse_frames(lines_of(CHAINED)) == [
        Frame(row=2, line=4, count=24, path=None, text=""),
        Frame(row=12, line=4, count=24, path=None, text=""),
    ]


def test_context_lines_that_look_like_headers_are_not_frames() -> None:
    lines = lines_of(LOOKALIKE_CODE)

    assert lines[3] == "      3 File /srv/proj/mod.py:12, in f()"
    assert lines[4] == "      4   Cell In[1], line 2"
    assert parse_frames(lines) == [
        Frame(row=2, line=7, count=2, path=None, text=""),
        Frame(row=9, line=2, count=2, path=None, text="in f()"),
    ]


def test_a_pasted_traceback_shown_as_code_of_a_syntax_error_is_not_a_frame() -> None:
    lines = lines_of(PASTED_TRACEBACK)

    assert lines[1] == '    File "/srv/proj/mod.py", line 12, in f'
    assert parse_frames(lines) == [Frame(row=0, line=2, count=1, path=None, text="")]


# IPython 7 and 8.0


def test_ipython7_frames_take_their_line_from_the_arrow() -> None:
    text = """\
---------------------------------------------------------------------------
ZeroDivisionError                         Traceback (most recent call last)
<ipython-input-5-2fc232d1511a> in <module>
      1 x = 1
----> 2 h(x)

<ipython-input-3-8d4f1c0e5a2b> in h(a)
      1 def h(a):
----> 2     return amod.f(a)

/srv/proj/amod.py in f(x)
     10 def f(x):
     11     z = 2
---> 12     return hmod.g(x)

~/proj/hmod.py in g(x)
      1 def g(x):
----> 2     return 1 / x

ZeroDivisionError: division by zero"""

    assert frames(text) == [
        Frame(row=2, line=2, count=5, path=None, text="in <module>"),
        Frame(row=6, line=2, count=3, path=None, text="in h(a)"),
        Frame(row=10, line=12, count=None, path="/srv/proj/amod.py", text="in f(x)"),
        Frame(row=15, line=2, count=None, path=HMOD, text="in g(x)"),
    ]


def test_ipython7_plain_mode_names_cells_as_ipython_input_files() -> None:
    text = """\
Traceback (most recent call last):

  File "<ipython-input-5-2fc232d1511a>", line 2, in <module>
    h(x)

  File "/srv/proj/amod.py", line 12, in f
    return hmod.g(x)

ZeroDivisionError: division by zero"""

    assert frames(text) == [
        Frame(row=2, line=2, count=5, path=None, text="in <module>"),
        Frame(row=5, line=12, count=None, path="/srv/proj/amod.py", text="in f"),
    ]


def test_an_ipython7_header_shape_with_no_arrow_below_is_not_a_frame() -> None:
    text = """\
/srv/proj/gone.py in f(x)

OSError: the device is busy:
/srv/data in use"""

    assert frames(text) == []


def test_ipython8_input_cells_take_their_line_from_the_arrow() -> None:
    text = """\
Input In [1], in <cell line: 1>()
      2 x=1
      3 y=2
----> 4 z=1/0

ZeroDivisionError: division by zero"""

    assert frames(text) == [Frame(row=0, line=4, count=1, path=None, text="in <cell line: 1>()")]


# Plain Python


def test_python_tracebacks_give_the_frames_in_files() -> None:
    assert frames(PYTHON) == [
        Frame(row=1, line=3, count=None, path="/tmp/kn_demo/pkg/main.py", text="in <module>"),
        Frame(row=3, line=6, count=None, path=AMOD, text="in f"),
        Frame(row=6, line=3, count=None, path="/home/user/proj/hmod.py", text="in g"),
    ]


def test_python_frames_outside_real_files_are_left_out() -> None:
    text = """\
Traceback (most recent call last):
  File "<stdin>", line 1, in <module>
  File "<frozen importlib._bootstrap>", line 1176, in _find_and_load
  File "<string>", line 1, in <module>
  File "mod.py", line 3, in <module>
  File "/srv/proj/mod.py", line 3
    x = (
        ^
SyntaxError: '(' was never closed"""

    assert frames(text) == [
        Frame(row=5, line=3, count=None, path="/srv/proj/mod.py", text=""),
    ]


def test_carriage_returns_at_line_ends_are_ignored() -> None:
    text = 'Traceback (most recent call last):\r\n  File "/srv/mod.py", line 3, in f\r\n'

    assert frames(text) == [Frame(row=1, line=3, count=None, path="/srv/mod.py", text="in f")]


# frame_at


def test_frame_at_a_context_line_is_the_frame_of_the_header_above() -> None:
    lines = lines_of(CONTEXT)

    assert lines[13] == "      5     z = 2"
    assert frame_at(lines, 13) == parse_frames(lines)[2]


def test_frame_at_a_header_is_that_frame() -> None:
    lines = lines_of(CONTEXT)

    assert frame_at(lines, 6) == parse_frames(lines)[1]


def test_frame_at_the_error_line_at_the_end_is_the_last_frame() -> None:
    lines = lines_of(CONTEXT)

    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert frame_at(lines, len(lines) - 1) == parse_frames(lines)[-1]


def test_frame_at_a_line_above_every_frame_is_none() -> None:
    lines = lines_of(CONTEXT)

    assert lines[1].startswith("ZeroDivisionError")
    assert frame_at(lines, 1) is None
    assert frame_at(lines_of(MINIMAL), 0) is None


# Captured from ipykernel 7.4 (IPython 9.18, Python 3.11): the `traceback` of each error message,
# unchanged except for the kernel's site-packages directory in SYNTAX_ERROR_IN_FILE. CONTEXT,
# PLAIN, VERBOSE and MINIMAL ran "x = 1\nh(x)" in that %xmode, where h(a) of cell 2 calls f in
# /tmp/kn_demo/pkg/amod.py, which calls g in ~/proj/hmod.py. PYTHON is what `python main.py`
# printed for the same modules, its home directory replaced.

CONTEXT = [
    ("\x1b[31m---------------------------------------------------------------------------\x1b[39m"),
    ("\x1b[31mZeroDivisionError\x1b[39m                         Traceback (most recent call last)"),
    (
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[4]\x1b[39m\x1b[32m, line 2\x1b[39m"
        "\n"
        "\x1b[32m      1\x1b[39m x = \x1b[32m1\x1b[39m\n"
        "\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m h(x)\n"
    ),
    (
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 3\x1b[39m"
        ", in \x1b[36mh\x1b[39m\x1b[34m(a)\x1b[39m\n"
        "\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m h(a):\n"
        "\x1b[32m      2\x1b[39m     b = a * \x1b[32m2\x1b[39m\n"
        "\x1b[32m----> \x1b[39m\x1b[32m3\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m amod"
        ".f(b)\n"
    ),
    (
        "\x1b[36mFile \x1b[39m\x1b[32m/tmp/kn_demo/pkg/amod.py:6\x1b[39m, in \x1b[36mf"
        "\x1b[39m\x1b[34m(x)\x1b[39m\n"
        "\x1b[32m      4\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m\x1b[38;5;250m \x1b[39m"
        "\x1b[34mf\x1b[39m(x):\n"
        "\x1b[32m      5\x1b[39m     z = \x1b[32m2\x1b[39m\n"
        "\x1b[32m----> \x1b[39m\x1b[32m6\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m "
        "\x1b[30;43mhmod\x1b[39;49m\x1b[30;43m.\x1b[39;49m\x1b[30;43mg\x1b[39;49m"
        "\x1b[30;43m(\x1b[39;49m\x1b[30;43mx\x1b[39;49m\x1b[30;43m)\x1b[39;49m\n"
    ),
    (
        "\x1b[36mFile \x1b[39m\x1b[32m~/proj/hmod.py:3\x1b[39m, in \x1b[36mg\x1b[39m"
        "\x1b[34m(x)\x1b[39m\n"
        "\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m\x1b[38;5;250m \x1b[39m"
        "\x1b[34mg\x1b[39m(x):\n"
        "\x1b[32m      2\x1b[39m     y = x + \x1b[32m1\x1b[39m\n"
        "\x1b[32m----> \x1b[39m\x1b[32m3\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m "
        "\x1b[30;43m1\x1b[39;49m\x1b[30;43m \x1b[39;49m\x1b[30;43m/\x1b[39;49m\x1b[30;43m "
        "\x1b[39;49m\x1b[30;43m(\x1b[39;49m\x1b[30;43my\x1b[39;49m\x1b[30;43m \x1b[39;49m"
        "\x1b[30;43m-\x1b[39;49m\x1b[30;43m \x1b[39;49m\x1b[30;43my\x1b[39;49m\x1b[30;43m)"
        "\x1b[39;49m\n"
    ),
    "\x1b[31mZeroDivisionError\x1b[39m: division by zero",
]

PLAIN = [
    "Traceback \x1b[36m(most recent call last)\x1b[39m:\n",
    ("  Cell \x1b[92mIn[9]\x1b[39m\x1b[92m, line 2\x1b[39m\n    h(x)\n"),
    (
        "  Cell \x1b[92mIn[2]\x1b[39m\x1b[92m, line 3\x1b[39m in \x1b[95mh\x1b[39m\n"
        "    return amod.f(b)\n"
    ),
    (
        "  File \x1b[92m/tmp/kn_demo/pkg/amod.py:6\x1b[39m in \x1b[95mf\x1b[39m\n"
        "    return hmod.g(x)\n"
    ),
    (
        "\x1b[36m  \x1b[39m\x1b[36mFile \x1b[39m\x1b[32m~/proj/hmod.py:3\x1b[39m\x1b[36m in"
        " \x1b[39m\x1b[35mg\x1b[39m\n"
        "\x1b[31m    \x1b[39m\x1b[31mreturn 1 / (y - y)\x1b[39m\n"
    ),
    "\x1b[31mZeroDivisionError\x1b[39m\x1b[31m:\x1b[39m division by zero\n",
]

VERBOSE = [
    ("\x1b[31m---------------------------------------------------------------------------\x1b[39m"),
    ("\x1b[31mZeroDivisionError\x1b[39m                         Traceback (most recent call last)"),
    (
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[14]\x1b[39m\x1b[32m, line 2"
        "\x1b[39m\n"
        "\x1b[32m      1\x1b[39m x = \x1b[32m1\x1b[39m\n"
        "\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m h(x)\n"
    ),
    (
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 3\x1b[39m"
        ", in \x1b[36mh\x1b[39m\x1b[34m(a=1)\x1b[39m\n"
        "\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m h(a):\n"
        "\x1b[32m      2\x1b[39m     b = a * \x1b[32m2\x1b[39m\n"
        "\x1b[32m----> \x1b[39m\x1b[32m3\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m amod"
        ".f(b)\n"
    ),
    (
        "\x1b[36mFile \x1b[39m\x1b[32m/tmp/kn_demo/pkg/amod.py:6\x1b[39m, in \x1b[36mf"
        "\x1b[39m\x1b[34m(x=2)\x1b[39m\n"
        "\x1b[32m      4\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m\x1b[38;5;250m \x1b[39m"
        "\x1b[34mf\x1b[39m(x):\n"
        "\x1b[32m      5\x1b[39m     z = \x1b[32m2\x1b[39m\n"
        "\x1b[32m----> \x1b[39m\x1b[32m6\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m "
        "\x1b[30;43mhmod\x1b[39;49m\x1b[30;43m.\x1b[39;49m\x1b[30;43mg\x1b[39;49m"
        "\x1b[30;43m(\x1b[39;49m\x1b[30;43mx\x1b[39;49m\x1b[30;43m)\x1b[39;49m\n"
        "        x \x1b[34m= \x1b[39m\x1b[34m2\x1b[39m"
    ),
    (
        "\x1b[36mFile \x1b[39m\x1b[32m~/proj/hmod.py:3\x1b[39m, in \x1b[36mg\x1b[39m"
        "\x1b[34m(x=2)\x1b[39m\n"
        "\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m\x1b[38;5;250m \x1b[39m"
        "\x1b[34mg\x1b[39m(x):\n"
        "\x1b[32m      2\x1b[39m     y = x + \x1b[32m1\x1b[39m\n"
        "\x1b[32m----> \x1b[39m\x1b[32m3\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m "
        "\x1b[30;43m1\x1b[39;49m\x1b[30;43m \x1b[39;49m\x1b[30;43m/\x1b[39;49m\x1b[30;43m "
        "\x1b[39;49m\x1b[30;43m(\x1b[39;49m\x1b[30;43my\x1b[39;49m\x1b[30;43m \x1b[39;49m"
        "\x1b[30;43m-\x1b[39;49m\x1b[30;43m \x1b[39;49m\x1b[30;43my\x1b[39;49m\x1b[30;43m)"
        "\x1b[39;49m\n"
        "        y \x1b[34m= \x1b[39m\x1b[34m3\x1b[39m\n"
        "        y - y \x1b[34m= \x1b[39m\x1b[34m0\x1b[39m"
    ),
    "\x1b[31mZeroDivisionError\x1b[39m: division by zero",
]

MINIMAL = [
    "\x1b[31mZeroDivisionError\x1b[39m\x1b[31m:\x1b[39m division by zero\n",
]

SYNTAX_ERROR_IN_CELL = [
    (
        "  \x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[5]\x1b[39m\x1b[32m, line 1"
        "\x1b[39m\n"
        "\x1b[31m    \x1b[39m\x1b[31mx = (1,\x1b[39m\n"
        "           ^\n"
        "\x1b[31mSyntaxError\x1b[39m\x1b[31m:\x1b[39m incomplete input\n"
    ),
]

SYNTAX_ERROR_IN_FILE = [
    "Traceback \x1b[36m(most recent call last)\x1b[39m:\n",
    (
        "  File \x1b[92m/opt/venv/lib/python3.11/site-packages/IPython/core/interactiveshel"
        "l.py:3823\x1b[39m in \x1b[95mrun_code\x1b[39m\n"
        "    exec(code_obj, self.user_global_ns, self.user_ns)\n"
    ),
    (
        "\x1b[36m  \x1b[39m\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[6]\x1b[39m"
        "\x1b[32m, line 1\x1b[39m\n"
        "\x1b[31m    \x1b[39m\x1b[31mimport bad\x1b[39m\n"
    ),
    (
        "  \x1b[36mFile \x1b[39m\x1b[32m/tmp/kn_demo/pkg/bad.py:2\x1b[39m\n"
        "\x1b[31m    \x1b[39m\x1b[31my = (2,\x1b[39m\n"
        "        ^\n"
        "\x1b[31mSyntaxError\x1b[39m\x1b[31m:\x1b[39m '(' was never closed\n"
    ),
]

EXEC = [
    ("\x1b[31m---------------------------------------------------------------------------\x1b[39m"),
    ("\x1b[31mZeroDivisionError\x1b[39m                         Traceback (most recent call last)"),
    (
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[7]\x1b[39m\x1b[32m, line 1\x1b[39m"
        "\n"
        "\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m exec(\x1b[33m'1/0'\x1b[39m)\n"
    ),
    (
        "\x1b[36mFile \x1b[39m\x1b[32m<string>:1\x1b[39m\n"
        "\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m \x1b[33m'Could not get source, probably du"
        "e dynamically evaluated source code.'\x1b[39m\n"
    ),
    "\x1b[31mZeroDivisionError\x1b[39m: division by zero",
]

CHAINED = [
    ("\x1b[31m---------------------------------------------------------------------------\x1b[39m"),
    ("\x1b[31mZeroDivisionError\x1b[39m                         Traceback (most recent call last)"),
    (
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[24]\x1b[39m\x1b[32m, line 4"
        "\x1b[39m\n"
        "\x1b[32m      2\x1b[39m     \x1b[32m1\x1b[39m/\x1b[32m0\x1b[39m\n"
        "\x1b[32m      3\x1b[39m \x1b[38;5;28;01mexcept\x1b[39;00m Exception:\n"
        "\x1b[32m----> \x1b[39m\x1b[32m4\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m Value"
        "Error(\x1b[33m'bad'\x1b[39m)\n"
    ),
    "\x1b[31mZeroDivisionError\x1b[39m: division by zero",
    ("\nDuring handling of the above exception, another exception occurred:\n"),
    ("\x1b[31mValueError\x1b[39m                                Traceback (most recent call last)"),
    (
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[24]\x1b[39m\x1b[32m, line 4"
        "\x1b[39m\n"
        "\x1b[32m      1\x1b[39m \x1b[38;5;28;01mtry\x1b[39;00m:\n"
        "\x1b[32m      2\x1b[39m     \x1b[32m1\x1b[39m/\x1b[32m0\x1b[39m\n"
        "\x1b[32m      3\x1b[39m \x1b[38;5;28;01mexcept\x1b[39;00m Exception:\n"
        "\x1b[32m----> \x1b[39m\x1b[32m4\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m Value"
        "Error(\x1b[33m'bad'\x1b[39m)\n"
    ),
    "\x1b[31mValueError\x1b[39m: bad",
]

LOOKALIKE_CODE = [
    ("\x1b[31m---------------------------------------------------------------------------\x1b[39m"),
    ("\x1b[31mTypeError\x1b[39m                                 Traceback (most recent call last)"),
    (
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 7\x1b[39m"
        "\n"
        "\x1b[32m      3\x1b[39m File /srv/proj/mod.py:\x1b[32m12\x1b[39m, \x1b[38;5;28;01m"
        "in\x1b[39;00m f()\n"
        "\x1b[32m      4\x1b[39m   Cell In[\x1b[32m1\x1b[39m], line \x1b[32m2\x1b[39m\n"
        '\x1b[32m      5\x1b[39m """ + 1\n'
        "\x1b[32m      6\x1b[39m \n"
        "\x1b[32m----> \x1b[39m\x1b[32m7\x1b[39m f()\n"
    ),
    (
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 2\x1b[39m"
        ", in \x1b[36mf\x1b[39m\x1b[34m()\x1b[39m\n"
        "\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m f():\n"
        '\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m     return """\n'
        "\x1b[32m      3\x1b[39m File /srv/proj/mod.py:\x1b[32m12\x1b[39m, \x1b[38;5;28;01m"
        "in\x1b[39;00m f()\n"
        "\x1b[32m      4\x1b[39m   Cell In[\x1b[32m1\x1b[39m], line \x1b[32m2\x1b[39m\n"
        '\x1b[32m      5\x1b[39m """ + 1\n'
    ),
    '\x1b[31mTypeError\x1b[39m: can only concatenate str (not "int") to str',
]

PASTED_TRACEBACK = [
    (
        "  \x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 2\x1b[39m\n"
        '\x1b[31m    \x1b[39m\x1b[31mFile "/srv/proj/mod.py", line 12, in f\x1b[39m\n'
        "         ^\n"
        "\x1b[31mSyntaxError\x1b[39m\x1b[31m:\x1b[39m invalid syntax\n"
    ),
]

PYTHON = """\
Traceback (most recent call last):
  File "/tmp/kn_demo/pkg/main.py", line 3, in <module>
    amod.f(1)
  File "/tmp/kn_demo/pkg/amod.py", line 6, in f
    return hmod.g(x)
           ^^^^^^^^^
  File "/home/user/proj/hmod.py", line 3, in g
    return 1 / (y - y)
           ~~^~~~~~~~~
ZeroDivisionError: division by zero
"""


def test_traceback_lines_are_the_lines_of_all_entries_without_escapes() -> None:
    traceback = ["\x1b[31m---\x1b[39m", "\x1b[36mCell\x1b[39m In[1], line 1\n----> 1 1/0\n"]

    assert traceback_lines(traceback) == ["---", "Cell In[1], line 1", "----> 1 1/0", ""]
