"""What the benchmark adds to the tests' real parts (tests/support: the sandbox, an ipykernel
started from its own connection file, headless Neovims with kernel.nvim registered through a
temporary manifest): a bare jupyter_client client (the floor), a Lua helper that reports to this
process, and samplers of the editor's RPC latency on a second connection.

Waits never poll the editor on a timer when latency is being measured: a Lua helper inside Neovim
watches the output buffer with ``nvim_buf_attach`` and the status with the plugin's
``KernelStatusChanged`` event, and tells this process with ``rpcnotify``.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pynvim
from jupyter_client import BlockingKernelClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.editor import Editor as _Editor  # noqa: E402  (the tests' support package)
from support.editor import start_nvim  # noqa: E402
from support.kernels import ConnectionFile, Kernel, start_kernel  # noqa: E402
from support.sandbox import PYTHON, REPO, Sandbox, editor_args, nvim_bin, wait_for  # noqa: E402

__all__ = ["PYTHON", "REPO", "Kernel", "editor_args", "nvim_bin", "start_kernel"]
Message = dict[str, Any]


# Section: the sandbox


class BenchSandbox(Sandbox):
    """The tests' sandbox, with bytecode as a user's host has it after its first start."""

    def env(self, manifest: Path | None = None) -> dict[str, str]:
        env = super().env(manifest)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # The floor's jupyter_client is compiled in site-packages too. Kept out of the checkout.
        env["PYTHONPYCACHEPREFIX"] = str(self.root / "pycache")
        return env

    def register_plugin(self) -> Path:
        manifest = super().register_plugin()
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO / "rplugin")],
                       env=self.env(), check=True, timeout=120)  # fmt: skip
        return manifest


# Section: the floor


class BareClient:
    """jupyter_client's BlockingKernelClient with no editor: what the plugin is compared to."""

    def __init__(self, kernel: Kernel) -> None:
        self.client = BlockingKernelClient(connection_file=str(kernel.path))
        self.client.load_connection_file()
        self.client.start_channels(hb=False, stdin=False)
        self.client.wait_for_ready(timeout=30)

    def drain(self) -> None:
        """Drop what other clients' executions left queued on iopub."""
        while self.client.iopub_channel.msg_ready():
            self.client.get_iopub_msg(timeout=1)

    def execute(self, code: str) -> float:
        """Seconds from execute_request to this request's idle (output included)."""
        self.drain()
        start = time.perf_counter()
        msg_id = self.client.execute(code)
        self.until(msg_id, _is_idle)
        return time.perf_counter() - start

    def interrupt(self) -> float:
        """Seconds from interrupt_request to the KeyboardInterrupt of a running loop."""
        self.drain()
        msg_id = self.client.execute("while True: pass")
        self.until(msg_id, lambda m: m["msg_type"] == "status")  # busy: the loop runs
        time.sleep(0.2)
        start = time.perf_counter()
        self.client.control_channel.send(self.client.session.msg("interrupt_request", {}))
        self.until(msg_id, lambda m: m["content"].get("ename") == "KeyboardInterrupt")
        elapsed = time.perf_counter() - start
        self.until(msg_id, _is_idle)
        return elapsed

    def until(self, msg_id: str, done: Callable[[Message], bool]) -> None:
        while True:
            msg = self.client.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") == msg_id and done(msg):
                return

    def close(self) -> None:
        self.client.stop_channels()


def _is_idle(msg: Message) -> bool:
    return msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"


# Section: the editor

# Runs in Neovim, called with the bench's channel. Every notification carries a sequence number, so
# a wait armed at number n ignores whatever was already queued before it.
HELPER = """
local chan = ...
local api = vim.api
local bench = { seq = 0, attached = {} }
_G.kernel_bench = bench

local function notify(name, value)
  bench.seq = bench.seq + 1
  vim.rpcnotify(chan, name, bench.seq, value)
end

local function on_lines(_, buf, _, first, _, new_last)
  local want = bench.want
  if not want then return end
  -- The awaited line is the newest: look at the end of the change only, however large it is.
  local tail = api.nvim_buf_get_lines(buf, math.max(first, new_last - 50), new_last, false)
  for _, line in ipairs(tail) do
    if line == want or (bench.contains and line:find(want, 1, true)) then
      bench.want = nil
      notify('bench_line', line)
      return
    end
  end
end

local function attach()
  for _, buf in ipairs(api.nvim_list_bufs()) do
    if not bench.attached[buf] and api.nvim_buf_get_name(buf):match('^kernel://') then
      bench.attached[buf] = api.nvim_buf_attach(buf, false, { on_lines = on_lines })
    end
  end
end

function bench.arm(want, contains, timeout_ms)
  attach()
  bench.want, bench.contains = want, contains
  local seq = bench.seq
  vim.defer_fn(function() notify('bench_timeout', seq) end, timeout_ms)
  return seq
end

api.nvim_create_autocmd('User', { pattern = 'KernelStatusChanged', callback = function()
  attach()  -- the plugin creates the output buffer in the same update
  notify('bench_status', vim.fn.KernelStatus())
end })
"""

