"""The kernel's state as the user sees it, and the facts it is derived from.

``busy`` is derived from the requests the kernel has said it is busy with (every request gets
its own busy/idle pair on iopub), split into ours and other clients', so that a lost idle can be
repaired for the request it belongs to. A restart is a new session id in the kernel's messages
while we stay linked to it: the session id of a kernel we link to anew is simply learnt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class KernelState(enum.Enum):
    DISCONNECTED = "disconnected"
    STARTING = "starting"  # a kernel we start (or restart) is not answering yet
    CONNECTING = "connecting"
    IDLE = "idle"
    BUSY = "busy"
    RESTARTED = "restarted"  # idle, and its variables are gone: until the next run
    UNRESPONSIVE = "unresponsive"  # linked, but its heartbeat stopped: output may still come
    RECONNECTING = "reconnecting"  # the way to it (tunnel, websocket) dropped: being made again
    DEAD = "dead"  # its process is gone, or it was shut down


# States in which the kernel takes requests at once.
LIVE = frozenset({KernelState.IDLE, KernelState.BUSY, KernelState.RESTARTED})
# Busy entries a kernel can leave behind when an idle is lost; enough to know one is stuck.
_IDLE_MEMORY = 256


@dataclass
class KernelStatus:
    linked: KernelState = KernelState.DISCONNECTED  # what the link says, busy aside
    kernel_session: str = ""  # the kernel process's session id, learnt on each link
    busy_ours: set[str] = field(default_factory=set)  # parent msg_ids the kernel is busy with
    busy_other: set[str] = field(default_factory=set)
    _idle_first: list[str] = field(default_factory=list)  # idle seen before its busy

    @property
    def state(self) -> KernelState:
        if self.linked in (KernelState.IDLE, KernelState.RESTARTED) and self.busy_kind:
            return KernelState.BUSY
        return self.linked

    @property
    def busy_kind(self) -> str:
        """ "ours" while code sent from here runs, "other" while only other clients' does."""
        if self.busy_ours:
            return "ours"
        return "other" if self.busy_other else ""

    @property
    def live(self) -> bool:
        return self.state in LIVE

    def connecting(self) -> None:
        self.linked = KernelState.CONNECTING
        self.kernel_session = ""
        self._clear_busy()

    def starting(self) -> None:
        """A kernel we start: not there yet. Its first answer makes it idle, as a connect's."""
        self.linked = KernelState.STARTING
        self.kernel_session = ""
        self._clear_busy()

    def restarting(self) -> None:
        """We restart the kernel we are linked to: its new session id will say it is back."""
        self.linked = KernelState.STARTING
        self._clear_busy()

    def ready(self, kernel_session: str) -> None:
        self.linked = KernelState.IDLE
        self.kernel_session = kernel_session

    def unlinked(self) -> None:
        self.linked = KernelState.DISCONNECTED
        self._clear_busy()

    def dead(self) -> None:
        self.linked = KernelState.DEAD
        self._clear_busy()

    def unresponsive(self) -> bool:
        """Its heartbeat stopped; whether that is news."""
        if self.status_is(*LIVE):
            self.linked = KernelState.UNRESPONSIVE
            return True
        return False

    def responsive(self) -> bool:
        if self.status_is(KernelState.UNRESPONSIVE):
            self.linked = KernelState.IDLE
            return True
        return False

    def status_is(self, *states: KernelState) -> bool:
        """Whether the link's state (busy aside) is one of ``states``."""
        return self.linked in states

    def reconnecting(self) -> bool:
        """The transport dropped; whether that is news. Busy stays as it was: the kernel's
        status messages of the meantime follow once it is back, if they were kept."""
        if self.status_is(*LIVE, KernelState.UNRESPONSIVE):
            self.linked = KernelState.RECONNECTING
            return True
        return False

    def reconnected(self) -> bool:
        if self.status_is(KernelState.RECONNECTING):
            self.linked = KernelState.IDLE
            return True
        return False

    def back(self) -> None:
        """The kernel we restarted answers, though no message of it showed a new session."""
        if self.linked is KernelState.STARTING:
            self.linked = KernelState.RESTARTED

    def ran(self) -> None:
        """Code of ours runs: "restarted" has been read."""
        if self.linked is KernelState.RESTARTED:
            self.linked = KernelState.IDLE

    def is_restart(self, session: str) -> bool:
        """Whether a message from the kernel with this session id shows a restart."""
        return bool(self.kernel_session and session and session != self.kernel_session)

    def restarted(self, session: str) -> None:
        self.kernel_session = session
        self._clear_busy()
        if self.linked in (*LIVE, KernelState.UNRESPONSIVE, KernelState.STARTING):
            self.linked = KernelState.RESTARTED

    def on_status(self, parent: str, execution_state: str, ours: bool) -> None:
        busy = self.busy_ours if ours else self.busy_other
        if execution_state == "busy":
            if parent in self._idle_first:  # its idle overtook it: it is over already
                self._idle_first.remove(parent)
            else:
                busy.add(parent)
        elif execution_state == "idle":
            if parent in busy:
                busy.discard(parent)
            else:
                self._idle_first = [*self._idle_first[-_IDLE_MEMORY:], parent]

    def done(self, parent: str) -> None:
        """A request is over (its reply came): it cannot keep the kernel busy, idle or not."""
        self.busy_ours.discard(parent)
        self.busy_other.discard(parent)

    def settle(self, before: set[str]) -> None:
        """The kernel answered a request sent after ``before`` were seen busy: the shell handles
        requests in order, so those are over even if their idle was lost."""
        self.busy_ours -= before
        self.busy_other -= before

    def _clear_busy(self) -> None:
        self.busy_ours.clear()
        self.busy_other.clear()
        self._idle_first.clear()
