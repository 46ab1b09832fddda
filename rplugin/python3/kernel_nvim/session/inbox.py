"""Events waiting for the host's main thread, with a flood's stream messages merged.

While the editor is busy (a slow redraw, a long Lua loop), a flooding kernel keeps sending. The
stream messages of one execution that arrive meanwhile are merged into one, and only the lines
the output could still show are kept: what waits stays bounded by the output cap, however long
the editor is away.

The texts wait as they came and are dropped whole from the front; they are joined, and the
first one cut, only when the run is handed over. Joining the whole run into one string and
slicing its tail, each time it held twice the cap, made strings of megabytes over and over
during a flood, and the allocator kept what they had taken: the host grew ~10 MB more a flood.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from typing import Any

from ..kernel.channel import Event, EventKind

_SGR = re.compile("\x1b\\[[0-9;]*m")
_RESETS = ("\x1b[0m", "\x1b[m")


@dataclass
class StreamRun:
    """Consecutive stream messages of one execution and stream name, not yet handled.

    A text that more than ``max_lines`` lines follow could only be trimmed from the output: it
    is dropped, and the colours it set are kept for what follows. The first text kept is cut
    once more than half of its lines are such lines, so what waits is never more than the cap
    and half a message."""

    event: Event  # the first of them
    max_lines: int
    parts: collections.deque[str] = field(default_factory=collections.deque)
    counts: collections.deque[int] = field(default_factory=collections.deque)  # their newlines
    newlines: int = 0
    colours: str = ""  # the SGR codes in force where the first part starts

    def key(self) -> tuple[Any, ...] | None:
        return _stream_key(self.event)

    def add(self, text: str, max_lines: int) -> None:
        self.max_lines = max_lines
        self.parts.append(text)
        self.counts.append(text.count("\n"))
        self.newlines += self.counts[-1]
        while len(self.parts) > 1 and self.newlines - self.counts[0] > max_lines:
            self.newlines -= self.counts.popleft()
            self.colours = _colours_after(self.colours, self.parts.popleft())
        if 2 * (self.newlines - max_lines) > self.counts[0]:
            self._cut_first()

    def text(self) -> str:
        """The last ``max_lines`` lines and the open one, in the colours in force."""
        self._cut_first()
        return self.colours + "".join(self.parts)

    def merged(self) -> Event:
        msg = self.event.msg
        content = {**msg["content"], "text": self.text()}
        return Event(EventKind.MESSAGE, self.event.channel, {**msg, "content": content})

    def _cut_first(self) -> None:
        """Drop the lines of the first part that more than ``max_lines`` lines follow."""
        excess = self.newlines - self.max_lines
        if excess <= 0:
            return
        first = self.parts[0]
        cut = _after_newline(first, excess, self.counts[0])
        self.colours = _colours_after(self.colours, first[:cut])
        self.parts[0] = first[cut:]
        self.counts[0] -= excess
        self.newlines -= excess


class Inbox:
    def __init__(self) -> None:
        self.items: list[tuple[object, Event | StreamRun]] = []

    def add(self, tag: object, event: Event, max_lines: int) -> None:
        key = _stream_key(event)
        if key is None:
            self.items.append((tag, event))
            return
        last = self.items[-1] if self.items else None
        run = last[1] if last is not None and last[0] is tag else None
        if not isinstance(run, StreamRun) or run.key() != key:
            run = StreamRun(event, max_lines)
            self.items.append((tag, run))
        run.add(event.msg["content"]["text"], max_lines)

    def take(self) -> list[tuple[object, Event]]:
        items, self.items = self.items, []
        return [(tag, e.merged() if isinstance(e, StreamRun) else e) for tag, e in items]


def _stream_key(event: Event) -> tuple[Any, ...] | None:
    if event.kind is not EventKind.MESSAGE or event.channel != "iopub":
        return None
    msg = event.msg
    content = msg.get("content")
    if msg.get("msg_type") != "stream" or not isinstance(content, dict):
        return None
    if not isinstance(content.get("text"), str):
        return None
    parent = msg.get("parent_header")
    parent_id = parent.get("msg_id") if isinstance(parent, dict) else None
    return (parent_id, content.get("name"), msg["header"].get("session"))


def _colours_after(colours: str, dropped: str) -> str:
    """The SGR codes in force after ``colours`` then ``dropped``: those since the last reset.
    A code set again counts once, where it was set last (an SGR code sets attributes to fixed
    values, so setting it earlier too changes nothing): repeating colours keeps a few codes."""
    reset = max(dropped.rfind(r) for r in _RESETS)
    if reset < 0 and "\x1b[" not in dropped:
        return colours
    codes = (
        _SGR.findall(dropped[reset:])
        if reset >= 0
        else [*_SGR.findall(colours), *_SGR.findall(dropped)]
    )
    last = {code: i for i, code in enumerate(codes)}
    return "".join(code for i, code in enumerate(codes) if last[code] == i)


def _after_newline(text: str, k: int, newlines: int) -> int:
    """The index just past the ``k``-th of the ``newlines`` newlines of ``text``, found from
    the nearer end."""
    if k <= newlines - k:
        cut = -1
        for _ in range(k):
            cut = text.find("\n", cut + 1)
        return cut + 1
    cut = len(text)
    for _ in range(newlines - k + 1):
        cut = text.rfind("\n", 0, cut)
    return cut + 1
