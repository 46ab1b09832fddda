"""Real Jupyter Servers and Kernel Gateways on 127.0.0.1 for the tests and the bench: started in
temp dirs of their own with a token, waited for with a deadline, their kernels real ipykernels.
Also a TCP relay to put between the editor and a server, whose connections a test can cut, and
a bare websocket client (the floor of the bench, a JupyterLab-like second client in tests).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sandbox import PYTHON, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing(kind: str = "server") -> str:
    """Why servers of this kind cannot run here, or ""."""
    module = "kernel_gateway" if kind == "gateway" else "jupyter_server"
    for name in (module, "websocket"):
        try:
            __import__(name)
        except ImportError:
            return f"{name} is not installed (make test installs the dev extras)"
    return ""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str  # http(s)://127.0.0.1:port/base/
    token: str = field(repr=False)
    root: Path
    argv: list[str]
    env: dict[str, str]
    ca_file: str = ""
    log: Path | None = None

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def rest(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        context = ssl.create_default_context(cafile=self.ca_file or None)
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:
            text = answer.read()
        return json.loads(text) if text.strip() else None

    def start_kernel(self, name: str = "python3") -> str:
        return str(self.rest("POST", "api/kernels", {"name": name})["id"])

    def kernels(self) -> list[dict[str, Any]]:
        return list(self.rest("GET", "api/kernels"))

    def ready(self) -> bool:
        try:
            self.rest("GET", "api/kernelspecs")
        except (OSError, urllib.error.URLError, ValueError):
            return False
        return True

    def stop(self) -> None:
        """Kill the server and every kernel it started (its process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def kill_server_only(self) -> None:
        """Kill the server process alone: its kernels live on, as orphans nobody serves."""
        self.process.kill()
        self.process.wait(timeout=30)

    def start_again(self) -> None:
        """The same server on the same port, as after a restart: it knows none of the kernels."""
        self.process = _spawn(self.argv, self.env, self.root, self.log)
        wait_for(self.ready, 60, "the server to answer again")


def _spawn(argv: list[str], env: dict[str, str], root: Path, log: Path | None) -> Any:
    out = open(log or os.devnull, "ab")  # noqa: SIM115  (the child keeps it)
    return subprocess.Popen(argv, env=env, cwd=root, stdout=out, stderr=out,
                            start_new_session=True)  # fmt: skip


def start_server(tmp: Path, home: Path, kind: str = "server", base_url: str = "/",
                 tls: bool = False, json_only: bool = False,
                 moving: bool = False) -> Server:  # fmt: skip
    """A Jupyter Server (``kind="server"``) or Kernel Gateway (``"gateway"``), ready;
    ``moving``: its kernels take new ports on each restart (``moving_kernels``)."""
    port, token = free_port(), secrets.token_hex(16)
    root = tmp / f"{kind}-{port}"
    for sub in ("runtime", "config", "data", "work"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home), JUPYTER_RUNTIME_DIR=str(root / "runtime"),
               JUPYTER_CONFIG_DIR=str(root / "config"), JUPYTER_DATA_DIR=str(root / "data"),
               JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")  # fmt: skip
    env.pop("JUPYTER_TOKEN", None)
    if kind == "gateway":
        argv = [PYTHON, "-m", "kernel_gateway", "--KernelGatewayApp.ip=127.0.0.1",
                f"--KernelGatewayApp.port={port}", "--KernelGatewayApp.port_retries=0",
                f"--KernelGatewayApp.auth_token={token}",
                "--JupyterWebsocketPersonality.list_kernels=True",
                f"--KernelGatewayApp.base_url={base_url}"]  # fmt: skip
        app = "KernelGatewayApp"
    else:
        argv = [
            PYTHON,
            "-m",
            "jupyter_server",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root / 'work'}",
            f"--ServerApp.base_url={base_url}",
            "--ServerApp.iopub_data_rate_limit=0",
            "--ServerApp.iopub_msg_rate_limit=0",
            "--ServerApp.allow_root=True",
        ]
        app = "ServerApp"  # fmt: skip
        if json_only:
            argv.append("--ZMQChannelsWebsocketConnection.kernel_ws_protocol=")
        if moving:
            argv += ["--MappingKernelManager.kernel_manager_class="
                     "support.moving_kernels.MovingKernelManager",
                     "--KernelManager.cache_ports=False"]  # fmt: skip
            env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]),
                                                 env.get("PYTHONPATH", "")])  # fmt: skip
    ca_file = ""
    scheme = "http"
    if tls:
        cert, key = root / "cert.pem", root / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        argv += [f"--{app}.certfile={cert}", f"--{app}.keyfile={key}"]
        ca_file, scheme = str(cert), "https"
    log = root / "server.log"
    process = _spawn(argv, env, root, log)
    base = base_url if base_url.endswith("/") else base_url + "/"
    server = Server(process, f"{scheme}://127.0.0.1:{port}{base}", token, root, argv, env,
                    ca_file, log)  # fmt: skip
    try:
        wait_for(lambda: server.ready() or process.poll() is not None, 60, f"the {kind} to start")
    except Exception:
        server.stop()
        raise
    if process.poll() is not None:
        raise RuntimeError(f"the {kind} exited: {log.read_text()[-2000:]}")
    return server


