"""Kernels that are already running, known by their connection files.

Where kernels write those files, which one a user means by an empty, partial or full name, and
:class:`ConnectionFileSource`: what the session may do with such a kernel. It did not start it,
so it may not restart it, and asks it to shut down only when told to (:KernelShutdown!); when
the kernel is local and its process is proven
(see ``local_process``) it may send it SIGINT, and tell when that process is gone. Pure Python
with no Neovim dependency; no message here quotes a value read from a connection file.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import stat
import threading
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from jupyter_core.paths import jupyter_runtime_dir

from ...errors import KernelError
from ..channel import Channel, Event, EventKind, EventSink
from . import local_process
from .connection_file import ConnectionInfo, load_connection_file, looks_alive, security_warnings

if TYPE_CHECKING:
    from ..zmq_channel import Timing, ZmqChannel


class ConnectionFileSource:
    """A kernel someone else started, reached through its connection file."""

    owned = False  # we did not start it: leaving never stops it
    can_restart = False
    can_shutdown = False

    def __init__(self, conn: ConnectionInfo) -> None:
        self.conn = conn
        self._lock = threading.Lock()  # the I/O thread proves and asks; the editor's reads
        self._process: local_process.LocalProcess | None = None

    @classmethod
    def from_file(cls, path: str, allow_unsigned: bool = False) -> ConnectionFileSource:
        return cls(load_connection_file(path, allow_unsigned))

    def __repr__(self) -> str:
        return f"ConnectionFileSource({self.conn.path!r})"

    @property
    def name(self) -> str:
        """The file's basename: kernel-6759.json."""
        return self.conn.name

    @property
    def short_name(self) -> str:
        """For the status: kernel-6759; a uuid id is cut to its first 8 characters."""
        stem = self.name.removesuffix(".json")
        kernel_id = stem.removeprefix("kernel-")
        if kernel_id != stem and _UUID.fullmatch(kernel_id):
            return "kernel-" + kernel_id[:8]
        return stem

    @property
    def buffer_name(self) -> str:
        return f"kernel://{self.name}"

    @property
    def kernel_name(self) -> str:
        """The kernelspec the kernel was started from: Jupyter writes it in the connection files
        of the kernels it starts; "" for others (`ipython kernel`)."""
        name = self.conn.info.get("kernel_name")
        return name if isinstance(name, str) else ""

    @property
    def connection_file(self) -> str:
        """The file :KernelConnect reads to reach this kernel again (the picker's choice)."""
        return self.conn.path

    @property
    def key(self) -> str:
        """What makes two sources the same kernel: the file's real path."""
        return os.path.realpath(self.conn.path)

    def warnings(self) -> list[str]:
        return security_warnings(self.conn)

    def open(self, on_events: EventSink, timing: Timing | None = None) -> ZmqChannel:
        """A channel to the kernel, not started yet: the caller starts it when it is ready."""
        from ..zmq_channel import ZmqChannel, ZmqEndpoints

        info = self.conn.info
        # Find the kernel's process while it surely lives: now, beside the handshake, and again
        # once it answers if it was not listening yet, each in a thread of its own (the scan
        # takes 5-50 ms), so that neither READY nor the first output waits for it.
        self._prove_aside()

        def on_events_once_proven(events: list[Event]) -> None:  # in the I/O thread
            on_events(events)
            if any(e.kind is EventKind.READY for e in events):
                self._prove_aside()

        endpoints = ZmqEndpoints(
            transport=info["transport"],
            ip=info["ip"],
            ports=self.conn.ports,
            key=info["key"].encode("utf-8"),
            signature_scheme=info["signature_scheme"],
            curve_publickey=info.get("curve_publickey") or "",
            curve_secretkey=info.get("curve_secretkey") or "",
        )
        return ZmqChannel(
            endpoints, on_events_once_proven, timing,
            interrupt_fallback=self.interrupt_fallback, process_gone=self.process_gone,
        )  # fmt: skip

    # What the commands may do to a kernel we did not start.

    def greeting(self, details: str) -> str:
        return f"Connected to {self.name} ({details})"

    def interrupt(self, channel: Channel) -> str:
        """An interrupt_request; unanswered, the channel asks ``interrupt_fallback``."""
        return channel.send("control", "interrupt_request", {})

    def restart(self, now: bool, done: Callable[[str], None]) -> None:
        refuse_restart(self.short_name)

    def shutdown(self, channel: Channel, force: bool, done: Callable[[str], None]) -> None:
        ask_shutdown(self.short_name, channel, force)

    def release(self, keep: bool) -> threading.Event:
        """Neovim exits: a kernel we did not start is left as it is."""
        done = threading.Event()
        done.set()
        return done

    def interrupt_fallback(self) -> bool:
        """SIGINT to the kernel's process, if it is proven to be the kernel; whether sent."""
        with self._lock:
            proc = self._process
            if proc is None or not local_process.still_serves(proc, *self._listens()):
                proc = self._process = self._find()
            return proc is not None and local_process.interrupt(proc)

    def process_gone(self) -> bool:
        """True only when the kernel's proven process has exited and no other took its ports."""
        with self._lock:
            if self._process is None:
                self._process = self._find()  # a stopped kernel still holds its sockets
                # Never proven (it died before the proof ran): gone once nothing listens on
                # its ports. A stopped kernel's sockets still accept, so it is not taken for dead.
                return self._process is None and self.conn.is_local and not looks_alive(self.conn)
            if not local_process.is_gone(self._process):
                return False
            # Its owner may have restarted it on the same ports: that kernel is not gone.
            self._process = self._find()
            return self._process is None

    def _prove_aside(self) -> None:
        threading.Thread(target=self._prove, name="kernel.nvim proof", daemon=True).start()

    def _prove(self) -> None:
        with self._lock:
            if self._process is None:
                self._process = self._find()

    def _listens(self) -> tuple[str, str, list[int]]:
        info = self.conn.info
        return info["transport"], info["ip"], list(self.conn.ports.values())

    def _find(self) -> local_process.LocalProcess | None:
        if not self.conn.is_local:
            return None
        return local_process.find_kernel_process(*self._listens())


