"""ANSI escapes in kernel output turned into plain text plus highlight group names.

SGR sequences (colours and text attributes) survive as groups. :func:`parse_terminal`, for
stream text, also keeps what progress bars move the cursor with, as :class:`Control` pieces:
``ESC [ n A/B/C/D`` (up, down, right, left), ``E``/``F`` (next, previous line), ``G``
(column), ``K`` (erase in line) and ``\\b`` (left one). Every other escape and C0 control
character is dropped, since the output buffer can show neither. The colours are named, not
given: lua/kernel/highlights.lua holds the palette behind the names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from .segments import Control, ControlKind, Groups, Piece, Segment


@dataclass(frozen=True)
class AnsiState:
    """The SGR attributes in force; ``AnsiState()`` is the reset state.

    ``fg`` and ``bg`` hold a colour's group suffix (``Red``, ``256_208``, ``RGB_ff8700``), so
    one value names both the foreground and the background group.
    """

    fg: str | None = None
    bg: str | None = None
    bold: bool = False
    italic: bool = False
    underline: bool = False
    pending: str = ""  # the start of an escape that a stream message ended in, for the next

    def groups(self) -> Groups:
        """The highlight groups of text written in this state: fg, bg, bold, italic, underline."""
        return _groups(self)


_RESET = AnsiState()


def parse(text: str, state: AnsiState = _RESET) -> tuple[list[Segment], AnsiState]:
    """Split ``text`` into segments of plain text and the state in force after it.

    ``state`` is the one left by the previous piece of the same stream, so that a colour set in
    one stream message carries on into the next. Cursor moves and erases are dropped.
    """
    pieces, state = _parse(text, state, terminal=False)
    return [piece for piece in pieces if not isinstance(piece, Control)], state


def parse_terminal(text: str, state: AnsiState = _RESET) -> tuple[list[Piece], AnsiState]:
    """:func:`parse`, keeping the cursor moves and erases that a terminal would obey.

    A CSI sequence that ``text`` ends in the middle of is kept in the state, to be finished by
    the next piece of the stream: a kernel relaying a subprocess may split output anywhere.
    """
    if state.pending:
        text, state = state.pending + text, replace(state, pending="")
    start = text.rfind("\x1b", len(text) - 16)  # a longer CSI is not worth waiting for
    if start >= 0 and _PARTIAL_CSI.fullmatch(text, start):
        text, pending = text[:start], text[start:]
        pieces, state = _parse(text, state, terminal=True)
        return pieces, replace(state, pending=pending)
    return _parse(text, state, terminal=True)


def strip(text: str) -> str:
    """``text`` without escape sequences and C0 controls but ``\\n\\t\\r`` (C1: ``sanitize``)."""
    return text if _is_plain(text) else _ESCAPE.sub("", text)


_COLOURS = ("Black", "Red", "Green", "Yellow", "Blue", "Magenta", "Cyan", "White")

# SGR codes that switch one attribute; unlisted ones (blink, reverse, fonts) have no group.
_ATTRIBUTE_CODES: dict[int, dict[str, Any]] = {
    1: {"bold": True},
    22: {"bold": False},
    3: {"italic": True},
    23: {"italic": False},
    4: {"underline": True},
    24: {"underline": False},
    39: {"fg": None},
    49: {"bg": None},
}

# \n, \t and \r are kept: the caller gives them meaning (lines, tabs, progress bars).
_CONTROL_CHARS = ("\x1b",) + tuple(
    chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F) if c != 0x1B
)

# Alternatives are tried in order, so the specific forms must come before the catch-alls.
_ESCAPE = re.compile(
    r"""
      \x1b\[ (?P<sgr>[0-9;]*) m                  # SGR: kept as state
    | \x1b\[ (?P<count>[0-9]*) (?P<move>[A-GK])  # cursor moves and erase in line: kept in streams
    | \x1b\[ [0-?]* [ -/]* [@-~]                 # any other CSI: positions, erase display, ...
    | \x1b\] [^\x07\x1b\n]* (?:\x07|\x1b\\)      # OSC (titles, hyperlinks), ended by BEL or ST
    | \x1b [ -/]* [0-~]                          # two-char escapes: ESC ( B, ESC =, ...
    | (?P<backspace>\x08)                        # kept in streams: a move left
    | [\x00-\x08\x0b\x0c\x0e-\x1f\x7f]           # lone ESC and the other control characters
    """,
    re.VERBOSE,
)


def _parse(text: str, state: AnsiState, terminal: bool) -> tuple[list[Piece], AnsiState]:
    if _is_plain(text):
        # Outputs of 100k lines are mostly plain: no tokenizing for them.
        return ([(text, state.groups())] if text else []), state
    builder = _SegmentBuilder()
    pos = 0
    for match in _ESCAPE.finditer(text):
        builder.add(text[pos : match.start()], state.groups())
        params = match.group("sgr")
        if params is not None:
            state = _apply_sgr(state, params)
        elif terminal:
            builder.controls(_controls(match))
        pos = match.end()
    builder.add(text[pos:], state.groups())
    return builder.pieces(), state


def _controls(match: re.Match[str]) -> tuple[Control, ...]:
    """What a terminal would do for ``match``: nothing, for an escape it is not told of."""
    if match.group("backspace") is not None:
        return _BACKSPACE
    move, count = match.group("move", "count")
    return () if move is None else _move(move, count)


# Output that erases after every line repeats one sequence: make its controls once.
@lru_cache(maxsize=256)
def _move(move: str, count: str) -> tuple[Control, ...]:
    n = _count(count)
    if move == "K":
        return (Control("erase", n),) if n <= 2 else ()
    n = max(n, 1)  # like xterm, a count of 0 moves one
    if move == "G":
        return (Control("column", n - 1),)
    if move in "EF":  # next or previous line: up or down, then to the first column
        return Control("down" if move == "E" else "up", n), _FIRST_COLUMN
    return (Control(_MOVES[move], n),)


_BACKSPACE = (Control("left", 1),)
_FIRST_COLUMN = Control("column", 0)
_MOVES: dict[str, ControlKind] = {"A": "up", "B": "down", "C": "right", "D": "left"}


_PARTIAL_CSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*)?")


class _SegmentBuilder:
    """Collects text pieces, joining runs of equal groups once at the end.

    Joining instead of concatenating keeps long outputs broken by many dropped escapes
    (an OSC title after every line, say) linear in size.
    """

    def __init__(self) -> None:
        self._done: list[Piece] = []
        self._pieces: list[str] = []
        self._groups: Groups = ()

    def add(self, text: str, groups: Groups) -> None:
        if not text:
            return
        if groups != self._groups:
            self._flush()
            self._groups = groups
        self._pieces.append(text)

    def controls(self, controls: tuple[Control, ...]) -> None:
        if controls:
            self._flush()
            self._done.extend(controls)

    def pieces(self) -> list[Piece]:
        self._flush()
        return self._done

    def _flush(self) -> None:
        if self._pieces:
            self._done.append(("".join(self._pieces), self._groups))
            self._pieces = []


def _is_plain(text: str) -> bool:
    # One substring scan per character is several times faster than a regex character class.
    return not any(char in text for char in _CONTROL_CHARS)


@lru_cache(maxsize=1024)
def _groups(state: AnsiState) -> Groups:
    groups: list[str] = []
    if state.fg is not None:
        groups.append(f"KernelAnsi{state.fg}")
    if state.bg is not None:
        groups.append(f"KernelAnsiBg{state.bg}")
    for active, name in (
        (state.bold, "KernelAnsiBold"),
        (state.italic, "KernelAnsiItalic"),
        (state.underline, "KernelAnsiUnderline"),
    ):
        if active:
            groups.append(name)
    return tuple(groups)


# Coloured output repeats the same few sequences on every line: parse each one once.
@lru_cache(maxsize=1024)
def _apply_sgr(state: AnsiState, params: str) -> AnsiState:
    # An empty parameter means 0, so "ESC [ m" and "ESC [ ; 1 m" both reset first.
    codes = [_count(param) for param in params.split(";")]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code in (38, 48):
            colour, i = _extended_colour(codes, i + 1)
            if colour is not None:
                state = replace(state, fg=colour) if code == 38 else replace(state, bg=colour)
        else:
            state = _apply_code(state, code)
            i += 1
    return state


def _count(digits: str) -> int:
    """A CSI parameter, 0 if empty. A huge one is capped: ``int`` refuses over 4300 digits, and
    no count or code that large means anything to a terminal."""
    digits = digits.lstrip("0")
    return 0 if not digits else int(digits) if len(digits) <= 6 else 999_999


def _extended_colour(codes: list[int], i: int) -> tuple[str | None, int]:
    """The colour of a ``38;...``/``48;...`` tail starting at ``codes[i]``, and what follows it."""
    kind = codes[i] if i < len(codes) else None
    if kind == 5 and i + 1 < len(codes):
        return _colour_256(codes[i + 1]), i + 2
    if kind == 2 and i + 3 < len(codes):
        red, green, blue = codes[i + 1 : i + 4]
        valid = all(0 <= c <= 255 for c in (red, green, blue))
        return (f"RGB_{red:02x}{green:02x}{blue:02x}" if valid else None), i + 4
    # Like xterm, give up on the rest of a malformed sequence rather than misread its numbers.
    return None, len(codes)


def _colour_256(n: int) -> str | None:
    if not 0 <= n <= 255:
        return None
    if n < 16:
        return _colour_16(n)
    return f"256_{n}"


def _colour_16(n: int) -> str:
    return _COLOURS[n] if n < 8 else f"Bright{_COLOURS[n - 8]}"


def _apply_code(state: AnsiState, code: int) -> AnsiState:
    if code == 0:
        return _RESET
    if 30 <= code <= 37 or 90 <= code <= 97:
        return replace(state, fg=_colour_16(code - 30 if code < 90 else code - 90 + 8))
    if 40 <= code <= 47 or 100 <= code <= 107:
        return replace(state, bg=_colour_16(code - 40 if code < 100 else code - 100 + 8))
    change = _ATTRIBUTE_CODES.get(code)
    return replace(state, **change) if change is not None else state
