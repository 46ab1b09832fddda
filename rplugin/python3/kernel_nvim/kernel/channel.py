"""What every channel to a kernel offers the session, whatever carries the messages.

A channel owns its transport (zmq sockets today, a Jupyter Server's websocket later) on one I/O
thread of its own and hands the session batches of :class:`Event` through the ``on_events``
callback it was opened with, called from that thread. The session never waits on a channel:
``send`` only queues, ``close`` returns within a bounded time.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

Message = dict[str, Any]


class EventKind(enum.Enum):
    READY = "ready"  # the handshake is done: msg is the kernel_info_reply; sends reach the kernel
    NO_ANSWER = "no_answer"  # the handshake timed out (text: after how many seconds); stopped
    FAILED = "failed"  # the transport could not start or broke; text says why; it has stopped
    MESSAGE = "message"  # msg arrived on `channel` (shell, iopub, stdin, control), signed and valid
    UNRESPONSIVE = "unresponsive"  # the liveness check (heartbeat) stopped answering
    RESPONSIVE = "responsive"  # it answers again after UNRESPONSIVE
    # The transport dropped (an ssh tunnel, a server's websocket; text: why) and is being made
    # again; RECONNECTED: it is back, and what the kernel sent meanwhile follows if it was kept.
    RECONNECTING = "reconnecting"
    RECONNECTED = "reconnected"
    # The channel found its way to the kernel anew, on its own (a server's sockets to it had
    # lost it): the kernel may have restarted meanwhile.
    REJOINED = "rejoined"
    GONE = "gone"  # the kernel's process is proven gone; the channel has stopped
    # An interrupt's grace is over (text: the interrupt_request's msg_id). ANSWERED: its reply
    # came, and the session can tell whether the code stopped; else SIGNALLED: SIGINT was sent
    # instead, or UNANSWERED: no signal was possible.
    INTERRUPT_ANSWERED = "interrupt_answered"
    INTERRUPT_SIGNALLED = "interrupt_signalled"
    INTERRUPT_UNANSWERED = "interrupt_unanswered"


@dataclass
class Event:
    kind: EventKind
    channel: str = ""  # for MESSAGE
    msg: Message = field(default_factory=dict)
    text: str = ""  # FAILED: why, never quoting a value of the connection file; INTERRUPT_*: msg_id


EventSink = Callable[[list[Event]], None]


class Channel(Protocol):
    @property
    def session_id(self) -> str:
        """Our client's session id: the ``session`` of every message we send."""

    def start(self) -> None:
        """Start the I/O thread and the handshake; events follow through the sink."""

    def send(
        self, channel: str, msg_type: str, content: Message, parent: Message | None = None
    ) -> str:
        """Queue a message on ``channel``; returns its msg_id at once, before it is sent."""

    def rejoin(self) -> None:
        """We restarted the kernel: before what is sent after this, prove that its output
        reaches us from the new process (it would be lost otherwise)."""

    def close(self) -> None:
        """Stop the I/O thread and close the transport. Never stops the kernel."""
