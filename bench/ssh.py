"""Kernels on another host, in the bench: `print` round trips through kernel.nvim's ssh tunnel,
beside a bare zmq client (no jupyter_client: pyzmq and kernel.nvim's own signing) dialling the
same tunnel's sockets, and the same bare client straight to the kernel's ports (the tunnel's own
cost). The "other host" is 127.0.0.1 through a real sshd (tests/support/sshd.py; installed by
scripts/ensure-sshd when missing, as for the tests, else the scenario says why it was skipped).
The editor stays linked while the floor runs (closing the link would close the tunnel the floor
uses), so its host also takes the floor's iopub traffic; blocks alternate so that drift in the
machine's load hits both alike. Used by run.py.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from harness import REPO, BenchSandbox, Editor, editor, start_kernel, timed_send

sys.path.insert(0, str(REPO / "rplugin" / "python3"))
from kernel_nvim.kernel.wire import Session  # noqa: E402
from support.sshd import REMOTE, Sshd, ensure_sshd, start_sshd  # noqa: E402


class ZmqClient:
    """Shell and iopub over plain pyzmq, signed by kernel.nvim's wire.Session."""

    def __init__(self, info: dict[str, Any], address: str) -> None:
        """``address``: ``tcp://127.0.0.1:{port}`` or ``ipc:///dir/k-{port}``."""
        self.session = Session(str(info["key"]).encode(), info["signature_scheme"], "bench")
        self.context = zmq.Context.instance()
        self.shell = self.context.socket(zmq.DEALER)
        self.iopub = self.context.socket(zmq.SUB)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.shell.connect(address.format(port=info["shell_port"]))
        self.iopub.connect(address.format(port=info["iopub_port"]))
        time.sleep(0.5)  # the subscription reaches the kernel; then one execution proves it
        self.execute("pass")

    def execute(self, code: str) -> float:
        """Seconds from execute_request to this request's idle on iopub (output included)."""
        while self.iopub.poll(0):
            self.iopub.recv_multipart()
        msg = self.session.msg("execute_request", {"code": code, "silent": False})
        start = time.perf_counter()
        self.shell.send_multipart(self.session.serialize(msg))
        while True:
            if not self.iopub.poll(60_000):
                raise TimeoutError("no idle within 60 s")
            reply = self.session.deserialize(self.iopub.recv_multipart())
            ours = reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]
            if ours and reply["content"].get("execution_state") == "idle":
                return time.perf_counter() - start

    def close(self) -> None:
        self.shell.close(linger=0)
        self.iopub.close(linger=0)


def tunnel_prefix(sshd: Sshd) -> str:
    """The socket prefix of the editor's tunnel (its ssh process's -L arguments)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if str(sshd.config) in argv and "ExitOnForwardFailure=yes" in argv:
            forward = next(a for a in argv if a.startswith("-L"))
            return forward.removeprefix("-L").split(":")[0].rsplit("-", 1)[0]
    raise LookupError("no tunnel")


def ssh(sandbox: BenchSandbox, sends: int, block: int,
        summary: Callable[[list[float]], dict[str, float]]) -> dict[str, Any]:  # fmt: skip
    """``sends`` round trips in blocks of ``block``, each beside the two floors' blocks; or why
    no sshd could be had (``skipped``)."""
    path, why = ensure_sshd()
    if not path:
        return {"skipped": why}
    sshd = start_sshd(path, Path(sandbox.root) / "sshd")
    kernel = start_kernel(sshd.runtime, sandbox.home)
    info = json.loads(kernel.path.read_text())
    plugin: list[float] = []
    tunnelled: list[float] = []
    direct: list[float] = []
    try:
        with editor(sandbox) as ed:
            link(ed, sshd, kernel.fragment)
            through = ZmqClient(info, f"ipc://{tunnel_prefix(sshd)}-{{port}}")
            straight = ZmqClient(info, "tcp://127.0.0.1:{port}")
            for r in range(max(1, sends // block)):
                tunnelled.extend(through.execute('print("x")') for _ in range(block))
                direct.extend(straight.execute('print("x")') for _ in range(block))
                for i in range(block):
                    plugin.append(timed_send(ed, f'print("r{r}x{i}")', f"r{r}x{i}"))
                    ed.wait_idle()
            through.close()
            straight.close()
    finally:
        kernel.kill()
        sshd.stop()
    ms = lambda values: summary([v * 1000 for v in values])  # noqa: E731
    return {"plugin": ms(plugin), "tunnel": ms(tunnelled), "direct": ms(direct)}


def link(ed: Editor, sshd: Sshd, fragment: str) -> None:
    ed.nvim.vars["kernel_ssh_command"] = sshd.ssh_command
    ticket = ed.arm_status(timeout=60)
    ed.nvim.command(f"KernelConnect ssh://{REMOTE}/{fragment}", async_=True)
    ed.wait_status(ticket, "idle")
    ticket = ed.arm("warm")
    ed.send('print("warm")')
    ed.wait("bench_line", ticket)
    ed.wait_idle()
