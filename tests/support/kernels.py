"""Real ipykernels, each started from its own connection file in the sandbox's runtime dir."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .sandbox import PYTHON, wait_for


class ConnectionFile(Protocol):
    """What `:KernelConnect` needs to find a kernel: a real one or a fake one."""

    @property
    def path(self) -> Path: ...

    @property
    def fragment(self) -> str: ...


@dataclass
class Kernel:
    path: Path
    process: subprocess.Popen[bytes]

    @property
    def fragment(self) -> str:
        return self.path.stem.removeprefix("kernel-")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self) -> Any:
        """A second client on the same kernel, standing in for a qtconsole."""
        from jupyter_client.blocking.client import BlockingKernelClient  # ~150 ms: only here

        client = BlockingKernelClient(connection_file=str(self.path))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=30)
        return client


def start_kernel(
    runtime_dir: Path, home: Path, name: str | None = None, cwd: Path | None = None
) -> Kernel:
    """An ipykernel writing `kernel-<name>.json` (a random name by default), run in `cwd` (this
    process's by default); returns once the file is written, as `jupyter console --existing`
    would find it."""
    path = runtime_dir / f"kernel-{name or uuid.uuid4().hex[:8]}.json"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime_dir), IPYTHONDIR=str(home / "ipython"))
    process = subprocess.Popen(
        [PYTHON, "-m", "ipykernel_launcher", "-f", str(path),
         "--HistoryManager.hist_file=:memory:"],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    kernel = Kernel(path, process)
    wait_for(lambda: path.exists() and path.stat().st_size > 0, 30, f"{path.name} written")
    return kernel


def run_in_console(kernel: Kernel, code: str) -> Any:
    """Run code from a second client, as a qtconsole user would; returns its execute_reply."""
    console = kernel.client()
    try:
        return console.execute_interactive(code, timeout=30)
    finally:
        console.stop_channels()


@dataclass
class OwnedKernel:
    """A kernel a jupyter_client KernelManager owns, as a notebook server or a console owns
    theirs: its owner can restart it."""

    path: Path
    manager: Any

    @property
    def fragment(self) -> str:
        return self.path.stem.removeprefix("kernel-")


@contextmanager
def owned_kernel(runtime_dir: Path, home: Path, name: str) -> Iterator[OwnedKernel]:
    from jupyter_client.manager import KernelManager

    path = runtime_dir / f"kernel-{name}.json"
    env = {"JUPYTER_RUNTIME_DIR": str(runtime_dir), "IPYTHONDIR": str(home / "ipython")}
    manager = KernelManager(connection_file=str(path), kernel_name="python3")
    manager.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"],
                         env={**os.environ, **env})  # fmt: skip
    try:
        wait_for(lambda: path.exists() and path.stat().st_size > 0, what="connection file")
        yield OwnedKernel(path, manager)
    finally:
        manager.shutdown_kernel(now=True)
