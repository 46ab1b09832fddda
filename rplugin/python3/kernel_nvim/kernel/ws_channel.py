"""The channel to a kernel behind a Jupyter Server: its ``/api/kernels/{id}/channels`` websocket.

One I/O thread owns the websocket (websocket-client, imported in that thread only) and waits on
it and on a wake-up socket with ``select``; the session hands it messages through a queue and
gets back batches of :class:`Event`, as from the zmq channel. All four channels share the one
websocket, in the ``v1.kernel.websocket.jupyter.org`` form when the server offers it, else in
the legacy JSON form (``ws_frames``). The server signs for us: our messages carry no signature.

Liveness: a websocket ping every ``hb_interval``; no pong within ``hb_timeout`` is
UNRESPONSIVE (the server, or the way to it, does not answer). When the websocket drops, the
channel says RECONNECTING and connects again with the same ``session_id``, so that a Jupyter
Server replays what the kernel said meanwhile; what the user sends waits, in order, and goes
once it is back (RECONNECTED); after our restart it connects anew, silently (``rejoin``), and
when the server hears the kernel while the websocket does not (``ws_watch``: another client
restarted it onto new ports), it connects anew too, and says REJOINED. A server without the
kernel (404) ends the link as GONE; a refused token, or a server away past ``reconnect_for``,
as FAILED.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import ws_frames
from . import ws_problems as problems
from .channel import Channel, Event, EventKind, EventSink, Message
from .liveness import DropLog, Heartbeat, Join, Liveness, Redial, Step
from .wire import InvalidMessage, Session
from .ws_watch import Check, Watch

if TYPE_CHECKING:
    from .zmq_channel import Timing

log = logging.getLogger(__name__)

MISSING = "websocket-client"  # the package a server's kernels need (pip name)
RECONNECT_FOR = 120.0  # seconds a dropped websocket is tried again before the link ends


@dataclass(frozen=True)
class WsEndpoint:
    """Where a server's kernel websocket is and how to be let in; the token stays out of repr."""

    url: str  # ws(s)://host:port/base/api/kernels/{id}/channels?session_id=...
    shown: str  # the server, for messages: https://host:port/base/
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # Authorization: token
    ca_file: str = ""  # a CA bundle to trust besides the system's


class WsChannel:
    """A :class:`~kernel_nvim.kernel.channel.Channel` over a Jupyter Server's websocket."""

    MAX_PER_WAKE = 500
    MAX_BATCH_BYTES = 1 << 20

    def __init__(self, endpoint: WsEndpoint, session_id: str, on_events: EventSink,
                 timing: Timing | None = None, *, clock: Callable[[], float] = time.monotonic,
                 reconnect_for: float = RECONNECT_FOR,
                 activity: Callable[[], tuple[str, float]] | None = None) -> None:  # fmt: skip
        from .zmq_channel import Timing

        self.endpoint = endpoint
        self.timing = timing or Timing()
        self.clock = clock
        self.reconnect_for = reconnect_for
        self.session = Session(b"", username="kernel.nvim")
        self.session.session = session_id
        self.drops = DropLog(self.timing.drop_log_interval)
        self.protocol = ""  # the subprotocol the server chose: ws_frames.V1, or "" (JSON)
        self.stopping = False
        self.heard = 0.0  # when an iopub message last came, on the wall clock (ws_watch)
        self.suspect = False  # the watch asks for a check: the server heard the kernel, did we?
        self._watch = activity and Watch(activity, lambda: self.heard, self._on_suspect)
        self._on_events = on_events
        self._commands: collections.deque[tuple[str, Message]] = collections.deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="kernel.nvim ws I/O", daemon=True)

    @property
    def session_id(self) -> str:
        return self.session.session

    def start(self) -> None:
        self._thread.start()
        if self._watch is not None:
            self._watch.start()

    def send(
        self, channel: str, msg_type: str, content: Message, parent: Message | None = None
    ) -> str:
        if channel not in ws_frames.CHANNELS:
            raise ValueError(f"no channel {channel!r}")
        msg = self.session.msg(msg_type, content, parent=parent)
        self._command(channel, msg)
        return str(msg["header"]["msg_id"])

    def rejoin(self) -> None:
        """We restarted the kernel: the server's sockets to it may be new (a gateway's kernels
        move) or not reach it yet. A new websocket, as JupyterLab opens after a restart, has the
        server wire it afresh; probes of ours prove iopub before what follows is sent."""
        self._command("rejoin", {})

    def close(self) -> None:
        """Stop the thread and close the websocket. Never stops the kernel."""
        if self._wake_w.fileno() < 0:
            return
        self.stopping = True
        if self._watch is not None:
            self._watch.stop()
        self._command("stop", {})
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._wake_w.close()

    def emit(self, batch: list[Event]) -> None:
        try:
            self._on_events(batch)
        except Exception:  # the session's bug must not end the link
            log.exception("kernel.nvim: the session failed to take events")

    def _on_suspect(self) -> None:  # in the watch's thread
        self.suspect = True
        self._command("wake", {})

    def _command(self, channel: str, msg: Message) -> None:
        if channel != "wake":
            self._commands.append((channel, msg))
        with contextlib.suppress(OSError):  # full (it drains anyway) or closed (stopped)
            self._wake_w.send(b"\0")

    def _run(self) -> None:  # the I/O thread
        try:
            _Loop(self).run()
        except Exception as e:
            log.exception("kernel.nvim: websocket I/O thread failed")
            self.emit([Event(EventKind.FAILED, text=f"internal error ({type(e).__name__})")])
        finally:
            self.drops.flush(float("inf"))
            self._wake_r.close()


