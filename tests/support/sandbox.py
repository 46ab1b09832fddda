"""Where the real parts run: a HOME, XDG dirs, a 0700 Jupyter runtime dir and a manifest of their
own, so nothing of the user's (IPython profile, Neovim config, registered plugins) leaks in.
Nothing here sleeps for a fixed time: every wait polls a condition with a deadline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "rplugin" / "python3"
PYTHON = sys.executable
T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition stayed false until its deadline. An AssertionError, so pytest reports the wait
    as the test's failure, with what was awaited."""


def wait_for(
    condition: Callable[[], T],
    timeout: float = 15.0,
    what: str = "condition",
    interval: float = 0.02,
) -> T:
    """Poll `condition` until it returns something true, and return that; raise WaitTimeout
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


def nvim_bin() -> str:
    """$NVIM_BIN, else the Neovim `make` installed (.venv/nvim-path), else the one on PATH."""
    if os.environ.get("NVIM_BIN"):
        return os.environ["NVIM_BIN"]
    recorded = REPO / ".venv" / "nvim-path"
    if recorded.exists():
        return str(REPO / recorded.read_text().strip())
    found = shutil.which("nvim")
    if not found:
        raise RuntimeError("no Neovim: run `make test` or `make bench`, which install one")
    return found


def editor_env(home: Path, runtime_dir: Path, manifest: Path) -> dict[str, str]:
    """This process's environment, pointed at the sandbox; `editor_args` reads the KERNEL_TEST_*.

    PYTHONPATH: the host appends the plugin's dir to sys.path, after site-packages, so an
    editable install of another checkout would otherwise be the kernel_nvim it imports."""
    plugin_path = os.pathsep.join(filter(None, [str(PLUGIN), os.environ.get("PYTHONPATH")]))
    return dict(
        os.environ,
        PYTHONPATH=plugin_path,
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


def editor_args(plugin: bool = True) -> list[str]:
    """-u NORC: no user config, but plugins load, rplugin.vim among them (--clean skips the
    manifest). Without `plugin`, kernel.nvim is left off the runtimepath."""
    rtp = ["--cmd", "let &rtp = $KERNEL_TEST_REPO . ',' . &rtp"] if plugin else []
    return [
        "-u", "NORC", "-i", "NONE", "-n", *rtp,
        "--cmd", "let g:python3_host_prog = $KERNEL_TEST_PYTHON",
        "--cmd", "set nomore shortmess+=I",  # a -- more -- prompt would hang the API
    ]  # fmt: skip


EDITOR_ARGS = editor_args()


class Sandbox:
    """`root`/home, `root`/runtime (0700) and `root`/rplugin.vim, the manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.runtime = root / "runtime"
        self.manifest = root / "rplugin.vim"
        self.home.mkdir(exist_ok=True)
        self.runtime.mkdir(exist_ok=True)
        self.runtime.chmod(0o700)  # as Jupyter makes it: mkdir's mode is subject to the umask

    def env(self, manifest: Path | None = None) -> dict[str, str]:
        return editor_env(self.home, self.runtime, manifest or self.manifest)

    def register_plugin(self) -> Path:
        """Write the manifest with :UpdateRemotePlugins in a first headless Neovim."""
        subprocess.run(
            [nvim_bin(), "--headless", *EDITOR_ARGS, "+UpdateRemotePlugins", "+qa!"],
            env=self.env(), check=True, timeout=120, capture_output=True,
        )  # fmt: skip
        if "kernel_nvim" not in self.manifest.read_text():
            raise RuntimeError(f"kernel_nvim not registered in {self.manifest}")
        return self.manifest
