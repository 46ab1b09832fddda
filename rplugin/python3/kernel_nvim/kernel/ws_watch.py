"""Whether a server's websocket still hears the kernel that the server hears.

A kernel that another client restarts onto new ports (a gateway's remote kernels, kernels of
other provisioners) leaves the server's sockets behind an open websocket leading nowhere: the
websocket answers pings, and no word of the kernel comes through it; the server says nothing
of a restart it did not do itself. Its REST model of the kernel tells: ``last_activity`` is when
the server's own watcher last heard the kernel (or began to watch it anew, on new ports). When
it moved, and the websocket brought nothing clearly later, the link checks: a kernel_info
request on the control channel, whose status on iopub must come back through the websocket
(``Check``). None within CHECK_FOR: the link is deaf, and opens its websocket anew, quietly, as
after our own restart (the server wires the new one to where the kernel is now); then the
session asks the kernel whether it restarted. ``last_activity`` is on the server's clock: the
``Date`` of the same answer tells how far that clock is from ours.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime

log = logging.getLogger(__name__)

EVERY = 10.0  # seconds between looks, as JupyterLab polls its kernels
SLACK = 2.0  # seconds by which what we heard must be later: a Date is to the second
CHECK_FOR = 10.0  # seconds the check's status has to come back (a loaded kernel, a slow way)


class Deafness:
    """The decision alone: on wall-clock times, as the server's ``last_activity`` is."""

    def __init__(self) -> None:
        self._seen = ""  # last_activity at the last look

    def look(self, activity: str, heard: float, ahead: float = 0.0) -> bool:
        """``activity``: the server's last_activity (ISO 8601); ``heard``: when the websocket
        last brought an iopub message (seconds since the epoch); ``ahead``: how far the server's
        clock is ahead of ours. True when it moved since the last look, and what we heard is
        not clearly later: worth a check."""
        news, self._seen = activity != self._seen, activity
        try:
            at = datetime.fromisoformat(activity).timestamp() - ahead
        except ValueError:  # none, or a form we do not know: nothing to go by
            return False
        return news and heard < at + SLACK


def ahead(date: str | None, now: float, before: float = 0.0) -> float:
    """How far the clock of a server whose answer at ``now`` (ours) bore the HTTP ``Date``
    header ``date`` is ahead of ours; ``before`` without one. A Date is to the second: the
    middle of it is taken."""
    try:
        return parsedate_to_datetime(date or "").timestamp() + 0.5 - now
    except (TypeError, ValueError):
        return before


class Check:
    """The check through the websocket: its probe's msg_id, and by when its status must come."""

    def __init__(self) -> None:
        self.msg_id = ""
        self.deadline: float | None = None

    def start(self, msg_id: str, now: float) -> None:
        self.msg_id, self.deadline = msg_id, now + CHECK_FOR

    def on_iopub(self, msg: dict[str, object]) -> None:
        parent = msg.get("parent_header")
        if isinstance(parent, dict) and parent.get("msg_id") == self.msg_id:
            self.deadline = None  # it came: the websocket hears the kernel

    def failed(self, now: float) -> bool:
        """True once, when the deadline passed with no word."""
        if self.deadline is None or now < self.deadline:
            return False
        self.deadline = None
        return True


class Watch:
    """A thread that looks every ``every`` seconds and calls ``check()`` when the link may be
    deaf. ``activity()``: the server's last_activity, and how far its clock is ahead of ours."""

    def __init__(self, activity: Callable[[], tuple[str, float]], heard: Callable[[], float],
                 check: Callable[[], None], every: float = EVERY) -> None:  # fmt: skip
        self.activity, self.heard, self.check = activity, heard, check
        self.every = every
        self.deafness = Deafness()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kernel.nvim watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():  # a first look at once: what moves after it counts
            self._look()
            self._stop.wait(self.every)

    def _look(self) -> None:
        try:
            activity, ahead = self.activity()
        except Exception:  # the server is away: the websocket's own redial tells
            log.debug("kernel.nvim: cannot read the kernel's activity", exc_info=True)
            return
        if self.deafness.look(activity, self.heard(), ahead):
            self.check()
