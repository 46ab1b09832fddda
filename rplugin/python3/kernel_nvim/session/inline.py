"""A result or an error, in one short line, for the end of the code that made it
(``g:kernel_inline``).

kernel#send() puts an anchor (an extmark) on the last line of code it sends when the option is
on, and its id comes with the execution's source; the answer names it, so the text lands where
that line is by then, and never on a line sent again since (sending clears the anchor).
"""

from __future__ import annotations

import re
from typing import Any

from ..editor.protocol import InlinePayload
from ..output import ansi, render
from ..output.segments import sanitize
from . import fields

MAX_CHARS = 80  # of the text: a long repr is the output buffer's to show
SHOWN = frozenset(("execute_result", "error"))


def answer(source: dict[str, Any], msg_type: str, content: dict[str, Any]) -> InlinePayload | None:
    """What an ``execute_result`` or ``error`` of code sent from ``source`` shows inline, or
    None when there is no anchor to show it at."""
    buffer, anchor = _number(source.get("buffer")), _number(source.get("anchor"))
    if not (buffer and anchor) or msg_type not in SHOWN:
        return None
    if msg_type == "error":
        ename, evalue = fields.text(content.get("ename")), fields.text(content.get("evalue"))
        text = render.error_summary(ename, _first_line(evalue)[0]) or "error"
    else:
        text = _result(fields.mapping(content.get("data")))
    return {"buffer": buffer, "anchor": anchor, "text": _short(text), "error": msg_type == "error"}


def _result(data: dict[str, Any]) -> str:
    plain = data.get("text/plain")
    if isinstance(plain, str):
        line, more = _first_line(plain)
        return f"{line} …" if more else line
    return "[" + ", ".join(sanitize(str(m)) for m in data) + "]"


def _first_line(text: str) -> tuple[str, bool]:
    """The first line with text in it, and whether more lines with text follow."""
    lines = [line.strip() for line in ansi.strip(sanitize(text)).splitlines()]
    lines = [line for line in lines if line]
    return (lines[0] if lines else "", len(lines) > 1)


def _short(text: str) -> str:
    text = re.sub(r"\s", " ", text)  # a tab, a form feed: virtual text is one plain line
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def _number(value: Any) -> int:
    """A buffer number or an extmark id, as the editor sent it; 0 for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
