"""The stack frames named in the traceback of a Jupyter ``error`` message.

Kernels send a traceback as text formatted for a terminal, not as data, so the frames for a
quickfix list (or for jumping from a traceback line to its code) can only be read back out of
that text. The formats read are IPython's from version 7 on, in each ``%xmode``, and plain
Python's, which other kernels and IPython's ``Plain`` mode print.

Pure: it is imported and tested without a kernel or Neovim.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from . import ansi


@dataclass(frozen=True)
class Frame:
    """One frame: the line of the traceback that names it, and where its code is."""

    row: int  # index in `lines` of the line that names the frame
    line: int  # 1-based: within the cell for cell frames, within the file for file frames
    count: int | None  # execution count n of the cell for code run by the kernel, else None
    path: str | None  # absolute path for a frame in a real file, else None
    text: str  # the frame's function, e.g. "in f(x)", or "" for the top level of a cell


# Frame headers, tried in order. Each names the code with `cell` or `name`, and gives the `line`
# or leaves it to the arrow in the context lines below. A header starts in one of the first three
# columns, whereas context lines start with an arrow or are indented further (by their line
# number or, in Python's format, by four spaces), so code that looks like a header never matches.
_HEADERS = [
    re.compile(pattern)
    for pattern in (
        # Python, and IPython 7 in Plain mode: File "/path/mod.py", line 12, in f
        r' {0,2}File "(?P<name>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?',
        # IPython >= 8: Cell In[5], line 3, in f()  (Plain mode: "line 3 in f");
        # IPython 8.0 to 8.4: Input In [5], in <cell line: 3>()
        r" {0,2}(?:Cell|Input) In ?\[(?P<cell>\d+)\](?:, line (?P<line>\d+))?"
        r"(?:,? in (?P<func>.+))?",
        # IPython >= 8: File ~/proj/mod.py:12, in f()  (Plain mode: ":12 in f")
        r" {0,2}File (?P<name>.+?):(?P<line>\d+)(?:,? in (?P<func>.+))?",
        # IPython 7: <ipython-input-5-2fc232d1511a> in f()  or  /path/mod.py in f(x)
        r"(?P<name><ipython-input-\d+-[0-9a-f]+>|[/~].*?) in (?P<func>.+)",
    )
]
_IPYTHON_INPUT = re.compile(r"<ipython-input-(?P<cell>\d+)-[0-9a-f]+>")
# How IPython marks the failing line among the context lines: "----> 2     1/0"
_ARROW = re.compile(r"\s*-+>\s*(?P<line>\d+)\b")


def traceback_lines(traceback: list[str]) -> list[str]:
    """The lines of an ``error`` message's traceback, as :func:`parse_frames` reads them."""
    return ansi.strip("\n".join(traceback)).split("\n")


def parse_frames(lines: list[str]) -> list[Frame]:
    """Frames in the traceback, outermost first; `lines` have ANSI escapes already stripped.

    Frames whose code is neither in a cell nor in a file with an absolute path (``<string>``,
    ``<frozen ...>``, ``<stdin>``) are left out, and so are those with no line number.
    """
    frames = []
    for row, text in enumerate(lines):
        header = _header(text)
        if header is None:
            continue
        where = _where(header)
        line = int(header["line"]) if "line" in header else _arrow_line(lines, row + 1)
        if where is None or line is None:
            continue
        count, path = where
        func = header.get("func")
        frames.append(Frame(row, line, count, path, f"in {func}" if func else ""))
    return frames


def frame_at(lines: list[str], row: int) -> Frame | None:
    """The frame that the line `row` belongs to: the nearest frame at or above it (None if none)."""
    above = [frame for frame in parse_frames(lines) if frame.row <= row]
    return above[-1] if above else None


def _header(text: str) -> dict[str, str] | None:
    """The groups of the header pattern that `text` matches, None if it is no frame header."""
    text = text.rstrip()
    for pattern in _HEADERS:
        match = pattern.fullmatch(text)
        if match:
            return {key: value for key, value in match.groupdict().items() if value}
    return None


def _where(header: dict[str, str]) -> tuple[int | None, str | None] | None:
    """(count, path) of the code a header names, None if it is neither a cell nor a real file."""
    if "cell" in header:
        return int(header["cell"]), None
    cell = _IPYTHON_INPUT.fullmatch(header["name"])
    if cell:
        return int(cell["cell"]), None
    path = os.path.expanduser(header["name"])
    return (None, path) if os.path.isabs(path) else None


def _arrow_line(lines: list[str], start: int) -> int | None:
    """The line number on the arrow in the context lines from `start` to the frame's end."""
    for text in lines[start:]:
        if not text.strip() or _header(text):
            return None
        arrow = _ARROW.match(text)
        if arrow:
            return int(arrow["line"])
    return None