@contextlib.contextmanager
def running_server(tmp: Path, home: Path, **options: Any) -> Iterator[Server]:
    server = start_server(tmp, home, **options)
    try:
        yield server
    finally:
        server.stop()


class Relay:
    """127.0.0.1:port -> the server, byte for byte; ``cut()`` drops every connection it carries
    (a network blip), and new ones are relayed again at once. ``deafen()``: until the next cut,
    what the client sends is swallowed (``swallowed`` counts its bytes), as what was on its way
    when a connection died."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._deaf: set[socket.socket] = set()
        self.swallowed = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def deafen(self) -> None:
        with self._lock:
            self._deaf = set(self._open)

    def cut(self) -> int:
        with self._lock:
            dropped, self._open, self._deaf = self._open, [], set()
        for sock in dropped:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return len(dropped) // 2

    def close(self) -> None:
        self.listener.close()
        self.cut()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if source in self._deaf:
                    self.swallowed += len(data)
                else:
                    sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class BareClient:
    """A websocket client of a server's kernel, as JupyterLab is one: its own session."""

    def __init__(self, server: Server, kernel_id: str, protocol: bool = True) -> None:
        import websocket

        self.session = uuid.uuid4().hex
        url = f"{server.ws_url}api/kernels/{kernel_id}/channels?session_id={self.session}"
        self.ws = websocket.create_connection(
            url, header={"Authorization": f"token {server.token}"},
            subprotocols=["v1.kernel.websocket.jupyter.org"] if protocol else None,
            sslopt={"ca_certs": server.ca_file} if server.ca_file else None,
            skip_utf8_validation=True, timeout=30,
        )  # fmt: skip
        self.protocol = self.ws.getsubprotocol() or ""

    def execute(self, code: str) -> str:
        from kernel_nvim.kernel import ws_frames
        from kernel_nvim.kernel.wire import Session

        session = Session(b"")
        session.session = self.session
        msg = session.msg(
            "execute_request",
            {"code": code, "silent": False, "store_history": True, "allow_stdin": False},
        )
        payload, binary = ws_frames.encode(msg, "shell", self.protocol)
        if binary:
            self.ws.send_binary(payload)
        else:
            self.ws.send(payload.decode())
        return str(msg["msg_id"])

    def receive(self) -> tuple[str, dict[str, Any]]:
        from kernel_nvim.kernel import ws_frames

        opcode, frame = self.ws.recv_data_frame(False)
        return ws_frames.decode(frame.data, opcode == 2, self.protocol)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
