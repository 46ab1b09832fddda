"""What a kernel we start needs beside its KernelManager: one thread that makes every call on
the manager (its sync API runs an event loop, and no call may wait in the editor's thread), a
private file for the kernel's stderr, whose last line says why a kernel died starting, and the
endpoints our channel reaches it at.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..zmq_channel import ZmqEndpoints

log = logging.getLogger(__name__)


def one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]


class StderrLog:
    """The kernel's stderr, in a private file: what it said before it died is its tail."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="kernel-nvim-")  # 0700
        path = os.path.join(self.dir, "stderr.log")
        self.file = os.fdopen(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600), "ab")
        self.path = path

    def tail(self) -> str:
        try:
            with open(self.path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.path) - 4096))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][-300:] if lines else ""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Owner:
    """One thread per kernel that runs every KernelManager call, one after another."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], object]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"kernel.nvim {self._name}",
                                            daemon=True)  # fmt: skip
            self._thread.start()
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:
                log.exception("kernel.nvim: a kernel's owner failed")


def endpoints(info: dict[str, Any]) -> ZmqEndpoints:
    """Where the channel reaches the kernel: the KernelManager's own connection info."""
    from ..zmq_channel import ZmqEndpoints

    key = info["key"]
    return ZmqEndpoints(
        transport=str(info["transport"]), ip=str(info["ip"]),
        ports={c: int(info[f"{c}_port"]) for c in ("shell", "iopub", "stdin", "control", "hb")},
        key=key if isinstance(key, bytes) else str(key).encode(),
        signature_scheme=str(info["signature_scheme"]),
        curve_publickey=str(info.get("curve_publickey") or ""),
        curve_secretkey=str(info.get("curve_secretkey") or ""),
    )  # fmt: skip
