"""An HTML table laid out as aligned columns of text, a DataFrame's the way pandas prints it.

A DataFrame's ``_repr_html_`` (``<table class="dataframe">``) is read back into its text repr
by pandas' own rules (``DataFrameFormatter``): columns one space apart, every value
right-aligned after a space kept for its sign (a minus takes it), the label of a numeric
column given that space too, the index left-aligned, a label that spans rows written once
(the rows below it blank), one that spans columns counted in its first column, and the row
that marks cut rows written with ``..`` where a column is narrow. Other tables keep what their
HTML says (``align``, ``text-align``), with two spaces between columns, numbers right-aligned
and text left.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Union

from ..segments import Segment

LEFT, RIGHT, CENTER = "left", "right", "center"
# A table is drawn at most this big: a bigger one is cut, and says so on its last line.
MAX_ROWS = 5_000
MAX_COLUMNS = 500
_DOTS = "..."


@dataclass
class Cell:
    """One ``<td>`` or ``<th>``: its text on one line, and what its tags said."""

    segments: list[Segment]
    header: bool = False  # a <th>
    align: str = ""  # left, right, center when the HTML says so ("" when it does not)
    colspan: int = 1
    rowspan: int = 1
    text: str = field(init=False)
    width: int = field(init=False)

    def __post_init__(self) -> None:
        self.text = "".join(text for text, _ in self.segments)
        self.width = display_width(self.text)
        self.colspan = min(max(1, self.colspan), MAX_COLUMNS)
        self.rowspan = min(max(1, self.rowspan), MAX_ROWS)


@dataclass
class Row:
    cells: list[Cell]
    head: bool = False  # in <thead>
    align: str = ""  # what the <tr> says


def layout(rows: list[Row], pandas: bool) -> list[list[Segment]]:
    """The lines of the table, without trailing spaces. ``pandas``: the table is a DataFrame's
    (``class="dataframe"``), laid out like its text repr."""
    table = _Table(rows[:MAX_ROWS], pandas)
    lines = [table.line(r) for r in range(len(table.rows))]
    if len(rows) > MAX_ROWS:
        lines.append([(f"[... {len(rows) - MAX_ROWS} more rows]", ("KernelInfo",))])
    return lines


def display_width(text: str) -> int:
    """Columns ``text`` takes on screen: 2 for a wide (East Asian) character, 0 for a mark."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def alignment(value: str) -> str:
    """``left``, ``right``, ``center`` from an ``align`` attribute or a ``text-align`` value."""
    value = value.strip().lower()
    if value in ("middle", "centre", "center"):
        return CENTER
    return value if value in (LEFT, RIGHT) else ""


@dataclass(frozen=True)
class _Spanned:
    """A place covered by a cell that starts to its left or above it (shown blank)."""

    cell: Cell


_Slot = Union[Cell, _Spanned, None]  # None: a short row has no cell there

_NUMBER = re.compile(
    r"[-+]?[$€£¥]?(?:\d[\d,_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?|[-+]?(?:nan|inf|infinity)",
    re.IGNORECASE,
)
# Values that pandas writes without the space for a sign.
_UNSIGNED = frozenset(("NaN", "NaT", "<NA>", "None", "nan"))


