"""Fixtures of real parts for the end-to-end tests, built from the `support` package (shared with
bench/): a headless Neovim with the plugin registered through a temporary manifest, real
ipykernels started from connection files in a temporary Jupyter runtime dir, and fake kernels.

The names below are imported by the test modules; they are defined once, in `support`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pynvim
import pytest

from support.editor import Editor, start_editor, start_nvim
from support.fake_kernel import FakeKernel
from support.kernels import Kernel, start_kernel
from support.kernelspecs import install_kernelspecs
from support.sandbox import EDITOR_ARGS, PYTHON, REPO, Sandbox, editor_env, nvim_bin, wait_for

__all__ = ["EDITOR_ARGS", "PYTHON", "REPO", "Editor", "Kernel", "editor_env", "nvim_bin",
           "start_kernel", "wait_for"]  # fmt: skip


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test's report holds what its editor said (`:messages`): a flaky wait tells why."""
    report = yield
    editor = getattr(item, "funcargs", {}).get("editor")
    if report.failed and call.when == "call" and isinstance(editor, Editor):
        try:
            report.sections.append(("editor :messages", editor.messages()))
        except Exception as e:  # an editor that died: its report says so
            report.sections.append(("editor :messages", f"(none: {type(e).__name__})"))
    return report


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """A HOME of the tests' own, so no IPython profile or Neovim config of the user's leaks in."""
    return Sandbox(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture(scope="session")
def home(sandbox: Sandbox) -> Path:
    return sandbox.home


@pytest.fixture(scope="session")
def runtime_dir(sandbox: Sandbox) -> Path:
    return sandbox.runtime


@pytest.fixture(scope="session")
def manifest(sandbox: Sandbox) -> Path:
    return sandbox.register_plugin()


@pytest.fixture(scope="session")
def kernelspecs(sandbox: Sandbox) -> Path:
    """bash_kernel's, xeus-python's and ipykernel's kernelspecs, in a directory of the tests'."""
    return install_kernelspecs(sandbox.root / "jupyter")


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


@pytest.fixture
def make_editor(manifest: Path, sandbox: Sandbox) -> Iterator[Callable[..., Editor]]:
    """`make_editor(extra_args=(), env=None)`: more editors, each closed after the test."""
    started: list[Editor] = []

    def make(extra_args: Sequence[str] = (), env: dict[str, str] | None = None) -> Editor:
        started.append(start_editor(env or sandbox.env(), extra_args))
        return started[-1]

    yield make
    for editor in started:
        editor.close()


@pytest.fixture
def editor(make_editor: Callable[..., Editor]) -> Editor:
    return make_editor()


@pytest.fixture
def fake_kernel(runtime_dir: Path) -> Iterator[FakeKernel]:
    """A fake kernel that behaves, until the test makes it misbehave."""
    with FakeKernel(runtime_dir) as fake:
        yield fake


@pytest.fixture
def bare_nvim() -> Iterator[pynvim.Nvim]:
    """A clean Neovim with kernel.nvim's plugin/ loaded, but no Python host needed."""
    env = dict(os.environ, KERNEL_TEST_REPO=str(REPO))
    args = ["--clean", "-i", "NONE", "-n", "--cmd", "let &rtp = $KERNEL_TEST_REPO . ',' . &rtp"]
    nvim = start_nvim(env, base_args=args)
    yield nvim
    nvim.command("qa!", async_=True)
    nvim.close()
