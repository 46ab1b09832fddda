"""HTML as a tree, the way a browser reads what authors write.

The standard library's :mod:`html.parser` tokenizes: it decodes entities and knows that
``<script>`` holds no tags. It builds no tree, so this does, closing what HTML lets authors leave
open (``<li>``, ``<td>``, ``<tr>``, a ``<p>`` ended by the next block) and ignoring end tags
that end nothing. Markup nested deeper than :data:`MAX_DEPTH` is read as if flat.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Union

__all__ = ["BLOCKS", "HEADINGS", "PARAGRAPHS", "Element", "Node", "parse"]


def parse(html: str) -> Element:
    """The tree of ``html``, under a root element (``#root``)."""
    builder = _TreeBuilder()
    # html.parser stops at a declaration past repair with an AssertionError: what came before
    # it is kept.
    with contextlib.suppress(AssertionError, ValueError):
        builder.feed(html)
        builder.close()
    return builder.root


@dataclass(eq=False)
class Element:
    """A tag, its attributes (names lowercased, a bare one ""), and what it holds."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)


Node = Union[Element, str]

_VOID = frozenset(("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "param", "source", "track", "wbr"))  # fmt: skip
HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
# Set apart by a blank line.
PARAGRAPHS = frozenset(("p", "pre", "table", "blockquote", "ul", "ol", "dl", "figure",
                        "details", "fieldset", "hr", "address", *HEADINGS))  # fmt: skip
# On lines of their own.
BLOCKS = frozenset(("div", "section", "article", "header", "footer", "nav", "main", "aside",
                    "li", "dt", "dd", "tr", "caption", "figcaption", "summary", "form",
                    "center", "legend", "tbody", "thead", "tfoot", "body", "html",
                    *PARAGRAPHS))  # fmt: skip
# What a new tag closes when it is open, up to (not past) the scope's boundary.
_IMPLIED = {
    tag: (frozenset(closes), frozenset(boundary))
    for tags, closes, boundary in (
        (("li",), ("li",), ("ul", "ol", "menu")),
        (("dt", "dd"), ("dt", "dd"), ("dl",)),
        (("td", "th"), ("td", "th"), ("tr", "table")),
        (("tr",), ("tr",), ("table", "thead", "tbody", "tfoot")),
        (("thead", "tbody", "tfoot"), ("thead", "tbody", "tfoot"), ("table",)),
        (("option",), ("option",), ("select", "datalist")),
    )
    for tag in tags
}
_P = frozenset(("p",))
_P_BOUNDARY = frozenset(("div", "li", "td", "th", "table", "blockquote", "section", "article",
                         "body", "html", "dd", "button", "form"))  # fmt: skip
MAX_DEPTH = 100  # deeper markup is read as if flat: the walk recurses, and must not overflow


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._close_implied(tag)
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID and len(self.stack) < MAX_DEPTH:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # <div/> is an open <div> in HTML; <br/> a <br>
        if tag in ("br", "hr", "img"):
            return
        if self.stack[-1].tag == tag and tag not in BLOCKS:
            self.stack.pop()  # <span/>: XHTML's empty element, as authors mean it

    def handle_endtag(self, tag: str) -> None:
        if tag == "br":  # </br> is read as <br>, as browsers do
            self.handle_starttag("br", [])
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return
        # An end tag with nothing open to end is ignored.

    def handle_data(self, data: str) -> None:
        children = self.stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)

    def _close_implied(self, tag: str) -> None:
        if tag in _IMPLIED:
            self._close(*_IMPLIED[tag])
        if tag in BLOCKS:
            self._close(_P, _P_BOUNDARY)  # a block ends the paragraph it starts in

    def _close(self, closes: frozenset[str], boundary: frozenset[str]) -> None:
        """Close the innermost open element of ``closes``, unless a ``boundary`` is nearer."""
        for i in range(len(self.stack) - 1, 0, -1):
            open_tag = self.stack[i].tag
            if open_tag in closes:
                del self.stack[i:]
                return
            if open_tag in boundary:
                return
