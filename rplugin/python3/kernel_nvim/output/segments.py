"""Text with highlight groups: what every renderer makes and the document stores.

Stream text may also hold :class:`Control` pieces, the cursor moves and erases of a terminal.
:func:`sanitize` is the one gate for text from a kernel on its way to the editor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Union

Groups = tuple[str, ...]
"""Highlight group names applied to a piece of text (may be empty)."""

Segment = tuple[str, Groups]
"""A piece of text (may contain newlines) and its groups."""

ControlKind = Literal["up", "down", "left", "right", "column", "erase"]


@dataclass(frozen=True)
class Control:
    """A cursor move or an erase in stream text, for the writer to obey (see :mod:`.lines`).

    ``n`` is how many rows or columns to move, the 0-based column for ``column``, and for
    ``erase`` what to erase of the cursor's line, as ``ESC [ n K`` says: 0 from the cursor to the
    end, 1 from the start to the cursor, 2 all of it.
    """

    kind: ControlKind
    n: int


Piece = Union[Segment, Control]
"""What stream text is made of: text to write at the cursor, or a control."""


def sanitize(text: str) -> str:
    """``text`` made safe to show: U+FFFD for each lone surrogate (UTF-8 cannot encode one),
    C1 control characters removed, bidi controls shown as ``<U+202E>`` instead of obeyed.

    C0 controls and escapes are left to :mod:`.ansi`, which gives some of them meaning.
    """
    # isascii is O(1) in CPython: a flood of plain lines never reaches the scan.
    if text.isascii() or _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_replacement, text)


def merge(segments: Iterable[Segment]) -> list[Segment]:
    """``segments`` without empty ones, neighbours with equal groups joined."""
    merged: list[Segment] = []
    for text, groups in segments:
        if not text:
            continue
        if merged and merged[-1][1] == groups:
            merged[-1] = (merged[-1][0] + text, groups)
        else:
            merged.append((text, groups))
    return merged


# Surrogates: the only code points a str can hold that UTF-8 cannot encode. C1 controls: a
# terminal may obey them (U+009B is an 8-bit CSI). Bidi embeddings, overrides, isolates and
# marks: they reorder what is shown, so output could pass itself off as other text.
_UNSAFE = re.compile("[\ud800-\udfff\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _replacement(match: re.Match[str]) -> str:
    char = match.group()
    if char <= "\x9f":
        return ""
    if "\ud800" <= char <= "\udfff":
        return "\ufffd"
    return f"<U+{ord(char):04X}>"
