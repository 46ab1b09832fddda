"""The hand-off between the channels' I/O threads and the editor.

I/O threads only add events to the inbox and, if no flush is scheduled yet, schedule one with
``nvim.async_call``: every event that arrives while the editor is busy applying the last batch
is coalesced into the next, so a flood of output costs a handful of editor calls, not one each.
A kernel's busy status, the echo of the code it runs and a plain reply wait up to HOLD for what
follows: a quick execution's status, header and output reach the editor in one update instead of
three, and its reply goes with its idle status, while the kernel and the server still work (on
two cores, every update then delays them). A request's first output goes at once; more of the
same request's output within PACE of the last that went waits until PACE has passed: a progress
bar redrawn 4000 times a second costs 60 editor updates a second, not 4000, and leaves the
kernel the CPU it would lose to them.
Each flush ends in one call of ``require('kernel.output').update(u)`` per output buffer that
changed. Every 16th such call, every call that brings what went unconfirmed to 256 KiB of
text, and every slice of a flood, is a request: the host waits for the editor to apply it, so
output that arrives while the editor is away is merged in the inbox, where lines that would be
trimmed are dropped, instead of piling up in the pipe to an editor that does not read.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..kernel.channel import Event, EventKind, EventSink
from ..session.inbox import Inbox
from .later import Later
from .protocol import Update, edit_payload

if TYPE_CHECKING:
    from ..media.worker import Done
    from ..output.document import Edit, OutputDocument

log = logging.getLogger(__name__)

CHUNK_LINES = 2_000  # lines per editor call: about a millisecond of the editor's time
UPDATE = "require('kernel.output').update(...)"
UNCONFIRMED = 16  # updates sent as notifications before one that waits for the editor
# Text sent as notifications before one that waits. What an editor that does not read has not
# taken waits in the host's memory: 15 updates of a flood were ~5 MB, mostly lines that the
# next updates would trim.
UNCONFIRMED_BYTES = 256 * 1024
# How long a busy status or an execute_input waits for more. Shown that much later, when nothing
# follows soon: far below what a person can tell on a status line.
HOLD = 0.010
PACE = 1 / 60  # a request's output reaches the editor at most this often, as a screen redraws
# What a request writes into its output: paced.
OUTPUT = frozenset({"stream", "display_data", "update_display_data", "execute_result",
                    "clear_output"})  # fmt: skip


@dataclass
class Part:
    """One update for one output buffer: its head (state, messages, ...) and its edit."""

    head: Update
    edit: Edit | None = None
    doc: OutputDocument | None = None


class Bridge:
    def __init__(
        self,
        nvim: Any,
        handle: Callable[[object, Event | Done], None],
        compose: Callable[[], list[Part]],
        flushed: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nvim = nvim
        self._handle = handle
        self._compose = compose
        self._flushed = flushed  # after each flush's update: work that must not delay it
        self._lock = threading.Lock()
        self._inbox = Inbox()
        self._posted: list[tuple[object, Done]] = []  # finished media jobs
        self._scheduled = False
        self._held = 0  # which hold the events that wait belong to, if they wait; 0: none
        self._held_until = 0.0
        self._holds = 0
        self._clock = clock
        self._shown: dict[str, float] = {}  # request (msg_id) -> when its output last went
        self._later = Later()
        self._flushing = False
        self._updating = False
        self._again = False
        self._unconfirmed = 0
        self._unconfirmed_bytes = 0

    def sink(self, tag: object, max_lines: Callable[[], int]) -> EventSink:
        """The callback a channel's I/O thread hands its events to; ``tag`` comes back with
        each of them, to tell whose they are."""

        def on_events(events: list[Event]) -> None:  # runs in the I/O thread
            now = self._clock()
            with self._lock:
                for event in events:
                    self._inbox.add(tag, event, max_lines())
                if self._scheduled:
                    return
                wait = min(self._may_wait(event, now) for event in events)
                if wait > 0 and self._held and self._held_until <= now + wait:
                    return  # the hold armed already takes these too, in time
                if wait > 0:
                    self._holds += 1
                    self._held, self._held_until = (hold := self._holds), now + wait
                    self._later.call(wait, lambda: self._release(hold))
                    return
                self._scheduled = True
            self.nvim.async_call(self._flush)

        return on_events

    def _may_wait(self, event: Event, now: float) -> float:
        """Seconds ``event`` may wait for what follows; 0: it goes at once."""
        if _can_wait(event):
            return HOLD
        request = _output_of(event)
        shown = self._shown.get(request) if request is not None else None
        return shown + PACE - now if shown is not None and now < shown + PACE else 0.0

    def _paced(self, pending: list[tuple[object, Event | Done]]) -> None:
        """The requests whose output goes now: more of theirs within PACE waits (the lock is
        held)."""
        now = self._clock()
        self._shown = {k: at for k, at in self._shown.items() if now < at + PACE}
        for _, event in pending:
            request = _output_of(event) if isinstance(event, Event) else None
            if request is not None:
                self._shown[request] = now

    def _release(self, hold: int) -> None:  # in the Later thread
        with self._lock:
            if self._scheduled or self._held != hold:
                return  # a flush took them already
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # Neovim is exiting: nothing is left to show
            self.nvim.async_call(self._flush)

    def post(self, tag: object, done: Done) -> None:
        """From the media worker's thread: a finished job, handed to ``handle`` in the next
        flush, like a channel's events."""
        with self._lock:
            self._posted.append((tag, done))
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # Neovim is exiting: nothing is left to show
            self.nvim.async_call(self._flush)

    def call_soon(self, func: Callable[[], None]) -> None:
        """From any thread: ``func`` on the host's main thread, as soon as it is free."""
        with contextlib.suppress(RuntimeError):  # Neovim is exiting: nothing is left to do
            self.nvim.async_call(func)

    def call_later(self, seconds: float, func: Callable[[], None]) -> None:
        def call() -> None:  # in the Later thread
            # A closed loop (Neovim is exiting) raises RuntimeError: nothing is left to do.
            with contextlib.suppress(RuntimeError):
                self.nvim.async_call(func)

        self._later.call(seconds, call)

    def update(self) -> None:
        """Hand the editor everything that changed. An update waiting on the editor sends
        what changed meanwhile too, before it returns."""
        if self._updating:
            self._again = True
            return
        self._updating = True
        try:
            self._again = True
            while self._again:
                self._again = False
                for part in self._compose():
                    self._write(part)
        finally:
            self._updating = False

    def _flush(self) -> None:
        # Every API call lets pynvim run another greenlet, another flush among them: only one
        # may handle events, or an event would be handled before the one before it is done.
        if self._flushing:
            return  # the running flush takes what is pending before it stops
        self._flushing = True
        try:
            while True:
                with self._lock:
                    pending: list[tuple[object, Event | Done]] = [*self._inbox.take()]
                    pending += self._posted
                    self._posted = []
                    self._scheduled = False
                    self._held = 0
                    self._paced(pending)
                if not pending:
                    return
                for tag, event in pending:
                    try:
                        self._handle(tag, event)
                    except Exception:  # one bad event is dropped alone
                        what = event.kind if isinstance(event, Event) else "a media job"
                        log.exception("kernel.nvim: cannot handle %s", what)
                self.update()
                self._flushed()
        finally:
            self._flushing = False

    def _write(self, part: Part) -> None:
        """A small edit goes in one call; a large one (a flood) in slices, so that the editor
        serves the user between them. If more output arrives meanwhile, the rest waits for the
        next flush, by which time part of it may have been trimmed and need never be written."""
        head, edit = part.head, part.edit
        if edit is None or max(len(edit.lines), edit.trim) <= CHUNK_LINES:
            if edit is not None:
                head["edit"] = edit_payload(edit)
            if head.keys() - {"name", "show", "focus"} or head.get("show"):
                # A notification, so the host need not wait; but now and then a request, so that
                # an editor that does not read (a long Lua loop) stops the host writing to it.
                self._unconfirmed += 1
                self._unconfirmed_bytes += sum(map(len, edit.lines)) if edit is not None else 0
                confirm = (self._unconfirmed >= UNCONFIRMED
                           or self._unconfirmed_bytes >= UNCONFIRMED_BYTES)  # fmt: skip
                if confirm:
                    self._unconfirmed = self._unconfirmed_bytes = 0
                self.nvim.exec_lua(UPDATE, head, async_=not confirm)
            return
        assert part.doc is not None
        for chunk in _slices(edit):
            self.nvim.exec_lua(UPDATE, {**head, "edit": edit_payload(chunk)})
            self._unconfirmed = self._unconfirmed_bytes = 0  # the editor has applied them all
            head = {"name": head["name"]} if "name" in head else {}
            sent = chunk.start + len(chunk.lines)
            if chunk.replace and self._has_pending() and sent < edit.start + len(edit.lines):
                part.doc.resend_from(sent)  # the flush handles what came, then sends the rest
                return

    def _has_pending(self) -> bool:
        with self._lock:
            return bool(self._inbox.items)


