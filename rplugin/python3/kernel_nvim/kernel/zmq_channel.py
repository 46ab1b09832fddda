"""The link to one running kernel: its sockets, owned by one I/O thread.

zmq sockets are not thread-safe and jupyter_client's blocking client runs asyncio inside, which
breaks in pynvim's host loop. So one daemon thread owns every socket and waits on all of them
with a zmq.Poller; the editor's side hands it requests through a queue and a wake-up socket and
gets back batches of events through ``on_events``, called from the I/O thread. Messages are
built and checked by ``wire``. Nothing here ever waits on the kernel from the caller's thread,
and nothing here knows about Neovim.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import zmq

from .connection import ConnectionInfo, kernel_pid
from .wire import InvalidMessage, Session

log = logging.getLogger(__name__)

Message = dict[str, Any]

_link_ids = itertools.count()


@dataclass
class Event:
    """What the I/O thread saw. ``kind`` is one of:

    ``ready`` (msg: the kernel_info_reply), ``no_answer`` (the handshake timed out; the thread
    stops), ``iopub``/``shell``/``control``/``stdin`` (msg: a message from that channel),
    ``dead``/``alive`` (the heartbeat stopped or came back), ``interrupt`` (text: ``signal``
    when SIGINT was sent, ``unanswered`` when nothing could be done), ``failed`` (text: why the
    thread could not start).
    """

    kind: str
    msg: Message = field(default_factory=dict)
    text: str = ""


@dataclass
class Timing:
    handshake: float = 5.0  # seconds the kernel has to answer kernel_info
    hb_interval: float = 1.0
    hb_timeout: float = 3.0  # no heartbeat for this long: the kernel is dead
    interrupt_grace: float = 1.0  # no interrupt_reply for this long: SIGINT, if we can


class KernelLink:
    def __init__(
        self,
        conn: ConnectionInfo,
        on_events: Callable[[list[Event]], None],
        timing: Timing | None = None,
    ) -> None:
        self.conn = conn
        self.timing = timing or Timing()
        self._on_events = on_events
        info = conn.info
        self.session = Session(
            key=info["key"].encode(),
            signature_scheme=info.get("signature_scheme", "hmac-sha256"),
            username="kernel.nvim",
        )
        self._context: zmq.Context[Any] = zmq.Context.instance()
        self._wake_addr = f"inproc://kernel-nvim-wake-{os.getpid()}-{next(_link_ids)}"
        self._wake = self._context.socket(zmq.PUSH)
        self._wake.linger = 0
        self._wake.bind(self._wake_addr)
        self._commands: collections.deque[tuple[str, Message]] = collections.deque()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="kernel.nvim I/O", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def execute(self, code: str, allow_stdin: bool = False) -> str:
        """Queue an execute_request; returns its msg_id at once, before anything is sent."""
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": allow_stdin,
            "stop_on_error": True,
        }
        return self.request("shell", "execute_request", content)

    def interrupt(self) -> str:
        return self.request("control", "interrupt_request", {})

    def request(
        self, channel: str, msg_type: str, content: Message, parent: Message | None = None
    ) -> str:
        msg = self.session.msg(msg_type, content, parent=parent)
        self._command(channel, msg)
        return str(msg["header"]["msg_id"])

    def close(self) -> None:
        """Stop the thread and close the sockets. Never shuts the kernel down: it is not ours."""
        if self._stopping:
            return
        self._stopping = True
        self._command("stop", {})
        self._thread.join(timeout=2)
        self._wake.close()

    def _command(self, channel: str, msg: Message) -> None:
        self._commands.append((channel, msg))
        # If the thread is gone or its wake-up queue is full, it drains the commands anyway.
        with contextlib.suppress(zmq.ZMQError):
            self._wake.send(b"", zmq.NOBLOCK)

    # The I/O thread from here on.

    def _run(self) -> None:
        try:
            io = _Sockets(self.conn, self.session, self._context, self._wake_addr)
        except Exception as e:  # a bad address or port: tell the editor, never die silently
            log.exception("kernel.nvim: cannot open sockets")
            self._on_events([Event("failed", text=str(e))])
            return
        try:
            _Loop(self, io).run()
        except Exception as e:
            log.exception("kernel.nvim: I/O thread failed")
            self._on_events([Event("failed", text=str(e))])
        finally:
            io.close()


class _Sockets:
    TYPES = {"shell": zmq.DEALER, "stdin": zmq.DEALER, "control": zmq.DEALER, "iopub": zmq.SUB,
             "hb": zmq.REQ}  # fmt: skip
    MESSAGES = ("shell", "stdin", "control", "iopub")  # the channels that carry signed messages

    def __init__(
        self, conn: ConnectionInfo, session: Session, context: zmq.Context[Any], wake_addr: str
    ) -> None:
        self._info = conn.info
        self._context = context
        ident = session.bsession  # stdin must share the shell's identity or input() hangs
        self.by_name = {name: self._connect(name, ident) for name in self.MESSAGES}
        self.by_name["iopub"].setsockopt(zmq.SUBSCRIBE, b"")
        self.hb = self.new_heartbeat()
        self.wake = context.socket(zmq.PULL)
        self.wake.connect(wake_addr)

    def _connect(self, channel: str, identity: bytes | None) -> zmq.Socket[Any]:
        info = self._info
        sock: zmq.Socket[Any] = self._context.socket(self.TYPES[channel])
        sock.linger = 0
        if identity:
            sock.identity = identity
        if info.get("curve_publickey") and info.get("curve_secretkey"):
            # jupyter_client 8.9+: the kernel's keypair, shared through the connection file.
            sock.curve_secretkey = info["curve_secretkey"].encode()
            sock.curve_publickey = info["curve_publickey"].encode()
            sock.curve_serverkey = info["curve_publickey"].encode()
        port = info[f"{channel}_port"]
        if info["transport"] == "tcp":
            sock.connect(f"tcp://{info['ip']}:{port}")
        else:
            sock.connect(f"{info['transport']}://{info['ip']}-{port}")
        return sock

    def new_heartbeat(self) -> zmq.Socket[Any]:
        hb = self._connect("hb", None)
        # A relaxed REQ may ping again before the last ping was answered.
        hb.setsockopt(zmq.REQ_RELAXED, 1)
        hb.setsockopt(zmq.REQ_CORRELATE, 1)
        return hb

    def close(self) -> None:
        for sock in (*self.by_name.values(), self.hb, self.wake):
            sock.close(linger=0)


class _Loop:
    """The poll loop of the I/O thread: read everything ready, act on timers, emit one batch."""

    MAX_PER_SOCKET = 500  # per wake-up, so that one flooding socket cannot starve the others

    def __init__(self, link: KernelLink, io: _Sockets) -> None:
        self.link = link
        self.io = io
        self.session = link.session
        self.timing = link.timing
        now = time.monotonic()
        # Ready once kernel_info is answered and iopub has delivered a message: a SUB socket's
        # subscription takes a moment, and output published before it would be lost.
        self.handshake_ids: set[str] = set()
        self.handshake_deadline: float | None = now + self.timing.handshake
        self.info_reply: Message | None = None
        self.iopub_seen = False
        self.next_probe = now
        self.last_beat = now
        self.next_ping = now
        self.dead = False
        self.interrupts: dict[str, float] = {}  # msg_id -> when to fall back to SIGINT
        self.poller = zmq.Poller()
        for sock in (*io.by_name.values(), io.hb, io.wake):
            self.poller.register(sock, zmq.POLLIN)

    def run(self) -> None:
        for channel in ("control", "shell"):  # control answers even while shell is busy
            self._ask_info(channel)
        while not self.link._stopping:
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
            self._on_timers(batch)
            if batch:
                self.link._on_events(batch)

    def _timeout_ms(self) -> int:
        deadlines = [self.next_ping, *self.interrupts.values()]
        if self.handshake_deadline is not None:
            deadlines.append(self.handshake_deadline)
            if self.info_reply is not None:
                deadlines.append(self.next_probe)
        elif not self.dead:
            deadlines.append(self.last_beat + self.timing.hb_timeout)
        return max(0, int((min(deadlines) - time.monotonic()) * 1000) + 1)

    def _drain_wake(self) -> None:
        while True:
            try:
                self.io.wake.recv(zmq.NOBLOCK)
            except zmq.Again:
                return

    def _run_commands(self) -> None:
        commands = self.link._commands
        while commands:
            channel, msg = commands.popleft()
            if channel == "stop":
                return
            if msg["header"]["msg_type"] == "interrupt_request":
                self.interrupts[msg["header"]["msg_id"]] = (
                    time.monotonic() + self.timing.interrupt_grace
                )
            self._send(channel, msg)

    def _ask_info(self, channel: str) -> None:
        msg = self.session.msg("kernel_info_request", {})
        self.handshake_ids.add(msg["header"]["msg_id"])
        self._send(channel, msg)

    def _finish_handshake(self, batch: list[Event]) -> None:
        if self.handshake_deadline is not None and self.info_reply and self.iopub_seen:
            self.handshake_deadline = None
            batch.append(Event("ready", self.info_reply))

    def _send(self, channel: str, msg: Message) -> None:
        self.io.by_name[channel].send_multipart(self.session.serialize(msg))

    def _read(self, name: str, sock: zmq.Socket[Any], batch: list[Event]) -> None:
        for _ in range(self.MAX_PER_SOCKET):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                msg = self.session.deserialize(frames)
            except InvalidMessage:  # unsigned, wrongly signed, replayed or malformed: drop it
                log.warning("kernel.nvim: dropped an invalid message on %s", name)
                continue
            self._dispatch(name, msg, batch)

    def _dispatch(self, name: str, msg: Message, batch: list[Event]) -> None:
        parent_id = msg.get("parent_header", {}).get("msg_id")
        if parent_id in self.handshake_ids and msg["msg_type"] == "kernel_info_reply":
            self.info_reply = self.info_reply or msg
            self._finish_handshake(batch)
            return
        if name == "iopub" and not self.iopub_seen:
            self.iopub_seen = True
            self._finish_handshake(batch)
        if msg["msg_type"] == "interrupt_reply":
            self.interrupts.pop(parent_id, None)
        batch.append(Event(name, msg))

    def _read_heartbeat(self, batch: list[Event]) -> None:
        while True:
            try:
                self.io.hb.recv(zmq.NOBLOCK)
            except zmq.ZMQError:  # Again, or EFSM: a REQ socket holds one reply at a time
                break
            self.last_beat = time.monotonic()
        if self.dead:
            self.dead = False
            batch.append(Event("alive"))

    def _on_timers(self, batch: list[Event]) -> None:
        now = time.monotonic()
        if self.handshake_deadline is not None and now >= self.handshake_deadline:
            if self.info_reply is not None:  # it answers, but iopub stays silent: go on anyway
                self.iopub_seen = True
                self._finish_handshake(batch)
            else:
                self.handshake_deadline = None
                self.link._stopping = True
                batch.append(Event("no_answer"))
                return
        if self.handshake_deadline is not None and self.info_reply and now >= self.next_probe:
            self._ask_info("shell")  # its busy and idle on iopub show the subscription works
            self.next_probe = now + 0.2
        if now >= self.next_ping:
            self.io.hb.send(b"ping")
            self.next_ping = now + self.timing.hb_interval
        # Until the handshake is answered, a silent kernel is reported as not answering it.
        handshaking = self.handshake_deadline is not None
        if not handshaking and not self.dead and now - self.last_beat > self.timing.hb_timeout:
            self.dead = True
            batch.append(Event("dead"))
        for msg_id, when in list(self.interrupts.items()):
            if now >= when:
                del self.interrupts[msg_id]
                batch.append(Event("interrupt", text=self._signal_kernel()))

    def _signal_kernel(self) -> str:
        pid = kernel_pid(self.link.conn) if self.link.conn.is_local else None
        if pid is None:
            return "unanswered"
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            return "unanswered"
        return "signal"
