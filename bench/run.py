"""kernel.nvim benchmark: a real ipykernel, real headless Neovims, each figure beside its floor.

Run with `make bench` (or `.venv/bin/python bench/run.py`; `--quick` for fewer samples while
developing). Prints a table with the targets and writes bench/results/latest.json.

Floors run while the editor is disconnected from the kernel, so that the plugin's host does not
spend the same two CPU cores on the floor's traffic; floor and plugin samples alternate in blocks
so that drift in the machine's load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import images as image_output
import live as live_output
import server as server_bench
import ssh as ssh_bench
import start as start_bench
from harness import (
    PYTHON,
    REPO,
    BareClient,
    BenchSandbox,
    Editor,
    Kernel,
    RpcSampler,
    TwinSampler,
    editor,
    editor_args,
    memory_kb,
    nvim_bin,
    reset_peak,
    start_kernel,
    timed_send,
)

RESULTS = REPO / "bench" / "results" / "latest.json"


@dataclass
class Counts:
    sends: int = 60  # round trips, in blocks of `block`
    block: int = 10
    floods: int = 5
    animations: int = 3
    images: int = 5
    interrupts: int = 5
    startups: int = 10
    colds: int = 5
    starts: int = 5  # :KernelStart beside jupyter console
    busy_s: float = 3.0
    cold_deadline_s: float = 5.0  # no first output by then: the send was lost
    big_flood: int = 1_000_000


QUICK = Counts(sends=10, block=5, floods=1, animations=1, images=2, interrupts=2, startups=3,
               colds=2, starts=2, big_flood=200_000)  # fmt: skip


@dataclass
class Row:
    what: str
    value: float | None  # ms, or as `unit` says
    floor: float | None = None
    target: str = ""
    ok: bool | None = None
    unit: str = "ms"
    note: str = ""  # why the row failed, printed under it


# Section: statistics


def ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "median": statistics.median(values_ms),
        "p90": pct(values_ms, 90),
        "p99": pct(values_ms, 99),
        "max": max(values_ms),
    }


def ratio_row(what: str, value: float, floor: float, limit: float | None) -> Row:
    target = f"<= {limit:g}x floor" if limit else ""
    ok = value <= limit * floor if limit else None
    return Row(what, value, floor, target, ok)


def limit_row(what: str, value: float, limit: float, floor: float | None = None) -> Row:
    return Row(what, value, floor, f"<= {limit:g} ms", value <= limit)


# Section: scenarios on one connected editor


def reconnect(ed: Editor, kernel: Kernel, tag: str) -> None:
    """Connect, then prove iopub is subscribed with one execution, so no output is missed."""
    ed.connect(kernel)
    ticket = ed.arm(tag)
    ed.send(f'print("{tag}")')
    ed.wait("bench_line", ticket)
    ed.wait_idle()


def alternate(
    ed: Editor, kernel: Kernel, rounds: int, floor: Callable[[], Any], plugin: Callable[[], Any]
) -> None:
    """Run `floor` with the editor disconnected, then `plugin` connected, `rounds` times."""
    for r in range(rounds):
        ed.nvim.command("KernelDisconnect")
        floor()
        reconnect(ed, kernel, f"ready{r}")
        plugin()


def round_trip(ed: Editor, kernel: Kernel, bare: BareClient, c: Counts) -> dict[str, Any]:
    plugin: list[float] = []
    floor: list[float] = []
    sent = iter(range(c.sends))

    def floor_block() -> None:
        floor.extend(bare.execute('print("x")') for _ in range(c.block))

    def plugin_block() -> None:
        for _ in range(c.block):
            i = next(sent)
            plugin.append(timed_send(ed, f'print("x{i}")', f"x{i}"))
            ed.wait_idle()

    alternate(ed, kernel, c.sends // c.block, floor_block, plugin_block)
    return {"plugin": summary(ms(plugin)), "floor": summary(ms(floor))}


def idle_rpc(ed: Editor, seconds: float) -> dict[str, float]:
    with RpcSampler(ed.socket) as sampler:
        time.sleep(seconds)
    return summary(ms(sampler.samples))


def busy_rpc(ed: Editor, c: Counts) -> dict[str, Any]:
    floor = idle_rpc(ed, c.busy_s)
    with RpcSampler(ed.socket) as sampler:
        ed.send(f"import time; time.sleep({c.busy_s})")
        time.sleep(c.busy_s)
    ed.wait_idle()
    return {"plugin": summary(ms(sampler.samples)), "floor": floor}


def flood(
    sandbox: BenchSandbox, ed: Editor, kernel: Kernel, bare: BareClient, c: Counts
) -> dict[str, Any]:
    n = 100_000
    code = f"for i in range({n}): print(i)"
    plugin: list[float] = []
    floor: list[float] = []
    rpc: list[float] = []
    idle_rpc: list[float] = []

    def plugin_flood() -> None:
        with RpcSampler(ed.socket) as sampler, TwinSampler(idle.socket) as twin:
            plugin.append(timed_send(ed, code, str(n - 1)))
        rpc.extend(sampler.samples)
        idle_rpc.extend(twin.samples)
        ed.wait_idle()

    with editor(sandbox) as idle:  # a second Neovim, idle: the RPC floor on the busy machine
        alternate(ed, kernel, c.floods, lambda: floor.append(bare.execute(code)), plugin_flood)
    last = summary(ms(plugin))
    return {
        "plugin": last,
        "floor": summary(ms(floor)),
        "rpc": summary(ms(rpc)),
        "idle_editor_rpc": summary(ms(idle_rpc)),
        "lines_per_s": n / (last["median"] / 1000),
    }


def interrupt(ed: Editor, kernel: Kernel, bare: BareClient, c: Counts) -> dict[str, Any]:
    plugin: list[float] = []
    floor: list[float] = []

    def plugin_interrupt() -> None:
        ticket = ed.arm_status()
        ed.send("while True: pass")
        ed.wait_status(ticket, "busy")
        time.sleep(0.2)  # well inside the loop
        ticket = ed.arm("KeyboardInterrupt", contains=True)
        start = time.perf_counter()
        ed.nvim.command("KernelInterrupt", async_=True)
        ed.wait("bench_line", ticket)
        plugin.append(time.perf_counter() - start)
        ed.wait_idle()

    alternate(ed, kernel, c.interrupts, lambda: floor.append(bare.interrupt()), plugin_interrupt)
    return {"plugin": summary(ms(plugin)), "floor": summary(ms(floor))}


def memory(ed: Editor, c: Counts) -> dict[str, Any]:
    pids = {"nvim": ed.pid(), "host": ed.host_pid()}
    before = {}
    for name, pid in pids.items():
        reset_peak(pid)
        before[name] = memory_kb(pid)
    n = c.big_flood
    elapsed = timed_send(ed, f"for i in range({n}): print(i)", str(n - 1))
    ed.wait_idle()
    after = {name: memory_kb(pid) for name, pid in pids.items()}
    growth = {name: (after[name]["VmHWM"] - before[name]["VmRSS"]) / 1024 for name in pids}
    return {"lines": n, "seconds": elapsed, "before_kb": before, "after_kb": after,
            "growth_mb": growth}  # fmt: skip


# Section: scenarios with new processes


def startup_ms(sandbox: BenchSandbox, plugin: bool) -> float:
    log = sandbox.root / "startuptime.log"
    log.unlink(missing_ok=True)
    manifest = sandbox.manifest if plugin else sandbox.root / "no-manifest.vim"
    argv = [nvim_bin(), "--headless", *editor_args(plugin), "--startuptime", str(log), "+qa!"]
    subprocess.run(argv, env=sandbox.env(manifest), check=True, timeout=60, capture_output=True)
    return float(log.read_text().strip().splitlines()[-1].split()[0])


def startup(sandbox: BenchSandbox, c: Counts) -> dict[str, Any]:
    with_plugin: list[float] = []
    without: list[float] = []
    for _ in range(c.startups):
        without.append(startup_ms(sandbox, plugin=False))
        with_plugin.append(startup_ms(sandbox, plugin=True))
    return {"plugin": summary(with_plugin), "floor": summary(without)}


COLD_FLOOR = """
import sys
from jupyter_client import BlockingKernelClient
client = BlockingKernelClient(connection_file=sys.argv[1])
client.load_connection_file()
client.start_channels(hb=False, stdin=False)
# wait_for_ready() would idle 0.2 s flushing iopub: a kernel_info reply plus a first iopub
# message (its status, or the XPUB welcome) prove the kernel answers and output will arrive.
client.kernel_info()
client.get_shell_msg(timeout=30)
client.get_iopub_msg(timeout=30)
msg_id = client.execute('print("cold")')
while True:
    msg = client.get_iopub_msg(timeout=30)
    if msg["msg_type"] == "stream" and msg["parent_header"].get("msg_id") == msg_id:
        break
