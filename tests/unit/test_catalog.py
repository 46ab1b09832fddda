"""Unit tests of kernel_nvim.kernel.sources.catalog: every connection file, whether its kernel
runs (by the socket tables, or a bounded parallel probe), and the details of its process, against
real listening sockets and real processes started here."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from connection_files import KEY, connection, write

from kernel_nvim.kernel.sources import catalog, local_process
from kernel_nvim.kernel.sources.catalog import language_of, live_paths, survey

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
linux = pytest.mark.skipif(not os.path.isdir("/proc/net"), reason="needs Linux's /proc")

# A stand-in kernel: listens on five ports, writes its connection file (the last argument) with
# them, then waits. Run as a script whose name says what kernel it is (ipykernel_launcher.py).
KERNEL = r"""
import json, os, socket, sys, time
path, name = sys.argv[-1], sys.argv[-2]
socks = []
for _ in range(5):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); socks.append(s)
info = {f"{c}_port": s.getsockname()[1] for c, s in zip(%r, socks)}
info.update(ip="127.0.0.1", key="k" * 32, transport="tcp", signature_scheme="hmac-sha256",
            kernel_name=name)
with open(path + ".tmp", "w") as f:
    json.dump(info, f)
os.rename(path + ".tmp", path)
time.sleep(60)
""" % (CHANNELS,)  # noqa: UP031


@pytest.fixture
def sockets() -> Iterator[Callable[[], dict[str, int]]]:
    """Five listening sockets in this process: the ports of a live kernel."""
    opened: list[socket.socket] = []

    def open_five() -> dict[str, int]:
        ports = {}
        for channel in CHANNELS:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen()
            opened.append(s)
            ports[f"{channel}_port"] = s.getsockname()[1]
        return ports

    yield open_five
    for s in opened:
        s.close()


def closed_ports() -> dict[str, int]:
    ports = {}
    holders = []
    for channel in CHANNELS:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        holders.append(s)
        ports[f"{channel}_port"] = s.getsockname()[1]
    for s in holders:
        s.close()
    return ports


@pytest.fixture
def kernels(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(script: str, runtime: Path, cwd: Path, spec: str = "") -> tuple[Any, Path]:
        program = tmp_path / "bin" / script
        program.parent.mkdir(exist_ok=True)
        program.write_text(KERNEL)
        path = runtime / f"kernel-{len(started)}.json"
        cwd.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen([sys.executable, str(program), spec, str(path)], cwd=cwd)
        started.append(process)
        deadline = time.monotonic() + 10
        while not path.exists():
            assert time.monotonic() < deadline, "the stand-in kernel wrote no file"
            time.sleep(0.01)
        return process, path

    yield start
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()


# survey: alive or not


def test_a_file_whose_ports_all_listen_is_alive_and_one_whose_ports_are_closed_is_not(
    tmp_path: Path, sockets: Callable[[], dict[str, int]]
) -> None:
    alive = write(tmp_path, "kernel-alive.json", age=10, **sockets())
    dead = write(tmp_path, "kernel-dead.json", age=0, **closed_ports())
    broken = write(tmp_path, "kernel-broken.json", age=5, content="{")

    found = survey([str(tmp_path)], processes=False)

    assert [(f.path, f.alive) for f in found] == [
        (str(dead), False), (str(broken), False), (str(alive), True),
    ]  # fmt: skip
    assert live_paths([str(tmp_path)]) == {str(alive)}


def test_a_file_with_only_some_ports_listening_is_not_alive(
    tmp_path: Path, sockets: Callable[[], dict[str, int]]
) -> None:
    # A dead kernel's heartbeat port taken by some other program since.
    ports = {**closed_ports(), "hb_port": sockets()["hb_port"]}
    write(tmp_path, "kernel-1.json", **ports)

    assert [f.alive for f in survey([str(tmp_path)], processes=False)] == [False]


def test_extra_files_outside_the_dirs_are_surveyed_once(
    tmp_path: Path, sockets: Callable[[], dict[str, int]]
) -> None:
    inside = write(tmp_path / "runtime", "kernel-1.json", **sockets())
    elsewhere = write(tmp_path / "elsewhere", "kernel-2.json", age=5, **sockets())

    found = survey([str(tmp_path / "runtime")], extra=[str(elsewhere), os.path.realpath(inside)])

    assert [(f.path, f.alive) for f in found] == [(str(inside), True), (str(elsewhere), True)]


def test_a_file_gone_since_it_was_named_is_left_out(tmp_path: Path) -> None:
    write(tmp_path / "runtime", "kernel-1.json", **closed_ports())

    found = survey([str(tmp_path / "runtime")], extra=[str(tmp_path / "kernel-gone.json")])

    assert [f.path for f in found] == [str(tmp_path / "runtime" / "kernel-1.json")]


def test_without_the_socket_tables_local_files_are_probed_in_parallel(
    tmp_path: Path, sockets: Callable[[], dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_process.Listeners, "serve", lambda *_: None)
    alive = write(tmp_path, "kernel-alive.json", **sockets())
    write(tmp_path, "kernel-dead.json", age=5, **closed_ports())

    assert live_paths([str(tmp_path)]) == {str(alive)}


def test_kernels_of_other_hosts_are_probed_together_within_one_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Twenty hosts that never answer: one by one they would take 20 x 0.2 s.
    def silent(conn: object, timeout: float) -> bool:
        time.sleep(2)
        return True

    monkeypatch.setattr(catalog, "looks_alive", silent)
    for i in range(20):
        write(tmp_path, f"kernel-{i}.json", ip=f"10.0.0.{i + 1}")

    start = time.monotonic()
    found = survey([str(tmp_path)], timeout=0.2)

    assert time.monotonic() - start < 0.6
    assert [f.alive for f in found] == [False] * 20


# survey: what the process says


@linux
def test_a_live_local_kernel_gets_its_pid_cwd_start_and_language_from_its_process(
    tmp_path: Path, kernels: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    before = time.time()
    python, python_file = kernels("ipykernel_launcher.py", runtime, tmp_path / "project")
    bash, bash_file = kernels("bash_kernel.py", runtime, tmp_path / "other", spec="bash")

    found = {f.path: f for f in survey([str(runtime)])}

    first, second = found[str(python_file)], found[str(bash_file)]
    assert (first.pid, first.cwd, first.language) == (python.pid, str(tmp_path / "project"),
                                                      "python")  # fmt: skip
    assert (second.pid, second.language) == (bash.pid, "bash")
    assert before - 1.5 <= first.started <= second.started + 0.05
    assert second.started <= time.time() + 0.5


@linux
def test_a_kernel_whose_argv_names_no_kernel_shows_its_kernelspec_name(
    tmp_path: Path, kernels: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    kernels("serve.py", runtime, tmp_path, spec="julia-1.10")

    assert [f.language for f in survey([str(runtime)])] == ["julia-1.10"]


def test_a_dead_file_shows_its_kernelspec_name_and_its_mtime_as_its_start(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-1.json", kernel_name="python3", **closed_ports())

    (found,) = survey([str(tmp_path)])

    assert (found.language, found.pid, found.cwd) == ("python3", 0, "")
    assert found.started == os.stat(path).st_mtime


@pytest.mark.parametrize("name", [KEY, KEY.replace("-", ""), "has space", "x" * 41, 7, "../../etc"])
def test_a_kernel_name_that_could_be_a_key_or_is_no_kernelspec_name_is_not_shown(
    tmp_path: Path, name: object
) -> None:
    write(tmp_path, "kernel-1.json", content=json.dumps(connection(kernel_name=name)))

    assert [f.language for f in survey([str(tmp_path)])] == [""]


def test_a_kernel_name_equal_to_the_files_key_is_not_shown(tmp_path: Path) -> None:
    write(tmp_path, "kernel-1.json", key="python3", kernel_name="python3")

    assert [f.language for f in survey([str(tmp_path)])] == [""]


# language_of


@pytest.mark.parametrize(
    ("argv", "language"),
    [
        (["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "/run/kernel-1.json"], "python"),
        (["python", "-m", "ipykernel", "-f", "k.json"], "python"),
        (["/usr/bin/python3", "/usr/bin/ipython", "kernel"], "python"),
        (["python3.12", "-m", "bash_kernel", "-f", "k.json"], "bash"),
        (["/opt/conda/bin/xpython", "-f", "k.json"], "python"),
        (["xcpp", "-std=c++17", "-f", "k.json"], "c++"),
        (["R", "--slave", "-e", "IRkernel::main()", "--args", "k.json"], "R"),
        (["julia", "-i", "/home/u/.julia/packages/IJulia/x/src/kernel.jl", "k.json"], "julia"),
        (["evcxr_jupyter", "--control_file", "k.json"], "rust"),
        (["deno", "jupyter", "--kernel", "--conn", "k.json"], "typescript"),
        # The connection file's own path says nothing, whatever its dirs are called.
        (["python", "-m", "some_kernel", "-f", "/home/u/deno/ipykernel/kernel-1.json"], ""),
        (["node", "/usr/lib/kernel.js"], ""),
        ([], ""),
    ],
)
def test_language_of_a_kernel_by_its_argv(argv: list[str], language: str) -> None:
    assert language_of(argv) == language
