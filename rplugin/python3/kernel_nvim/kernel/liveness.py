"""The decisions a channel makes by the clock, apart from the sockets that carry its messages.

Each class is told what happened (a message, a heartbeat, a drop) and what time it is, and
answers what to do now: the I/O loop only acts on the answers. So a fake clock in a unit test
drives them through every case, and a later transport (a Jupyter Server's websocket) can reuse
them. Times are seconds on a monotonic clock.
"""

from __future__ import annotations

import collections
import enum
import logging
from dataclasses import dataclass, field
from typing import Any

from .wire import DropReason

Message = dict[str, Any]

log = logging.getLogger(__name__)


class Step(enum.Enum):
    WAIT = "wait"  # nothing to do now
    PROBE = "probe"  # ask kernel_info on shell again: its busy/idle show iopub works
    READY = "ready"  # done: hand the session the kernel_info_reply
    NO_ANSWER = "no_answer"  # the kernel never answered kernel_info: give up
    REJOINED = "rejoined"  # a rejoin is over (proven, or not in time): what waited is sent


class Handshake:
    """Ready once kernel_info is answered and iopub has delivered a message.

    A SUB socket's subscription takes a moment, and output published before it would be lost:
    so after the reply we keep asking kernel_info on shell, whose busy and idle on iopub show
    the subscription works. A kernel that answers but never publishes is taken as ready at the
    deadline anyway; one that never answers is not.
    """

    def __init__(
        self, now: float, timeout: float, probe_every: float = 0.2, own_iopub: bool = False
    ) -> None:
        self.timeout = timeout
        self.own_iopub = own_iopub  # only iopub caused by our probes counts (a rejoin)
        self.deadline = now + timeout
        self.probe_every = probe_every
        self.reply: Message | None = None
        self.done = False
        self._asked: set[str] = set()
        self._iopub_seen = False
        self._next_probe = now

    def asked(self, msg_id: str) -> None:
        """We sent a kernel_info_request with this msg_id."""
        self._asked.add(msg_id)

    def on_message(self, channel: str, msg: Message) -> bool:
        """Take note of ``msg``; True when it is the handshake's own, not for the session.

        Everything caused by our kernel_info_requests is ours, also after ready: the reply, and
        the busy and idle of each on iopub, which would show a kernel just linked as busy.
        """
        ours = msg["parent_header"].get("msg_id") in self._asked
        if channel == "iopub" and (ours or not self.own_iopub):
            self._iopub_seen = True
        if not ours:
            return False
        if msg["msg_type"] == "kernel_info_reply":
            self.reply = self.reply or msg
        return True

    def step(self, now: float) -> Step:
        if self.done:
            return Step.WAIT
        if self.reply is not None and (self._iopub_seen or now >= self.deadline):
            self.done = True
            return Step.READY
        if now >= self.deadline:
            self.done = True
            return Step.NO_ANSWER
        if self.reply is not None and now >= self._next_probe:
            self._next_probe = now + self.probe_every
            return Step.PROBE
        return Step.WAIT

    def next_deadline(self) -> float | None:
        if self.done:
            return None
        if self.reply is not None:
            return min(self.deadline, self._next_probe)
        return self.deadline


class Join:
    """A link's handshake, then each rejoin: when the way to the kernel changed under the link
    (its shell connection dropped; we restarted it behind a server), output of a request sent
    at once could be published before iopub reaches the new process, and be lost. So iopub is
    proven again, by the busy and idle of probes of our own, and what the user sends waits."""

    def __init__(self, now: float, timeout: float) -> None:
        self.timeout = timeout
        self.handshake = Handshake(now, timeout)
        self.rejoin: Handshake | None = None

    @property
    def joined(self) -> bool:
        return self.handshake.done and self.rejoin is None

    @property
    def reply(self) -> Message | None:
        return self.handshake.reply

    def again(self, now: float) -> bool:
        """Prove iopub again; True when that starts a rejoin (ask kernel_info now)."""
        if not self.joined:
            return False  # the handshake, or a rejoin, is proving it already
        self.rejoin = Handshake(now, self.timeout, own_iopub=True)
        return True

    def asked(self, msg_id: str) -> None:
        for handshake in (self.handshake, self.rejoin):
            if handshake is not None:
                handshake.asked(msg_id)

    def on_message(self, channel: str, msg: Message) -> bool:
        """True when ``msg`` is a probe's, not for the session. Both take note: a rejoin's
        probes are the handshake's too."""
        own = self.handshake.on_message(channel, msg)
        return (self.rejoin is not None and self.rejoin.on_message(channel, msg)) or own

    def step(self, now: float) -> Step:
        step = self.handshake.step(now)
        if step is not Step.WAIT or self.rejoin is None:
            return step
        step = self.rejoin.step(now)
        if step in (Step.READY, Step.NO_ANSWER):
            self.rejoin = None
            return Step.REJOINED
        return step

    def next_deadline(self) -> float | None:
        deadlines = [self.handshake.next_deadline(),
                     self.rejoin.next_deadline() if self.rejoin is not None else None]  # fmt: skip
        return min((d for d in deadlines if d is not None), default=None)


