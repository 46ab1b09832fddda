"""Live output in the bench: animations redrawn in place, each beside a bare client's receipt
of the same last frame. Used by run.py; the same alternation of floor and plugin."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness import BareClient, Editor, RpcSampler

Message = dict[str, Any]

CLEAR_FRAMES = 10_000
TQDM_STEPS = 20_000

# Each scenario: the code, a text only its last frame holds, and a name.
SCENARIOS: dict[str, tuple[str, str]] = {
    "clear_output": (
        "from IPython.display import clear_output\n"
        f"for i in range({CLEAR_FRAMES}): clear_output(wait=True); print('frame', i)",
        f"frame {CLEAR_FRAMES - 1}",
    ),
    "tqdm": (
        "from tqdm import tqdm\n"
        f"for i in tqdm(range({TQDM_STEPS}), mininterval=0, miniters=1): pass",
        f"{TQDM_STEPS}/{TQDM_STEPS}",
    ),
}


def floor_seconds(bare: BareClient, code: str, last: str) -> float:
    """A bare client's time from execute_request to the stream message holding ``last``."""
    bare.drain()
    start = time.perf_counter()
    msg_id = bare.client.execute(code)
    bare.until(msg_id, lambda m: _holds(m, last))
    elapsed = time.perf_counter() - start
    bare.until(msg_id, lambda m: m["msg_type"] == "status"
               and m["content"]["execution_state"] == "idle")  # fmt: skip
    return elapsed


def plugin_seconds(ed: Editor, code: str, last: str, rpc: list[float]) -> float:
    ticket = ed.arm(last, contains=True, timeout=120)
    with RpcSampler(ed.socket) as sampler:
        start = time.perf_counter()
        ed.nvim.exec_lua("require('kernel.rpc').notify('send', ..., {})", code, async_=True)
        ed.wait("bench_line", ticket)
        elapsed = time.perf_counter() - start
    rpc.extend(sampler.samples)
    ed.wait_idle()
    return elapsed


Alternate = Callable[[Callable[[], Any], Callable[[], Any]], None]
Summary = Callable[[list[float]], dict[str, float]]


def live(ed: Editor, bare: BareClient, alternate: Alternate, summary: Summary) -> dict[str, Any]:
    """Each scenario's last frame (plugin and floor) and the editor's RPC latency meanwhile."""
    return {name: scenario(ed, bare, code, last, alternate, summary)
            for name, (code, last) in SCENARIOS.items()}  # fmt: skip


def scenario(
    ed: Editor, bare: BareClient, code: str, last: str, alternate: Alternate, summary: Summary
) -> dict[str, Any]:
    plugin: list[float] = []
    floor: list[float] = []
    rpc: list[float] = []
    alternate(
        lambda: floor.append(floor_seconds(bare, code, last)),
        lambda: plugin.append(plugin_seconds(ed, code, last, rpc)),
    )
    return {"plugin": summary([s * 1000 for s in plugin]),
            "floor": summary([s * 1000 for s in floor]),
            "rpc": summary([s * 1000 for s in rpc])}  # fmt: skip


def _holds(msg: Message, text: str) -> bool:
    return msg["msg_type"] == "stream" and text in msg["content"].get("text", "")