class _Table:
    def __init__(self, rows: list[Row], pandas: bool) -> None:
        self.rows = _heads(rows)
        self.pandas = pandas
        self.grid = _place(self.rows)
        self.columns = max((len(line) for line in self.grid), default=0)
        for line in self.grid:
            line.extend([None] * (self.columns - len(line)))
        self.dots = [pandas and _is_dots_row(row) for row in self.rows]
        self.index = self._index_columns()
        self.numeric = self._numeric_columns()
        self.widths = self._widths()

    def line(self, r: int) -> list[Segment]:
        row, slots = self.rows[r], self.grid[r]
        line: list[Segment] = []
        c = 0
        while c < self.columns:
            if c:
                line.append((" " * self._gap(c), ()))
            slot = slots[c]
            if isinstance(slot, Cell):
                end = min(c + slot.colspan, self.columns)
                width = sum(self.widths[c:end]) + sum(self._gap(i) for i in range(c + 1, end))
                line.extend(self._pad(r, row, slot, c, width))
                c = end
            else:  # empty, or covered (pandas writes a label that spans rows once)
                line.append((" " * self.widths[c], ()))
                c += 1
        return _rstrip(line)

    def _pad(self, r: int, row: Row, cell: Cell, column: int, width: int) -> list[Segment]:
        segments, cell_width = cell.segments, cell.width
        if self.dots[r]:  # pandas: "..." where it fits with room to spare, ".." elsewhere
            dots = _DOTS if width > 3 else ".."
            segments, cell_width = [(dots, ())], len(dots)
        room = max(0, width - cell_width)
        before = {LEFT: 0, RIGHT: room, CENTER: room // 2}[self._alignment(row, cell, column)]
        return [(" " * before, ()), *segments, (" " * (room - before), ())]

    def _alignment(self, row: Row, cell: Cell, column: int) -> str:
        if cell.align:
            return cell.align
        if column in self.index:
            return LEFT
        if row.align:
            return row.align
        if self.pandas or _is_number(cell) or (cell.header and column in self.numeric):
            return RIGHT
        return LEFT

    def _gap(self, column: int) -> int:
        """Spaces before ``column``: pandas puts one; two, but one between index levels."""
        if self.pandas or (column in self.index and column - 1 in self.index):
            return 1
        return 2

    def _index_columns(self) -> set[int]:
        """A DataFrame's index: the first columns holding a <th> on every row of the body."""
        if not any(row.head for row in self.rows):
            return set()  # no <thead>: a first column of <th>s is just labels
        body = [line for row, line in zip(self.rows, self.grid) if not row.head]
        index: set[int] = set()
        for c in range(self.columns):
            cells = [_cell(line[c]) for line in body]
            if not body or not all(cell is not None and cell.header for cell in cells):
                break
            index.add(c)
        return index

    def _numeric_columns(self) -> set[int]:
        """Columns whose values are numbers: pandas gives their label a sign's space too."""
        numeric = set()
        for c in range(self.columns):
            cells = [s for s in self._body_cells(c) if s.text.strip() and s.text != _DOTS]
            numbers = sum(_is_number(cell) or cell.text in _UNSIGNED for cell in cells)
            # A DataFrame's column is numeric or not as a whole; elsewhere, mostly is enough.
            enough = len(cells) if self.pandas else len(cells) // 2 + 1
            if cells and numbers >= enough:
                numeric.add(c)
        return numeric

    def _body_cells(self, column: int) -> list[Cell]:
        body = zip(self.rows, self.grid, self.dots)
        slots = [line[column] for row, line, dots in body if not row.head and not dots]
        return [slot for slot in slots if isinstance(slot, Cell)]

    def _widths(self) -> list[int]:
        widths = [0] * self.columns
        spanning: list[tuple[int, Cell]] = []
        for r, (row, line) in enumerate(zip(self.rows, self.grid)):
            for c, slot in enumerate(line):
                if not isinstance(slot, Cell):
                    continue
                if self.dots[r]:  # the marks of cut rows fit whatever width there is
                    widths[c] = max(widths[c], 2)
                elif slot.colspan == 1 or self.pandas:  # pandas: a wide label widens its first
                    widths[c] = max(widths[c], slot.width + self._sign_space(row, slot, c))
                else:
                    spanning.append((c, slot))
        for c, cell in spanning:
            span = range(c, min(c + cell.colspan, self.columns))
            room = sum(widths[i] for i in span) + sum(self._gap(i) for i in span[1:])
            if cell.width > room:
                widths[span[-1]] += cell.width - room
        return widths

    def _sign_space(self, row: Row, cell: Cell, column: int) -> int:
        """pandas leaves a space before each value for its sign, and before a numeric label."""
        if not self.pandas or column in self.index:
            return 0
        if row.head:
            return int(column in self.numeric and cell.colspan == 1 and bool(cell.text))
        negative = cell.text.startswith("-") and _is_number(cell)
        return int(not negative and cell.text not in _UNSIGNED)


def _place(rows: list[Row]) -> list[list[_Slot]]:
    grid: list[list[_Slot]] = [[] for _ in rows]
    for r, row in enumerate(rows):
        c = 0
        for cell in row.cells:
            while c < len(grid[r]) and grid[r][c] is not None:
                c += 1  # taken by a cell above that spans rows
            if c >= MAX_COLUMNS:
                break
            span = min(cell.colspan, MAX_COLUMNS - c)
            for dr in range(min(cell.rowspan, len(rows) - r)):
                line = grid[r + dr]
                line.extend([None] * (c + span - len(line)))
                for dc in range(span):
                    line[c + dc] = cell if dr == dc == 0 else _Spanned(cell)
            c += span
    return grid


def _heads(rows: list[Row]) -> list[Row]:
    """``rows``, those of <th>s that open a table without a <thead> read as its head."""
    if any(row.head for row in rows):
        return rows
    count = 0
    while count < len(rows) and rows[count].cells and all(c.header for c in rows[count].cells):
        count += 1
    if count == len(rows):
        return rows  # all labels: no head and body to tell apart
    return [Row(row.cells, True, row.align) for row in rows[:count]] + rows[count:]


def _is_dots_row(row: Row) -> bool:
    return not row.head and bool(row.cells) and all(cell.text == _DOTS for cell in row.cells)


def _cell(slot: _Slot) -> Cell | None:
    return slot.cell if isinstance(slot, _Spanned) else slot


def _is_number(cell: Cell) -> bool:
    text = cell.text.strip()
    return bool(text) and _NUMBER.fullmatch(text) is not None


def _rstrip(line: list[Segment]) -> list[Segment]:
    while line and not line[-1][0].strip():
        line.pop()
    if line:
        text, groups = line[-1]
        line[-1] = (text.rstrip(" "), groups)
    return [(text, groups) for text, groups in line if text]


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or char in "\u200b\u200c\u200d\ufeff":
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1
