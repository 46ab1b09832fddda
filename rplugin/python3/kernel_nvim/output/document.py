"""The output buffer's content as a model: blocks of output items, one block per execution.

A block holds a header (the code sent) and the items its execution made: runs of stream text,
results, displays, errors, notices. Each item owns whole lines, so one can be replaced in place
(an ``update_display_data`` names its ``display_id``) without touching its neighbours.

Output is routed to the block of the execution that caused it, wherever that block is, and the
model keeps at most ``max_lines`` lines, trimming the oldest. The editor is told only what
changed since the last time it asked (:meth:`OutputDocument.take_edit`): lines trimmed at the top
and a tail to replace. Most output is appended at the end, so that tail is usually just the new
lines, and lines that were trimmed before the editor ever saw them are never sent at all. That is
what keeps a million-line flood cheap.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import render
from .blocks import Block, Edit, Item, Mark, Saved, items_before, kill, marks_of
from .lines import NO_SPANS, Lines, Span, end_line, park, shift, switch_streams, write
from .rich import Rich
from .segments import Piece, Segment

__all__ = ["NO_SPANS", "Block", "Edit", "Item", "Mark", "OutputDocument", "Span"]


class OutputDocument:
    def __init__(self, max_lines: int, max_line_bytes: int = 10_000) -> None:
        self._max_lines = max(1, max_lines)
        self.max_line_bytes = max(1, max_line_bytes)
        self.blocks: list[Block] = []
        self._count = 0  # lines in all blocks
        self._dirty: int | None = 0  # first line that differs from the editor's copy
        self._trim = 0  # lines to delete at the top of the editor's copy
        self._keyed: dict[str, list[Item]] = {}
        self._images: list[Item] = []  # items given an image since take_images

    def __len__(self) -> int:
        return self._count

    @property
    def max_lines(self) -> int:
        return self._max_lines

    @max_lines.setter
    def max_lines(self, value: int) -> None:
        self._max_lines = max(1, value)
        self._enforce_cap()

    def new_block(self, header: list[Segment], lead: int = 0, before: Block | None = None) -> Block:
        """A block at the end, or in front of ``before`` if that is still shown."""
        block = Block(lead=lead)
        at = self._offset(before) if before is not None else None
        if before is None or at is None:
            self.blocks.append(block)
        else:
            self.blocks.insert(self.blocks.index(before), block)
            self._mark(at)
        self.set_header(block, header)
        return block

    def set_header(self, block: Block, header: list[Segment]) -> None:
        """Replace the block's header, e.g. ``In [ ]:`` by ``In [7]:`` once the count is known."""
        self._replace(block.items[0], header)

    def append(self, block: Block, pieces: Sequence[Piece], stream: str = "stdout") -> None:
        """Stream text, partial lines and cursor moves included: it continues the block's last
        stream item, where the cursor is."""
        start = self._offset(block)
        if start is None or not pieces:
            return
        item = block.items[-1]
        if not item.stream:
            self._end_stream(block)
            item = Item(block, stream=True)
            block.items.append(item)
        if stream != block.writer:
            pieces = switch_streams(block, stream, pieces)
        before = len(block)
        first_changed = write(block, pieces, self.max_line_bytes)
        item.lines += len(block) - before
        self._count += len(block) - before
        self._mark(start + first_changed)
        self._enforce_cap()

    def add_item(
        self,
        block: Block,
        segments: list[Segment],
        key: str | None = None,
        rich: Rich | None = None,
        saved: Saved | None = None,
    ) -> None:
        """A result, a display, an error: lines of its own, replaceable by ``key`` if given;
        ``saved`` if a notebook keeps it."""
        start = self._offset(block)
        if start is None:
            return
        self._end_stream(block)  # a partial line of stream text stays the stream's
        item = Item(block, key, rich=rich, saved=saved)
        block.items.append(item)
        before = len(block)
        write(block, segments, self.max_line_bytes)
        end_line(block)
        item.lines = len(block) - before
        self._count += item.lines
        if key is not None:
            self._keyed.setdefault(key, []).append(item)
        self._note_image(item)
        self._mark(start + before)
        self._enforce_cap()

    def replace_item(self, key: str, segments: list[Segment], rich: Rich | None = None) -> int:
        """Put ``segments`` in place of every item added with ``key``; how many there were."""
        items = list(self._keyed.get(key, []))
        return sum(self._replace(item, segments, rich) for item in items)

    def replace(self, item: Item, segments: list[Segment], rich: Rich | None = None) -> bool:
        """Put ``segments`` in place of ``item``'s lines; False when it is gone."""
        return self._replace(item, segments, rich)

    def clear_block(self, block: Block) -> None:
        """Remove the output of ``block``, keeping its header: ``clear_output``."""
        start = self._offset(block)
        header = block.items[0]
        if start is None or len(block.items) == 1:
            return
        removed = len(block) - header.lines
        del block.texts[header.lines :]
        del block.spans[header.lines :]
        end_line(block)
        self._forget(block.items[1:])
        del block.items[1:]
        self._count -= removed
        self._mark(start + header.lines)

    def note(self, block: Block, text: str) -> None:
        """A line about the session (``[no reply: ...]``), never glued to a partial line."""
        self.add_item(block, render.render_notice(text))

    def finish(self, block: Block) -> None:
        """The execution is over: end its open line; once trimmed away, the block goes."""
        self._end_stream(block)
        block.closed = True
        if not block.texts:  # every other closed block that was emptied is gone already
            self._prune()

    def clear(self) -> None:
        self._trim, self._dirty = 0, 0
        for block in self.blocks:
            block.texts.clear()
            block.spans.clear()
            end_line(block)
            kill(block.items[1:])
            header = block.items[0]
            header.lines, block.items[1:] = 0, []
        self._keyed.clear()
        self._count = 0
        self._prune()

    def take_edit(self) -> Edit | None:
        """What changed since the last call, or None."""
        if self._dirty is None and not self._trim:
            return None
        start = self._count if self._dirty is None else self._dirty
        lines: list[str] = []
        highlights: list[tuple[int, int, int, str]] = []
        marks: list[Mark] = []
        # What changed is mostly in the newest blocks: find the first from the end, so that a
        # buffer of many runs costs no more per edit than one of a few.
        first_block, seen = len(self.blocks), self._count
        while first_block > 0 and seen > start:
            first_block -= 1
            seen -= len(self.blocks[first_block])
        for block in self.blocks[first_block:]:
            n = len(block)
            if seen + n > start:
                first = max(0, start - seen)
                row = len(lines) - first
                lines.extend(block.texts[first:])
                for i, spans in enumerate(block.spans[first:], first):
                    if spans:
                        highlights.extend((row + i, s, e, g) for s, e, g in spans)
                marks_of(block, row, first, marks)
            seen += n
        edit = Edit(self._trim, start, lines, highlights, marks=marks)
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

    # Images: the host's media worker writes and draws them, then their items are sent again.

    def take_images(self) -> list[Item]:
        """The items given an image since the last call, and still shown."""
        items, self._images = self._images, []
        return [item for item in items if item.live and item.lines]

    def item_at(self, line: int) -> Item | None:
        """The item holding ``line`` (0-based); a block's header is its first item."""
        found = self.block_at(line)
        if found is None:
            return None
        block, at = found
        for item in block.items:
            if at < item.lines:
                return item
            at -= item.lines
        return None

    def touch(self, item: Item) -> None:
        """``item`` changed beyond its lines (its image was drawn): the editor gets it again."""
        start = self._offset(item.block)
        if start is not None and item.live:
            self._mark(start + sum(other.lines for other in items_before(item.block, item)))

    def _note_image(self, item: Item) -> None:
        if item.rich is not None and item.rich.image is not None:
            self._images.append(item)

    def resend_from(self, line: int) -> None:
        """The editor got the lines before ``line`` of the last edit, not the rest."""
        self._mark(line)

    def invalidate(self) -> None:
        """The editor lost its copy (the buffer was wiped): the next edit sends everything."""
        self._trim, self._dirty = 0, 0

    def _replace(self, item: Item, segments: list[Segment], rich: Rich | None = None) -> bool:
        block = item.block
        start = self._offset(block)
        if start is None or not item.live:
            return False  # trimmed away while an earlier one was replaced
        if rich is not None:
            item.rich = rich
            self._note_image(item)
        at = sum(other.lines for other in items_before(block, item))
        new = Lines()
        write(new, segments, self.max_line_bytes)
        block.texts[at : at + item.lines] = new.texts
        block.spans[at : at + item.lines] = new.spans
        self._count += len(new) - item.lines
        if item.stream and item is block.items[-1]:
            park(block)  # its cursor's lines are gone: the stream goes on after the new ones
        else:
            shift(block, len(new) - item.lines)  # above the cursor, or the cursor after it
        item.lines = len(new)
        self._mark(start + at)
        self._enforce_cap()
        return True

    def offset(self, block: Block) -> int:
        """The first line of ``block``; the end when it is no longer shown."""
        at = self._offset(block)
        return self._count if at is None else at

    def _offset(self, block: Block) -> int | None:
        seen = 0
        for b in reversed(self.blocks):  # output mostly goes to the newest blocks
            if b is block:
                return self._count - seen - len(b)
            seen += len(b)
        return None

    def _end_stream(self, block: Block) -> None:
        """The stream text at the end of ``block`` is over: what follows starts after it."""
        dropped = end_line(block)
        if dropped:
            block.items[-1].lines -= dropped  # only the last item's lines are below the cursor
            self._count -= dropped
            start = self._offset(block)
            if start is not None:
                self._mark(start + len(block))

    def _mark(self, line: int) -> None:
        self._dirty = line if self._dirty is None else min(self._dirty, line)

    def _enforce_cap(self) -> None:
        excess = self._count - self._max_lines
        if excess <= 0:
            return
        removed = 0
        for block in self.blocks:
            if removed == excess:
                break
            n = min(len(block), excess - removed)
            del block.texts[:n]
            del block.spans[:n]
            self._trim_items(block, n)
            removed += n
        self._count -= removed
        # Lines before the dirty mark are in the editor's copy: delete them there too.
        dirty = self._count + removed if self._dirty is None else self._dirty
        self._trim += min(removed, dirty)
        self._dirty = max(0, dirty - removed)
        self._prune()

    def _trim_items(self, block: Block, n: int) -> None:
        """``n`` lines went from the top of ``block``: take them from its first items."""
        shift(block, -n)
        block.lead = max(0, block.lead - n)
        gone = 0
        for item in block.items:
            if n == 0:
                break
            taken = min(item.lines, n)
            item.lines -= taken
            n -= taken
            gone += item.lines == 0 and item is not block.items[0]
        if gone:
            # Emptied items are the first ones after the header; the header always stays.
            dead = block.items[1 : 1 + gone]
            del block.items[1 : 1 + gone]
            self._forget(dead)

    def _forget(self, items: list[Item]) -> None:
        kill(items)
        for item in items:
            if item.key is not None and item.key in self._keyed:
                self._keyed[item.key].remove(item)
                if not self._keyed[item.key]:
                    del self._keyed[item.key]

    def _prune(self) -> None:
        kept = []
        for block in self.blocks:
            if block.texts or not block.closed:
                kept.append(block)
            else:
                self._forget(block.items[1:])
        self.blocks = kept
