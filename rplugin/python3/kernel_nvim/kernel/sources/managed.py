"""Kernels we start, from a kernelspec or from ipykernel in a project's environment: we own them.

jupyter_client's KernelManager starts the kernel, writes its connection file (0600, in the
Jupyter runtime dir, so `jupyter console --existing` or a qtconsole can join it), and is the
proof of which process is the kernel: its process handle is what gets signals. Its sync API
runs an event loop, and the kernel takes a second or more to boot, so every call on it happens
in one thread of the source's own (``_Owner``), never the editor's; what it has done comes back
through callbacks from that thread. jupyter_client is imported here only (~150 ms), in that
thread. Our channel talks to the kernel as to any other; no message quotes the kernel's key.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import secrets
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_runtime_dir

from ...errors import KernelError
from ..channel import Channel, Event, EventKind, EventSink
from .choices import Choice, Spec
from .owner import Owner, StderrLog, endpoints, one_line

if TYPE_CHECKING:
    from ..zmq_channel import Timing, ZmqChannel

log = logging.getLogger(__name__)

HANDSHAKE = 60.0  # seconds a kernel we started has to answer: a first start can be slow
STOP_WAIT = 2.0  # asked to stop, it is sent SIGTERM after half of this, SIGKILL after all
Done = Callable[[str], None]  # called with "" when it worked, else why not (one line)
Exited = Callable[[str, str], None]  # how it ended (exited with status 1), its stderr's last line
MISSING_JUPYTER_CLIENT = ("starting a kernel needs jupyter_client in the python3 host (run: "
                          f"{sys.executable} -m pip install jupyter_client)")  # fmt: skip


class ManagedSource:
    """A kernel we started: we may interrupt, restart and shut it down."""

    owned = True
    can_restart = True
    can_shutdown = True

    def __init__(self, choice: Choice | str, cwd: str, runtime_dir: str | None = None) -> None:
        self.choice = choice
        self.label = choice if isinstance(choice, str) else choice.label
        self.cwd = cwd
        directory = runtime_dir or jupyter_runtime_dir()
        self.path = os.path.join(directory, f"kernel-{secrets.token_hex(4)}.json")
        self.keep = False  # at the host's exit, when nobody said otherwise: leave it running
        self.interrupt_mode = "signal"
        self._greeted = False
        self._owner = Owner(self.name)
        self._lock = threading.Lock()  # the phase and process: read by the I/O thread
        self._phase = "new"  # starting, running, restarting, stopping, stopped, released
        self._process: subprocess.Popen[bytes] | None = None  # the one whose exit is news
        self._exited = False
        self._endpoints: Any = None  # ZmqEndpoints, once launched
        self._manager: Any = None  # the KernelManager: only ever touched in the owner thread
        self._log: StderrLog | None = None
        self._launch_args: dict[str, Any] = {}
        self._exited_says: Exited = lambda how, tail: None

    def __repr__(self) -> str:
        return f"ManagedSource({self.path!r})"

    # What every source answers.

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def short_name(self) -> str:
        return self.name.removesuffix(".json")

    @property
    def buffer_name(self) -> str:
        return f"kernel://{self.name}"

    @property
    def key(self) -> str:
        return os.path.realpath(self.path)

    @property
    def kernel_name(self) -> str:
        """The kernelspec's name; an environment's ipykernel is a python3."""
        choice = self.choice
        if isinstance(choice, str):
            return choice
        return choice.spec.name if choice.spec is not None else "python3"

    @property
    def connection_file(self) -> str:
        return self.path

    def warnings(self) -> list[str]:
        return []  # we wrote the file, 0600, in a 0700 directory

    def greeting(self, details: str) -> str:
        greeted, self._greeted = self._greeted, True
        if greeted:  # linked again (:KernelConnect), or restarted after it died
            return f"Connected to {self.name} ({details}), started here from {self.label}"
        return (f"Started {self.name} ({details}) from {self.label}; "
                f"join it with: jupyter console --existing {self.name}")  # fmt: skip

    def open(self, on_events: EventSink, timing: Timing | None = None) -> ZmqChannel:
        """A channel to the kernel once launched; not started yet."""
        from ..zmq_channel import Timing, ZmqChannel

        with self._lock:
            endpoints = self._endpoints
        if endpoints is None:
            raise KernelError(f"{self.short_name} is not started yet")

        def on_events_or_stop(events: list[Event]) -> None:  # in the I/O thread
            on_events(events)
            if any(e.kind is EventKind.NO_ANSWER for e in events):
                self._owner.submit(lambda: self._shutdown(now=True))  # none of it stays

        return ZmqChannel(endpoints, on_events_or_stop, timing or Timing(handshake=HANDSHAKE),
                          interrupt_fallback=self.interrupt_fallback,
                          process_gone=self.process_gone)  # fmt: skip

    def interrupt(self, channel: Channel) -> str:
        """As the kernelspec says: SIGINT to the process we started, or an interrupt_request."""
        if self.interrupt_mode == "message":
            return channel.send("control", "interrupt_request", {})
        self._owner.submit(self._signal)
        return ""

    def restart(self, now: bool, done: Done) -> None:
        """The same kernelspec again, on the same ports and file; ``now``: kill it, do not ask
        it to stop (it is busy: it would stop only when its code is done)."""
        self._owner.submit(lambda: done(self._restart(now)))

    def shutdown(self, channel: Channel, force: bool, done: Done) -> None:
        self._owner.submit(lambda: done(self._shutdown(now=force)))

    def release(self, keep: bool) -> threading.Event:
        """The editor exits: stop the kernel, or with ``keep`` leave it running with its file
        for a later :KernelConnect. Set when done."""
        finished = threading.Event()

        def job() -> None:
            try:
                self._keep() if keep else self._shutdown(now=False)
            finally:
                finished.set()

        self._owner.submit(job)
        return finished

    # Starting.

    def start(self, keep: bool, launched: Done, exited: Exited) -> None:
        """Launch the kernel, in the owner's thread; ``launched`` is called from it, then
        ``exited`` from another thread if the process ends by itself (a crash, a bad argv)."""
        self.keep = keep
        with self._lock:
            self._phase = "starting"
        _started.add(self)
        self._owner.submit(lambda: launched(self._launch(exited)))

    def _launch(self, exited: Exited) -> str:
        try:
            spec = self._spec()
            self.interrupt_mode = spec.interrupt_mode
            self._manager = _manager(spec, self.path)
            self._log = StderrLog()
            self._launch_args = dict(
                stdout=subprocess.DEVNULL, stderr=self._log.file, stdin=subprocess.DEVNULL,
                cwd=self.cwd if os.path.isdir(self.cwd) else None, env=self._env(),
                independent=True,  # it outlives the host when kept; else we stop it at exit
            )  # fmt: skip
            self._manager.start_kernel(**self._launch_args)
        except KernelError as e:
            return self._failed(str(e))
        except ImportError:
            return self._failed(MISSING_JUPYTER_CLIENT)
        except OSError as e:  # the argv's program is missing or cannot run
            what = e.filename or "its program"
            return self._failed(f"cannot start {self.label}: {what}: {e.strerror or e}")
        except Exception as e:
            log.exception("kernel.nvim: cannot start %s", self.label)
            return self._failed(f"cannot start {self.label}: {one_line(e)}")
        info = self._manager.get_connection_info(session=False)
        with self._lock:
            self._endpoints = endpoints(info)
            self._phase = "running"
        self._exited_says = exited
        self._watch()
        return ""

    def _spec(self) -> Spec:
        choice = self.choice
        if isinstance(choice, str):
            return find_kernelspec(choice)
        if choice.problem:
            raise KernelError(choice.problem)
        if choice.spec is not None:
            return choice.spec
        assert choice.env is not None
        argv = (choice.env.python, "-m", "ipykernel_launcher", "-f", "{connection_file}")
        return Spec("python3", choice.label, "python", argv)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if isinstance(self.choice, Choice) and self.choice.env is not None:
            env.update(self.choice.env.kernel_env)
        return env

    def _failed(self, why: str) -> str:
        """No kernel: nothing of it is left behind, its connection file least of all."""
        if self._manager is not None:
            with contextlib.suppress(Exception):
                self._stop(now=True, restart=False)
        with contextlib.suppress(OSError):
            os.remove(self.path)
        self._close_log()
        with self._lock:
            self._phase = "stopped"
        return why

    def _watch(self) -> None:
        process = getattr(self._manager.provisioner, "process", None)
        if not isinstance(process, subprocess.Popen):
            return  # another provisioner's: the channel's heartbeat tells when it is gone
        with self._lock:
            self._process, self._exited = process, False

        def wait() -> None:
            code = process.wait()
            with self._lock:
                ours = process is self._process and self._phase == "running"
                if ours:
                    self._exited = True
            if ours:
                how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
                self._exited_says(how, self._log.tail() if self._log is not None else "")

        threading.Thread(target=wait, name="kernel.nvim process", daemon=True).start()

    # The process, from the owner's thread.

    def _signal(self) -> None:
        if self._manager is not None and self._manager.is_alive():
            self._manager.interrupt_kernel()

    def _restart(self, now: bool) -> str:
        if self._manager is None or self._phase_is("stopped", "released"):
            return f"{self.short_name} is shut down: :KernelStart starts a new kernel"
        with self._lock:
            self._phase = "restarting"
        try:
            self._stop(now, restart=True)
            self._manager.start_kernel(**self._launch_args)  # the same ports and file
        except Exception as e:
            log.exception("kernel.nvim: cannot restart %s", self.label)
            self._failed("")
            return f"cannot restart {self.short_name}: {one_line(e)}"
        with self._lock:
            self._phase = "running"
        self._watch()
        return ""

    def _shutdown(self, now: bool) -> str:
        if self._manager is None or self._phase_is("stopped", "released"):
            return ""
        with self._lock:
            self._phase = "stopping"
        try:
            self._stop(now, restart=False)
        except Exception as e:
            log.exception("kernel.nvim: cannot shut down %s", self.label)
            return f"cannot shut down {self.short_name}: {one_line(e)}"
        finally:
            with contextlib.suppress(OSError):
                os.remove(self.path)  # cleanup_resources did, unless it failed midway
            self._close_log()
            with self._lock:
                self._phase = "stopped"
        return ""

    def _stop(self, now: bool, restart: bool) -> None:
        """KernelManager.shutdown_kernel, less the SIGINT it sends first: code that runs ends
        as `[no reply: the kernel restarted]`, not as a KeyboardInterrupt."""
        manager = self._manager
        if manager.has_kernel:
            if not now:
                manager.request_shutdown(restart=restart)
            manager.finish_shutdown(waittime=0.0 if now else STOP_WAIT, restart=restart)
        manager.cleanup_resources(restart=restart)

    def _keep(self) -> None:
        if self._manager is not None and self._phase_is("running"):
            # Else the KernelManager deletes the connection file when it is collected.
            self._manager._connection_file_written = False
        with self._lock:
            self._phase = "released"
        self._close_log()

    def _phase_is(self, *phases: str) -> bool:
        with self._lock:
            return self._phase in phases

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()

    # Asked by the channel's I/O thread.

    def interrupt_fallback(self) -> bool:
        """Only an interrupt_request goes unanswered: that kernelspec asked for messages, so it
        is sent no signal."""
        return False

    def process_gone(self) -> bool:
        with self._lock:
            if self._phase in ("starting", "restarting"):
                return False
            return self._phase in ("stopping", "stopped") or self._exited


def find_kernelspecs() -> list[Spec]:
    """Every kernelspec jupyter_client finds (`jupyter kernelspec list`); slow: not on the
    editor's thread."""
    from jupyter_client.kernelspec import KernelSpecManager

    found = []
    for name, entry in sorted(KernelSpecManager().get_all_specs().items()):
        with contextlib.suppress(LookupError, TypeError, ValueError):
            found.append(_spec(name, entry["spec"], entry["resource_dir"]))
    return found