def _can_wait(event: Event) -> bool:
    """What only a status line or a header shows: a busy status, the echo of the code, and a
    reply that says no more than that the code ran (the idle status follows it at once)."""
    if event.kind is not EventKind.MESSAGE:
        return False
    kind, content = event.msg.get("msg_type"), event.msg.get("content")
    if not isinstance(content, dict):
        return False
    if event.channel == "shell":
        return (
            kind == "execute_reply" and content.get("status") == "ok" and not content.get("payload")
        )
    busy = kind == "status" and content.get("execution_state") == "busy"
    return event.channel == "iopub" and (busy or kind == "execute_input")


def _output_of(event: Event) -> str | None:
    """The msg_id of the request whose output ``event`` is (paced), None if it is none."""
    parent = event.msg.get("parent_header") if event.kind is EventKind.MESSAGE else None
    if event.msg.get("msg_type") not in OUTPUT or not isinstance(parent, dict):
        return None
    return str(parent.get("msg_id", ""))


def _slices(edit: Edit) -> list[Edit]:
    """Split an edit into trims, then appends, of at most CHUNK_LINES lines each."""
    from ..output.document import Edit

    slices = [
        Edit(min(CHUNK_LINES, edit.trim - done), 0, [], [], replace=False)
        for done in range(0, edit.trim, CHUNK_LINES)
    ]
    for offset in range(0, max(1, len(edit.lines)), CHUNK_LINES):
        end = offset + CHUNK_LINES
        highlights = [(r - offset, s, e, g) for r, s, e, g in edit.highlights if offset <= r < end]
        marks = [replace(m, row=m.row - offset) for m in edit.marks if offset <= m.row < end]
        slices.append(Edit(0, edit.start + offset, edit.lines[offset:end], highlights, marks=marks))
    return slices
