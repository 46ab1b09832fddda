"""A kernel on another host, reached through its connection file there and ssh port forwards.

:class:`Tunnel` forwards the kernel's five ports to unix sockets in a private 0700 dir of ours
(``-L DIR/k-PORT:IP:PORT``), so no local port can be raced for and no other local user can
connect; the zmq channel dials them as an ipc kernel's (``ipc://DIR/k-PORT``).

The tunnel is an ssh process of its own (``ControlPath=none``): through a ControlMaster, OpenSSH
9 hands ``-N -L`` forwards to the master and exits at once, which would leave nothing to watch
and forwards that outlive the link; the remote commands (``ssh_hosts``) do use the user's
master. It runs ``cat`` there rather than ``-N``: with no session OpenSSH leaves Nagle's
algorithm on, and a round trip through the tunnel took 48 ms instead of 6.5 ms (bench/ssh.py).
Its stdin is a pipe from the host that nothing is written to: however the host ends, even
killed, the pipe closes, ``cat`` there sees the end, and ssh exits; the tunnel closes with the
link too, and at Neovim's exit. A thread waits on the process: when it exits while the link
wants it, the session is told ``reconnecting`` and the tunnel is made again, a few times with a
growing wait, then given up in one line.

:class:`SshSource` is what the session may do with such a kernel: we did not start it, there is
no local process to signal, so interrupts go as interrupt_request, restart refuses, shutdown
only when forced. No message quotes a value of the connection file.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import glob
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from ...errors import KernelError
from ..channel import Channel, Event, EventKind, EventSink
from ..zmq_channel import Timing, ZmqChannel, ZmqEndpoints
from .connection_file import ConnectionInfo, parse_connection_info
from .ssh_hosts import last_line, problem, ssh_argv
from .targets import SshTarget

CLOSED = "closed"  # what a try says when the tunnel was closed meanwhile


class Tunnel:
    """The five ports of a kernel there, here as unix sockets, for as long as the link."""

    RETRIES = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)  # seconds waited before each try once it dropped
    OPEN_TIMEOUT = 20.0  # seconds ssh has to log in and open the forwards

    def __init__(
        self, command: Sequence[str], target: SshTarget, ip: str, ports: Mapping[str, int]
    ) -> None:
        self.target = target
        self.ports = dict(ports)
        self.dir = tempfile.mkdtemp(prefix="kernel-nvim-ssh-")  # 0700
        self.prefix = os.path.join(self.dir, "k")
        self.on_drop: Callable[[str], None] = lambda why: None
        self.on_back: Callable[[], None] = lambda: None
        self.on_lost: Callable[[str], None] = lambda why: None
        self._argv = [*ssh_argv(command, target, *_TUNNEL_OPTIONS, *self._forwards(ip)), "cat"]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._said: collections.deque[str] = collections.deque(maxlen=20)  # its stderr's end

    @property
    def pid(self) -> int:
        """The ssh process's, 0 when there is none."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else 0

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def start(self, done: Callable[[str], None]) -> None:
        """Make it, in a thread of its own; ``done("")`` once the forwards are there, else
        ``done(why)``; then watch it."""
        atexit.register(self.close)  # the host ends with Neovim: no VimLeavePre reaches us
        threading.Thread(target=self._watch, args=(done,), name="kernel.nvim ssh tunnel",
                         daemon=True).start()  # fmt: skip

    def close(self) -> None:
        """Stop ssh and remove the sockets' dir; again does nothing."""
        with self._lock:
            self._stop.set()
            process = self._process
        # First, as it is quick: at the host's exit, Neovim may end the host before ssh is waited.
        shutil.rmtree(self.dir, ignore_errors=True)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=2)
        if process is not None:
            _close_stdin(process)
        atexit.unregister(self.close)

    def _forwards(self, ip: str) -> list[str]:
        host = {"": "127.0.0.1", "*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(ip, ip)
        host = f"[{host}]" if ":" in host else host
        return [f"-L{self.prefix}-{port}:{host}:{port}" for port in self.ports.values()]

    def _paths(self) -> list[str]:
        return [f"{self.prefix}-{port}" for port in self.ports.values()]

    # The watcher thread.

    def _watch(self, done: Callable[[str], None]) -> None:
        _sweep(self.dir)
        why = self._make()
        done(why)
        while not why:
            process = self._process
            assert process is not None
            process.wait()
            _close_stdin(process)
            if self._stop.is_set():
                return
            self.on_drop(self._ended(process))
            why = self._again()
            if why == CLOSED:
                return
            if why:
                self.on_lost(f"the ssh tunnel to {self.target.host} could not be made again: "
                             f"{why}")  # fmt: skip
            else:
                self.on_back()
        self.close()

    def _again(self) -> str:
        why = CLOSED
        for wait in self.RETRIES:
            if self._stop.wait(wait):
                return CLOSED
            why = self._make()
            if not why or why == CLOSED:
                return why
        return why

    def _make(self) -> str:
        """Start ssh and wait for its forwards: "" once they are there, else why not."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)  # swept meanwhile by another host
        for path in self._paths():  # a killed ssh leaves its sockets: they are not the new ones
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        try:
            process = self._spawn()
        except OSError:
            return f"cannot run {self._argv[0]}: not found (see g:kernel_ssh_command)"
        if process is None:
            return CLOSED
        reader = threading.Thread(target=self._read, args=(process,), daemon=True,
                                  name="kernel.nvim ssh stderr")  # fmt: skip
        reader.start()
        deadline = time.monotonic() + self.OPEN_TIMEOUT
        while not all(os.path.exists(p) for p in self._paths()):
            if process.poll() is not None:
                reader.join(timeout=1)
                return problem("\n".join(self._said), self.target.host)
            if self._stop.wait(0.02):
                return CLOSED
            if time.monotonic() > deadline:
                process.kill()
                return (f"ssh to {self.target.host} did not open the forwards within "
                        f"{self.OPEN_TIMEOUT:g} s")  # fmt: skip
        return ""

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._stop.is_set():
                return None
            self._said.clear()
            self._process = subprocess.Popen(
                self._argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )  # fmt: skip
            return self._process

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        """Drain ssh's stderr (its "open failed" lines would fill the pipe), keeping the end."""
        assert process.stderr is not None
        for line in process.stderr:
            self._said.append(line.decode("utf-8", "replace"))
        process.stderr.close()

    def _ended(self, process: subprocess.Popen[bytes]) -> str:
        code = process.returncode
        said = [line for line in self._said if line.strip()]
        if said:
            return f"ssh: {last_line(''.join(said))}"
        if code is not None and code < 0:
            return f"ssh ended by signal {-code}"
        return f"ssh exited ({code})"


# No terminal; fail rather than run with a forward missing; notice a dead network within 15 s;
# a socket of ours only (0600), replacing one a killed ssh left.
_TUNNEL_OPTIONS = ("-T", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=5",
                   "-o", "ServerAliveCountMax=3", "-o", "ControlMaster=no",
                   "-o", "ControlPath=none", "-o", "StreamLocalBindUnlink=yes",
                   "-o", "StreamLocalBindMask=0177")  # fmt: skip


STALE_AFTER = 120.0  # seconds: a live tunnel's dir changes more often while its ssh is down


def _sweep(keep: str) -> None:
    """Remove the dirs that hosts killed before they could close their tunnels left: ours, not
    changed for a while, and no socket in them listening."""
    pattern = os.path.join(glob.escape(tempfile.gettempdir()), "kernel-nvim-ssh-*")
    for directory in glob.glob(pattern):
        try:
            st = os.lstat(directory)
            if (directory == keep or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid()
                    or time.time() - st.st_mtime < STALE_AFTER):  # fmt: skip
                continue
            paths = [os.path.join(directory, name) for name in os.listdir(directory)]
        except OSError:
            continue
        if not any(_listening(path) for path in paths):
            shutil.rmtree(directory, ignore_errors=True)


def _listening(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(0.2)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _close_stdin(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()


class TunnelledChannel(ZmqChannel):
    """The kernel's channel through its tunnel: closing it closes the tunnel."""

    def __init__(self, tunnel: Tunnel, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.tunnel = tunnel

    def close(self) -> None:
        super().close()
        self.tunnel.close()


class SshSource:
    """A kernel on another host that someone else started, through an ssh tunnel."""

    owned = False
    can_restart = False
    can_shutdown = False

    def __init__(self, target: SshTarget, conn: ConnectionInfo, tunnel: Tunnel) -> None:
        self.target = target
        self.conn = conn
        self.tunnel = tunnel
        self._sink: EventSink | None = None

    @classmethod
    def make(
        cls, command: Sequence[str], target: SshTarget, path: str, raw: bytes,
        allow_unsigned: bool = False,
    ) -> SshSource:  # fmt: skip
        """Validate the connection file read there (``raw``, from ``path``)."""
        conn = parse_connection_info(path, raw, allow_unsigned)
        if conn.info["transport"] != "tcp":
            raise KernelError(f"{conn.name} on {target.host} uses unix sockets (ipc): only tcp "
                              "kernels are reached over ssh")  # fmt: skip
        return cls(target, conn, Tunnel(command, target, conn.info["ip"], conn.ports))

    def __repr__(self) -> str:
        return f"SshSource({self.target.shown!r}, {self.conn.path!r})"

    @property
    def name(self) -> str:
        return self.conn.name

    @property
    def short_name(self) -> str:
        """host:kernel-6759; a uuid id is cut to its first 8 characters."""
        stem = self.name.removesuffix(".json")
        if _LONG_ID.fullmatch(stem):
            stem = stem[: len("kernel-") + 8]
        return f"{self.target.host}:{stem}"

    @property
    def buffer_name(self) -> str:
        return f"kernel://{self.target.host}/{self.name}"

    @property
    def kernel_name(self) -> str:
        name = self.conn.info.get("kernel_name")
        return name if isinstance(name, str) else ""

    @property
    def key(self) -> str:
        return f"{self.target.shown}{self.conn.path}"

    def warnings(self) -> list[str]:
        return []  # the traffic goes through ssh: encrypted, and the sockets here are ours alone

    def open(self, on_events: EventSink, timing: Timing | None = None) -> ZmqChannel:
        if self.tunnel.closed:
            raise KernelError(f"the ssh tunnel to {self.target.host} is closed: "
                              f":KernelConnect {self.target.shown} again")  # fmt: skip
        self._sink = on_events
        self.tunnel.on_drop = lambda why: self._tell(Event(EventKind.RECONNECTING, text=why))
        self.tunnel.on_back = lambda: self._tell(Event(EventKind.RECONNECTED))
        self.tunnel.on_lost = lambda why: self._tell(Event(EventKind.FAILED, text=why))
        info = self.conn.info
        endpoints = ZmqEndpoints(
            transport="ipc", ip=self.tunnel.prefix, ports=self.conn.ports,
            key=info["key"].encode("utf-8"), signature_scheme=info["signature_scheme"],
            curve_publickey=info.get("curve_publickey") or "",
            curve_secretkey=info.get("curve_secretkey") or "",
        )  # fmt: skip
        return TunnelledChannel(self.tunnel, endpoints, on_events, timing)

    def _tell(self, event: Event) -> None:  # from the tunnel's thread: the sink is thread-safe
        if self._sink is not None:
            self._sink([event])

    def greeting(self, details: str) -> str:
        return f"Connected to {self.name} on {self.target.host} ({details})"

    def interrupt(self, channel: Channel) -> str:
        """An interrupt_request: there is no process here to signal."""
        return channel.send("control", "interrupt_request", {})

    def restart(self, now: bool, done: Callable[[str], None]) -> None:
        from .existing import refuse_restart

        refuse_restart(self.short_name)

    def shutdown(self, channel: Channel, force: bool, done: Callable[[str], None]) -> None:
        from .existing import ask_shutdown

        ask_shutdown(self.short_name, channel, force)

    def release(self, keep: bool) -> threading.Event:
        """Neovim exits: the kernel is left running there; the tunnel goes."""
        self.tunnel.close()
        done = threading.Event()
        done.set()
        return done


_LONG_ID = re.compile(r"kernel-[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}",
                      re.IGNORECASE)  # fmt: skip
