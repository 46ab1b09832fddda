"""HTML reduced to readable text: what a text browser would print, tables as aligned columns.

The text is written from the tree :mod:`.html_tree` builds: blocks on lines of their own,
paragraphs apart, whitespace collapsed except in ``<pre>``, lists with markers, tables by
:mod:`.table`. Bold, italic, underline and colours said by tags or ``style`` become the groups
that ANSI text uses, so nothing new needs defining in the editor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..segments import Groups, Segment
from . import table
from .html_tree import BLOCKS, HEADINGS, PARAGRAPHS, Element, parse

__all__ = ["to_text"]


def to_text(html: str) -> list[Segment]:
    """The readable text of ``html`` (no trailing newline); [] when it shows nothing."""
    writer = _Writer()
    _render_children(parse(html), writer, ())
    return writer.segments()


# Elements that hold nothing to read.
_DROPPED = frozenset(("script", "style", "template", "head", "title", "noscript", "svg", "math",
                      "object", "iframe", "select", "datalist", "textarea", "button", "input",
                      "colgroup"))  # fmt: skip
_BOLD: Groups = ("KernelAnsiBold",)
_ITALIC: Groups = ("KernelAnsiItalic",)
_UNDERLINE: Groups = ("KernelAnsiUnderline",)
_TAG_GROUPS = {"b": _BOLD, "strong": _BOLD, "i": _ITALIC, "em": _ITALIC,
               "cite": _ITALIC, "var": _ITALIC, "u": _UNDERLINE, "ins": _UNDERLINE}  # fmt: skip
_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML's whitespace: not U+00A0, a space that is meant
_COLOUR = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


@dataclass
class _Level:
    """A list item's or quote's indent: ``first`` on its first line, ``rest`` on the others."""

    first: str
    rest: str
    used: bool = False


class _Writer:
    """Lines of segments, with HTML's whitespace and the blank lines between blocks."""

    def __init__(self) -> None:
        self.lines: list[list[Segment]] = []
        self.line: list[Segment] = []
        self.space = False  # a collapsed space waits for the next word
        self.gap = 0  # before the next text: 1 a new line, 2 a blank line as well
        self.gap_levels = 0  # the indents open where the gap began: its blank line has theirs
        self.levels: list[_Level] = []
        self.pre = 0  # inside <pre>: text as it is

    def text(self, text: str, groups: Groups) -> None:
        if self.pre:
            self._verbatim(text, groups)
            return
        for i, word in enumerate(_SPACE.split(text)):
            if i:
                self.space = True
            if word:
                self._start()
                if self.space and self.line:
                    self.line.append((" ", ()))
                self.space = False
                self.line.append((word.replace("\xa0", " "), groups))

    def block(self, gap: int) -> None:
        """End the line: what comes next goes on a new one, after ``gap - 1`` blank lines."""
        self._end_line()
        if self.lines:
            self.gap_levels = (
                min(self.gap_levels, len(self.levels)) if self.gap else len(self.levels)
            )
            self.gap = max(self.gap, gap)
        self.space = False

    def newline(self) -> None:
        """A ``<br>``: end the line, or add an empty one."""
        self._start()
        self._push(self.line)
        self.line = []
        self.space = False

    def add_lines(self, lines: list[list[Segment]]) -> None:
        for line in lines:
            self._start()
            self._push(line)

    def segments(self) -> list[Segment]:
        self._end_line()
        lines = [_rstrip(line) for line in self.lines]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        out: list[Segment] = []
        for i, line in enumerate(lines):
            if i:
                out.append(("\n", ()))
            out.extend(line)
        return _joined(out)

    def _verbatim(self, text: str, groups: Groups) -> None:
        if text:
            self._start()
        for i, piece in enumerate(text.replace("\r\n", "\n").split("\n")):
            if i:
                self._push(self.line)
                self.line = []
            if piece:
                self.line.append((piece.replace("\xa0", " "), groups))

    def _start(self) -> None:
        if self.gap:
            prefix = "".join(level.rest for level in self.levels[: self.gap_levels]).rstrip()
            self.lines.extend([[(prefix, ())] if prefix else [] for _ in range(self.gap - 1)])
            self.gap = 0

    def _end_line(self) -> None:
        if self.line:
            self._push(self.line)
            self.line = []

    def _push(self, line: list[Segment]) -> None:
        prefix = ""
        for level in self.levels:
            prefix += level.rest if level.used else level.first
            level.used = True
        self.lines.append([(prefix, ()), *line] if prefix else list(line))


