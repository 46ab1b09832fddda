"""Unit tests of kernel_nvim.kernel.sources.local_process, against real processes started here:
a stand-in kernel that listens on a connection file's ports, and bystanders that must never be
taken for it (and never be sent SIGINT)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from connection_files import write

from kernel_nvim.kernel.sources import local_process
from kernel_nvim.kernel.sources.existing import ConnectionFileSource

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/net"), reason="needs Linux's /proc")

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")

# Listens on five sockets (tcp on 127.0.0.1, or unix sockets at <prefix>-<port>), prints the
# ports, counts SIGINTs in a file; with "fork", a child shares the sockets (as multiprocessing's
# workers do); with a name, it renames itself (as if it were ssh).
LISTENER = r"""
import json, os, signal, socket, sys, time
kind, prefix, marks, mode = sys.argv[1:5]
signal.signal(signal.SIGINT, lambda *_: open(marks, "a").write("SIGINT\n"))
if mode not in ("", "fork"):
    open("/proc/self/comm", "w").write(mode)
socks, ports = [], []
for i in range(5):
    if kind == "tcp":
        s = socket.socket(); s.bind(("127.0.0.1", 0)); ports.append(s.getsockname()[1])
    else:
        s = socket.socket(socket.AF_UNIX); port = 40000 + i; s.bind(f"{prefix}-{port}")
        ports.append(port)
    s.listen(); socks.append(s)
if mode == "fork" and os.fork() == 0:
    signal.signal(signal.SIGINT, lambda *_: open(marks, "a").write("CHILD\n"))
    time.sleep(60); sys.exit(0)
