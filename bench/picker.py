"""How long choosing a kernel takes, with 10 live ipykernels and 20 files of dead ones: the
host's work behind `<Tab>` (socket tables only) and behind the picker of `:KernelConnect` and
`:KernelList` (socket tables, one walk of /proc, the lines), measured in this process; and
`<Tab>` as the editor waits for it (`kernel#complete_connect`, a sync call to the host).

Run with `.venv/bin/python bench/picker.py [--live 10] [--dead 20] [--samples 50]`. Not part of
`make bench`: it starts ten kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rplugin" / "python3"))
from kernel_nvim.kernel.sources import catalog, existing  # noqa: E402
from kernel_nvim.session import kernel_list  # noqa: E402
from support.editor import Editor, start_editor  # noqa: E402
from support.kernels import start_kernel  # noqa: E402
from support.sandbox import Sandbox, wait_for  # noqa: E402


def write_dead(runtime: Path) -> None:
    holders = [socket.socket() for _ in range(5)]
    for s in holders:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in holders]
    for s in holders:
        s.close()
    info = {f"{c}_port": p for c, p in zip(("shell", "iopub", "stdin", "control", "hb"), ports)}
    info.update(ip="127.0.0.1", key=str(uuid.uuid4()), transport="tcp",
                signature_scheme="hmac-sha256", kernel_name="python3")  # fmt: skip
    path = runtime / f"kernel-dead-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(info))
    path.chmod(0o600)


def settle(pids: list[int], timeout: float = 120.0) -> None:
    """Until the kernels just started have done starting: their CPU time stays put for 0.5 s."""

    def cpu() -> int:
        total = 0
        for pid in pids:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total

    deadline = time.monotonic() + timeout
    last = cpu()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu()
        if now == last:
            return
        last = now


def timed(func: Callable[[], object], samples: int) -> tuple[float, float, float]:
    """Minimum, median and maximum, in milliseconds."""
    func()  # warm: imports, the first read of the tables
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times), max(times)


def host_rows(dirs: list[str], samples: int) -> list[tuple[str, tuple[float, float, float]]]:
    """The host's work, in this process: what the main thread of the host spends."""

    def picker(everything: bool) -> Callable[[], object]:
        def build() -> object:
            choices = kernel_list.listed(catalog.survey(dirs), {}, everything)
            return kernel_list.items(choices, time.time())

        return build

    return [
        ("<Tab> before: the file names only", timed(lambda: existing.completion_candidates(
            "", dirs), samples)),
        ("<Tab>: names, live first (socket table)", timed(lambda: existing.completion_candidates(
            "", dirs, live=catalog.live_paths(dirs)), samples)),
        ("picker's list: survey, /proc, lines", timed(picker(False), samples)),
        ("picker's list with the dead (!)", timed(picker(True), samples)),
    ]  # fmt: skip


def editor_rows(editor: Editor, samples: int) -> list[tuple[str, tuple[float, float, float]]]:
    """What the user waits for: <Tab> is a sync call from the editor to the host."""

    def tab() -> object:
        return editor.nvim.call("kernel#complete_connect", "", "KernelConnect ", 14)

    def mode() -> str:
        return str(editor.nvim.api.get_mode()["mode"])

    def pick() -> None:
        # Until the builtin vim.ui.select asks (inputlist(): mode "c"), polled through the
        # fast nvim_get_mode; then cancelled.
        editor.nvim.command("KernelConnect")
        wait_for(lambda: mode() == "c", 10, "the picker", interval=0.0005)
        editor.feed("\r")
        wait_for(lambda: mode() == "n", 10, "the picker closed")

    return [
        ("<Tab> as the editor waits (sync RPC)", timed(tab, samples)),
        (":KernelConnect -> the picker asks", timed(pick, min(samples, 20))),
        ("an editor round trip (floor)", timed(editor.nvim.api.get_mode, samples)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--live", type=int, default=10)
    parser.add_argument("--dead", type=int, default=20)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    sandbox = Sandbox(Path(tempfile.mkdtemp(prefix="kernel-picker-bench-")))
    sandbox.register_plugin()
    kernels = [start_kernel(sandbox.runtime, sandbox.home) for _ in range(args.live)]
    try:
        for _ in range(args.dead):
            write_dead(sandbox.runtime)
        settle([kernel.process.pid for kernel in kernels])
        os.environ["JUPYTER_RUNTIME_DIR"] = str(sandbox.runtime)
        dirs = [str(sandbox.runtime)]
        found = catalog.survey(dirs)
        alive = sum(f.alive for f in found)
        with_pid = sum(bool(f.pid) for f in found)
        print(f"{len(found)} files: {alive} alive ({with_pid} with their process), "
              f"{len(found) - alive} dead; {len(os.listdir('/proc'))} /proc entries")  # fmt: skip

        rows = host_rows(dirs, args.samples)
        editor = start_editor(sandbox.env())
        try:
            rows += editor_rows(editor, args.samples)
        finally:
            editor.close()
        print(f"{'':<40} {'min':>8} {'median':>8} {'max':>8}  (ms; load {os.getloadavg()[0]:.1f})")
        for what, times in rows:
            print(f"{what:<40} " + " ".join(f"{t:8.2f}" for t in times))
    finally:
        for kernel in kernels:
            kernel.kill()


if __name__ == "__main__":
    main()
