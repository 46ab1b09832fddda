"""Highlighted text written into lines the way a terminal would: a cursor, moves, erases, caps.

A :class:`Lines` keeps text and highlights in two parallel lists, so that a flood of plain lines
is one ``list.extend`` of strings rather than an object per line. A line longer than the byte
cap keeps its first bytes and a ``[... N more bytes]`` marker; whatever else it receives, however
many messages it takes, is counted and dropped, so one endless line cannot fill the memory.

The cursor works as in a terminal whose screen is the stream's own lines (from ``top`` down):

- text overwrites what is under the cursor, and a column past the end is padded with spaces;
- ``\\n`` goes to the start of the next line, ``\\r`` to the start of this one (so ``\\r`` then
  erase-to-end empties the line, and ``\\r`` then shorter text leaves the old text's end);
- ``up`` stops at ``top``, ``down`` one line past the last (lines are made when written to);
- ``left`` (``\\b``) moves without erasing: ``ab\\b`` shows ``ab`` until something overwrites
  the ``b`` or erases it (``ab\\b`` then erase-to-end shows ``a``);
- stdout and stderr share the cursor, never a line (:func:`switch_streams`).

Columns count code points (a tab or a wide character is one); highlights are byte offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .segments import Control, Groups, Piece

Span = tuple[int, int, str]
"""(start byte, end byte, highlight group) within one line: Neovim's columns are bytes."""

NO_SPANS: tuple[Span, ...] = ()

CUT_GROUP = "KernelInfo"


@dataclass(eq=False)
class Lines:
    """Lines and a cursor; ``top <= row <= len(texts)``, ``row == len(texts)`` being the line
    after the last, which is made when something is written to it."""

    texts: list[str] = field(default_factory=list)
    spans: list[tuple[Span, ...]] = field(default_factory=list)
    row: int = 0
    col: int = 0  # in code points
    top: int = 0  # the cursor never goes above: the lines before are not the stream's
    cut: Cut | None = None  # set while the cursor's line is over the byte cap
    writer: str = ""  # the stream (stdout, stderr) that wrote last
    cut_short: str = ""  # the stream whose open line the other one's text ended

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(eq=False)
class Cut:
    """A line over the cap: what is kept of it and how many bytes were not.

    A column at or past the end of ``kept`` is in the part not kept: what is written there is
    counted, not stored.
    """

    kept: str
    kept_bytes: int
    spans: tuple[Span, ...]
    hidden: int

    def line(self) -> tuple[str, tuple[Span, ...]]:
        marker = f"[... {self.hidden} more bytes]"
        start = self.kept_bytes + 1
        return f"{self.kept} {marker}", (*self.spans, (start, start + len(marker), CUT_GROUP))


def write(lines: Lines, pieces: Sequence[Piece], max_bytes: int) -> int:
    """Write ``pieces`` at the cursor; return the first line that may have changed."""
    first = len(lines.texts)
    for piece in pieces:
        if isinstance(piece, Control):
            if piece.kind == "erase" and lines.row < first:
                first = lines.row
            _obey(lines, piece, max_bytes)
            continue
        text, groups = piece
        if not text:
            continue
        if "\r" in text:
            text = text.replace("\r\n", "\n")  # a line ending from Windows is still fast
        row = lines.row
        if row < first:
            first = row
        # A flood is plain text at the end: appended, with no column to overwrite from.
        if "\r" not in text and (row == len(lines.texts) and not lines.col or _at_line_end(lines)):
            _append(lines, text, groups, max_bytes)
        else:
            _overwrite(lines, text, groups, max_bytes)
    return first


def end_line(lines: Lines) -> int:
    """The stream's text ends: what is written next starts on a line of its own, after the last.

    Blank lines (empty or all spaces) from the cursor's line down are dropped: they are what a
    closed ``tqdm(leave=False)`` leaves, and a terminal's next prompt would write over them.
    Return how many.
    """
    keep = max(lines.top, min(lines.row, len(lines.texts)))
    end = len(lines.texts)
    while end > keep and not lines.texts[end - 1].strip(" "):
        end -= 1
    dropped = len(lines.texts) - end
    if dropped:
        del lines.texts[end:]
        del lines.spans[end:]
    park(lines)
    return dropped


def park(lines: Lines) -> None:
    """The cursor after the last line, and no line above it the stream's to go back to."""
    lines.row = lines.top = len(lines.texts)
    lines.col, lines.cut = 0, None
    lines.writer = lines.cut_short = ""


def switch_streams(lines: Lines, stream: str, pieces: Sequence[Piece]) -> Sequence[Piece]:
    """``pieces`` of ``stream`` to write where another stream wrote last.

    Jupyter shows stdout and stderr apart, never in one line, and ipykernel sends each when it
    likes (at the end, stdout first): the newline tqdm writes after its last bar comes after the
    ``print`` that follows the loop. So text that comes while the other stream's line is open
    starts on the next line, and the other's newline, when it comes, is the one already made.
    """
    previous, owed = lines.writer, lines.cut_short
    lines.writer, lines.cut_short = stream, ""
    first = pieces[0]
    newline = first if not isinstance(first, Control) and first[0].startswith("\n") else None
    if previous and lines.row < len(lines.texts) and lines.col > 0:
        lines.cut_short = previous
        return pieces if newline else [("\n", ()), *pieces]
    if owed == stream and newline:
        return [(newline[0][1:], newline[1]), *pieces[1:]]
    return pieces