def find_kernelspec(name: str) -> Spec:
    specs = find_kernelspecs()
    found = next((s for s in specs if s.name == name.lower()), None)
    if found is None:
        names = ", ".join(s.name for s in specs) or "none"
        raise KernelError(f"no kernelspec named '{name}' (found: {names}; "
                          "see jupyter kernelspec list)")  # fmt: skip
    return found


def _spec(name: str, spec: dict[str, Any], resource_dir: str) -> Spec:
    argv = tuple(str(a) for a in spec["argv"])
    if not argv:
        raise ValueError("empty argv")
    env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
    return Spec(name, str(spec.get("display_name") or name), str(spec.get("language") or ""),
                argv, str(spec.get("interrupt_mode") or "signal"), env, resource_dir,
                dict(spec.get("metadata") or {}))  # fmt: skip


def _manager(spec: Spec, path: str) -> Any:
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    kernel_spec = KernelSpec(
        argv=list(spec.argv), display_name=spec.display_name, language=spec.language,
        interrupt_mode=spec.interrupt_mode, env=spec.env, metadata=spec.metadata,
        resource_dir=spec.resource_dir,
    )  # fmt: skip

    class OneSpec(KernelSpecManager):
        """The kernelspec chosen, whatever the name: an environment's has none installed."""

        def get_kernel_spec(self, kernel_name: str) -> Any:
            return kernel_spec

    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    manager = KernelManager(kernel_spec_manager=OneSpec(), kernel_name=spec.name,
                            connection_file=path)  # fmt: skip
    manager.shutdown_wait_time = STOP_WAIT
    return manager


# Kernels started by this host: if it exits without the editor saying goodbye (Neovim killed),
# they are stopped all the same, unless they were started to be kept.
_started: weakref.WeakSet[ManagedSource] = weakref.WeakSet()


@atexit.register
def _at_exit() -> None:
    pending = [source.release(source.keep) for source in list(_started)
               if not source._phase_is("stopped", "released")]  # fmt: skip
    for finished in pending:
        finished.wait(STOP_WAIT + 1.0)
