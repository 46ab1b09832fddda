"""Kernels behind a Jupyter Server, in the bench: a real jupyter_server on 127.0.0.1 (rate limits
off), one ipykernel behind it, reached by kernel.nvim through the server's websocket and, as the
floor, by a bare websocket client doing the same work on the same kernel in the same run. Only
one of them is connected at a time (the server copies the kernel's output to every websocket of
it, a cost that would fall on the other's samples); the samples alternate in blocks, so that
drift hits both alike: sending `print`, and a 100k-line flood, until the last line has arrived.
Used by run.py.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websocket import WebSocketTimeoutException

from harness import BenchSandbox, RpcSampler, TwinSampler, editor, timed_send
from support.jupyter_server import BareClient, Server, start_server

FLOOD = 100_000


def _receive(client: BareClient, quick: bool) -> tuple[str, dict[str, Any]]:
    if quick:  # as kernel.nvim does (ws_channel._ack_at_once): no 40 ms delayed ACK
        client.ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    return client.receive()


class _Lost(Exception):
    """The server never sent the bare client the output of its request."""


def _bare_until(client: BareClient, code: str, last: str, quick: bool = True) -> float:
    """The floor: send ``code``, read frames until its output ends with the line ``last``. The
    kernel may send one print's text in two stream messages (`'f26'`, then `'\\n'`: about one
    print in 60 here), so the text is joined as it comes."""
    start = time.perf_counter()
    msg_id = client.execute(code)
    text = ""
    while True:
        if time.perf_counter() - start > 30:
            raise _Lost(code)
        channel, msg = _receive(client, quick)
        if msg["parent_header"].get("msg_id") != msg_id or msg["msg_type"] != "stream":
            continue
        text = text[-len(last) - 1 :] + msg["content"].get("text", "")
        if text.endswith(last + "\n"):
            elapsed = time.perf_counter() - start
            break
    while True:  # its idle, so the next sample starts from a quiet kernel
        channel, msg = _receive(client, quick)
        idle = msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
        if channel == "iopub" and idle and msg["parent_header"].get("msg_id") == msg_id:
            return elapsed


def _sample(client: BareClient, code: str, last: str, lost: list[str], quick: bool = True) -> float:
    """``_bare_until``, sent again should its output never come (counted in the results, so
    that a loss cannot hide): a guard, none is expected."""
    for _ in range(3):
        try:
            return _bare_until(client, code, last, quick)
        except (_Lost, OSError, WebSocketTimeoutException):
            lost.append(code)
            _drain(client)
    raise RuntimeError("the server lost the bare client's output three times in a row")


def _drain(client: BareClient) -> None:
    """What a request lost by the guard left to come: read and dropped, a whole frame at a time
    (a read that times out inside a frame may leave websocket-client's frame state half read)."""
    while select.select([client.ws.sock], [], [], 0.05)[0]:
        client.receive()


def _bare(srv: Server, kernel: str) -> BareClient:
    """A bare client on a websocket of its own, its iopub proven by a first request (as
    kernel.nvim's link proves its own before it is idle): the output of a request sent on a
    websocket the server has just wired can be lost."""
    client = BareClient(srv, kernel)
    client.ws.settimeout(5)  # a print's output comes within milliseconds, a flood's frames too
    _sample(client, 'print("ready")', "ready", [])
    return client


def server(sandbox: BenchSandbox, sends: int, floods: int,
           summary: Callable[[list[float]], dict[str, float]]) -> dict[str, Any]:  # fmt: skip
    ms = lambda values: summary([v * 1000 for v in values])  # noqa: E731
    srv = start_server(Path(sandbox.root), Path(sandbox.home))
    try:
        kernel = srv.start_kernel()
        lost: list[str] = []
        url = f"{srv.url}api/kernels/{kernel}?token={srv.token}"
        plugin: list[float] = []
        floor: list[float] = []
        naive: list[float] = []  # a bare client that leaves Linux's delayed ACKs on
        flood_plugin: list[float] = []
        flood_floor: list[float] = []
        rpc: list[float] = []
        idle_rpc: list[float] = []  # a second Neovim with nothing to do: the machine's share
        code = f"for i in range({FLOOD}): print(i)"
        with editor(sandbox) as ed, editor(sandbox) as idle:
            blocks = max(1, sends // 10)
            for b in range(blocks + floods):
                ed.nvim.command("KernelDisconnect")
                bare = _bare(srv, kernel)
                flooding = b >= blocks
                if flooding:
                    flood_floor.append(_sample(bare, code, str(FLOOD - 1), lost))
                else:
                    floor.extend(_sample(bare, f'print("f{b}x{i}")', f"f{b}x{i}", lost)
                                 for i in range(10))  # fmt: skip
                    naive.append(_sample(bare, f'print("n{b}")', f"n{b}", lost, quick=False))
                bare.close()
                ticket = ed.arm_status(timeout=60)
                ed.nvim.command(f"KernelConnect {url}", async_=True)
                ed.wait_status(ticket, "idle")
                if flooding:
                    with RpcSampler(ed.socket) as sampler, TwinSampler(idle.socket) as twin:
                        flood_plugin.append(timed_send(ed, code, str(FLOOD - 1)))
                    rpc.extend(sampler.samples)
                    idle_rpc.extend(twin.samples)
                    ed.wait_idle()
                    continue
                for i in range(10):
                    plugin.append(timed_send(ed, f'print("p{b}x{i}")', f"p{b}x{i}"))
                    ed.wait_idle()
        return {
            "round_trip": {
                "plugin": ms(plugin),
                "floor": ms(floor),
                "naive": ms(naive),
                "floor_lost": len(lost),
            },
            "flood": {
                "plugin": ms(flood_plugin),
                "floor": ms(flood_floor),
                "rpc": ms(rpc),
                "idle_rpc": ms(idle_rpc),
            },
        }
    finally:
        srv.stop()