def shift(lines: Lines, delta: int) -> None:
    """``delta`` lines were added above the cursor's lines (removed from the top, if negative)."""
    lines.top = max(0, lines.top + delta)
    if lines.row + delta < 0:  # the cursor's own line was trimmed away
        lines.row, lines.col, lines.cut = 0, 0, None
    else:
        lines.row += delta


def _at_line_end(lines: Lines) -> bool:
    """Is the cursor at the end of the last line, where text simply goes on?"""
    if lines.row != len(lines.texts) - 1:
        return False
    if lines.cut is not None:
        return lines.col >= len(lines.cut.kept)
    return lines.col == len(lines.texts[-1])


def _append(lines: Lines, text: str, groups: Groups, max_bytes: int) -> None:
    """The fast path: ``text`` (no ``\\r``) added at the end, where the cursor is."""
    pieces = text.split("\n")
    ended = not pieces[-1]
    if ended:
        pieces.pop()
    if lines.row < len(lines.texts):  # the open last line goes on
        _extend_last(lines, pieces[0], groups, max_bytes)
        del pieces[0]
    if pieces:
        _add_lines(lines, pieces, groups, max_bytes)
    if ended:
        lines.row, lines.col, lines.cut = len(lines.texts), 0, None
    else:
        lines.row = len(lines.texts) - 1
        lines.col = len(lines.cut.kept) if lines.cut else len(lines.texts[-1])


def _add_lines(lines: Lines, pieces: list[str], groups: Groups, max_bytes: int) -> None:
    if not groups:
        # A flood is mostly here: whole lines without highlights.
        lines.texts.extend(pieces)
        lines.spans.extend([NO_SPANS] * len(pieces))
        lines.cut = None
        # A code point is at most 4 bytes: most lines need no encoding to pass the cap.
        if max(map(len, pieces)) > max_bytes // 4:
            _cut_long_lines(lines, len(pieces), max_bytes)
        return
    for piece in pieces:
        lines.texts.append("")
        lines.spans.append(NO_SPANS)
        lines.cut = None
        _extend_last(lines, piece, groups, max_bytes)


def _extend_last(lines: Lines, piece: str, groups: Groups, max_bytes: int) -> None:
    text, spans = lines.texts[-1], lines.spans[-1]
    if lines.cut is not None:
        lines.cut.hidden += _byte_len(piece)
        lines.texts[-1], lines.spans[-1] = lines.cut.line()
        return
    if piece and groups:
        start = _byte_len(text)
        end = start + _byte_len(piece)
        spans = (*spans, *((start, end, g) for g in groups))
    text += piece
    if len(text) > max_bytes // 4 and _byte_len(text) > max_bytes:
        lines.cut = _cut(text, spans, max_bytes)
        text, spans = lines.cut.line()
    lines.texts[-1], lines.spans[-1] = text, spans


def _cut_long_lines(lines: Lines, count: int, max_bytes: int) -> None:
    last = len(lines) - 1
    for i in range(len(lines) - count, len(lines)):
        text = lines.texts[i]
        if len(text) > max_bytes // 4 and _byte_len(text) > max_bytes:
            cut = _cut(text, lines.spans[i], max_bytes)
            lines.texts[i], lines.spans[i] = cut.line()
            if i == last:
                lines.cut = cut  # the only line that may still grow


def _overwrite(lines: Lines, text: str, groups: Groups, max_bytes: int) -> None:
    """The slow path: ``text`` written over what is under the cursor, ``\\r`` obeyed."""
    for i, line in enumerate(text.split("\n")):
        if i:
            _make_row(lines)
            lines.row, lines.col, lines.cut = lines.row + 1, 0, None
        first, *again = line.split("\r")
        if first:
            _put(lines, first, groups, max_bytes)
        for part in _uncovered(again):
            lines.col = 0
            if part:
                _put(lines, part, groups, max_bytes)


def _uncovered(parts: list[str]) -> list[str]:
    """Of ``parts``, each written from column 0, those that no later one wholly overwrites (the
    last always): a bar redrawn 10k times in one message is written a few times, not 10k."""
    kept, longest = [], -1
    for part in reversed(parts):
        if len(part) > longest:
            kept.append(part)
            longest = len(part)
    kept.reverse()
    return kept