print(json.dumps(ports), flush=True)
time.sleep(60)
"""


@dataclass
class Listener:
    process: subprocess.Popen[str]
    ports: list[int]
    marks: Path

    def signals(self) -> list[str]:
        return self.marks.read_text().split() if self.marks.exists() else []


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        with_children = [process.pid, *_children(process.pid)]
        for pid in with_children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


@pytest.fixture
def listen(tmp_path: Path, processes: list[subprocess.Popen[str]]) -> Callable[..., Listener]:
    def start(kind: str = "tcp", mode: str = "") -> Listener:
        marks = tmp_path / f"marks-{len(processes)}"
        prefix = str(tmp_path / "kernel-ipc")
        process = subprocess.Popen(
            [sys.executable, "-c", LISTENER, kind, prefix, str(marks), mode],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        processes.append(process)
        assert process.stdout is not None
        ports = json.loads(process.stdout.readline())
        return Listener(process, ports, marks)

    return start


@pytest.fixture
def bystander(processes: list[subprocess.Popen[str]]) -> Callable[..., subprocess.Popen[str]]:
    """A process that is not the kernel, whatever its argv says."""

    def start(*argv: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)", *argv], text=True
        )
        processes.append(process)
        return process

    return start


def connection_file(tmp_path: Path, name: str, ports: list[int], **overrides: object) -> Path:
    return write(tmp_path, name, **{f"{c}_port": p for c, p in zip(CHANNELS, ports)}, **overrides)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# find_kernel_process


def test_the_process_listening_on_every_port_is_the_kernel(listen: Callable[..., Listener]) -> None:
    kernel = listen()

    found = local_process.find_kernel_process("tcp", "127.0.0.1", kernel.ports)

    assert found is not None and found.pid == kernel.process.pid


def test_a_kernel_bound_to_loopback_is_found_by_localhost(listen: Callable[..., Listener]) -> None:
    kernel = listen()

    found = local_process.find_kernel_process("tcp", "localhost", kernel.ports)

    assert found is not None and found.pid == kernel.process.pid


def test_a_kernel_on_loopback_is_not_found_for_another_address(
    listen: Callable[..., Listener],
) -> None:
    kernel = listen()

    assert local_process.find_kernel_process("tcp", "10.0.0.5", kernel.ports) is None


def test_a_process_listening_on_some_of_the_ports_only_is_not_the_kernel(
    listen: Callable[..., Listener],
) -> None:
    kernel = listen()
    other = listen()

    mixed = [*kernel.ports[:3], *other.ports[3:]]

    assert local_process.find_kernel_process("tcp", "127.0.0.1", mixed) is None


def test_an_ipc_kernel_is_found_by_its_socket_files(listen: Callable[..., Listener]) -> None:
    kernel = listen("ipc")
    prefix = str(kernel.marks.parent / "kernel-ipc")

    found = local_process.find_kernel_process("ipc", prefix, kernel.ports)

    assert found is not None and found.pid == kernel.process.pid


def test_a_kernel_that_forked_is_found_as_the_parent(listen: Callable[..., Listener]) -> None:
    kernel = listen(mode="fork")
    wait_for(lambda: bool(_children(kernel.process.pid)))

    found = local_process.find_kernel_process("tcp", "127.0.0.1", kernel.ports)

    assert found is not None and found.pid == kernel.process.pid


def test_a_port_forwarder_is_never_taken_for_the_kernel(listen: Callable[..., Listener]) -> None:
    tunnel = listen(mode="ssh")

    assert local_process.find_kernel_process("tcp", "127.0.0.1", tunnel.ports) is None


def test_nothing_is_found_when_no_process_listens(listen: Callable[..., Listener]) -> None:
    kernel = listen()
    kernel.process.kill()
    kernel.process.wait()

    assert local_process.find_kernel_process("tcp", "127.0.0.1", kernel.ports) is None


# find_kernel_processes, Listeners, details: for a list of kernels


def test_the_processes_of_several_kernels_are_found_in_one_walk(
    listen: Callable[..., Listener],
) -> None:
    a, b, forked = listen(), listen(), listen(mode="fork")
    wait_for(lambda: bool(_children(forked.process.pid)))
    dead = listen()
    dead.process.kill()
    dead.process.wait()
    mixed = [*a.ports[:3], *b.ports[3:]]
    kernels = [("tcp", "127.0.0.1", k.ports) for k in (a, b, forked, dead)]

    found = local_process.find_kernel_processes([*kernels, ("tcp", "127.0.0.1", mixed)])

    pids = [p.pid if p else None for p in found]
    assert pids == [a.process.pid, b.process.pid, forked.process.pid, None, None]


def test_listeners_tell_which_files_have_something_on_every_port(
    listen: Callable[..., Listener],
) -> None:
    kernel, ipc = listen(), listen("ipc")
    prefix = str(ipc.marks.parent / "kernel-ipc")
    listeners = local_process.Listeners()

    assert listeners.serve("tcp", "127.0.0.1", kernel.ports) is True
    assert listeners.serve("tcp", "0.0.0.0", kernel.ports) is True
    assert listeners.serve("tcp", "127.0.0.1", [*kernel.ports[:4], 1]) is False
    assert listeners.serve("ipc", prefix, ipc.ports) is True
    assert listeners.serve("ipc", prefix + "-other", ipc.ports) is False


def test_listeners_read_the_tables_once_for_many_files(
    listen: Callable[..., Listener], monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = listen()
    reads: list[int] = []
    real = local_process._diag_listeners

    def counted() -> list[tuple[object, int, int, str]]:
        reads.append(1)
        return list(real())

    monkeypatch.setattr(local_process, "_diag_listeners", counted)
    listeners = local_process.Listeners()

    for _ in range(10):
        assert listeners.serve("tcp", "127.0.0.1", kernel.ports)
    local_process.find_kernel_processes([("tcp", "127.0.0.1", kernel.ports)], listeners)

    assert len(reads) == 1


def test_details_of_a_kernel_process_are_its_argv_cwd_and_start_time(
    listen: Callable[..., Listener],
) -> None:
    before = time.time()
    kernel = listen()
    found = local_process.find_kernel_process("tcp", "127.0.0.1", kernel.ports)
    assert found is not None

    about = local_process.details(found)

    assert about.argv[1:3] == ("-c", LISTENER)
    assert about.cwd == os.getcwd()
    # /proc counts in clock ticks from a boot time in whole seconds.
    assert before - 1.5 <= about.started <= time.time() + 0.5


def test_details_of_a_process_gone_are_empty() -> None:
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()

    about = local_process.details(local_process.LocalProcess(gone.pid, "0"))

    assert (about.argv, about.cwd) == ((), "")


# is_gone


def test_a_killed_kernel_is_gone_and_a_zombie_counts_as_gone(
    listen: Callable[..., Listener],
) -> None:
    kernel = listen()
    found = local_process.find_kernel_process("tcp", "127.0.0.1", kernel.ports)
    assert found is not None and not local_process.is_gone(found)

    kernel.process.send_signal(signal.SIGKILL)  # not waited for: a zombie until the fixture
    wait_for(lambda: local_process.is_gone(found))


def test_a_stopped_kernel_is_not_gone(listen: Callable[..., Listener]) -> None:
    kernel = listen()
    found = local_process.find_kernel_process("tcp", "127.0.0.1", kernel.ports)
    assert found is not None
    kernel.process.send_signal(signal.SIGSTOP)
    try:
        assert not local_process.is_gone(found)
        again = local_process.find_kernel_process("tcp", "127.0.0.1", kernel.ports)
        assert again == found
    finally:
        kernel.process.send_signal(signal.SIGCONT)


def test_a_reused_pid_is_not_the_same_process() -> None:
    me = local_process.LocalProcess(os.getpid(), "0")

    assert local_process.is_gone(me)


# ConnectionFileSource.interrupt_fallback and process_gone


def test_interrupt_fallback_signals_the_proven_kernel(
    tmp_path: Path, listen: Callable[..., Listener]
) -> None:
    kernel = listen()
    source = ConnectionFileSource.from_file(str(connection_file(tmp_path, "k.json", kernel.ports)))

    assert source.interrupt_fallback() is True
    wait_for(lambda: kernel.signals() == ["SIGINT"])


def test_interrupt_fallback_never_signals_a_process_named_by_the_file_or_its_argv(
    tmp_path: Path,
    listen: Callable[..., Listener],
    bystander: Callable[..., subprocess.Popen[str]],
) -> None:
    # The kernel is gone; the old fallback took the pid in the name, or any argv naming the file.
    dead = listen()
    dead.process.kill()
    dead.process.wait()
    named = bystander()
    path = connection_file(tmp_path, f"kernel-{named.pid}.json", dead.ports)
    reader = bystander("-f", str(path))
    reader_by_name = bystander(path.name)
    source = ConnectionFileSource.from_file(str(path))

    assert source.interrupt_fallback() is False
    assert [p.poll() for p in (named, reader, reader_by_name)] == [None, None, None]


def test_interrupt_fallback_is_impossible_for_a_remote_kernel(
    tmp_path: Path, listen: Callable[..., Listener]
) -> None:
    kernel = listen()
    path = connection_file(tmp_path, "k.json", kernel.ports, ip="10.0.0.5")

    assert ConnectionFileSource.from_file(str(path)).interrupt_fallback() is False
    assert kernel.signals() == []


def test_process_gone_only_once_a_proven_kernel_has_exited(
    tmp_path: Path, listen: Callable[..., Listener]
) -> None:
    kernel = listen()
    source = ConnectionFileSource.from_file(str(connection_file(tmp_path, "k.json", kernel.ports)))

    assert source.process_gone() is False  # proves it on the way
    kernel.process.send_signal(signal.SIGSTOP)
    assert source.process_gone() is False
    kernel.process.kill()
    kernel.process.wait()
    assert source.process_gone() is True


def test_process_gone_when_never_proven_and_nothing_listens_on_its_ports(
    tmp_path: Path, listen: Callable[..., Listener]
) -> None:
    # Killed within moments of answering, before its process was proven.
    kernel = listen()
    kernel.process.kill()
    kernel.process.wait()
    source = ConnectionFileSource.from_file(str(connection_file(tmp_path, "k.json", kernel.ports)))

    assert source.process_gone() is True


def test_sock_diag_and_the_proc_tables_see_the_same_listeners(
    listen: Callable[..., Listener],
) -> None:
    kernel = listen()

    def rows(found: list[tuple[object, int, int, str]]) -> set[tuple[object, int, int, str]]:
        return {row for row in found if row[1] in kernel.ports}

    assert len(rows(local_process._diag_listeners())) == 5
    assert rows(local_process._diag_listeners()) == rows(local_process._proc_listeners())


def test_without_netlink_the_proc_tables_still_prove_the_kernel(
    listen: Callable[..., Listener], monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = listen()

    def refused() -> list[tuple[object, int, int, str]]:
        raise PermissionError("netlink refused")

    monkeypatch.setattr(local_process, "_diag_listeners", refused)
    found = local_process.find_kernel_process("tcp", "127.0.0.1", kernel.ports)

    assert found is not None and found.pid == kernel.process.pid
