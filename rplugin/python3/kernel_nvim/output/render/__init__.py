"""Jupyter iopub message content turned into highlighted text, laid out like IPython's console.

Everything here is pure: the caller writes the segments into the output buffer. Bundles
(displays and results) are shown by :mod:`.bundle`, which picks a form (:mod:`.mime`) and
makes text of it (:mod:`.html`, :mod:`.table`, :mod:`.image_info`).
"""

from __future__ import annotations

import re

from .. import ansi
from ..ansi import AnsiState
from ..rich import Rich
from ..segments import Control, Groups, Piece, Segment, merge, sanitize
from .bundle import render_bundle, render_display, render_result

__all__ = [
    "STDERR_GROUP",
    "Groups",
    "Piece",
    "Rich",
    "Segment",
    "render_bundle",
    "error_summary",
    "render_display",
    "render_error",
    "render_input",
    "render_notice",
    "render_result",
    "render_stream",
]


def render_input(count: int | None, code: str) -> list[Segment]:
    """``In [n]: code``, with IPython's right-aligned ``...:`` on further lines."""
    prompt = f"In [{' ' if count is None else count}]: "
    continuation = "...: ".rjust(len(prompt))
    lines = sanitize(code).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    segments: list[Segment] = []
    for i, line in enumerate(lines or [""]):
        segments += [(continuation if i else prompt, _IN), (f"{line}\n", ())]
    return segments


def render_stream(name: str, text: str, state: AnsiState) -> tuple[list[Piece], AnsiState]:
    """Stream text as sent (partial lines and cursor moves included) and the ANSI state to pass
    to the next one."""
    pieces, state = ansi.parse_terminal(sanitize(text), state)
    if name == "stderr":
        pieces = [p if isinstance(p, Control) else (p[0], _STDERR + p[1]) for p in pieces]
    return pieces, state


def render_error(ename: str, evalue: str, traceback: list[str]) -> list[Segment]:
    """An error: its traceback, then its :func:`error_summary` unless the traceback ends so."""
    text = "\n".join(sanitize(entry) for entry in traceback)
    segments, _ = ansi.parse(text)
    segments = _end_line(segments) if segments else []
    summary = error_summary(ename, evalue)
    if summary and not _shows_summary(ansi.strip(text), *_clean(ename, evalue)):
        segments.append((f"{summary}\n", _ERROR))
    return merge(segments)


def error_summary(ename: str, evalue: str) -> str:
    """``ename: evalue``, or the half that says something; "" when neither does.

    bash_kernel sends an empty ename and the exit status as evalue: a bare number, which
    says nothing that the output above it (``command not found``) did not.
    """
    ename, evalue = _clean(ename, evalue)
    if not ename:
        return "" if _BARE_NUMBER.fullmatch(evalue) else evalue
    return f"{ename}: {evalue}" if evalue else ename


def render_notice(text: str) -> list[Segment]:
    """A line about the session rather than from the code, e.g. ``[kernel died]``."""
    return [(f"[{ansi.strip(sanitize(text))}]\n", _INFO)]


_IN: Groups = ("KernelIn",)
STDERR_GROUP = "KernelStderr"  # on every line of stderr text: how a notebook tells the streams
_STDERR: Groups = (STDERR_GROUP,)
_ERROR: Groups = ("KernelError",)
_INFO: Groups = ("KernelInfo",)

# An empty evalue counts as bare: nothing at all is said then either.
_BARE_NUMBER = re.compile(r"\s*-?\d*\s*")
# Python puts a SyntaxError's place in its str(), "invalid syntax (1278102326.py, line 1)",
# but ends the traceback with the message alone, the place being in the frame above.
_SYNTAX_PLACE = re.compile(r"(?P<message>.*) \([^()\n]*, line \d+\)", re.DOTALL)


def _end_line(segments: list[Segment]) -> list[Segment]:
    if segments and segments[-1][0].endswith("\n"):
        return segments
    return [*segments, ("\n", ())]


def _clean(ename: str, evalue: str) -> tuple[str, str]:
    return ansi.strip(sanitize(ename)), ansi.strip(sanitize(evalue))


def _shows_summary(text: str, ename: str, evalue: str) -> bool:
    # IPython writes "KeyboardInterrupt: " for an empty evalue where Python writes
    # "KeyboardInterrupt"; an evalue may itself span several lines.
    lines = [f"{ename}: {evalue}".rstrip()] if evalue else [ename, f"{ename}:"]
    place = _SYNTAX_PLACE.fullmatch(evalue)
    if place:
        lines.append(f"{ename}: {place['message']}".rstrip())
    tail = text.rstrip()
    return any(tail == line or tail.endswith(f"\n{line}") for line in lines)