class Redial:
    """When to open a dropped connection again, and when to give up: tries at growing intervals
    (``backoff``, the last one repeated) for ``give_up_after`` seconds."""

    def __init__(self, give_up_after: float, backoff: tuple[float, ...] = (0.1, 0.25, 0.5, 1, 2)):
        self.give_up_after = give_up_after
        self.backoff = backoff
        self.since: float | None = None  # it dropped then (None: it is up)
        self.rejoin = False  # we dropped it ourselves, after our restart
        self.next_try = 0.0
        self._tries = 0

    def lost(self, now: float, rejoin: bool = False) -> None:
        self.since, self.rejoin, self.next_try, self._tries = now, rejoin, now, 0

    def failed(self, now: float) -> bool:
        """A try failed: True when it is time to give up, else the next one is due later."""
        assert self.since is not None
        if now - self.since >= self.give_up_after:
            return True
        self.next_try = now + self.backoff[min(self._tries, len(self.backoff) - 1)]
        self._tries += 1
        return False

    def back(self) -> bool:
        """It is up again; whether that was a rejoin."""
        rejoin, self.since, self.rejoin = self.rejoin, None, False
        return rejoin


class Liveness(enum.Enum):
    RESPONSIVE = "responsive"
    UNRESPONSIVE = "unresponsive"


class Heartbeat:
    """When to ping, and whether the kernel still answers the pings.

    Losing the heartbeat ends nothing: a kernel stopped (SIGSTOP) or swapping stops answering
    and comes back. So loss is only reported (UNRESPONSIVE), and while it lasts the channel asks
    once per interval whether the process is gone (``gone_check_due``). The check is armed only
    after the handshake: until then a silent kernel is one that does not answer the handshake.
    """

    def __init__(self, now: float, interval: float, timeout: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self.responsive = True
        self._armed = False
        self._last_beat = now
        self._next_ping = now
        self._next_gone_check = now

    def arm(self) -> None:
        self._armed = True

    def ping_due(self, now: float) -> bool:
        if now < self._next_ping:
            return False
        self._next_ping = now + self.interval
        return True

    def beat(self, now: float) -> Liveness | None:
        """A pong arrived: RESPONSIVE when it ends a loss."""
        self._last_beat = now
        if self.responsive:
            return None
        self.responsive = True
        return Liveness.RESPONSIVE

    def check(self, now: float) -> Liveness | None:
        """UNRESPONSIVE once, when no pong came for ``timeout``."""
        if not self._armed or not self.responsive or now - self._last_beat <= self.timeout:
            return None
        self.responsive = False
        self._next_gone_check = now
        return Liveness.UNRESPONSIVE

    def gone_check_due(self, now: float) -> bool:
        if self.responsive or now < self._next_gone_check:
            return False
        self._next_gone_check = now + self.interval
        return True

    def next_deadline(self) -> float:
        if not self._armed:
            return self._next_ping
        if self.responsive:
            return min(self._next_ping, self._last_beat + self.timeout + 0.001)
        return min(self._next_ping, self._next_gone_check)


class InterruptWatch:
    """interrupt_requests sent, and whose grace is over: those unanswered for the fallback
    (SIGINT, if possible), the answered ones for a look at whether the code stopped."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._due: dict[str, float] = {}  # msg_id -> when the grace ends
        self._answered: set[str] = set()

    def sent(self, msg_id: str, now: float) -> None:
        self._due[msg_id] = now + self.grace

    def answered(self, parent_id: str) -> None:
        if parent_id in self._due:
            self._answered.add(parent_id)

    def overdue(self, now: float) -> list[tuple[str, bool]]:
        """(msg_id, answered) of each interrupt whose grace ended, once each."""
        late = [msg_id for msg_id, when in self._due.items() if now >= when]
        ended = []
        for msg_id in late:
            del self._due[msg_id]
            ended.append((msg_id, msg_id in self._answered))
            self._answered.discard(msg_id)
        return ended

    def next_deadline(self) -> float | None:
        return min(self._due.values(), default=None)


@dataclass
class DropLog:
    """Counts dropped messages per reason and logs each reason at most once per ``interval``.

    The host's stderr goes to Neovim, which buffers it: a kernel sending a million bad messages
    must cost a few log lines, not a million.
    """

    interval: float = 30.0
    # Every reason from the start: another thread may copy it while this one counts, and a dict
    # that never changes size can be copied meanwhile.
    counts: collections.Counter[DropReason] = field(
        default_factory=lambda: collections.Counter(dict.fromkeys(DropReason, 0))
    )
    _unlogged: collections.Counter[DropReason] = field(default_factory=collections.Counter)
    _next_log: dict[DropReason, float] = field(default_factory=dict)

    def drop(self, reason: DropReason, now: float) -> None:
        self.counts[reason] += 1
        self._unlogged[reason] += 1
        if now >= self._next_log.get(reason, now):
            self._log(reason, now)

    def flush(self, now: float) -> None:
        """Log what was counted but not told yet, once its interval has passed."""
        for reason in [r for r, n in self._unlogged.items() if n]:
            if now >= self._next_log.get(reason, now):
                self._log(reason, now)

    def _log(self, reason: DropReason, now: float) -> None:
        log.warning(
            "kernel.nvim: dropped %d %s message(s) from the kernel", self._unlogged[reason],
            reason.value,
        )  # fmt: skip
        self._unlogged[reason] = 0
        self._next_log[reason] = now + self.interval

    def next_deadline(self) -> float | None:
        pending = [self._next_log[r] for r, n in self._unlogged.items() if n]
        return min(pending, default=None)
