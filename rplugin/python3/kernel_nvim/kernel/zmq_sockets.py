"""A kernel's five zmq sockets, as the I/O thread of a channel opens them (see zmq_channel)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import zmq

from .wire import Session

# The sockets of signed messages, in the order they are read when several are ready: a request's
# output (iopub) before its reply (shell), as the kernel sent them.
MESSAGE_CHANNELS = ("iopub", "shell", "stdin", "control")


@dataclass(frozen=True)
class ZmqEndpoints:
    """Where a kernel's five sockets are and how to sign for them; the secrets stay out of repr."""

    transport: str  # tcp or ipc
    ip: str  # with ipc, the path prefix of the socket files
    ports: Mapping[str, int]  # shell, iopub, stdin, control, hb
    key: bytes = field(repr=False)
    signature_scheme: str = "hmac-sha256"
    curve_publickey: str = field(default="", repr=False)
    curve_secretkey: str = field(default="", repr=False)

    def address(self, channel: str) -> str:
        port = self.ports[channel]
        if self.transport == "tcp":
            return f"tcp://{self.ip}:{port}"
        return f"{self.transport}://{self.ip}-{port}"


class Sockets:
    TYPES = {"shell": zmq.DEALER, "stdin": zmq.DEALER, "control": zmq.DEALER, "iopub": zmq.SUB,
             "hb": zmq.REQ}  # fmt: skip

    def __init__(
        self, endpoints: ZmqEndpoints, session: Session, context: zmq.Context[Any], wake_addr: str
    ) -> None:
        self._endpoints = endpoints
        self._context = context
        self._open: list[zmq.Socket[Any]] = []
        self._own_keypair: tuple[bytes, bytes] | None = None
        self._monitored: zmq.Socket[Any] | None = None
        try:
            ident = session.bsession  # stdin must share the shell's identity or input() hangs
            self.by_name = {name: self._connect(name, ident) for name in MESSAGE_CHANNELS}
            self.by_name["iopub"].setsockopt(zmq.SUBSCRIBE, b"")
            self.hb = self._connect("hb", None)
            # A relaxed REQ may ping again before the last ping was answered, and takes only
            # the answer to the latest: a kernel back from SIGSTOP answers a backlog of pings.
            self.hb.setsockopt(zmq.REQ_RELAXED, 1)
            self.hb.setsockopt(zmq.REQ_CORRELATE, 1)
            # The shell connection dropping means the kernel went (died, or restarted by its
            # owner): until iopub is proven to hear the kernel that comes back, sends wait.
            self.shell_events = self.by_name["shell"].get_monitor_socket(zmq.EVENT_DISCONNECTED)
            self._monitored = self.by_name["shell"]
            self.shell_events.linger = 0
            self._open.append(self.shell_events)
            self.wake = self._socket(zmq.PULL)
            self.wake.connect(wake_addr)
        except Exception:
            self.close()
            raise

    def _socket(self, kind: int) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] = self._context.socket(kind)
        self._open.append(sock)
        sock.linger = 0
        return sock

    def _connect(self, channel: str, identity: bytes | None) -> zmq.Socket[Any]:
        sock = self._socket(self.TYPES[channel])
        if identity:
            sock.identity = identity
        ends = self._endpoints
        if ends.curve_publickey:
            # jupyter_client 8.9+: a client encrypts with the kernel's keypair from the
            # connection file, as jupyter_client's own do. A file with the public key alone is
            # served by a keypair of our own: the kernel authenticates clients by the HMAC key.
            public, secret = self._curve_keypair()
            sock.curve_secretkey = secret
            sock.curve_publickey = public
            sock.curve_serverkey = ends.curve_publickey.encode()
        sock.connect(ends.address(channel))
        return sock

    def _curve_keypair(self) -> tuple[bytes, bytes]:
        ends = self._endpoints
        if ends.curve_secretkey:
            return ends.curve_publickey.encode(), ends.curve_secretkey.encode()
        if self._own_keypair is None:
            self._own_keypair = zmq.curve_keypair()
        return self._own_keypair

    def close(self) -> None:
        # The monitor stops before its socket closes: closed while monitored, the next channel
        # on the shared context sometimes never connected (unit tests: 6 runs of 10 had a
        # NO_ANSWER, none of 12 since).
        if self._monitored is not None:
            with contextlib.suppress(zmq.ZMQError):
                self._monitored.disable_monitor()
        for sock in self._open:
            sock.close(linger=0)