def _render_children(element: Element, writer: _Writer, groups: Groups) -> None:
    for child in element.children:
        if isinstance(child, str):
            writer.text(child, groups)
        else:
            _render(child, writer, groups)


def _render(element: Element, writer: _Writer, groups: Groups) -> None:
    tag = element.tag
    if tag in _DROPPED or _hidden(element):
        return
    if tag == "br":
        writer.newline()
    elif tag == "hr":
        writer.block(2)
        writer.add_lines([[("---", ())]])
        writer.block(2)
    elif tag == "img":
        writer.text(_image(element), groups)
    elif tag == "table":
        writer.block(2)
        writer.add_lines(_table(element))
        writer.block(2)
    elif tag in ("ul", "ol", "menu"):
        _list(element, writer, groups)
    elif tag == "li":  # outside a list
        _item(element, writer, groups, "- ")
    elif tag == "dd":
        _indented(element, writer, groups, "    ", "    ")
    elif tag == "blockquote":
        writer.block(2)
        _indented(element, writer, groups, "> ", "> ")
        writer.block(2)
    elif tag == "pre":
        writer.block(2)
        writer.pre += 1
        _render_children(_without_first_newline(element), writer, groups + _style(element))
        writer.pre -= 1
        writer.block(2)
    elif tag in BLOCKS:
        gap = 2 if tag in PARAGRAPHS else 1
        writer.block(gap)
        extra = _BOLD if tag in HEADINGS else ()
        _render_children(element, writer, _add(groups, extra + _style(element)))
        writer.block(gap)
    else:
        _render_children(element, writer, _add(groups, _TAG_GROUPS.get(tag, ()) + _style(element)))


def _image(element: Element) -> str:
    """``[alt text]``, else ``[image: where it is]`` (one can go there), else ``[image]``."""
    alt = " ".join(_SPACE.split(element.attrs.get("alt", ""))).strip()
    src = element.attrs.get("src", "").strip()
    if alt:
        return f"[{alt}]"
    if src and not src.startswith("data:") and len(src) <= 200 and not _SPACE.search(src):
        return f"[image: {src}]"
    return "[image]"


def _list(element: Element, writer: _Writer, groups: Groups) -> None:
    writer.block(2 if not writer.levels else 1)
    number = _int(element.attrs.get("start"), 1)
    for child in element.children:
        if isinstance(child, str):
            writer.text(child, groups)  # whitespace between items: nothing to show
        elif child.tag == "li":
            marker = f"{number}. " if element.tag == "ol" else "- "
            _item(child, writer, groups, marker)
            number += 1
        else:
            _render(child, writer, groups)
    writer.block(2 if not writer.levels else 1)


def _item(element: Element, writer: _Writer, groups: Groups, marker: str) -> None:
    writer.block(1)
    _indented(element, writer, groups, marker, " " * len(marker))
    writer.block(1)


def _indented(element: Element, writer: _Writer, groups: Groups, first: str, rest: str) -> None:
    writer.block(1)
    writer.levels.append(_Level(first, rest))
    _render_children(element, writer, groups)
    writer.block(1)
    writer.levels.pop()


def _table(element: Element) -> list[list[Segment]]:
    rows: list[table.Row] = []
    captions: list[list[Segment]] = []
    _collect_rows(element, rows, captions, head=False)
    pandas = "dataframe" in element.attrs.get("class", "").split()
    return captions + table.layout(rows, pandas)