def _put(lines: Lines, part: str, groups: Groups, max_bytes: int) -> None:
    """``part`` (one line's text, no ``\\r``) written at the cursor, which moves past it."""
    _make_row(lines)
    row, col, cut = lines.row, lines.col, lines.cut
    lines.col = col + len(part)
    if cut is not None and col >= len(cut.kept):
        cut.hidden += _byte_len(part)
        lines.texts[row], lines.spans[row] = cut.line()
        return
    # On a cut line only what is kept is known: the rest stays counted as it was.
    text, spans = (cut.kept, cut.spans) if cut is not None else (lines.texts[row], lines.spans[row])
    hidden = cut.hidden if cut is not None else 0
    text, spans = _overlay(text, spans, col, part, groups)
    if len(text) > max_bytes // 4 and _byte_len(text) > max_bytes:
        cut = _cut(text, spans, max_bytes)
        cut.hidden += hidden
    elif hidden:
        cut = Cut(text, _byte_len(text), spans, hidden)
    else:
        cut = None
    lines.cut = cut
    lines.texts[row], lines.spans[row] = cut.line() if cut is not None else (text, spans)


def _obey(lines: Lines, control: Control, max_bytes: int) -> None:
    kind, n = control.kind, control.n
    if kind == "erase":
        row = lines.row
        if row < len(lines.texts) and (n or lines.cut or lines.col < len(lines.texts[row])):
            _erase(lines, n)  # but not to the end from the end, what most erases after text do
    elif kind in ("up", "down"):
        row = lines.row - n if kind == "up" else lines.row + n
        row = max(lines.top, min(row, len(lines.texts)))
        if row != lines.row:
            lines.row, lines.cut = row, None
    elif kind == "left":
        lines.col = max(0, lines.col - n)
    elif kind == "right":  # but no padding past what the cap would keep
        lines.col = max(lines.col, min(lines.col + n, max_bytes))
    else:
        lines.col = min(n, max_bytes)


def _erase(lines: Lines, mode: int) -> None:
    """``ESC [ mode K`` on the cursor's line: 0 to the end, 1 to the cursor, 2 all of it."""
    row, col, cut = lines.row, lines.col, lines.cut
    text, spans = (cut.kept, cut.spans) if cut is not None else (lines.texts[row], lines.spans[row])
    if mode == 1:  # a terminal blanks the cells: what follows keeps its columns
        text, spans = _overlay(text, spans, 0, " " * min(col + 1, len(text)), ())
    elif mode == 2:
        text, spans, cut = "", NO_SPANS, None
    elif cut is None or col < len(cut.kept):
        text, spans, cut = text[:col], _clip(spans, _byte_len(text[:col])), None
    else:
        return  # erasing from inside the part never kept: it stays counted
    lines.cut = cut
    if cut is not None:
        cut.kept, cut.kept_bytes, cut.spans = text, _byte_len(text), spans
        text, spans = cut.line()
    lines.texts[row], lines.spans[row] = text, spans


def _overlay(
    text: str, spans: tuple[Span, ...], col: int, part: str, groups: Groups
) -> tuple[str, tuple[Span, ...]]:
    """``text`` with ``part`` written over it from ``col``, and the spans to match.

    Spaces left over after ``part`` at the end of the line are dropped, unless a background or
    an underline shows them: a terminal shows them as the empty cells they are, and tqdm clears
    a line with spaces, so that ``done`` written over it would otherwise end in dozens of them.
    """
    if col > len(text):
        text += " " * (col - len(text))
    end = col + len(part)
    rest = text[end:]
    blank = bool(rest) and not rest.strip(" ")
    if not spans and not groups:
        return text[:col] + part + ("" if blank else rest), NO_SPANS
    start, stop = _byte_len(text[:col]), _byte_len(text[:end])
    if blank and not any(e > stop and g.startswith(_SHOWS_BLANKS) for _, e, g in spans):
        rest = ""
    width = _byte_len(part)
    shift = start + width - stop
    kept: list[Span] = []
    for s, e, g in spans:
        if s < start:
            kept.append((s, min(e, start), g))
        if e > stop and rest:
            kept.append((max(s, stop) + shift, e + shift, g))
    if width:
        kept.extend((start, start + width, g) for g in groups)
    return text[:col] + part + rest, tuple(kept)


_SHOWS_BLANKS = ("KernelAnsiBg", "KernelAnsiUnderline")


def _make_row(lines: Lines) -> None:
    while len(lines.texts) <= lines.row:
        lines.texts.append("")
        lines.spans.append(NO_SPANS)


def _cut(text: str, spans: tuple[Span, ...], max_bytes: int) -> Cut:
    data = text.encode("utf-8", "surrogatepass")
    # Decoding the first bytes drops a character that the cut split in two.
    kept = data[:max_bytes].decode("utf-8", "ignore")
    kept_bytes = len(kept.encode("utf-8"))
    return Cut(kept, kept_bytes, _clip(spans, kept_bytes), len(data) - kept_bytes)


def _clip(spans: tuple[Span, ...], end: int) -> tuple[Span, ...]:
    """``spans`` cut to a line ending at byte ``end``."""
    return tuple((s, min(e, end), g) for s, e, g in spans if s < end)


def _byte_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
