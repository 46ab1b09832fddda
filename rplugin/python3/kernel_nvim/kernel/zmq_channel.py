"""The channel to a kernel over zmq: its sockets, owned by one I/O thread.

zmq sockets are not thread-safe and jupyter_client's blocking client runs asyncio inside, which
breaks in pynvim's host loop. So one daemon thread owns every socket and waits on all of them
with a zmq.Poller; the session hands it messages through a queue and a wake-up socket and gets
back batches of :class:`Event` through ``on_events``, called from the I/O thread. Messages are
built and checked by ``wire``; what to do when (the handshake, the heartbeat, the interrupt's
grace, logging drops) is decided by the classes of ``liveness``. Nothing here waits on the
kernel from the caller's thread, knows about Neovim, or sends a signal: a kernel source that can
prove which process is the kernel passes ``interrupt_fallback`` and ``process_gone``.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import zmq

from ..errors import KernelError
from .channel import Channel, Event, EventKind, EventSink, Message
from .liveness import DropLog, Heartbeat, InterruptWatch, Join, Liveness, Step
from .wire import DropReason, InvalidMessage, Session
from .zmq_sockets import MESSAGE_CHANNELS, Sockets, ZmqEndpoints

__all__ = ["MESSAGE_CHANNELS", "Timing", "ZmqChannel", "ZmqEndpoints"]

log = logging.getLogger(__name__)

_channel_ids = itertools.count()


@dataclass
class Timing:
    handshake: float = 5.0  # seconds the kernel has to answer kernel_info
    hb_interval: float = 1.0
    hb_timeout: float = 3.0  # no heartbeat for this long: the kernel is unresponsive
    interrupt_grace: float = 1.0  # no interrupt_reply for this long: the source's fallback
    drop_log_interval: float = 30.0  # each kind of dropped message is logged once per this


class ZmqChannel:
    """A :class:`~kernel_nvim.kernel.channel.Channel` over a kernel's zmq sockets."""

    def __init__(
        self,
        endpoints: ZmqEndpoints,
        on_events: EventSink,
        timing: Timing | None = None,
        *,
        interrupt_fallback: Callable[[], bool] | None = None,
        process_gone: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if endpoints.curve_publickey and not zmq.has("curve"):
            raise KernelError(
                "the kernel's connection file asks for CurveZMQ encryption, which the libzmq "
                f"of this pyzmq ({zmq.pyzmq_version()}) was built without"
            )
        self.endpoints = endpoints
        self.timing = timing or Timing()
        self.interrupt_fallback = interrupt_fallback
        self.process_gone = process_gone
        self.clock = clock
        self.drops = DropLog(self.timing.drop_log_interval)
        self.session = Session(endpoints.key, endpoints.signature_scheme, "kernel.nvim")
        self._on_events = on_events
        self._context: zmq.Context[Any] = zmq.Context.instance()
        self._wake_addr = f"inproc://kernel-nvim-wake-{os.getpid()}-{next(_channel_ids)}"
        self._wake = self._context.socket(zmq.PUSH)
        self._wake.linger = 0
        self._wake.bind(self._wake_addr)
        self._commands: collections.deque[tuple[str, Message]] = collections.deque()
        self.stopping = False
        self._thread = threading.Thread(target=self._run, name="kernel.nvim I/O", daemon=True)

    @property
    def session_id(self) -> str:
        return self.session.session

    @property
    def dropped(self) -> dict[DropReason, int]:
        """Messages dropped so far, per reason."""
        return {reason: n for reason, n in dict(self.drops.counts).items() if n}

    def start(self) -> None:
        self._thread.start()

    def send(
        self, channel: str, msg_type: str, content: Message, parent: Message | None = None
    ) -> str:
        if channel not in MESSAGE_CHANNELS:
            raise ValueError(f"no channel {channel!r}")
        msg = self.session.msg(msg_type, content, parent=parent)
        self._command(channel, msg)
        return str(msg["header"]["msg_id"])

    def rejoin(self) -> None:
        """We restarted the kernel: prove iopub reaches the new process before what follows."""
        self._command("rejoin", {})

    def close(self) -> None:
        """Stop the thread and close the sockets. Never stops the kernel."""
        if self._wake.closed:
            return
        self.stopping = True
        self._command("stop", {})
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._wake.close()

    def emit(self, batch: list[Event]) -> None:
        try:
            self._on_events(batch)
        except Exception:  # the session's bug must not end the link either
            log.exception("kernel.nvim: the session failed to take events")

    def _command(self, channel: str, msg: Message) -> None:
        self._commands.append((channel, msg))
        # If the thread is gone or its wake-up queue is full, it drains the commands anyway.
        with contextlib.suppress(zmq.ZMQError):
            self._wake.send(b"", zmq.NOBLOCK)

    def _run(self) -> None:  # the I/O thread
        try:
            io = Sockets(self.endpoints, self.session, self._context, self._wake_addr)
        except Exception as e:  # a bad address or port: tell the session, never die silently
            log.warning("kernel.nvim: cannot open sockets: %s", type(e).__name__)
            self.emit([Event(EventKind.FAILED, text=_why(e))])
            return
        try:
            _Loop(self, io).run()
        except Exception as e:
            log.exception("kernel.nvim: I/O thread failed")
            self.emit([Event(EventKind.FAILED, text=_why(e))])
        finally:
            self.drops.flush(float("inf"))
            io.close()


def _why(error: Exception) -> str:
    # str() of an exception may quote an address or a key (pyzmq's adds "(addr='tcp://...')"
    # to its strerror): only the errno's own text is shown.
    if isinstance(error, zmq.ZMQError) and isinstance(error.errno, int):
        return str(zmq.strerror(error.errno))
    return f"internal error ({type(error).__name__})"


class _Loop:
    """The poll loop of the I/O thread: read everything ready, act on timers, emit one batch."""

    MAX_PER_SOCKET = 500  # per wake-up, so that one flooding socket cannot starve the others
    # A DEALER with no pipe (its peer refused the CurveZMQ handshake, which also ends the
    # reconnecting) or a full one would block a send for good: what cannot go waits, in order.
    RETRY = 0.05
    # A batch holds every message read in a wake-up until the session takes it: 500 messages of
    # 10 kB were 10 MB at once. Past this many bytes, a socket waits for the next wake-up.
    MAX_BATCH_BYTES = 1 << 20

    def __init__(self, channel: ZmqChannel, io: Sockets) -> None:
        self.channel = channel
        self.io = io
        self.session = channel.session
        self.clock = channel.clock
        timing = channel.timing
        now = self.clock()
        self.join = Join(now, timing.handshake)
        self.heartbeat = Heartbeat(now, timing.hb_interval, timing.hb_timeout)
        self.interrupts = InterruptWatch(timing.interrupt_grace)
        self.drops = channel.drops
        self.stalled = False  # a command could not be sent: try again in RETRY
        self.poller = zmq.Poller()
        for sock in (*io.by_name.values(), io.hb, io.wake, io.shell_events):
            self.poller.register(sock, zmq.POLLIN)

    def run(self) -> None:
        for channel in ("control", "shell"):  # control answers even while shell is busy
            self._ask_info(channel)
        while not self.channel.stopping:
            ready = dict(self.poller.poll(self._timeout_ms()))
            batch: list[Event] = []
            if self.io.wake in ready:
                self._drain_wake()
                self._run_commands()
            for name, sock in self.io.by_name.items():
                if sock in ready:
                    self._read(name, sock, batch)
            if self.io.hb in ready:
                self._read_heartbeat(batch)
            if self.io.shell_events in ready:
                self._on_shell_events()
            self._on_timers(batch)
            if batch:
                self.channel.emit(batch)

    def _timeout_ms(self) -> int:
        deadlines = [
            self.heartbeat.next_deadline(),
            self.join.next_deadline(),
            self.interrupts.next_deadline(),
            self.drops.next_deadline(),
            self.clock() + self.RETRY if self.stalled else None,
        ]
        soonest = min(d for d in deadlines if d is not None)
        return max(0, int((soonest - self.clock()) * 1000) + 1)

    def _drain_wake(self) -> None:
        while True:
            try:
                self.io.wake.recv(zmq.NOBLOCK)
            except zmq.Again:
                return

    def _run_commands(self) -> None:
        commands = self.channel._commands
        # Until the handshake is done, a request could run before iopub is subscribed and its
        # output be lost: what the user sends meanwhile waits, in order.
        while commands and (self.join.joined or commands[0][0] == "stop"):
            channel, msg = commands.popleft()
            if channel == "stop":
                self.channel.stopping = True
                return
            if channel == "rejoin":
                self._rejoin()
                continue
            if not self._send(channel, msg):
                commands.appendleft((channel, msg))
                self.stalled = True
                return
            if msg["msg_type"] == "interrupt_request":
                self.interrupts.sent(msg["msg_id"], self.clock())

    def _ask_info(self, channel: str) -> None:
        msg = self.session.msg("kernel_info_request", {})
        self.join.asked(msg["msg_id"])
        self._send(channel, msg)  # one that cannot go: the handshake's probes and deadline

    def _on_shell_events(self) -> None:
        while True:
            try:
                self.io.shell_events.recv_multipart(zmq.NOBLOCK)  # only disconnections
            except zmq.Again:
                break
            self._rejoin()  # the kernel that comes back: prove iopub first, as on linking

    def _rejoin(self) -> None:
        if self.join.again(self.clock()):
            self._ask_info("shell")

    def _send(self, channel: str, msg: Message) -> bool:
        """False when the socket cannot take the message now."""
        try:
            frames = self.session.serialize(msg)
        except (TypeError, ValueError):  # content that is not JSON: the sender's bug, not ours
            log.warning("kernel.nvim: cannot send a %s: not JSON", msg["msg_type"])
            return True
        try:
            self.io.by_name[channel].send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def _read(self, name: str, sock: zmq.Socket[Any], batch: list[Event]) -> None:
        size = 0
        for _ in range(self.MAX_PER_SOCKET):
            if size > self.MAX_BATCH_BYTES:
                return  # the poller still finds it ready: the rest comes in the next batch
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            size += sum(map(len, frames))
            try:
                self._dispatch(name, self.session.deserialize(frames), batch)
            except InvalidMessage as e:  # unsigned, wrongly signed, replayed or malformed
                self.drops.drop(e.reason, self.clock())
            except Exception:  # whatever one message holds, it drops that message alone
                self.drops.drop(DropReason.MALFORMED, self.clock())

    def _dispatch(self, name: str, msg: Message, batch: list[Event]) -> None:
        if self.join.on_message(name, msg):
            return
        if msg["msg_type"] == "interrupt_reply":
            self.interrupts.answered(msg["parent_header"].get("msg_id", ""))
        batch.append(Event(EventKind.MESSAGE, channel=name, msg=msg))

    def _read_heartbeat(self, batch: list[Event]) -> None:
        beat = False
        while True:
            try:
                self.io.hb.recv(zmq.NOBLOCK)
            except zmq.ZMQError:  # Again, or EFSM: a REQ socket holds one reply at a time
                break
            beat = True
        if beat and self.heartbeat.beat(self.clock()) is Liveness.RESPONSIVE:
            batch.append(Event(EventKind.RESPONSIVE))

    def _on_timers(self, batch: list[Event]) -> None:
        now = self.clock()
        self._on_handshake(now, batch)
        if self.channel.stopping:
            return
        if self.stalled:
            self.stalled = False
            self._run_commands()
        if self.heartbeat.ping_due(now):
            # A REQ socket whose peer refused its CurveZMQ handshake (keys of another kernel)
            # has no pipe left, and a blocking send there would stop this thread for good.
            with contextlib.suppress(zmq.Again):
                self.io.hb.send(b"ping", zmq.NOBLOCK)
        lost = self.heartbeat.check(now) is Liveness.UNRESPONSIVE
        if self.heartbeat.gone_check_due(now) and _asks(self.channel.process_gone):
            self.channel.stopping = True
            batch.append(Event(EventKind.GONE))  # and no word of a silence it explains
            return
        if lost:
            batch.append(Event(EventKind.UNRESPONSIVE))
        for msg_id, answered in self.interrupts.overdue(now):
            # A kernel that answered is never signalled: it said it took the interrupt, and
            # SIGINT can end a kernel that does not expect it (xeus-python exits).
            if answered:
                kind = EventKind.INTERRUPT_ANSWERED
            elif _asks(self.channel.interrupt_fallback):
                kind = EventKind.INTERRUPT_SIGNALLED
            else:
                kind = EventKind.INTERRUPT_UNANSWERED
            batch.append(Event(kind, text=msg_id))
        self.drops.flush(now)

    def _on_handshake(self, now: float, batch: list[Event]) -> None:
        step = self.join.step(now)
        if step is Step.READY:
            assert self.join.reply is not None
            self.heartbeat.arm()
            batch.append(Event(EventKind.READY, msg=self.join.reply))
            self._run_commands()
        elif step is Step.PROBE:
            self._ask_info("shell")
        elif step is Step.NO_ANSWER:
            self.channel.stopping = True
            batch.append(Event(EventKind.NO_ANSWER, text=f"{self.join.timeout:g}"))
        elif step is Step.REJOINED:
            self._run_commands()


def _asks(question: Callable[[], bool] | None) -> bool:
    """The source's answer; False when there is no source to ask or it failed to answer."""
    if question is None:
        return False
    try:
        return bool(question())
    except Exception:
        log.exception("kernel.nvim: a kernel source's check failed")
        return False


if TYPE_CHECKING:  # mypy proves ZmqChannel speaks the Channel protocol

    def _is_a_channel(channel: ZmqChannel) -> Channel:
        return channel
