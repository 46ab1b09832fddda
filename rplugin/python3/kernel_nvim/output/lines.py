"""Highlighted text written into lines the way a terminal would: partial lines, ``\\r``, caps.

A :class:`Lines` keeps text and highlights in two parallel lists, so that a flood of plain lines
is one ``list.extend`` of strings rather than an object per line. A line longer than the byte
cap keeps its first bytes and a ``[... N more bytes]`` marker; whatever else it receives, however
many messages it takes, is counted and dropped, so one endless line cannot fill the memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .segments import Groups, Segment

Span = tuple[int, int, str]
"""(start byte, end byte, highlight group) within one line: Neovim's columns are bytes."""

NO_SPANS: tuple[Span, ...] = ()

CUT_GROUP = "KernelInfo"


@dataclass(eq=False)
class Lines:
    texts: list[str] = field(default_factory=list)
    spans: list[tuple[Span, ...]] = field(default_factory=list)
    open_line: bool = False  # the last line did not end with a newline yet
    cut: Cut | None = None  # set while the open last line is over the byte cap

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(eq=False)
class Cut:
    """A line over the cap: what is kept of it and how many bytes were not."""

    kept: str
    kept_bytes: int
    spans: tuple[Span, ...]
    hidden: int

    def line(self) -> tuple[str, tuple[Span, ...]]:
        marker = f"[... {self.hidden} more bytes]"
        start = self.kept_bytes + 1
        return f"{self.kept} {marker}", (*self.spans, (start, start + len(marker), CUT_GROUP))


def write(lines: Lines, segments: list[Segment], max_bytes: int) -> None:
    """Append ``segments`` to ``lines``, continuing the open line if there is one."""
    for text, groups in segments:
        if not text:
            continue
        plain = not groups and "\r" not in text
        pieces = text.replace("\r\n", "\n").split("\n")
        if lines.open_line:
            _extend_last(lines, pieces[0], groups, max_bytes)
        else:
            _add_lines(lines, pieces[:1], groups, plain, max_bytes)
        if len(pieces) == 1:
            lines.open_line = True
            continue
        tail = pieces.pop()
        _add_lines(lines, pieces[1:], groups, plain, max_bytes)
        lines.open_line = bool(tail)  # text ending in a newline leaves no line open
        if tail:
            _add_lines(lines, [tail], groups, plain, max_bytes)
        else:
            lines.cut = None


def end_line(lines: Lines) -> None:
    """End the open line, if any: what is written next starts a line of its own."""
    lines.open_line = False
    lines.cut = None


def _add_lines(
    lines: Lines, pieces: list[str], groups: Groups, plain: bool, max_bytes: int
) -> None:
    if not pieces:
        return
    if plain:
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
    if "\r" in piece:
        # A carriage return starts the line over, as a terminal shows a progress bar.
        text, spans, lines.cut = "", NO_SPANS, None
        piece = piece.rsplit("\r", 1)[1]
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


def _cut(text: str, spans: tuple[Span, ...], max_bytes: int) -> Cut:
    data = text.encode("utf-8", "surrogatepass")
    # Decoding the first bytes drops a character that the cut split in two.
    kept = data[:max_bytes].decode("utf-8", "ignore")
    kept_bytes = len(kept.encode("utf-8"))
    spans = tuple((s, min(e, kept_bytes), g) for s, e, g in spans if s < kept_bytes)
    return Cut(kept, kept_bytes, spans, len(data) - kept_bytes)


def _byte_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
