"""Kernels we start, in the bench: `:KernelStart python3` to the first output of code sent with it,
beside `jupyter console --kernel python3` reaching its first prompt, in a pty, in the same run.

Both start from nothing warm: the console is a new process that imports jupyter_client and
starts the kernel; the editor is a new Neovim whose python3 host starts with the command. The
samples alternate, so that drift in the machine's load hits both alike. Used by run.py.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import PYTHON, BenchSandbox, editor

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]")
PROMPT = b"In [1]:"
DEADLINE = 60.0  # seconds: no prompt or no output by then is a failure


def console_seconds(sandbox: BenchSandbox) -> float:
    """`jupyter console --kernel python3`: launch to its first prompt on the terminal."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**sandbox.env(), "TERM": "xterm-256color"}
    console = str(Path(PYTHON).parent / "jupyter-console")
    start = time.perf_counter()
    child = subprocess.Popen([console, "--kernel", "python3"], stdin=slave, stdout=slave,
                             stderr=slave, env=env, start_new_session=True)  # fmt: skip
    os.close(slave)
    try:
        _read_until(master, PROMPT, start + DEADLINE)
        elapsed = time.perf_counter() - start
        os.write(master, b"exit\r")  # the console shuts its kernel down as it leaves
        child.wait(timeout=15)
        return elapsed
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
        os.close(master)


def _read_until(fd: int, want: bytes, deadline: float) -> None:
    seen = b""
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError(f"no {want!r} from jupyter console: {seen[-300:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the console exited: its terminal is gone
            raise RuntimeError(f"jupyter console exited: {seen[-300:]!r}") from None
        seen += chunk
        if want in ANSI.sub(b"", seen):
            return


def kernelstart_seconds(sandbox: BenchSandbox) -> float:
    """A new Neovim (its host not started yet): `:KernelStart python3` with a print sent at
    once, to that print's line in the output buffer."""
    with editor(sandbox) as ed:
        ticket = ed.arm("started", timeout=DEADLINE)
        start = time.perf_counter()
        ed.nvim.command("KernelStart python3 | KernelExec print('started')", async_=True)
        ed.wait("bench_line", ticket)
        return time.perf_counter() - start


def start(sandbox: BenchSandbox, rounds: int, summary: Callable[[list[float]], Any]) -> Any:
    plugin: list[float] = []
    floor: list[float] = []
    for _ in range(rounds):
        floor.append(console_seconds(sandbox))
        plugin.append(kernelstart_seconds(sandbox))
    return {"plugin": summary([s * 1000 for s in plugin]),
            "floor": summary([s * 1000 for s in floor])}  # fmt: skip
