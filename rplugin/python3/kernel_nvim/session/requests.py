"""Requests whose answer is shown where the user asked: inspect (K), completion, history.

Each answer is worth showing only for a while (later, the user has moved on) and only if no newer
request of the same kind was made since. A busy kernel answers only when the running code is
done, which is usually too late.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Content = dict[str, Any]

# Seconds an answer is worth showing.
TIMEOUTS = {
    "inspect": 2.0,
    "complete": 5.0,  # a first completion loads jedi in the kernel: 1-3 s
    "history": 30.0,
    # Probes of the kernel's queue (kernel_info on shell): answered when their turn comes.
    "busy_probe": 3600.0,
    "restart_probe": 3600.0,
    "started_probe": 3600.0,  # after our own restart: the new kernel's first answer
}


@dataclass
class Pending:
    kind: str
    then: Callable[[Content], None]
    deadline: float


class Requests:
    def __init__(self) -> None:
        self._pending: dict[str, Pending] = {}

    def add(self, msg_id: str, kind: str, then: Callable[[Content], None], now: float) -> None:
        """Wait for the reply to ``msg_id``; a newer request of the same kind replaces this one."""
        self._pending = {k: p for k, p in self._pending.items() if p.kind != kind}
        self._pending[msg_id] = Pending(kind, then, now + TIMEOUTS[kind])

    def on_reply(self, parent: str, content: Content, now: float) -> bool:
        """Hand a reply to its request; whether it was one of ours."""
        pending = self._pending.pop(parent, None)
        if pending is None:
            return False
        if now <= pending.deadline and content.get("status") == "ok":
            pending.then(content)
        return True

    def clear(self) -> None:
        self._pending.clear()
