"""The pieces of the output model: items, the blocks of executions they make up, and the edit
that tells the editor what changed (see :mod:`.document`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from .lines import Lines
from .rich import Rich


@dataclass(eq=False)
class Item:
    """The lines of one output within its block, found by ``key`` (a display_id) if it has one."""

    block: Block
    key: str | None = None
    lines: int = 0
    stream: bool = False  # stream text: the next stream message continues it, at the cursor
    live: bool = True  # False once trimmed or cleared away
    rich: Rich | None = None  # a display's or result's bundle
    saved: Saved | None = None  # what a notebook keeps of it (a stream's is its lines)


@dataclass(eq=False)
class Block(Lines):
    """The lines of one execution; ``items[0]`` is its header, which may have no lines.

    The cursor (see :class:`Lines`) is always in the last item's lines or just after them, and
    ``top`` is where that item starts: stream text can rewrite its own lines, never a header or
    another item's.
    """

    items: list[Item] = field(default_factory=list)
    closed: bool = False
    lead: int = 0  # blank lines that separate it from the block before, part of its header
    cell: Cell | None = None  # the execution's code, if it is one (not a notice)

    def __post_init__(self) -> None:
        self.items.append(Item(self))


# Section: what a notebook needs (:mod:`.notebook`), kept with the blocks so that it goes when
# they are trimmed or cleared away, as the output shown does.


@dataclass
class Cell:
    """The execution a block shows, as a notebook's code cell: its ``id`` is made once, so that
    a session saved twice gives its cells the same ids."""

    code: str
    other: bool = False  # run by another client of the kernel
    count: int | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class Saved:
    """An output as a notebook keeps it: its ``output_type``, and an error's parts, raw (ANSI
    and all) as Jupyter stores them. A display's or result's bundle is its item's Rich, so an
    updated display is saved as it is now."""

    output_type: str  # execute_result, display_data or error
    ename: str = ""
    evalue: str = ""
    traceback: tuple[str, ...] = ()


RESULT = Saved("execute_result")
DISPLAY = Saved("display_data")


@dataclass(frozen=True)
class Mark:
    """What the editor keeps beside lines: where a block starts (``rich`` None), or an item with
    a bundle (its ``rows`` lines, from ``row`` relative to the edit's start)."""

    row: int
    rows: int
    rich: Rich | None = None


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
    marks: list[Mark] = field(default_factory=list)


def marks_of(block: Block, row: int, first: int, marks: list[Mark]) -> None:
    """The marks of ``block`` on its lines from ``first`` on; ``row`` is its first line's row
    in the edit (negative when the edit starts inside it)."""
    header = block.items[0]
    if header.lines > block.lead >= first:
        marks.append(Mark(row + block.lead, header.lines - block.lead))
    at = 0
    for item in block.items:
        if item.rich is not None and item.lines and at >= first and item.rich.marked:
            marks.append(Mark(row + at, item.lines, item.rich))
        at += item.lines


def items_before(block: Block, item: Item) -> list[Item]:
    for i, other in enumerate(block.items):
        if other is item:
            return block.items[:i]
    return block.items


def kill(items: list[Item]) -> None:
    for item in items:
        item.live = False
