"""Requests whose answer is shown where the user asked: inspect (K), completion, history.

Each answer is worth showing only for a while (later, the user has moved on) and only if no newer
request of the same kind was made since. A busy kernel answers only when the running code is
done, which is usually too late; some kernels never answer some requests at all (bash_kernel
fails on a completion at the start of a line and sends nothing). So a request the user waits
for ends either with its answer or, at its deadline, with a word that none came.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Content = dict[str, Any]

# Seconds an answer is worth showing.
TIMEOUTS = {
    "inspect": 2.0,
    # A first completion loads jedi in the kernel: 1-3 s, 7 s seen for xeus-python's on a
    # loaded machine.
    "complete": 10.0,
    "history": 30.0,
    # Probes of the kernel's queue (kernel_info on shell): answered when their turn comes.
    "busy_probe": 3600.0,
    "restart_probe": 3600.0,
    "reconnect_probe": 3600.0,  # its status messages' session: did it restart meanwhile?
    "started_probe": 3600.0,  # after our own restart: the new kernel's first answer
}
# What the user waits to see, named as told when no answer comes in time.
WAITED_FOR = {"inspect": "inspect request (K)", "complete": "completion request",
              "history": "history request"}  # fmt: skip


@dataclass
class Pending:
    msg_id: str
    kind: str
    then: Callable[[Content], None]
    deadline: float

    @property
    def timeout(self) -> float:
        return TIMEOUTS[self.kind]

    @property
    def what(self) -> str:
        return WAITED_FOR.get(self.kind, self.kind)


class Requests:
    def __init__(self) -> None:
        self._pending: dict[str, Pending] = {}
        self._late: list[Pending] = []  # answered after their deadline, not told yet

    def add(self, msg_id: str, kind: str, then: Callable[[Content], None], now: float) -> None:
        """Wait for the reply to ``msg_id``; a newer request of the same kind replaces this one."""
        self._pending = {k: p for k, p in self._pending.items() if p.kind != kind}
        self._late = [p for p in self._late if p.kind != kind]
        self._pending[msg_id] = Pending(msg_id, kind, then, now + TIMEOUTS[kind])

    def on_reply(self, parent: str, content: Content, now: float) -> bool:
        """Hand a reply to its request; whether it was one of ours. A reply whose status is not
        ok (an error, an abort) is handed on too: for the user it is an empty answer."""
        pending = self._pending.pop(parent, None)
        if pending is None:
            return False
        if now <= pending.deadline:
            pending.then(content)
        elif pending.kind in WAITED_FOR:
            self._late.append(pending)
        return True

    def expire(self, now: float) -> list[Pending]:
        """The requests the user waited for whose deadline passed without an answer in time."""
        overdue = {k: p for k, p in self._pending.items() if now > p.deadline}
        for msg_id in overdue:
            del self._pending[msg_id]
        late, self._late = self._late, []
        return late + [p for p in overdue.values() if p.kind in WAITED_FOR]

    def next_deadline(self) -> float | None:
        """When the first request the user waits for runs out, if any."""
        return min((p.deadline for p in self._pending.values() if p.kind in WAITED_FOR),
                   default=None)  # fmt: skip

    def clear(self) -> None:
        self._pending.clear()
        self._late.clear()
