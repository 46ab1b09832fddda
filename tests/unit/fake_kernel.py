"""A fake Jupyter kernel for the unit tests: real zmq sockets, messages signed with the real key
by jupyter_client's Session, and whatever a test wants it to send, well formed or not.

Its sockets belong to one thread of its own, as zmq wants; the test hands it actions.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from typing import Any

import zmq
from jupyter_client.session import Session

KEY = b"a-fake-kernel-key-never-shown-3b9c"
Message = dict[str, Any]


class FakeKernel:
    def __init__(self, key: bytes = KEY, curve: bool = False) -> None:
        """With ``curve``, every socket is a CurveZMQ server, as ipykernel 7's are when a kernel
        manager provisions keys: a client without the public key is never heard."""
        self.key = key
        self.curve = zmq.curve_keypair() if curve else None
        # ensure_ascii: a lone surrogate goes out as a \ud800 escape, as some kernels send it
        self.session = Session(key=key, signature_scheme="hmac-sha256", pack=_pack)
        self.answer_interrupts = True
        self.heartbeat = threading.Event()  # set: echo pings
        self.heartbeat.set()
        self.received: list[tuple[str, Message]] = []  # every valid request, by channel
        self.language = "python"
        self._actions: queue.Queue[Callable[[], None]] = queue.Queue()
        self._context = zmq.Context()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.ports: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name="fake kernel", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    @property
    def connection(self) -> dict[str, Any]:
        """What its connection file would hold."""
        return {
            **{f"{name}_port": port for name, port in self.ports.items()},
            "ip": "127.0.0.1",
            "transport": "tcp",
            "key": self.key.decode(),
            "signature_scheme": "hmac-sha256",
            **(self._curve_keys() if self.curve else {}),
        }

    def _curve_keys(self) -> dict[str, str]:
        assert self.curve is not None
        public, secret = self.curve
        return {"curve_publickey": public.decode(), "curve_secretkey": secret.decode()}

    def publish(self, msg_type: str, content: Message, parent: Message | None = None) -> None:
        """A signed message on iopub."""
        self.do(lambda: self.session.send(self.iopub, msg_type, content, parent=parent))

    def publish_raw(self, header: bytes, parent: bytes, content: bytes, sign: bool = True) -> None:
        """Hand-written JSON parts on iopub, signed with the real key unless told otherwise."""
        parts = [header, parent, b"{}", content]
        signature = self.session.sign(parts) if sign else b""
        self.do(lambda: self.iopub.send_multipart([b"<IDS|MSG>", signature, *parts]))

    def do(self, action: Callable[[], None]) -> None:
        self._actions.put(action)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._context.destroy(linger=0)

    def _run(self) -> None:
        kinds = {"shell": zmq.ROUTER, "control": zmq.ROUTER, "stdin": zmq.ROUTER,
                 "iopub": zmq.PUB, "hb": zmq.REP}  # fmt: skip
        socks = {}
        for name, kind in kinds.items():
            sock = self._context.socket(kind)
            sock.linger = 0
            if self.curve:
                sock.curve_publickey, sock.curve_secretkey = self.curve
                sock.curve_server = True
            self.ports[name] = sock.bind_to_random_port("tcp://127.0.0.1")
            socks[name] = sock
        self.iopub = socks["iopub"]
        poller = zmq.Poller()
        for name in ("shell", "control", "stdin", "hb"):
            poller.register(socks[name], zmq.POLLIN)
        self._ready.set()
        while not self._stop.is_set():
            ready = dict(poller.poll(10))
            for name in ("shell", "control", "stdin"):
                if socks[name] in ready:
                    self._answer(name, socks[name])
            if socks["hb"] in ready and self.heartbeat.is_set():
                socks["hb"].send(socks["hb"].recv())
            while not self._actions.empty():
                self._actions.get()()
        for sock in socks.values():
            sock.close(0)

    def _answer(self, name: str, sock: zmq.Socket[Any]) -> None:
        idents, msg = self.session.feed_identities(sock.recv_multipart())
        request = self.session.deserialize(msg)
        self.received.append((name, request))
        msg_type = request["header"]["msg_type"]
        reply_type = msg_type.replace("_request", "_reply")
        if not msg_type.endswith("_request"):
            return
        if msg_type == "kernel_info_request":
            content = {"status": "ok", "language_info": {"name": self.language},
                       "protocol_version": "5.4"}  # fmt: skip
        elif msg_type == "interrupt_request" and not self.answer_interrupts:
            return
        else:
            content = {"status": "ok"}
        self.session.send(self.iopub, "status", {"execution_state": "busy"}, parent=request)
        self.session.send(sock, reply_type, content, parent=request, ident=idents)
        self.session.send(self.iopub, "status", {"execution_state": "idle"}, parent=request)


def _pack(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=True, default=str).encode("ascii")