def _collect_rows(
    element: Element, rows: list[table.Row], captions: list[list[Segment]], head: bool
) -> None:
    for child in element.children:
        if isinstance(child, str) or child.tag in _DROPPED:
            continue
        if child.tag == "tr":
            cells = [_table_cell(c) for c in child.children
                     if isinstance(c, Element) and c.tag in ("td", "th")]  # fmt: skip
            rows.append(table.Row(cells, head, _align(child)))
        elif child.tag == "caption":
            captions.append(_inline(child, ()))
        elif child.tag in ("thead", "tbody", "tfoot"):
            _collect_rows(child, rows, captions, head=child.tag == "thead")


def _table_cell(element: Element) -> table.Cell:
    attrs = element.attrs
    return table.Cell(
        _inline(element, _style(element)),
        header=element.tag == "th",
        align=_align(element) or table.alignment(attrs.get("halign", "")),
        colspan=_int(attrs.get("colspan"), 1),
        rowspan=_int(attrs.get("rowspan"), 1),
    )


def _inline(element: Element, groups: Groups) -> list[Segment]:
    """What ``element`` holds, on one line: a table's cell."""
    children = element.children
    if not children:
        return []
    if len(children) == 1 and isinstance(children[0], str):  # most cells: no tags inside
        words = " ".join(_SPACE.split(children[0])).strip(" ").replace("\xa0", " ")
        return [(words, groups)] if words else []
    writer = _Writer()
    _render_children(element, writer, groups)
    return [(text.replace("\n", " "), cell_groups) for text, cell_groups in writer.segments()]


def _joined(segments: list[Segment]) -> list[Segment]:
    """``segments`` without empty ones, neighbours with equal groups joined: in one pass, as
    a table of 10,000 lines is one run (joining two at a time would copy it at each step)."""
    out: list[Segment] = []
    run: list[str] = []
    groups: Groups = ()
    for text, piece_groups in segments:
        if not text:
            continue
        if run and piece_groups != groups:
            out.append(("".join(run), groups))
            run = []
        run.append(text)
        groups = piece_groups
    if run:
        out.append(("".join(run), groups))
    return out


def _style(element: Element) -> Groups:
    """The groups of what an element's ``style`` says: bold, italic, underline, a colour."""
    found: list[str] = []
    for name, value in _declarations(element):
        if name == "font-weight" and (value == "bold" or value.isdigit() and int(value) >= 600):
            found.append("KernelAnsiBold")
        elif name == "font-style" and value in ("italic", "oblique"):
            found.append("KernelAnsiItalic")
        elif name in ("text-decoration", "text-decoration-line") and "underline" in value:
            found.append("KernelAnsiUnderline")
        elif name == "color" and (match := _COLOUR.fullmatch(value)):
            digits = match.group(1)
            rgb = digits if len(digits) == 6 else "".join(d * 2 for d in digits)
            found.append(f"KernelAnsiRGB_{rgb.lower()}")
    return tuple(found)


def _declarations(element: Element) -> list[tuple[str, str]]:
    style = element.attrs.get("style", "")
    pairs = []
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        if value:
            pairs.append((name.strip().lower(), value.strip().lower()))
    return pairs


def _hidden(element: Element) -> bool:
    if "hidden" in element.attrs:
        return True
    return any(n == "display" and v.startswith("none") for n, v in _declarations(element))


def _align(element: Element) -> str:
    for name, value in _declarations(element):
        if name == "text-align":
            return table.alignment(value)
    return table.alignment(element.attrs.get("align", ""))


def _without_first_newline(element: Element) -> Element:
    """HTML drops a newline right after ``<pre>``."""
    children = list(element.children)
    if children and isinstance(children[0], str) and children[0].startswith(("\n", "\r\n")):
        children[0] = children[0].split("\n", 1)[1]
    return Element(element.tag, element.attrs, children)


def _add(groups: Groups, extra: Groups) -> Groups:
    return groups + tuple(g for g in extra if g not in groups)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


def _rstrip(line: list[Segment]) -> list[Segment]:
    while line and not line[-1][0].rstrip():
        line = line[:-1]
    if line:
        text, groups = line[-1]
        line = [*line[:-1], (text.rstrip(), groups)]
    return line
