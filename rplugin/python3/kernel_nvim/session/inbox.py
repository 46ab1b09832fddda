"""Events waiting for the host's main thread, with a flood's stream messages merged.

While the editor is busy (a slow redraw, a long Lua loop), a flooding kernel keeps sending. The
stream messages of one execution that arrive meanwhile are merged into one, and only the lines
the output could still show are kept: what waits stays bounded by the output cap, however long
the editor is away. Output that a ``clear_output`` of its execution clears is dropped as soon as
the clear takes effect (at once, or with ``wait`` when the next output comes), so an animation
redrawn thousands of times waits as its last frame.

The texts wait as they came and are dropped whole from the front; they are joined, and the
first one cut, only when the run is handed over. Joining the whole run into one string and
slicing its tail, each time it held twice the cap, made strings of megabytes over and over
during a flood, and the allocator kept what they had taken: the host grew ~10 MB more a flood.

Text that moves the cursor up (progress bars redrawing their lines) is cut where its moves up
and down cancel out, so that what is kept starts on the line where the run started: finding
that place needs the run as one text, so such a run is still joined and cut as a whole.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from typing import Any

from ..kernel.channel import Event, EventKind

_SGR = re.compile("\x1b\\[[0-9;]*m")
_RESETS = ("\x1b[0m", "\x1b[m")
_UP = re.compile("\x1b\\[[0-9]*[AF]")
_VERTICAL = re.compile("\n|\x1b\\[([0-9]*)([ABEF])")


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
    moves_up: bool = False  # cut as a whole, where the cursor's moves cancel out

    def key(self) -> tuple[Any, ...] | None:
        return _stream_key(self.event)

    def add(self, text: str, max_lines: int) -> None:
        self.max_lines = max_lines
        self.moves_up = self.moves_up or ("\x1b[" in text and _UP.search(text) is not None)
        self.parts.append(text)
        self.counts.append(text.count("\n"))
        self.newlines += self.counts[-1]
        if self.moves_up:
            if self.newlines > 2 * max_lines:  # amortized: cut once the run holds twice the cap
                self._cut_whole()
            return
        while len(self.parts) > 1 and self.newlines - self.counts[0] > max_lines:
            self.newlines -= self.counts.popleft()
            self.colours = _colours_after(self.colours, self.parts.popleft())
        if 2 * (self.newlines - max_lines) > self.counts[0]:
            self._cut_first()

    def text(self) -> str:
        """The last ``max_lines`` lines and the open one, in the colours in force (a run that
        moves up: at most twice as many, from where its moves cancel out)."""
        if not self.moves_up:
            self._cut_first()
        return self.colours + "".join(self.parts)

    def merged(self) -> Event:
        msg = self.event.msg
        content = {**msg["content"], "text": self.text()}
        return Event(EventKind.MESSAGE, self.event.channel, {**msg, "content": content})

    def _cut_whole(self) -> None:
        tail = _tail(self.colours + "".join(self.parts), self.max_lines, True)
        self.parts, self.colours = collections.deque([tail]), ""
        self.counts = collections.deque([tail.count("\n")])
        self.newlines = self.counts[0]

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
        self._clear_waits: set[tuple[int, str]] = set()  # (tag, parent) of a clear that waits

    def add(self, tag: object, event: Event, max_lines: int) -> None:
        kind, parent = _output_kind(event)
        if kind:
            self._on_output(tag, kind, parent, event)
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
        self._clear_waits.clear()
        return [(tag, e.merged() if isinstance(e, StreamRun) else e) for tag, e in items]

    def _on_output(self, tag: object, kind: str, parent: str, event: Event) -> None:
        waiting = (id(tag), parent)
        if kind == "clear_output":
            if event.msg["content"].get("wait") is True:
                self._clear_waits.add(waiting)
                return
        elif waiting not in self._clear_waits:
            return
        # The clear takes effect now: what it clears need not wait (the last clear stays).
        self._clear_waits.discard(waiting)
        kept, last_clear = [], -1
        for i, (t, e) in enumerate(self.items):
            if t is tag and _output_kind(_event(e)) == ("clear_output", parent):
                last_clear = i
        for i, (t, e) in enumerate(self.items):
            was = _output_kind(_event(e)) if t is tag else ("", "")
            if was[1] != parent or not was[0] or (i == last_clear and kind != "clear_output"):
                kept.append((t, e))
        self.items = kept


def _event(item: Event | StreamRun) -> Event:
    return item.event if isinstance(item, StreamRun) else item


# What clear_output clears, and the clear itself.
_OUTPUTS = frozenset(("stream", "display_data", "execute_result", "error", "clear_output"))


def _output_kind(event: Event) -> tuple[str, str]:
    """(msg_type, parent msg_id) of an output message or a clear, else ("", "")."""
    if event.kind is not EventKind.MESSAGE or event.channel != "iopub":
        return "", ""
    msg_type = event.msg.get("msg_type")
    if msg_type not in _OUTPUTS:
        return "", ""
    parent = event.msg.get("parent_header")
    parent_id = parent.get("msg_id") if isinstance(parent, dict) else None
    return (str(msg_type), parent_id) if isinstance(parent_id, str) and parent_id else ("", "")


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


def _tail(text: str, max_lines: int, moves_up: bool) -> str:
    """The last ``max_lines`` lines of ``text`` (and its open line), in the colours in force."""
    cut = len(text)
    for _ in range(max_lines + 1):
        cut = text.rfind("\n", 0, cut)
        if cut < 0:
            return text
    cut += 1
    if moves_up:
        cut = _level_cut(text, cut, max_lines)
    head, tail = text[:cut], text[cut:]
    reset = max(head.rfind(r) for r in _RESETS)
    return "".join(_SGR.findall(head[max(0, reset) :])) + tail


def _level_cut(text: str, cut: int, max_lines: int) -> int:
    """Where to cut ``text`` at or before ``cut`` so that the rows it moved down and up before
    the cut cancel out: tqdm's nested bars go down a line, redraw, go up, and a tail cut after a
    newline would redraw the inner bar over the outer one. Without such a place close enough
    (the tail must stay bounded), ``cut``: the screen may then be off, but what waits is not."""
    depth, level = 0, 0
    for match in _VERTICAL.finditer(text, 0, cut):
        if match.group() == "\n":
            depth += 1
        else:
            rows = _rows(match.group(1))
            depth += rows if match.group(2) in "BE" else -rows
        if depth == 0:
            level = match.end()
    # Half the cap's worth of new lines must come before the next cut: it stays amortized.
    if level and text.count("\n", level) <= max_lines * 3 // 2:
        return level
    return cut


def _rows(digits: str) -> int:
    digits = digits.lstrip("0")  # and a count of thousands of digits is no reason to parse it
    return 1 if not digits else int(digits) if len(digits) <= 6 else 999_999


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
