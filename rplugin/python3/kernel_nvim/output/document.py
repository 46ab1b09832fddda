"""The output buffer's content as a model: blocks of lines, one block per execution.

Output is routed to the block of the execution that caused it, wherever that block is, and the
model keeps at most ``max_lines`` lines, trimming the oldest. The editor is told only what
changed since the last time it asked (:meth:`OutputDocument.take_edit`): lines trimmed at the top
and a tail to replace. Most output is appended at the end, so that tail is usually just the new
lines, and lines that were trimmed before the editor ever saw them are never sent at all. That is
what keeps a million-line flood cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import render
from .segments import Segment

# (start byte, end byte, highlight group) within one line: Neovim's columns are bytes.
Span = tuple[int, int, str]
NO_SPANS: tuple[Span, ...] = ()


@dataclass
class Block:
    """The lines of one execution: a header (the code sent) and the output it caused.

    Text and highlights are kept in two parallel lists, so that a flood of plain lines is one
    ``list.extend`` of strings rather than an object per line."""

    texts: list[str] = field(default_factory=list)
    spans: list[tuple[Span, ...]] = field(default_factory=list)
    header_len: int = 0
    open_line: bool = False  # the last line did not end with a newline yet
    closed: bool = False

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Edit:
    """Delete ``trim`` lines at the top, then replace everything from ``start`` with ``lines``
    (unless ``replace`` is false: an edit that only trims)."""

    trim: int
    start: int
    lines: list[str]
    # (row relative to start, start byte, end byte, group)
    highlights: list[tuple[int, int, int, str]]
    replace: bool = True


class OutputDocument:
    def __init__(self, max_lines: int) -> None:
        self.max_lines = max(1, max_lines)
        self.blocks: list[Block] = []
        self._count = 0  # lines in all blocks
        self._dirty: int | None = 0  # first line that differs from the editor's copy
        self._trim = 0  # lines to delete at the top of the editor's copy

    def __len__(self) -> int:
        return self._count

    def new_block(self, header: list[Segment]) -> Block:
        block = Block()
        self.blocks.append(block)
        self.set_header(block, header)
        return block

    def set_header(self, block: Block, header: list[Segment]) -> None:
        """Replace the block's header, e.g. ``In [ ]:`` by ``In [7]:`` once the count is known."""
        new = Block()
        _append(new, header)
        old_len = min(block.header_len, len(block))
        start = self._offset(block)
        if start is None:
            return
        block.texts[:old_len] = new.texts
        block.spans[:old_len] = new.spans
        block.header_len = len(new)
        if len(block) == block.header_len:
            block.open_line = new.open_line
        self._count += len(new) - old_len
        self._mark(start)
        self._enforce_cap()

    def append(self, block: Block, segments: list[Segment]) -> None:
        start = self._offset(block)
        if start is None:
            return
        before = len(block)
        first_changed = before - 1 if block.open_line and before else before
        _append(block, segments)
        self._count += len(block) - before
        self._mark(start + first_changed)
        self._enforce_cap()

    def add_item(self, block: Block, segments: list[Segment], key: str | None = None) -> None:
        """A result or a display: whole lines of their own."""
        self.append(block, segments)

    def note(self, block: Block, text: str) -> None:
        """A line about the session (``[no reply: ...]``), never glued to a partial line."""
        if block.open_line:
            self.append(block, [("\n", ())])
        self.append(block, render.render_notice(text))

    def finish(self, block: Block) -> None:
        """The execution is over: end its open line; once trimmed away, the block goes."""
        if block.open_line:
            self.append(block, [("\n", ())])
        block.closed = True
        self._prune()

    def clear(self) -> None:
        self._trim, self._dirty = 0, 0
        for block in self.blocks:
            block.texts.clear()
            block.spans.clear()
            block.header_len = 0
            block.open_line = False
        self._count = 0
        self._prune()

    def take_edit(self) -> Edit | None:
        """What changed since the last call, or None."""
        if self._dirty is None and not self._trim:
            return None
        start = self._count if self._dirty is None else self._dirty
        lines: list[str] = []
        highlights: list[tuple[int, int, int, str]] = []
        seen = 0
        for block in self.blocks:
            n = len(block)
            if seen + n > start:
                first = max(0, start - seen)
                row = len(lines) - first
                lines.extend(block.texts[first:])
                for i, spans in enumerate(block.spans[first:], first):
                    if spans:
                        highlights.extend((row + i, s, e, g) for s, e, g in spans)
            seen += n
        edit = Edit(self._trim, start, lines, highlights)
        self._trim, self._dirty = 0, None
        return edit

    def block_at(self, line: int) -> tuple[Block, int] | None:
        """The block holding ``line`` (0-based) and the line's index in it."""
        seen = 0
        for block in self.blocks:
            if line < seen + len(block):
                return (block, line - seen) if line >= seen else None
            seen += len(block)
        return None

    def resend_from(self, line: int) -> None:
        """The editor got the lines before ``line`` of the last edit, not the rest."""
        self._mark(line)

    def invalidate(self) -> None:
        """The editor lost its copy (the buffer was wiped): the next edit sends everything."""
        self._trim, self._dirty = 0, 0

    def _offset(self, block: Block) -> int | None:
        seen = 0
        for b in reversed(self.blocks):  # output mostly goes to the newest blocks
            if b is block:
                return self._count - seen - len(b)
            seen += len(b)
        return None

    def _mark(self, line: int) -> None:
        self._dirty = line if self._dirty is None else min(self._dirty, line)

    def _enforce_cap(self) -> None:
        excess = self._count - self.max_lines
        if excess <= 0:
            return
        removed = 0
        for block in self.blocks:
            if removed == excess:
                break
            n = min(len(block), excess - removed)
            del block.texts[:n]
            del block.spans[:n]
            block.header_len = max(0, block.header_len - n)
            if not block.texts:
                block.open_line = False
            removed += n
        self._count -= removed
        # Lines before the dirty mark are in the editor's copy: delete them there too.
        dirty = self._count + removed if self._dirty is None else self._dirty
        self._trim += min(removed, dirty)
        self._dirty = max(0, dirty - removed)
        self._prune()

    def _prune(self) -> None:
        self.blocks = [b for b in self.blocks if b.texts or not b.closed]


