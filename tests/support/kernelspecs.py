"""Real kernels a jupyter_client KernelManager starts, as a notebook server or a console would:
kernels of other languages (bash_kernel, xeus-python), and ipykernels over CurveZMQ or ipc.

Their kernelspecs are installed into a directory of the tests' own, by each package's own
installer where it has one; the user's Jupyter directories are never read or written. Each
kernel writes its connection file into the sandbox's runtime dir, runs with the sandbox's HOME
(bash reads no ~/.bashrc of the user's) in a working directory of its own, and its stderr goes
to a file beside its connection file.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .sandbox import PYTHON, wait_for

# Where a package's kernel comes from, and what to install when it is missing.
PACKAGES = {"bash": ("bash_kernel", "bash_kernel"), "xpython": ("xpython", "xeus-python"),
            "python3": ("ipykernel", "ipykernel")}  # fmt: skip


@dataclass
class ManagedKernel:
    path: Path
    manager: Any  # jupyter_client.manager.KernelManager

    @property
    def fragment(self) -> str:
        return self.path.stem.removeprefix("kernel-")

    @property
    def pid(self) -> int:
        return int(self.manager.provisioner.process.pid)

    def alive(self) -> bool:
        return bool(self.manager.is_alive())

    def info(self) -> dict[str, Any]:
        import json

        return dict(json.loads(self.path.read_text()))


def missing(spec: str) -> str:
    """Why the kernel of ``spec`` cannot run here ('' when it can): for a skip's reason."""
    module, package = PACKAGES[spec]
    if importlib.util.find_spec(module) is None:
        return f"{package} is not installed (pip install {package}, or the dev extra)"
    if spec == "bash" and shutil.which("bash") is None:
        return "bash_kernel needs bash on PATH"
    return ""


def curve_missing() -> str:
    """Why no kernel manager here can start a CurveZMQ kernel ('' when one can)."""
    import zmq
    from jupyter_client.manager import KernelManager

    if not zmq.has("curve"):
        return f"the libzmq of pyzmq {zmq.pyzmq_version()} has no CurveZMQ"
    if not KernelManager.class_traits().get("transport_encryption"):
        return "this jupyter_client cannot provision CurveZMQ keys (needs 8.10 or newer)"
    from ipykernel.kernelspec import get_kernel_dict

    if "curve" not in get_kernel_dict().get("metadata", {}).get("supported_encryption", []):
        return "this ipykernel does not serve CurveZMQ (needs 7 or newer)"
    return ""


def install_kernelspecs(root: Path) -> Path:
    """Install the kernelspecs of every kernel available here under ``root``; returns the
    kernels directory, for ``KernelSpecManager(kernel_dirs=[...])``."""
    kernels = root / "share" / "jupyter" / "kernels"
    kernels.mkdir(parents=True, exist_ok=True)
    if not missing("bash"):
        subprocess.run([PYTHON, "-m", "bash_kernel.install", "--prefix", str(root)],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
    shipped = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "xpython"
    if not missing("xpython") and shipped.is_dir():  # the wheel's own, as pip installed it
        shutil.copytree(shipped, kernels / "xpython", dirs_exist_ok=True)
    from ipykernel.kernelspec import install

    install(prefix=str(root), kernel_name="python3")
    return kernels


@contextmanager
def managed_kernel(
    runtime_dir: Path, home: Path, kernels: Path, spec: str, **options: Any
) -> Iterator[ManagedKernel]:
    """A kernel of kernelspec ``spec``, started by a KernelManager with ``options`` (e.g.
    ``transport="ipc"``, ``transport_encryption="required"``); shut down after."""
    from jupyter_client.kernelspec import KernelSpecManager  # ~150 ms: only here
    from jupyter_client.manager import KernelManager

    name = f"{spec}-{uuid.uuid4().hex[:8]}"
    path = runtime_dir / f"kernel-{name}.json"
    workdir = path.parent / f"{name}-cwd"
    workdir.mkdir()
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    manager = KernelManager(kernel_name=spec, connection_file=str(path),
                            kernel_spec_manager=specs, **options)  # fmt: skip
    env = dict(os.environ, HOME=str(home), JUPYTER_RUNTIME_DIR=str(runtime_dir),
               IPYTHONDIR=str(home / "ipython"))  # fmt: skip
    extra = ["--HistoryManager.hist_file=:memory:"] if spec == "python3" else []
    with open(path.with_suffix(".stderr"), "wb") as stderr:
        manager.start_kernel(extra_arguments=extra, env=env, cwd=str(workdir),
                             stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip
    try:
        wait_for(lambda: path.exists() and path.stat().st_size > 0, what="connection file")
        yield ManagedKernel(path, manager)
    finally:
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
