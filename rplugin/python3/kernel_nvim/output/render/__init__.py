"""Jupyter iopub message content turned into highlighted text, laid out like IPython's console.

Everything here is pure: the caller writes the segments into the output buffer.
"""

from __future__ import annotations

import base64
import re
import struct
from typing import Any

from .. import ansi
from ..ansi import AnsiState
from ..rich import Image, Rich
from ..segments import Groups, Segment, merge, sanitize

__all__ = [
    "Groups",
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


def render_stream(name: str, text: str, state: AnsiState) -> tuple[list[Segment], AnsiState]:
    """Stream text as sent (partial lines included) and the ANSI state to pass to the next one."""
    segments, state = ansi.parse(sanitize(text), state)
    if name == "stderr":
        segments = [(piece, _STDERR + groups) for piece, groups in segments]
    return segments, state


def render_result(count: int | None, data: dict[str, Any]) -> list[Segment]:
    """An execute_result: ``Out[n]:`` then its text/plain, like IPython."""
    prompt: list[Segment] = [(f"Out[{' ' if count is None else count}]: ", _OUT)]
    text = data.get("text/plain")
    # Like IPython, start a multi-line repr on its own line so its columns line up.
    if text is not None and "\n" in _plain(text).rstrip("\n"):
        prompt.append(("\n", ()))
    return merge(_end_line([*prompt, *render_display(data)]))


def render_display(data: dict[str, Any]) -> list[Segment]:
    """A display_data: its text/plain, then a note naming the mimetypes that cannot be shown."""
    segments: list[Segment] = []
    if "text/plain" in data:
        segments, _ = ansi.parse(_plain(data["text/plain"]))
        segments = _end_line(segments)
    others = [sanitize(str(mimetype)) for mimetype in data if mimetype != "text/plain"]
    if others:
        label = "also: " if "text/plain" in data else ""
        segments.append((f"[{label}{', '.join(others)}]\n", _INFO))
    return merge(segments)


def render_bundle(
    data: dict[str, Any],
    metadata: dict[str, Any],
    preference: tuple[str, ...] = (),
    count: int | None = None,
    result: bool = False,
) -> tuple[list[Segment], Rich]:
    """A display_data (or, with ``result``, an execute_result with its ``Out[n]:``): the text of
    the form that ``preference`` picks from the bundle, and what else the bundle holds."""
    shown = "text/plain" if "text/plain" in data else ""
    richer = tuple(sanitize(str(m)) for m in data if m != shown)
    rich = Rich(dict(data), dict(metadata), shown, richer)
    note = _image_stand_in(data, rich)
    if result:
        return render_result(count, {shown: data[shown]} if shown else {}) + note, rich
    if shown:
        return render_display({shown: data[shown]}) + note, rich
    return render_display(data) + note, rich


def _image_stand_in(data: dict[str, Any], rich: Rich) -> list[Segment]:
    """STAND-IN until output/render makes image items: a PNG's Rich.image and its line."""
    encoded = data.get("image/png")
    try:  # its first 24 bytes (32 base64 digits) say its size; the rest waits for the worker
        head = base64.b64decode(encoded[:32]) if isinstance(encoded, str) else b""
    except ValueError:
        head = b""
    if head[12:16] != b"IHDR":
        return []
    width, height = struct.unpack(">II", head[16:24])
    rich.image = Image("image/png", b"", width, height, encoded=str(encoded))
    return [(f"[image/png {width}x{height}]\n", _INFO)]


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
_OUT: Groups = ("KernelOut",)
_STDERR: Groups = ("KernelStderr",)
_ERROR: Groups = ("KernelError",)
_INFO: Groups = ("KernelInfo",)

# An empty evalue counts as bare: nothing at all is said then either.
_BARE_NUMBER = re.compile(r"\s*-?\d*\s*")
# Python puts a SyntaxError's place in its str(), "invalid syntax (1278102326.py, line 1)",
# but ends the traceback with the message alone, the place being in the frame above.
_SYNTAX_PLACE = re.compile(r"(?P<message>.*) \([^()\n]*, line \d+\)", re.DOTALL)


def _plain(value: Any) -> str:
    # On the wire text/plain is a string; the list form is nbformat's, seen when replaying files.
    text = "".join(value) if isinstance(value, list) else str(value)
    return sanitize(text)


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