_socket_ids = itertools.count()


class Editor(_Editor):
    """The tests' editor, also listening on a socket for a sampler, with the Lua helper."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.socket = sandbox.root / f"nvim-{os.getpid()}-{next(_socket_ids)}.sock"
        super().__init__(start_nvim(sandbox.env(), ["--listen", str(self.socket)]))
        self.nvim.exec_lua(HELPER, self.nvim.channel_id)

    def send(self, code: str) -> None:
        """Issue `:KernelExec {code}` without waiting for Neovim."""
        self.nvim.command(f"KernelExec {code}", async_=True)

    def arm(self, want: str | None, contains: bool = False, timeout: float = 30) -> int:
        """Watch for an output line equal to (or containing) `want`; returns the wait's ticket."""
        lua = "return kernel_bench.arm(...)"
        return int(self.nvim.exec_lua(lua, want, contains, int(timeout * 1000)))

    def arm_status(self, timeout: float = 30) -> int:
        return self.arm(None, False, timeout)

    def wait(self, event: str, ticket: int, accept: Callable[[Any], bool] = bool) -> Any:
        """Block on notifications until `event` (newer than `ticket`) has an accepted value."""
        while True:
            message = self.nvim.next_message()
            if message is None or message[0] != "notification":
                continue
            _, name, (seq, value) = message
            if name == "bench_timeout" and value == ticket:
                raise TimeoutError(f"no {event} within the wait's deadline")
            if name == event and seq > ticket and accept(value):
                return value

    def wait_status(self, ticket: int, state: str) -> None:
        self.wait("bench_status", ticket, lambda s: str(s).endswith(" " + state))

    def wait_idle(self) -> None:
        """Polls: for untimed waits only."""
        wait_for(lambda: self.status().endswith(" idle"), 60, "kernel idle", interval=0.005)

    def connect(self, kernel: ConnectionFile) -> None:
        ticket = self.arm_status()
        self.nvim.command(f"KernelConnect {kernel.fragment}", async_=True)
        self.wait_status(ticket, "idle")

    def host_pid(self) -> int:
        """The python3 remote-plugin host: a python child of Neovim."""
        for pid, ppid, cmdline in _processes():
            if ppid == self.pid() and "python" in cmdline:
                return pid
        raise LookupError("no python3 host under Neovim")


def _processes() -> Iterator[tuple[int, int, str]]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # exited meanwhile
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        yield int(entry.name), ppid, cmdline


@contextmanager
def editor(sandbox: Sandbox) -> Iterator[Editor]:
    e = Editor(sandbox)
    try:
        yield e
    finally:
        e.close()


# Section: measuring


def timed_send(ed: Editor, code: str, line: str, contains: bool = False) -> float:
    """Seconds from `:KernelExec {code}` to an output line equal to (or containing) `line`."""
    ticket = ed.arm(line, contains, timeout=120)
    start = time.perf_counter()
    ed.send(code)
    ed.wait("bench_line", ticket)
    return time.perf_counter() - start


class RpcSampler:
    """Times `nvim_get_mode` every `period` s from a thread with a connection of its own."""

    def __init__(self, socket: Path, period: float = 0.02) -> None:
        self.socket = socket
        self.period = period
        self.samples: list[float] = []  # seconds
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rpc sampler", daemon=True)

    def __enter__(self) -> RpcSampler:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        nvim = pynvim.attach("socket", path=str(self.socket))
        self._ready.set()
        next_at = time.perf_counter()
        while not self._stop.is_set():
            start = time.perf_counter()
            nvim.api.get_mode()
            self.samples.append(time.perf_counter() - start)
            next_at += self.period
            self._stop.wait(max(0.0, next_at - time.perf_counter()))
        nvim.close()


# Run as a process of its own: samples in this process would share its GIL with the other sampler.
TWIN_SAMPLER = """
import json, sys, threading, time, pynvim
nvim = pynvim.attach("socket", path=sys.argv[1])
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
nvim.api.get_mode()
print("ready", flush=True)
samples, next_at = [], time.perf_counter()
while not stop.is_set():
    start = time.perf_counter()
    nvim.api.get_mode()
    samples.append(time.perf_counter() - start)
    next_at += float(sys.argv[2])
    stop.wait(max(0.0, next_at - time.perf_counter()))
print(json.dumps(samples), flush=True)
"""


class TwinSampler:
    """What RpcSampler does, from another process, on an editor with nothing to do: the share of
    a latency that comes from the machine being busy, not from kernel.nvim."""

    def __init__(self, socket: Path, period: float = 0.02) -> None:
        self.argv = [PYTHON, "-c", TWIN_SAMPLER, str(socket), str(period)]
        self.samples: list[float] = []

    def __enter__(self) -> TwinSampler:
        self._child = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True)  # fmt: skip
        assert self._child.stdout is not None
        if self._child.stdout.readline().strip() != "ready":
            raise RuntimeError("the twin sampler did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.close()
        self.samples = json.loads(self._child.stdout.readline())
        self._child.wait(10)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def reset_peak(pid: int) -> None:
    """Make VmHWM start again from the current RSS (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