def _append(block: Block, segments: list[Segment]) -> None:
    for text, groups in segments:
        if not text:
            continue
        pieces = text.replace("\r\n", "\n").split("\n")
        if block.open_line:
            _extend_last(block, pieces[0], groups)
        else:
            _add_lines(block, pieces[:1], groups)
        if len(pieces) == 1:
            block.open_line = True
            continue
        tail = pieces.pop()
        _add_lines(block, pieces[1:], groups)
        block.open_line = bool(tail)  # text ending in a newline leaves no line open
        if tail:
            _add_lines(block, [tail], groups)


def _add_lines(block: Block, pieces: list[str], groups: tuple[str, ...]) -> None:
    if not groups and not any("\r" in p for p in pieces):
        # A flood is mostly here: whole lines without highlights.
        block.texts.extend(pieces)
        block.spans.extend([NO_SPANS] * len(pieces))
        return
    for piece in pieces:
        block.texts.append("")
        block.spans.append(NO_SPANS)
        _extend_last(block, piece, groups)


def _extend_last(block: Block, piece: str, groups: tuple[str, ...]) -> None:
    text, spans = block.texts[-1], block.spans[-1]
    if "\r" in piece:
        # A carriage return starts the line over, as a terminal shows a progress bar.
        text, spans = "", NO_SPANS
        piece = piece.rsplit("\r", 1)[1]
    if piece and groups:
        start = len(text.encode("utf-8"))
        end = start + len(piece.encode("utf-8"))
        spans = (*spans, *((start, end, g) for g in groups))
    block.texts[-1], block.spans[-1] = text + piece, spans
