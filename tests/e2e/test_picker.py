"""End to end: choosing a kernel. `:KernelConnect` without a name when several kernels run, its
`!`, `:KernelList` and `<Tab>`, with real ipykernels, a fake kernel and connection files left
behind by dead kernels (written here), in a runtime dir of this module's own. The picker is
Neovim's own vim.ui.select (inputlist()): read from the screen, answered with keys."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.checks import kernel_lines, settle
from support.editor import Editor
from support.fake_kernel import FakeKernel
from support.kernels import Kernel, start_kernel
from support.sandbox import Sandbox, wait_for

PROMPT = "Connect to kernel:"
CHANNELS = ("shell", "iopub", "stdin", "control", "hb")


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("picker")
    (root / "runtime").mkdir(mode=0o700)
    return root


@pytest.fixture(scope="module")
def kernels(place: Path, home: Path) -> Iterator[tuple[Kernel, Kernel]]:
    """Two ipykernels, each in a project dir of its own; the second started last."""
    started = []
    for project in ("alpha", "beta"):
        (place / project).mkdir()
        started.append(start_kernel(place / "runtime", home, cwd=place / project))
    yield started[0], started[1]
    for kernel in started:
        kernel.kill()


@pytest.fixture
def dead_files(place: Path) -> Iterator[Callable[..., list[Path]]]:
    """`dead_files(n, runtime)`: connection files of kernels that are gone, newer than any."""
    written: list[Path] = []

    def write(n: int, runtime: Path | None = None) -> list[Path]:
        paths = []
        for _ in range(n):
            path = (runtime or place / "runtime") / f"kernel-dead-{uuid.uuid4().hex[:6]}.json"
            info = {f"{c}_port": p for c, p in zip(CHANNELS, closed_ports())}
            info.update(ip="127.0.0.1", key=str(uuid.uuid4()), transport="tcp",
                        signature_scheme="hmac-sha256", kernel_name="python3")  # fmt: skip
            path.write_text(json.dumps(info))
            path.chmod(0o600)
            later = time.time() + 60 + len(written)
            os.utime(path, (later, later))
            paths.append(path)
            written.append(path)
        return paths

    yield write
    for path in written:
        path.unlink(missing_ok=True)


def closed_ports() -> list[int]:
    holders = [socket.socket() for _ in CHANNELS]
    for s in holders:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in holders]
    for s in holders:
        s.close()
    return ports


@pytest.fixture
def open_editor(
    make_editor: Callable[..., Editor], sandbox: Sandbox, place: Path
) -> Callable[..., Editor]:
    """An editor whose Jupyter runtime dir is `runtime` (the module's by default)."""

    def start(runtime: Path | None = None) -> Editor:
        env = dict(sandbox.env(), JUPYTER_RUNTIME_DIR=str(runtime or place / "runtime"))
        editor = make_editor(env=env)
        editor.nvim.command("set columns=220 lines=30")
        return editor

    return start


def picker(editor: Editor) -> list[str]:
    """The lines of the picker on the screen, without their `1: ` numbers."""
    lines = editor.wait_screen("Type number and <Enter>")
    first = next(i for i, line in enumerate(lines) if line.startswith(PROMPT)) + 1
    last = next(i for i, line in enumerate(lines) if line.startswith("Type number"))
    rows = lines[first:last]
    assert [row.split(": ", 1)[0] for row in rows] == [str(n) for n in range(1, len(rows) + 1)]
    return [row.split(": ", 1)[1] for row in rows]


def choose(editor: Editor, rows: list[str], name: str) -> None:
    """Type the number of the row of `name`, and <CR>, as the user would."""
    number = next(n for n, row in enumerate(rows, 1) if row.startswith(name + " "))
    editor.feed(f"{number}\r")


def wait_linked(editor: Editor, kernel: Kernel | FakeKernel) -> None:
    want = f"{kernel.path.stem} idle"
    wait_for(lambda: editor.status() == want, 30, f"linked to {kernel.path.name}")


def buffer_lines(editor: Editor, name: str) -> list[str]:
    return list(editor.nvim.exec_lua(
        "local b = vim.fn.bufnr('^' .. ... .. '$')"
        " return b < 0 and {} or vim.api.nvim_buf_get_lines(b, 0, -1, false)", name,
    ))  # fmt: skip


# Section: :KernelConnect without a name


def test_picker_with_several_live_and_dead_kernels_lists_the_live_newest_first(
    open_editor: Callable[..., Editor],
    kernels: tuple[Kernel, Kernel],
    dead_files: Callable[..., list[Path]],
    place: Path,
) -> None:
    alpha, beta = kernels
    dead = dead_files(3)
    editor = open_editor()

    editor.nvim.command("KernelConnect")
    rows = picker(editor)

    assert [row.split()[0] for row in rows] == [beta.path.name, alpha.path.name]
    for row, kernel, project in ((rows[0], beta, "beta"), (rows[1], alpha, "alpha")):
        assert row.split()[1:4] == ["python", "pid", str(kernel.process.pid)]
        assert f" {place / project} " in row
        assert row.endswith((" ago", " just now"))  # started moments ago, not linked, not ours
    assert not any(path.name in line for line in editor.screen() for path in dead)
    # Until the choice, the link is as it was: none.
    assert editor.nvim.vars["kernel_state"]["state"] == "disconnected"

    choose(editor, rows, alpha.path.name)

    wait_linked(editor, alpha)
    editor.wait_message(f"[kernel] Connected to {alpha.path.name} (python 3.")


def test_bang_lists_the_dead_files_too_marked_and_cancelling_leaves_the_link_alone(
    open_editor: Callable[..., Editor],
    kernels: tuple[Kernel, Kernel],
    dead_files: Callable[..., list[Path]],
) -> None:
    alpha, beta = kernels
    dead = dead_files(2)
    editor = open_editor()
    editor.connect(beta)

    editor.nvim.command("KernelConnect!")
    rows = picker(editor)

    newest_dead_first = [path.name for path in reversed(dead)]
    assert [row.split()[0] for row in rows] == [beta.path.name, alpha.path.name,
                                                *newest_dead_first]  # fmt: skip
    assert rows[0].endswith(" linked")
    assert [row.endswith(" not running") for row in rows] == [False, False, True, True]
    assert all(" python3 " in row for row in rows[2:])  # the kernelspec name of the file

    before = len(kernel_lines(editor))
    editor.feed("\r")  # an empty answer cancels

    wait_for(lambda: editor.nvim.api.get_mode()["mode"] == "n", what="the picker closed")
    settle(editor)
    assert editor.status() == f"{beta.path.stem} idle"
    assert kernel_lines(editor)[before:] == []


def test_with_one_live_kernel_connect_goes_straight_to_it(
    open_editor: Callable[..., Editor], dead_files: Callable[..., list[Path]], tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    with FakeKernel(runtime) as fake:
        dead_files(2, runtime)  # newer: the newest file is a dead one
        editor = open_editor(runtime)

        editor.nvim.command("KernelConnect")

        wait_linked(editor, fake)
        assert editor.nvim.api.get_mode()["mode"] == "n"  # no picker came up


def test_with_no_live_kernel_one_line_says_so_at_once(
    open_editor: Callable[..., Editor], dead_files: Callable[..., list[Path]], tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    dead = dead_files(2, runtime)
    editor = open_editor(runtime)
    start = time.monotonic()

    editor.nvim.command("KernelConnect")
    settle(editor)

    elapsed = time.monotonic() - start
    lines = kernel_lines(editor)
    assert lines == [
        f"[kernel] no running kernel: nothing listens at the 2 connection files in {runtime}; "
        "start a kernel (e.g. ipython kernel), or :KernelConnect! to list the files anyway"
    ]
    assert elapsed < 2.0  # not the 5 s handshake with a dead file's ports
    assert editor.nvim.vars["kernel_state"]["state"] == "disconnected"
    messages = editor.messages()
    assert not any(json.loads(path.read_text())["key"] in messages for path in dead)


# Section: :KernelList


def test_kernel_list_marks_the_linked_kernel_and_switching_keeps_each_output(
    open_editor: Callable[..., Editor], kernels: tuple[Kernel, Kernel]
) -> None:
    alpha, beta = kernels
    editor = open_editor()
    editor.connect(alpha)
    editor.nvim.command("KernelExec print('from alpha')")
    editor.wait_output("from alpha")

    editor.nvim.command("KernelList")
    rows = picker(editor)
    assert [row.split()[0] for row in rows] == [beta.path.name, alpha.path.name]
    assert rows[1].endswith("  linked") and not rows[0].endswith("linked")
    choose(editor, rows, beta.path.name)
    wait_linked(editor, beta)
    editor.nvim.command("KernelExec print('from beta')")
    wait_for(lambda: "from beta" in buffer_lines(editor, f"kernel://{beta.path.name}"))

    editor.nvim.command("KernelList")
    rows = picker(editor)
    assert rows[0].endswith("  linked") and rows[1].endswith("  linked before")
    choose(editor, rows, alpha.path.name)
    wait_linked(editor, alpha)

    assert "from alpha" in buffer_lines(editor, f"kernel://{alpha.path.name}")
    assert "from beta" in buffer_lines(editor, f"kernel://{beta.path.name}")
    assert "from beta" not in buffer_lines(editor, f"kernel://{alpha.path.name}")


# Section: <Tab>


def test_tab_completes_the_live_kernels_first(
    open_editor: Callable[..., Editor],
    kernels: tuple[Kernel, Kernel],
    dead_files: Callable[..., list[Path]],
) -> None:
    alpha, beta = kernels
    dead = dead_files(3)
    editor = open_editor()

    editor.feed(":KernelConnect \t")
    wait_for(lambda: editor.nvim.funcs.getcmdline() == f"KernelConnect {beta.path.name}")
    editor.feed("\t")
    wait_for(lambda: editor.nvim.funcs.getcmdline() == f"KernelConnect {alpha.path.name}")
    editor.feed("\t")
    wait_for(lambda: editor.nvim.funcs.getcmdline() == f"KernelConnect {dead[-1].name}")
    editor.feed("\x1b")

    names = editor.nvim.call("kernel#complete_connect", "", "KernelConnect ", 14)
    assert names == [beta.path.name, alpha.path.name, *(p.name for p in reversed(dead))]
