"""The answers the user waits for at the cursor (inspect, completion) and history's entries;
Neovim's byte columns against Jupyter's cursor positions.

Neovim counts columns in bytes of UTF-8; the messaging spec (5.2+) counts ``cursor_pos`` and
``cursor_start`` in Unicode code points. Pure Python.
"""

from __future__ import annotations

from typing import Any

from ..editor.protocol import edit_payload
from ..output import render
from ..output.document import OutputDocument
from . import fields


def code_points(text: str, byte_col: int) -> int:
    """The code-point offset of byte column ``byte_col`` in ``text``."""
    return len(text.encode("utf-8")[: max(0, byte_col)].decode("utf-8", "ignore"))


def byte_col(text: str, code_point: int) -> int:
    return len(text[: max(0, code_point)].encode("utf-8"))


def completions(line: str, content: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """(byte column where the completed text starts, complete-items) of a complete_reply.

    Each match carries its type and signature when the kernel gives them in
    ``metadata._jupyter_types_experimental`` (IPython does).
    """
    matches = [m for m in content.get("matches", []) if isinstance(m, str)]
    start = byte_col(line, int(content.get("cursor_start", len(line))))
    metadata = content.get("metadata") or {}
    types = {
        t.get("text"): t
        for t in metadata.get("_jupyter_types_experimental") or []
        if isinstance(t, dict)
    }
    items = []
    for match in dict.fromkeys(matches):  # in order, once each
        item: dict[str, Any] = {"word": match, "icase": 1, "dup": 0}
        known = types.get(match, {})
        if known.get("type") and known["type"] != "<unknown>":
            item["kind"] = str(known["type"])
        if known.get("signature"):
            item["menu"] = str(known["signature"])
        items.append(item)
    return start, items


def inspected(content: dict[str, Any]) -> dict[str, Any] | None:
    """An inspect_reply's text as lines and highlights for a float, or None if nothing found."""
    data = fields.mapping(content.get("data"))
    text = data.get("text/plain") if content.get("found") else None
    if not isinstance(text, str) or not text:
        return None
    doc = OutputDocument(100_000)
    doc.new_block(render.render_display({"text/plain": text}))
    edit = doc.take_edit()
    return None if edit is None else dict(edit_payload(edit))


def history_entries(content: dict[str, Any]) -> list[tuple[Any, str]]:
    """(line number, source) of each well-formed entry of a history_reply."""
    return [(e[1], e[2]) for e in content.get("history") or []
            if isinstance(e, list) and len(e) == 3 and isinstance(e[2], str)]  # fmt: skip