print("out", flush=True)
client.stop_channels()
"""


def cold_floor(sandbox: BenchSandbox, kernel: Kernel) -> float:
    start = time.perf_counter()
    child = subprocess.Popen(
        [PYTHON, "-c", COLD_FLOOR, str(kernel.path)],
        env=sandbox.env(), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    line = child.stdout.readline()
    elapsed = time.perf_counter() - start
    child.wait(timeout=30)
    if line.strip() != "out":
        raise RuntimeError("the cold-start floor got no output")
    return elapsed


def cold_first_output(sandbox: BenchSandbox, kernel: Kernel, c: Counts) -> float | None:
    """Launch -> first output for a new Neovim and a new host, the code sent right after
    :KernelConnect as a user's mapping does (`nvim +'KernelConnect x' +'KernelExec ...'`);
    None when the output never came."""
    start = time.perf_counter()
    with editor(sandbox) as ed:
        ticket = ed.arm("cold", timeout=c.cold_deadline_s)
        ed.nvim.command(f"KernelConnect {kernel.fragment}", async_=True)
        ed.send('print("cold")')
        try:
            ed.wait("bench_line", ticket)
        except TimeoutError:
            return None
        return time.perf_counter() - start


def cold_connect(sandbox: BenchSandbox, kernel: Kernel) -> float:
    """:KernelConnect -> idle for a new Neovim and a new host."""
    with editor(sandbox) as ed:
        start = time.perf_counter()
        ed.connect(kernel)
        return time.perf_counter() - start


def cold(sandbox: BenchSandbox, kernel: Kernel, c: Counts) -> dict[str, Any]:
    floor: list[float] = []
    plugin: list[float] = []
    connect: list[float] = []
    lost = 0
    for _ in range(c.colds):
        floor.append(cold_floor(sandbox, kernel))
        first_output = cold_first_output(sandbox, kernel, c)
        if first_output is None:
            lost += 1
        else:
            plugin.append(first_output)
        connect.append(cold_connect(sandbox, kernel))
    return {"plugin": summary(ms(plugin)) if plugin else None, "floor": summary(ms(floor)),
            "connect": summary(ms(connect)), "lost": lost, "rounds": c.colds}  # fmt: skip


# Section: the table


def rows_for(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    errors = results.get("errors", {})
    for name, build in ROWS.items():
        if name in errors:
            rows.append(Row(f"{name}: not measured ({errors[name]})", None))
        elif name in results:
            rows.extend(build(results))
    return rows


def round_trip_rows(r: dict[str, Any]) -> list[Row]:
    p, f = r["round_trip"]["plugin"], r["round_trip"]["floor"]
    return [
        ratio_row("send -> output visible, median", p["median"], f["median"], 1.3),
        ratio_row("send -> output visible, p90", p["p90"], f["p90"], None),
    ]


def busy_rows(r: dict[str, Any]) -> list[Row]:
    p, f = r["busy"]["plugin"], r["busy"]["floor"]
    return [
        limit_row("kernel busy 3 s: editor RPC p99", p["p99"], 3, f["p99"]),
        limit_row("kernel busy 3 s: editor RPC max", p["max"], 10, f["max"]),
    ]


def flood_rows(r: dict[str, Any]) -> list[Row]:
    fl = r["flood"]
    rpc, idle = fl["rpc"], fl["idle_editor_rpc"]
    last, floor = fl["plugin"]["median"], fl["floor"]["median"]
    return [
        ratio_row("100k flood: last line visible", last, floor, 1.15),
        limit_row("100k flood: editor RPC p99", rpc["p99"], 3, idle.get("p99")),
        limit_row("100k flood: editor RPC max", rpc["max"], 10, idle.get("max")),
        Row("100k flood: lines per second", fl["lines_per_s"], unit="lines/s"),
    ]


def interrupt_rows(r: dict[str, Any]) -> list[Row]:
    p, f = r["interrupt"]["plugin"], r["interrupt"]["floor"]
    return [limit_row("interrupt -> KeyboardInterrupt visible", p["median"], 50, f["median"])]


def live_with_twin(
    sandbox: BenchSandbox, ed: Editor, kernel: Kernel, bare: BareClient, c: Counts
) -> dict[str, Any]:
    with editor(sandbox) as idle:  # a second Neovim, idle: the RPC floor on the busy machine
        return live_output.live(
            ed, bare, lambda floor, plugin: alternate(ed, kernel, c.animations, floor, plugin),
            summary, idle.socket,
        )  # fmt: skip


def live_rows(r: dict[str, Any]) -> list[Row]:
    rows = []
    for name, what in (("clear_output", "clear_output loop, 10k frames"),
                       ("tqdm", "tqdm at full speed, 20k steps")):  # fmt: skip
        m = r["live"][name]
        rows.append(ratio_row(f"{what}: last frame", m["plugin"]["median"],
                              m["floor"]["median"], 1.2))  # fmt: skip
        idle = m.get("idle_editor_rpc", {}).get("p99")
        rows.append(limit_row(f"{what}: editor RPC p99", m["rpc"]["p99"], 5, idle))
    return rows


def image_rows(r: dict[str, Any]) -> list[Row]:
    m = r["images"]
    line, small = m["plugin"]["median"], m["small"]["median"]
    added, size = line - small, f"{m['png_mb']:.1f} MB PNG"
    return [
        Row(f"{size}: display -> its line visible", line, m["floor"]["median"]),
        Row(f"{size}: its line after a bare client has it", line - m["floor"]["median"]),
        Row(f"{size}: added to its line (vs 8x8 PNG)", added, None, "<= 100 ms", added <= 100),
        Row(f"{size}: decode + half blocks (worker)", m["decode"]["median"]),
    ]


def memory_rows(r: dict[str, Any]) -> list[Row]:
    m = r["memory"]
    g = m["growth_mb"]
    lines = f"{m['lines'] // 1000}k"
    both = g["nvim"] + g["host"]
    return [
        Row(f"{lines} flood: Neovim peak RSS growth", g["nvim"], unit="MB"),
        Row(f"{lines} flood: host peak RSS growth", g["host"], unit="MB"),
        Row(f"{lines} flood: host peak RSS", m["after_kb"]["host"]["VmHWM"] / 1024, unit="MB"),
        Row(f"{lines} flood: Neovim + host growth", both, None, "<= 50 MB", both <= 50, "MB"),
        Row(f"{lines} flood: last line visible", m["seconds"], unit="s"),
    ]


def startup_rows(r: dict[str, Any]) -> list[Row]:
    s = r["startup"]
    added = s["plugin"]["median"] - s["floor"]["median"]
    return [
        Row("Neovim startup, median", s["plugin"]["median"], s["floor"]["median"]),
        Row("startup added by the plugin", added, None, "<= 3 ms", added <= 3),
    ]


def cold_rows(r: dict[str, Any]) -> list[Row]:
    c = r["cold"]
    floor = c["floor"]["median"]
    rows = [Row(":KernelConnect -> idle (cold host), median", c["connect"]["median"])]
    what = "cold start: launch -> first output"
    if c.get("lost"):
        note = f"no output in {c['lost']} of {c['rounds']} cold starts: the first send was lost"
        value = c["plugin"]["median"] if c["plugin"] else None
        rows.append(Row(what, value, floor, "<= 1.3x floor", False, note=note))
    else:
        rows.append(ratio_row(what, c["plugin"]["median"], floor, 1.3))
    return rows


def start_rows(r: dict[str, Any]) -> list[Row]:
    p, f = r["start"]["plugin"], r["start"]["floor"]
    what = ":KernelStart -> first output"
    return [ratio_row(what, p["median"], f["median"], 1.1)]


def server_rows(r: dict[str, Any]) -> list[Row]:
    trip, flood = r["server"]["round_trip"], r["server"]["flood"]
    return [
        ratio_row("server: send -> output visible, median", trip["plugin"]["median"],
                  trip["floor"]["median"], 1.2),
        ratio_row("server: 100k flood, last line visible", flood["plugin"]["median"],
                  flood["floor"]["median"], 1.2),
        limit_row("server: 100k flood, editor RPC p99", flood["rpc"]["p99"], 5,
                  flood["idle_rpc"]["p99"]),
        Row("server: print, a bare client with delayed ACKs", trip["naive"]["median"],
            trip["floor"]["median"], "(for reference)"),
        Row("server: bare client's requests that never got their output (sent again)",
            trip.get("floor_lost", 0), unit="requests"),
    ]  # fmt: skip


def ssh_rows(r: dict[str, Any]) -> list[Row]:
    if "skipped" in r["ssh"]:
        return [Row(f"ssh: not measured ({r['ssh']['skipped']})", None)]
    p, t, d = r["ssh"]["plugin"], r["ssh"]["tunnel"], r["ssh"]["direct"]
    return [
        ratio_row("ssh: send -> output visible, median", p["median"], t["median"], 1.3),
        ratio_row("ssh: send -> output visible, p90", p["p90"], t["p90"], None),
        ratio_row("ssh: bare client, tunnel vs direct, median", t["median"], d["median"], None),
    ]


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "round_trip": round_trip_rows,
    "busy": busy_rows,
    "flood": flood_rows,
    "interrupt": interrupt_rows,
    "live": live_rows,
    "images": image_rows,
    "memory": memory_rows,
    "startup": startup_rows,
    "cold": cold_rows,
    "start": start_rows,
    "server": server_rows,
    "ssh": ssh_rows,
}


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "lines/s":
        return f"{value:,.0f}/s"
    return f"{value:.1f} {unit}" if value >= 10 or unit != "ms" else f"{value:.2f} ms"


def print_table(rows: list[Row]) -> None:
    print(f"\n{'what':<44} {'kernel.nvim':>12} {'floor':>10} {'ratio':>6}  {'target':<16} ")
    print("-" * 98)
    for row in rows:
        ratio = f"x{row.value / row.floor:.2f}" if row.value and row.floor else ""
        verdict = {True: "pass", False: "MISS", None: ""}[row.ok]
        print(
            f"{row.what:<44} {fmt(row.value, row.unit):>12} {fmt(row.floor, row.unit):>10} "
            f"{ratio:>6}  {row.target:<16} {verdict}"
        )
        if row.note:
            print(f"    {row.note}")


# Section: running it all


def measure(name: str, results: dict[str, Any], run: Callable[[], Any]) -> None:
    print(f"measuring {name} ...", file=sys.stderr, flush=True)
    try:
        results[name] = run()
    except Exception as e:
        traceback.print_exc()
        results.setdefault("errors", {})[name] = repr(e)


SCENARIOS = ["round_trip", "busy", "flood", "interrupt", "live", "images", "memory", "startup",
             "cold", "start", "server", "ssh"]  # fmt: skip


def run_all(sandbox: BenchSandbox, c: Counts, only: set[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    kernel = start_kernel(sandbox.runtime, sandbox.home)
    bare = BareClient(kernel)
    try:
        with editor(sandbox) as ed:
            reconnect(ed, kernel, "warm")
            print(f"Neovim pid {ed.pid()}, python host pid {ed.host_pid()}", file=sys.stderr)
            on_editor: dict[str, Callable[[], Any]] = {
                "round_trip": lambda: round_trip(ed, kernel, bare, c),
                "busy": lambda: busy_rpc(ed, c),
                "flood": lambda: flood(sandbox, ed, kernel, bare, c),
                "interrupt": lambda: interrupt(ed, kernel, bare, c),
                "live": lambda: live_with_twin(sandbox, ed, kernel, bare, c),
                "images": lambda: image_output.images(
                    ed,
                    bare,
                    lambda floor, plugin: alternate(ed, kernel, c.images, floor, plugin),
                    summary,
                    c.images,
                ),  # fmt: skip
                "memory": lambda: memory(ed, c),
            }
            for name in SCENARIOS[:7]:
                if name in only:
                    measure(name, results, on_editor[name])
        if "startup" in only:
            measure("startup", results, lambda: startup(sandbox, c))
        if "cold" in only:
            measure("cold", results, lambda: cold(sandbox, kernel, c))
        if "start" in only:
            measure("start", results, lambda: start_bench.start(sandbox, c.starts, summary))
        if "server" in only:
            measure("server", results,
                    lambda: server_bench.server(sandbox, c.sends, c.floods, summary))  # fmt: skip
        if "ssh" in only:
            measure("ssh", results, lambda: ssh_bench.ssh(sandbox, c.sends, c.block, summary))
    finally:
        bare.close()
        kernel.kill()
    return results


def machine() -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
        "nvim": nvim_bin(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few samples, for development")
    parser.add_argument("--only", help=f"comma-separated subset of: {','.join(SCENARIOS)}")
    args = parser.parse_args()
    counts = QUICK if args.quick else Counts()
    only = set(args.only.split(",")) if args.only else set(SCENARIOS)
    # asyncio warns when a Neovim child exits after pynvim closed its loop: expected here.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="kernel-bench-") as tmp:
        sandbox = BenchSandbox(Path(tmp))
        os.environ.update(sandbox.env())  # pynvim starts Neovim with this process's environment
        sandbox.register_plugin()
        before = machine()
        results = run_all(sandbox, counts, only)
    rows = rows_for(results)
    print_table(rows)
    report = {"machine": before, "loadavg_after": os.getloadavg(), "counts": asdict(counts),
              "results": results, "rows": [asdict(r) for r in rows]}  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nload average {before['loadavg']} -> {os.getloadavg()}; written to {RESULTS}")


if __name__ == "__main__":
    main()
