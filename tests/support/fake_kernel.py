"""A kernel of our own on real zmq, to send what a real kernel cannot: content nested 100,000
lists deep, lone surrogates, a list where an id belongs, idles lost or out of order.

It binds ROUTER shell/control/stdin, an XPUB iopub and a REP heartbeat on 127.0.0.1, writes a
real connection file (0600, a random key) and signs every message with that key. Left alone it
behaves enough like ipykernel for `:KernelConnect` to succeed: it answers kernel_info_request
on shell and control, wraps every request in busy/idle with the request as parent, answers
execute_request with a stream of `output` and an execute_reply, and welcomes each iopub
subscription with a message, as ipykernel 7 does. What a test wants otherwise it asks for: a
request type left unanswered (`unanswered`), raw parts signed with another key or unsigned
(`send_raw(signed_with=...)`), a heartbeat that stops, a flood (`publish_many`; with
`iopub_hwm=0` none of it is dropped, however slow the client), CurveZMQ (`curve`).

It imports neither pynvim nor jupyter_client, so the unit tests can use it too.

One thread owns the sockets (zmq sockets are not thread-safe); a test drives the kernel from its
own thread through the public methods, which hand the work to that thread and wait for it.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import itertools
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, TypeVar

import zmq

Message = dict[str, Any]
T = TypeVar("T")
DELIMITER = b"<IDS|MSG>"
ROUTERS = ("shell", "control", "stdin")

KERNEL_INFO: Message = {
    "status": "ok",
    "protocol_version": "5.3",
    "implementation": "fake",
    "implementation_version": "1.0",
    "language_info": {
        "name": "python",
        "version": "3.11",
        "mimetype": "text/x-python",
        "file_extension": ".py",
    },
    "banner": "a fake kernel for kernel.nvim's tests",
    "help_links": [],
}

# Replies to the other requests a client may send; enough for it to carry on.
REPLIES: dict[str, Message] = {
    "complete_request": {"matches": [], "cursor_start": 0, "cursor_end": 0, "metadata": {}},
    "inspect_request": {"found": False, "data": {}, "metadata": {}},
    "history_request": {"history": []},
    "is_complete_request": {"status": "unknown"},
}


@dataclass
class Received:
    """A message the kernel got, in the order it came."""

    channel: str
    identities: list[bytes]
    header: Message
    parent_header: Message
    metadata: Message
    content: Message
    signed: bool  # its signature matched the key

    @property
    def msg_type(self) -> str:
        return str(self.header.get("msg_type", ""))

    @property
    def msg_id(self) -> str:
        return str(self.header.get("msg_id", ""))


def dumps(obj: Any) -> bytes:
    """JSON as a kernel sends it; ASCII, so a lone surrogate travels as its `\\udxxx` escape."""
    return json.dumps(obj, ensure_ascii=True).encode("ascii")


class FakeKernel:
    def __init__(
        self,
        runtime_dir: Path,
        *,
        key: str | None = None,
        name: str | None = None,
        kernel_info: Message | None = None,
        output: str = "fake output\n",
        answer_execute: bool = True,
        iopub_hwm: int | None = None,
        curve: bool = False,
    ) -> None:
        self.key = key if key is not None else uuid.uuid4().hex
        self.session = uuid.uuid4().hex
        self.path = runtime_dir / f"kernel-{name or 'fake-' + uuid.uuid4().hex[:8]}.json"
        self.kernel_info = {**KERNEL_INFO, **(kernel_info or {})}
        self.output = output
        # False: execute_requests are only recorded, and the test answers them as it likes.
        self.answer_execute = answer_execute
        # Request types only recorded: no reply, no busy or idle (an interrupt that hangs).
        self.unanswered: set[str] = set()
        self._key = self.key.encode("utf-8", "surrogatepass")
        self._ids = itertools.count(1)
        self._count = 0  # execution_count
        self._received: list[Received] = []
        self._returned: collections.Counter[str] = collections.Counter()
        self._arrived = threading.Condition()
        self._beating = True
        self._stopping = False
        self._context: zmq.Context[Any] = zmq.Context()
        # 0: iopub queues all it is given, where zmq drops what a slow client has not read
        # past 1000 messages: a flood then arrives whole, however slow the client.
        self._iopub_hwm = iopub_hwm
        # Every socket a CurveZMQ server, as ipykernel 7's are when a kernel manager provisions
        # keys; the keypair goes into the connection file. A client without it is never heard.
        self.curve = zmq.curve_keypair() if curve else None
        self._sockets, self.ports = self._bind()
        self._jobs: collections.deque[tuple[Callable[[], Any], _Job[Any]]] = collections.deque()
        self._wake_addr = f"inproc://fake-kernel-{self.session}"
        self._wake_in = self._context.socket(zmq.PULL)
        self._wake_in.bind(self._wake_addr)
        self._wake = self._context.socket(zmq.PUSH)
        self._wake.connect(self._wake_addr)
        self._wake_lock = threading.Lock()
        self._write_connection_file()
        self._thread = threading.Thread(target=self._run, name="fake kernel", daemon=True)
        self._thread.start()

    @property
    def fragment(self) -> str:
        return self.path.stem.removeprefix("kernel-")

    @property
    def connection(self) -> Message:
        """What its connection file holds (readable after `close`, which removes the file)."""
        return dict(self._connection)

    def __enter__(self) -> FakeKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # What a test calls, from its own thread.

    @property
    def requests(self) -> list[Received]:
        """Every message received on shell, control and stdin so far."""
        with self._arrived:
            return list(self._received)

    def wait_request(self, msg_type: str, timeout: float = 15.0) -> Received:
        """The oldest `msg_type` message not returned by an earlier call; waits for it."""
        with self._arrived:
            found = self._arrived.wait_for(
                lambda: len(self._of_type(msg_type)) > self._returned[msg_type], timeout
            )
            if not found:
                raise TimeoutError(f"the fake kernel got no (further) {msg_type} in {timeout:g} s")
            request = self._of_type(msg_type)[self._returned[msg_type]]
            self._returned[msg_type] += 1
            return request

    def header(self, msg_type: str) -> Message:
        """A fresh header from this kernel's session, for messages built by hand."""
        return {
            "msg_id": f"{self.session}_{next(self._ids)}",
            "msg_type": msg_type,
            "session": self.session,
            "username": "kernel",
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        }

    def publish(
        self, msg_type: str, content: Message, parent: Received | Message | None = None
    ) -> str:
        """Publish on iopub; `parent` is a request received (its header becomes the parent
        header) or a parent header itself. Returns the msg_id."""
        return self._call(lambda: self._publish(msg_type, content, parent))

    def publish_many(
        self,
        msg_type: str,
        contents: Iterable[Message],
        parent: Received | Message | None = None,
        timeout: float = 120.0,
    ) -> int:
        """Publish each of `contents` on iopub, as fast as the kernel's thread can: a flood.
        Pings are answered meanwhile, as ipykernel's heartbeat thread does. Returns how many."""

        def flood() -> int:
            sent = 0
            for content in contents:
                self._publish(msg_type, content, parent)
                sent += 1
                if sent % 100 == 0:
                    self._answer_pings()
            return sent

        return self._call(flood, timeout)

    def reply(self, request: Received, content: Message, msg_type: str | None = None) -> str:
        """Answer `request` on its channel (`<type>_reply` unless `msg_type` says otherwise)."""
        reply_type = msg_type or request.msg_type.replace("_request", "_reply")
        return self._call(lambda: self._reply(request, reply_type, content))

    def answer(self, request: Received) -> None:
        """Answer an execute_request as the kernel does when left alone."""
        self._call(lambda: self._answer_execute(request))

    def send_raw(
        self,
        channel: str,
        header: bytes,
        parent: bytes,
        metadata: bytes,
        content: bytes,
        to: list[bytes] | None = None,
        signed_with: bytes | None = None,
    ) -> None:
        """Sign these four parts, as they are, and send them on `channel`. On shell, control
        and stdin the message goes to `to`, by default the client of the latest shell request.
        `signed_with`: a key to sign with instead of the kernel's; b"" sends it unsigned."""
        parts = [header, parent, metadata, content]
        self._call(lambda: self._send(channel, to, parts, signed_with))

    def send_input_request(self, parent: Received, prompt: str, password: bool = False) -> str:
        """Ask the client of `parent` (an execute_request) for input on stdin."""
        content = {"prompt": prompt, "password": password}
        return self._call(
            lambda: self._message("stdin", parent.identities, "input_request", content, parent)
        )

    def stop_heartbeat(self) -> None:
        """Stop answering pings, as a kernel that hangs or is stopped does."""
        self._call(lambda: setattr(self, "_beating", False))

    def start_heartbeat(self) -> None:
        self._call(lambda: setattr(self, "_beating", True))

    def close(self) -> None:
        """Stop the thread, close the sockets and remove the connection file; twice is once.
        Its ports stay known, and nothing answers them any more."""
        if self._context.closed:
            return
        if not self._stopping and self._thread.is_alive():
            self._call(lambda: setattr(self, "_stopping", True))
        self._stopping = True
        self._thread.join(5)
        for sock in (self._wake, self._wake_in, *self._sockets.values()):
            sock.close(linger=0)
        self._context.term()
        self.path.unlink(missing_ok=True)

    # Setting up.

    def _bind(self) -> tuple[dict[str, zmq.Socket[Any]], dict[str, int]]:
        types = {"shell": zmq.ROUTER, "control": zmq.ROUTER, "stdin": zmq.ROUTER,
                 "iopub": zmq.XPUB, "hb": zmq.REP}  # fmt: skip
        sockets, ports = {}, {}
        for name, kind in types.items():
            sock: zmq.Socket[Any] = self._context.socket(kind)
            sock.linger = 0
            if self.curve:
                sock.curve_publickey, sock.curve_secretkey = self.curve
                sock.curve_server = True
            if kind == zmq.XPUB:
                sock.setsockopt(zmq.XPUB_VERBOSE, 1)  # every client's subscription, as ipykernel
                if self._iopub_hwm is not None:
                    sock.sndhwm = self._iopub_hwm
            ports[name] = sock.bind_to_random_port("tcp://127.0.0.1")
            sockets[name] = sock
        return sockets, ports

    def _write_connection_file(self) -> None:
        info: Message = {f"{name}_port": port for name, port in self.ports.items()}
        info.update(ip="127.0.0.1", key=self.key, transport="tcp",
                    signature_scheme="hmac-sha256", kernel_name="fake")  # fmt: skip
        if self.curve:
            public, secret = self.curve
            info.update(curve_publickey=public.decode(), curve_secretkey=secret.decode())
        self._connection = info
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(dumps(info))

    # Handing work to the kernel's thread.

    def _call(self, job: Callable[[], T], timeout: float = 10.0) -> T:
        if self._stopping:
            raise RuntimeError("the fake kernel is closed")
        done: _Job[T] = _Job()
        self._jobs.append((job, done))
        with self._wake_lock:
            self._wake.send(b"")
        if not done.event.wait(timeout):
            raise TimeoutError("the fake kernel's thread did not run the job")
        if done.error is not None:
            raise done.error
        return done.result  # type: ignore[return-value]  # set: the job ran without error

    def _run_jobs(self) -> None:
        while self._jobs:
            job, done = self._jobs.popleft()
            try:
                done.result = job()
            except Exception as e:  # handed back to the caller's thread
                done.error = e
            done.event.set()

    # The kernel's thread from here on.

    def _run(self) -> None:
        poller = zmq.Poller()
        hb = self._sockets["hb"]
        for sock in (self._wake_in, *self._sockets.values()):
            poller.register(sock, zmq.POLLIN)
        watching_hb = True
        while not self._stopping:
            # Pings wait in the queue while the heartbeat is stopped; polling it would spin.
            if self._beating != watching_hb:
                watching_hb = self._beating
                poller.register(hb, zmq.POLLIN if watching_hb else 0)
            ready = dict(poller.poll(200))
            if self._wake_in in ready:
                while self._wake_in.poll(0):
                    self._wake_in.recv()
                self._run_jobs()
            for name in ROUTERS:
                if self._sockets[name] in ready:
                    self._on_request(name, self._sockets[name].recv_multipart())
            if self._sockets["iopub"] in ready:
                self._on_subscription(self._sockets["iopub"].recv())
            if hb in ready:
                self._answer_pings()
        self._run_jobs()  # nobody waits on a job forever

    def _answer_pings(self) -> None:
        hb = self._sockets["hb"]
        while self._beating and hb.poll(0):
            hb.send(hb.recv())

    def _on_subscription(self, event: bytes) -> None:
        if event[:1] == b"\x01":
            topic = event[1:].decode("utf-8", "replace")
            self._publish("iopub_welcome", {"subscription": topic}, None)

    def _on_request(self, channel: str, frames: list[bytes]) -> None:
        request = self._parse(channel, frames)
        with self._arrived:
            self._received.append(request)
            self._arrived.notify_all()
        kind = request.msg_type
        if not request.signed or channel == "stdin" or kind in self.unanswered:
            return
        if kind == "execute_request":
            if self.answer_execute:
                self._answer_execute(request)
            return
        self._publish("status", {"execution_state": "busy"}, request)
        if kind == "kernel_info_request":
            self._reply(request, "kernel_info_reply", self.kernel_info)
        elif kind.endswith("_request"):
            content = {"status": "ok", **REPLIES.get(kind, {})}
            self._reply(request, kind.replace("_request", "_reply"), content)
        self._publish("status", {"execution_state": "idle"}, request)

    def _answer_execute(self, request: Received) -> None:
        self._count += 1
        code = request.content.get("code", "")
        self._publish("status", {"execution_state": "busy"}, request)
        self._publish("execute_input", {"code": code, "execution_count": self._count}, request)
        self._publish("stream", {"name": "stdout", "text": self.output}, request)
        reply = {"status": "ok", "execution_count": self._count, "user_expressions": {},
                 "payload": []}  # fmt: skip
        self._reply(request, "execute_reply", reply)
        self._publish("status", {"execution_state": "idle"}, request)

    def _publish(self, msg_type: str, content: Message, parent: Received | Message | None) -> str:
        return self._message("iopub", [], msg_type, content, parent)

    def _reply(self, request: Received, msg_type: str, content: Message) -> str:
        return self._message(request.channel, request.identities, msg_type, content, request)

    def _message(
        self,
        channel: str,
        to: list[bytes],
        msg_type: str,
        content: Message,
        parent: Received | Message | None,
    ) -> str:
        header = self.header(msg_type)
        parent_header = parent.header if isinstance(parent, Received) else parent or {}
        parts = [dumps(header), dumps(parent_header), dumps({}), dumps(content)]
        self._send(channel, to, parts)
        return str(header["msg_id"])

    def _send(
        self, channel: str, to: list[bytes] | None, parts: list[bytes], key: bytes | None = None
    ) -> None:
        if channel == "iopub":
            idents = [f"kernel.{self.session}.{_msg_type(parts[0])}".encode()]
        else:
            idents = to if to is not None else self._last_client()
        signature = self._sign(parts, key)
        self._sockets[channel].send_multipart([*idents, DELIMITER, signature, *parts])

    def _last_client(self) -> list[bytes]:
        with self._arrived:
            shell = [r for r in self._received if r.channel == "shell"]
        if not shell:
            raise RuntimeError("no client has sent a shell request yet: give `to`")
        return shell[-1].identities

    def _sign(self, parts: list[bytes], key: bytes | None = None) -> bytes:
        """The HMAC of `parts` with `key`, by default the kernel's; b"" without a key."""
        key = self._key if key is None else key
        if not key:
            return b""
        mac = hmac.new(key, digestmod=hashlib.sha256)
        for part in parts:
            mac.update(part)
        return mac.hexdigest().encode("ascii")

    def _parse(self, channel: str, frames: list[bytes]) -> Received:
        split = frames.index(DELIMITER) if DELIMITER in frames else len(frames)
        if len(frames) - split < 6:
            return Received(channel, frames[:split], {}, {}, {}, {}, signed=False)
        signature, *parts = frames[split + 1 : split + 6]
        signed = hmac.compare_digest(signature, self._sign(parts))
        try:
            header, parent, metadata, content = (json.loads(p) for p in parts)
        except ValueError:
            header = parent = metadata = content = {}
        return Received(channel, frames[:split], header, parent, metadata, content, signed)

    def _of_type(self, msg_type: str) -> list[Received]:
        return [r for r in self._received if r.msg_type == msg_type]


def _msg_type(header: bytes) -> str:
    """The topic ipykernel would publish a raw message under; `raw` for what is not a header."""
    try:
        value = json.loads(header)
    except (ValueError, RecursionError):
        return "raw"
    return str(value.get("msg_type", "raw")) if isinstance(value, dict) else "raw"


class _Job(Generic[T]):
    def __init__(self) -> None:
        self.event = threading.Event()
        self.result: T | None = None
        self.error: Exception | None = None