def refuse_restart(short_name: str) -> None:
    """A kernel we did not start is restarted by its owner only."""
    raise KernelError(f"{short_name} was not started here: only its owner (the notebook, "
                      "console or command that started it) can restart it")  # fmt: skip


def ask_shutdown(short_name: str, channel: Channel, force: bool) -> None:
    """A kernel we did not start: with ``force``, a shutdown_request (the kernel says when it
    is done, with its shutdown_reply); without, why not."""
    if not force:
        raise KernelError(f"{short_name} was not started here: :KernelShutdown! asks it to "
                          "shut down, which its owner may not expect")  # fmt: skip
    channel.send("control", "shutdown_request", {"restart": False})


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}",
                   re.IGNORECASE)  # fmt: skip


def search_dirs() -> list[str]:
    """Directories where kernels write connection files, runtime dir first; only existing ones."""
    profiles = os.path.join(os.path.expanduser("~"), ".ipython", "profile_*", "security")
    candidates = [jupyter_runtime_dir(), *sorted(glob.glob(profiles))]
    return _unique_real([d for d in candidates if os.path.isdir(d)])


def list_connection_files(dirs: list[str] | None = None) -> list[str]:
    """Absolute paths of ``kernel-*.json`` files in ``dirs``, newest modification time first."""
    found: list[tuple[float, str]] = []
    for path in _unique_real(_glob_kernel_files(_dirs_or_default(dirs))):
        mtime = _mtime(path)
        if mtime is not None:
            found.append((mtime, path))
    # sorted() is stable, so files with equal mtimes keep the search order of their dirs.
    return [path for _, path in sorted(found, key=lambda item: -item[0])]


def resolve_connection_file(target: str, cwd: str, dirs: list[str] | None = None) -> str:
    """The connection file a user means by ``target``: a path, or a name fragment. (No target
    at all means the running kernels to choose from: ``catalog``.)"""
    target = target.strip()
    if not target:
        raise ValueError("no target: the kernels to choose from are the catalog's")
    dirs = _dirs_or_default(dirs)
    path = _as_path(target, cwd)
    if path is not None:
        return path
    return _match_fragment(target, dirs)


def completion_candidates(
    arglead: str, dirs: list[str] | None = None, live: Collection[str] = ()
) -> list[str]:
    """Basenames for ``:KernelConnect <Tab>``: the files in ``live`` (paths of kernels that look
    alive) first, then the others; in each, prefix matches before substrings, newest first."""
    entries = [(os.path.basename(p), p in live) for p in list_connection_files(dirs)]
    prefixes = (arglead, "kernel-" + arglead)
    leading = [e for e in entries if e[0].startswith(prefixes)]
    inner = [e for e in entries if arglead in e[0] and e not in leading]
    return [name for name, _ in sorted(leading + inner, key=lambda e: not e[1])]


def describe_dirs(dirs: list[str]) -> str:
    """The dirs searched, for a message: ``~/.local/share/jupyter/runtime, ...``."""
    shown = dirs or [jupyter_runtime_dir()]
    return ", ".join(_tilde(d) for d in shown)


def _dirs_or_default(dirs: list[str] | None) -> list[str]:
    return search_dirs() if dirs is None else dirs


def _unique_real(paths: list[str]) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            unique.append(os.path.abspath(path))
    return unique


def _glob_kernel_files(dirs: list[str]) -> list[str]:
    # glob.escape: a runtime dir containing '[' must not turn into a pattern.
    return [
        p for d in dirs for p in sorted(glob.glob(os.path.join(glob.escape(d), "kernel-*.json")))
    ]


def _mtime(path: str) -> float | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # deleted between glob and stat: a kernel just shut down
    return st.st_mtime if stat.S_ISREG(st.st_mode) else None


def _as_path(target: str, cwd: str) -> str | None:
    path = os.path.abspath(os.path.join(cwd, os.path.expanduser(target)))
    if os.path.isfile(path):
        return path
    separators = [os.sep, os.altsep] if os.altsep else [os.sep]
    if target.startswith("~") or any(sep in target for sep in separators):
        if os.path.isdir(path):
            raise KernelError(f"{target} is a directory, not a connection file")
        raise KernelError(f"no such file: {target}")
    return None


def _match_fragment(fragment: str, dirs: list[str]) -> str:
    exact = _exact_match(fragment, dirs)
    if exact is not None:
        return exact
    matches = [p for p in list_connection_files(dirs) if fragment in os.path.basename(p)]
    if not matches:
        raise KernelError(f"no connection file matches '{fragment}' in {describe_dirs(dirs)}")
    if len(matches) > 1:
        names = ", ".join(os.path.basename(p) for p in matches)
        raise KernelError(f"'{fragment}' matches {len(matches)} connection files: {names}")
    return matches[0]


def _exact_match(fragment: str, dirs: list[str]) -> str | None:
    for directory in dirs:
        for name in (f"kernel-{fragment}.json", fragment):
            path = os.path.join(directory, name)
            if fnmatch.fnmatchcase(name, "kernel-*.json") and os.path.isfile(path):
                return os.path.abspath(path)
    return None


def _tilde(path: str) -> str:
    home = os.path.expanduser("~")
    if path == home or path.startswith(home.rstrip(os.sep) + os.sep):
        return "~" + path[len(home.rstrip(os.sep)) :]
    return path
