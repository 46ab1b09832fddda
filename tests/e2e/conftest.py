"""Real parts for end-to-end tests: a headless Neovim driven through pynvim, with the plugin
registered through a temporary NVIM_RPLUGIN_MANIFEST, and real ipykernels started from
connection files in a temporary Jupyter runtime dir. Nothing here sleeps for a fixed time: every
wait polls a condition with a deadline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pynvim
import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
T = TypeVar("T")


def nvim_bin() -> str:
    found = os.environ.get("NVIM_BIN") or shutil.which("nvim")
    if not found:
        pytest.fail("no Neovim: run the tests with `make test`, which installs one")
    return found


def wait_for(condition: Callable[[], T], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll `condition` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


# Section: kernels


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
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=str(self.path))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=30)
        return client


def start_kernel(runtime_dir: Path, home: Path, name: str | None = None) -> Kernel:
    path = runtime_dir / f"kernel-{name or uuid.uuid4().hex[:8]}.json"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime_dir), IPYTHONDIR=str(home / "ipython"))
    process = subprocess.Popen(
        [PYTHON, "-m", "ipykernel_launcher", "-f", str(path),
         "--HistoryManager.hist_file=:memory:"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    kernel = Kernel(path, process)
    wait_for(lambda: path.exists() and path.stat().st_size > 0, 30, f"{path.name} written")
    return kernel


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HOME of the tests' own, so no IPython profile or Neovim config of the user's leaks in."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runtime")
    path.chmod(0o700)
    return path


@pytest.fixture(scope="module")
def kernel(runtime_dir: Path, home: Path) -> Iterator[Kernel]:
    """A kernel shared by the tests of a module; tests that break it use `own_kernel`."""
    k = start_kernel(runtime_dir, home)
    yield k
    k.kill()


@pytest.fixture
def own_kernel(runtime_dir: Path, home: Path) -> Iterator[Kernel]:
    k = start_kernel(runtime_dir, home)
    yield k
    k.kill()


# Section: Neovim


def editor_env(home: Path, runtime_dir: Path, manifest: Path) -> dict[str, str]:
    return dict(
        os.environ,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        NVIM_RPLUGIN_MANIFEST=str(manifest),
        JUPYTER_RUNTIME_DIR=str(runtime_dir),
        IPYTHONDIR=str(home / "ipython"),
        KERNEL_TEST_PYTHON=PYTHON,
        KERNEL_TEST_REPO=str(REPO),
    )


# -u NORC: no user config, but plugins load, rplugin.vim among them (--clean skips the manifest).
EDITOR_ARGS = [
    "-u", "NORC", "-i", "NONE", "-n",
    "--cmd", "let &rtp = $KERNEL_TEST_REPO . ',' . &rtp",
    "--cmd", "let g:python3_host_prog = $KERNEL_TEST_PYTHON",
    "--cmd", "set nomore shortmess+=I",  # a -- more -- prompt would hang the API
]  # fmt: skip


@pytest.fixture(scope="session")
def manifest(tmp_path_factory: pytest.TempPathFactory, home: Path, runtime_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("manifest") / "rplugin.vim"
    subprocess.run(
        [nvim_bin(), "--headless", *EDITOR_ARGS, "+UpdateRemotePlugins", "+qa!"],
        env=editor_env(home, runtime_dir, path),
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert "kernel_nvim" in path.read_text()
    return path


class Editor:
    """A headless Neovim with kernel.nvim, and the waits tests need."""

    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.nvim = nvim

    def status(self) -> str:
        return str(self.nvim.call("KernelStatus"))

    def messages(self) -> str:
        return str(self.nvim.exec_lua("return vim.fn.execute('messages')"))

    def wait_message(self, text: str, timeout: float = 15.0) -> str:
        return wait_for(lambda: text in self.messages() and self.messages(), timeout, repr(text))

    def output(self) -> list[str]:
        """The lines of the output buffer ([] when there is none)."""
        lines = self.nvim.exec_lua(
            "for _, b in ipairs(vim.api.nvim_list_bufs()) do"
            "  if vim.api.nvim_buf_get_name(b):match('^kernel://') then"
            "    return vim.api.nvim_buf_get_lines(b, 0, -1, false) end end return {}"
        )
        return list(lines)

    def output_text(self) -> str:
        return "\n".join(self.output())

    def wait_output(self, text: str, timeout: float = 15.0) -> str:
        what = f"{text!r} in output"
        return wait_for(lambda: text in self.output_text() and self.output_text(), timeout, what)

    def connect(self, kernel: Kernel) -> None:
        self.nvim.command(f"KernelConnect {kernel.fragment}")
        want = f"{kernel.path.stem} idle"
        wait_for(lambda: self.status() == want, 30, f"connected to {kernel.path.name}")

    def set_lines(self, lines: list[str], filetype: str = "python") -> None:
        self.nvim.command(f"setlocal filetype={filetype}")
        self.nvim.current.buffer[:] = lines

    def feed(self, keys: str) -> None:
        """Type keys as a user would."""
        self.nvim.input(keys)

    def responsive(self) -> float:
        """Seconds one RPC round trip takes."""
        start = time.monotonic()
        self.nvim.api.get_mode()
        return time.monotonic() - start


@pytest.fixture
def bare_nvim(monkeypatch: pytest.MonkeyPatch) -> Iterator[pynvim.Nvim]:
    """A clean Neovim with kernel.nvim's plugin/ loaded, but no Python host needed."""
    monkeypatch.setenv("KERNEL_TEST_REPO", str(REPO))
    argv = [nvim_bin(), "--embed", "--headless", "--clean", "-i", "NONE", "-n",
            "--cmd", "let &rtp = $KERNEL_TEST_REPO . ',' . &rtp"]  # fmt: skip
    nvim = pynvim.attach("child", argv=argv)
    yield nvim
    nvim.command("qa!", async_=True)
    nvim.close()


@pytest.fixture
def editor(
    manifest: Path, home: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Editor]:
    # pynvim starts the child with this process's environment.
    for key, value in editor_env(home, runtime_dir, manifest).items():
        monkeypatch.setenv(key, value)
    nvim = pynvim.attach("child", argv=[nvim_bin(), "--embed", "--headless", *EDITOR_ARGS])
    yield Editor(nvim)
    try:
        nvim.command("qa!", async_=True)
        nvim.close()
    except (OSError, EOFError):  # the editor is already gone
        pass
