"""Where the code of each execution came from, so that a traceback leads back to it.

A frame ``Cell In[7], line 3`` is line 3 of the code run as execution 7; if that code was sent
from line 40 of foo.py, the frame is foo.py:42. Frames in real files point at the files.
"""

from __future__ import annotations

from typing import Any

from ..editor.protocol import QuickfixItem
from ..output import render, tracebacks


class SourceMap:
    def __init__(self) -> None:
        self._sources: dict[int, dict[str, Any]] = {}  # execution count -> where its code was
        self.last_error: list[QuickfixItem] = []  # the frames of our last error

    def record(self, count: int, source: dict[str, Any]) -> None:
        self._sources[count] = source

    def clear(self) -> None:
        """The counts start again (a restart)."""
        self._sources.clear()

    def on_error(self, ename: str, evalue: str, traceback: list[str]) -> list[QuickfixItem]:
        """The quickfix items of an error raised by code sent from here ([] if none map)."""
        lines = tracebacks.traceback_lines(traceback)
        items: list[QuickfixItem] = []
        for frame in tracebacks.parse_frames(lines):
            place = self.place(frame)
            if place is not None:
                items.append({**place, "text": frame.text})
        if not items:
            return []
        error = render.error_summary(ename, evalue)
        last = items[-1].get("text", "")
        items[-1]["text"] = f"{last}: {error}" if last else error
        self.last_error = items
        return items

    def place(self, frame: tracebacks.Frame) -> QuickfixItem | None:
        """Where a frame's code is: the file, or the buffer lines its cell was sent from."""
        if frame.path:
            return {"filename": frame.path, "lnum": frame.line}
        source = self._sources.get(frame.count) if frame.count is not None else None
        if not source or not source.get("line"):
            return None  # a cell from another client or typed in :KernelExec
        return {"bufnr": int(source["buffer"]), "filename": str(source["file"]),
                "lnum": int(source["line"]) + frame.line - 1}  # fmt: skip