class _Loop:
    def __init__(self, channel: WsChannel) -> None:
        self.channel = channel
        self.clock, self.timing = channel.clock, channel.timing
        now = self.clock()
        self.join = Join(now, self.timing.handshake)
        self.heartbeat = Heartbeat(now, self.timing.hb_interval, self.timing.hb_timeout)
        self.ws: Any = None
        self.redial = Redial(channel.reconnect_for)
        self.check, self.told = Check(), True  # told: False while a rejoin after a check runs

    def run(self) -> None:
        try:
            import websocket  # noqa: F401  (websocket-client)
        except ImportError:
            why = f"a Jupyter Server's kernels need {MISSING} in the python3 host: pip install "
            self.channel.emit([Event(EventKind.FAILED, text=why + MISSING)])
            return
        problem = self._connect()
        if problem is not None:
            self.channel.emit([Event(problem[0], text=problem[1])])
            return
        for channel in ("control", "shell"):  # control answers even while shell is busy
            self._ask_info(channel)
        while not self.channel.stopping:
            batch: list[Event] = []
            readable = self._wait()
            if self.channel._wake_r in readable:
                self._drain_wake()
                self._run_commands()
            if self.ws is not None and (self.ws.sock in readable or self._pending()):
                self._read(batch)
                problems.ack_at_once(self.ws)
            self._on_timers(batch)
            if batch:
                self.channel.emit(batch)
        self._close_ws()

    # Connecting.

    def _connect(self) -> tuple[EventKind, str] | None:
        """Open the websocket; None when it is open, else how the link ends and why."""
        self.ws, problem = problems.dial(self.channel.endpoint)
        if self.ws is not None:
            self.channel.protocol = self.ws.getsubprotocol() or ""
            problems.ack_at_once(self.ws)
        return problem

    def _wait(self) -> list[Any]:
        timeout = 0.0 if self._pending() else max(0.0, self._next_deadline() - self.clock())
        watched = [self.channel._wake_r] + ([self.ws.sock] if self.ws is not None else [])
        readable, _, _ = select.select(watched, [], [], timeout)
        return readable

    def _pending(self) -> bool:
        sock = self.ws.sock if self.ws is not None else None
        return bool(sock is not None and hasattr(sock, "pending") and sock.pending())

    def _next_deadline(self) -> float:
        if self.ws is None:
            return self.redial.next_try
        deadlines = [self.heartbeat.next_deadline(), self.join.next_deadline(),
                     self.channel.drops.next_deadline(), self.check.deadline]  # fmt: skip
        return min(d for d in deadlines if d is not None)

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self.channel._wake_r.recv(4096, socket.MSG_DONTWAIT):
                pass

    def _run_commands(self) -> None:
        commands = self.channel._commands
        ready = self.join.joined and self.ws is not None
        while commands and (ready or commands[0][0] == "stop"):
            channel, msg = commands[0]
            if channel == "stop":
                self.channel.stopping = True
                return
            if channel == "rejoin":
                commands.popleft()
                self._lost("", [], rejoin=True)
                return
            if not self._send(channel, msg):
                return  # the websocket dropped: this one goes again once it is back
            commands.popleft()

    def _send(self, channel: str, msg: Message) -> bool:
        import websocket

        try:
            payload, binary = ws_frames.encode(msg, channel, self.channel.protocol)
        except (TypeError, ValueError):
            log.warning("kernel.nvim: cannot send a %s: not JSON", msg["msg_type"])
            return True
        opcode = websocket.ABNF.OPCODE_BINARY if binary else websocket.ABNF.OPCODE_TEXT
        try:
            self.ws.send(payload, opcode=opcode)
        except (OSError, websocket.WebSocketException) as e:
            self._lost(problems.why(e), [])
            return False
        return True

    def _ask_info(self, channel: str = "shell") -> str:
        msg = self.channel.session.msg("kernel_info_request", {})
        self.join.asked(msg["msg_id"])
        self._send(channel, msg)
        return str(msg["msg_id"])

    # Reading.

    def _read(self, batch: list[Event]) -> None:
        import websocket

        size = 0
        for _ in range(WsChannel.MAX_PER_WAKE):
            try:
                opcode, frame = self.ws.recv_data_frame(True)
            except (OSError, websocket.WebSocketException) as e:
                self._lost(problems.why(e), batch)
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self._lost("the server closed the connection", batch)
                return
            if opcode == websocket.ABNF.OPCODE_PONG:
                if self.heartbeat.beat(self.clock()) is Liveness.RESPONSIVE:
                    batch.append(Event(EventKind.RESPONSIVE))
            elif opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                size += len(frame.data)
                self.heartbeat.beat(self.clock())  # a message is as good as a pong
                self._message(frame.data, opcode == websocket.ABNF.OPCODE_BINARY, batch)
            if size > WsChannel.MAX_BATCH_BYTES or not self._more():
                return

    def _more(self) -> bool:
        if self._pending():
            return True
        readable, _, _ = select.select([self.ws.sock], [], [], 0)
        return bool(readable)

    def _message(self, data: bytes, binary: bool, batch: list[Event]) -> None:
        try:
            channel, msg = ws_frames.decode(data, binary, self.channel.protocol)
        except InvalidMessage as e:
            self.channel.drops.drop(e.reason, self.clock())
            return
        if channel == "iopub":
            self.channel.heard = time.time()
            self.check.on_iopub(msg)
        if self.join.on_message(channel, msg):
            return
        batch.append(Event(EventKind.MESSAGE, channel=channel, msg=msg))
        # The server's own word on its kernel: it died and could not be restarted.
        server_says = msg["msg_type"] == "status" and not msg["parent_header"]
        if channel == "iopub" and server_says and msg["content"].get("execution_state") == "dead":
            self._end(EventKind.GONE, "the server says the kernel died", batch)

    # Timers, losing the websocket, getting it back.

    def _on_timers(self, batch: list[Event]) -> None:
        import websocket

        now = self.clock()
        if self.ws is None:
            if now >= self.redial.next_try:
                self._try_again(batch)
            return
        if self.channel.suspect and self.join.joined:  # control: answered while shell is busy
            self.channel.suspect = False
            self.check.start(self._ask_info("control"), now)
        if self.check.failed(now):  # deaf: quietly, as after our restart; then say so
            self.told = False
            self._lost("", batch, rejoin=True)
            return
        step = self.join.step(now)
        if step is Step.READY:
            assert self.join.reply is not None
            self.heartbeat.arm()
            batch.append(Event(EventKind.READY, msg=self.join.reply))
            self._run_commands()
        elif step is Step.PROBE:
            self._ask_info()
        elif step is Step.NO_ANSWER:
            self._end(EventKind.NO_ANSWER, f"{self.join.timeout:g}", batch)
            return
        elif step is Step.REJOINED:
            if not self.told:
                self.told = True
                batch.append(Event(EventKind.REJOINED))
            self._run_commands()
        if self.ws is not None and self.heartbeat.ping_due(now):
            try:
                self.ws.ping()
            except (OSError, websocket.WebSocketException) as e:
                self._lost(problems.why(e), batch)
        if self.heartbeat.check(now) is Liveness.UNRESPONSIVE:
            batch.append(Event(EventKind.UNRESPONSIVE))
        self.channel.drops.flush(now)

    def _lost(self, why: str, batch: list[Event], rejoin: bool = False) -> None:
        """The websocket dropped (``rejoin``: we closed it, after our restart): try again."""
        self._close_ws()
        self.check = Check()  # a check of this websocket says nothing of the next
        if self.channel.stopping:
            return
        if not self.join.handshake.done:  # it never worked: no point in trying again
            self._end(EventKind.FAILED, f"{self.channel.endpoint.shown} dropped the connection: "
                                        f"{why}", batch)  # fmt: skip
            return
        self.redial.lost(self.clock(), rejoin)
        if not rejoin:
            batch.append(Event(EventKind.RECONNECTING, text=why))

    def _try_again(self, batch: list[Event]) -> None:
        problem = self._connect()
        if problem is None:
            now = self.clock()
            self.heartbeat = Heartbeat(now, self.timing.hb_interval, self.timing.hb_timeout)
            self.heartbeat.arm()
            if self.redial.back():
                self.join.again(now)
            else:
                batch.append(Event(EventKind.RECONNECTED))
            if not self.join.joined:  # a rejoin, begun now or broken off: (again) its probe
                self._ask_info()
            self._run_commands()
            return
        kind, why = problem
        if kind is EventKind.GONE or why.startswith("the server refused"):
            self._end(kind, why, batch)
        elif self.redial.failed(self.clock()):
            self._end(kind, f"{self.channel.endpoint.shown} did not come back within "
                            f"{self.channel.reconnect_for:g} s", batch)  # fmt: skip

    def _end(self, kind: EventKind, why: str, batch: list[Event]) -> None:
        self.channel.stopping = True
        batch.append(Event(kind, text=why))

    def _close_ws(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.close(timeout=0.5)
            self.ws = None


if TYPE_CHECKING:  # mypy proves WsChannel speaks the Channel protocol

    def _is_a_channel(channel: WsChannel) -> Channel:
        return channel
