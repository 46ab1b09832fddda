"""End to end: kernels we start with :KernelStart, from real kernelspecs in a Jupyter data dir of
the tests' own and from a project's real venv, then restart, shut down, and leave with Neovim.

Kernels are found by the connection file named on their command line; every wait has a
deadline. A fixture kills whatever a failing test left running.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from support.checks import assert_no_traceback, expect_one_message, settle
from support.editor import Editor
from support.kernels import Kernel
from support.projects import ipykernel_argv, kernel_pids, make_project, write_kernelspec
from support.sandbox import PYTHON, Sandbox, wait_for

FAILS = (
    "import sys; sys.stderr.write('warming up\\nboom: no licence for this kernel\\n'); sys.exit(3)"
)
RECORD_MENU = (
    "local select = vim.ui.select "
    "vim.ui.select = function(items, opts, on_choice) "
    "  vim.g.kernel_test_menu = items return select(items, opts, on_choice) end"
)


@pytest.fixture(scope="module")
def jupyter_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("jupyter")
    write_kernelspec(data, "testpy", ipykernel_argv(), "Test Python")
    write_kernelspec(data, "testmsg", ipykernel_argv(), "Test Python (messages)",
                     interrupt_mode="message")  # fmt: skip
    write_kernelspec(data, "broken", [PYTHON, "-c", FAILS, "{connection_file}"], "Broken")
    write_kernelspec(data, "nowhere", ["/nonexistent/bin/python", "{connection_file}"])
    write_kernelspec(data, "testr", ipykernel_argv(), "Not R", language="R")
    return data


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("projects")
    make_project(root, "myproj", ipykernel=True)
    make_project(root, "bare", ipykernel=False)
    return root


@pytest.fixture
def runtime_files(sandbox: Sandbox) -> Iterator[Callable[[], set[str]]]:
    """The connection files that appeared during the test; their kernels are killed after it."""
    before = {p.name for p in sandbox.runtime.glob("kernel-*.json")}

    def new() -> set[str]:
        return {p.name for p in sandbox.runtime.glob("kernel-*.json")} - before

    yield new
    for name in new():
        for pid in kernel_pids(name):
            os.kill(pid, signal.SIGKILL)
        (sandbox.runtime / name).unlink(missing_ok=True)


@pytest.fixture
def start_editor(
    make_editor: Callable[..., Editor], sandbox: Sandbox, jupyter_data: Path,
    runtime_files: Callable[[], set[str]],
) -> Callable[..., Editor]:  # fmt: skip
    """An editor whose Jupyter finds the tests' kernelspecs, in `cwd`; `keep` sets
    g:kernel_keep_started."""

    def make(cwd: Path | None = None, keep: bool = False) -> Editor:
        env = {**sandbox.env(), "JUPYTER_PATH": str(jupyter_data)}
        for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
            env.pop(variable, None)
        args = ["--cmd", f"let g:kernel_keep_started = {int(keep)}"]
        if cwd is not None:
            args += ["--cmd", f"cd {cwd}"]
        return make_editor(args, env)

    return make


def start(editor: Editor, spec: str = "testpy") -> str:
    """:KernelStart spec, until idle; returns the connection file's name."""
    editor.nvim.command(f"KernelStart {spec}")
    wait_for(lambda: editor.status().endswith(" idle"), 60, f"{spec} started")
    return editor.status().split()[0] + ".json"


def test_the_picker_offers_the_projects_venv_first_and_cells_run_in_it(
    start_editor: Callable[..., Editor], projects: Path, sandbox: Sandbox
) -> None:
    project = projects / "myproj"
    editor = start_editor(project)
    editor.nvim.command(f"edit {project / 'src' / 'cells.py'} | setlocal filetype=python")
    editor.nvim.exec_lua(RECORD_MENU)
    editor.feed(":KernelStart\r")
    editor.wait_prompt(30)  # vim.ui.select's own picker: inputlist()
    menu = editor.nvim.vars["kernel_test_menu"]
    assert menu[0] == f"python {sys.version.split()[0]} (.venv of myproj)"
    assert menu.index("Test Python (testpy)") < menu.index("Not R (testr)")
    editor.feed("1\r")
    wait_for(lambda: editor.status().endswith(" idle"), 60, "the project's kernel")
    name = editor.status().split()[0] + ".json"
    line = editor.wait_message(f"[kernel] Started {name} (python ")
    assert f"jupyter console --existing {name}" in line
    editor.feed("\\x")
    editor.wait_output(f"prefix {project / '.venv'}")
    editor.feed("\\x")
    editor.wait_output("second 42")
    path = sandbox.runtime / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(sandbox.runtime.stat().st_mode) & 0o777 == 0o700
    assert_no_traceback(editor)


def test_a_second_client_joins_through_the_file_we_wrote(
    start_editor: Callable[..., Editor], sandbox: Sandbox
) -> None:
    editor = start_editor()
    name = start(editor)
    from jupyter_client import BlockingKernelClient

    other = BlockingKernelClient(connection_file=str(sandbox.runtime / name))
    other.load_connection_file()
    other.start_channels()
    try:
        other.execute_interactive("shared = 'from the console'", timeout=30)
    finally:
        other.stop_channels()
    editor.wait_output("[other] In [")
    editor.nvim.command("KernelExec print(shared)")
    editor.wait_output("from the console")


def test_restart_ends_what_ran_and_counts_from_one_again(
    start_editor: Callable[..., Editor], runtime_files: Callable[[], set[str]]
) -> None:
    editor = start_editor()
    name = start(editor)
    (old,) = kernel_pids(name)
    editor.nvim.command("KernelExec x = 1")
    editor.nvim.command("KernelExec import time; time.sleep(60)")
    editor.wait_state("busy")
    editor.nvim.command("KernelRestart")
    editor.wait_output("[no reply: the kernel restarted]", 30)
    editor.wait_state("restarted", 30)
    assert "[kernel restarted]" in editor.output()
    editor.wait_message(f"{name.removesuffix('.json')} restarted: its variables are gone")
    assert kernel_pids(name) != [old] and len(kernel_pids(name)) == 1
    editor.nvim.command("KernelExec print('x' in globals())")
    editor.wait_output("False")
    assert "In [1]: print('x' in globals())" in editor.output()
    assert runtime_files() == {name}  # the same file: whoever joined it stays joined
    assert_no_traceback(editor)


def test_shutdown_stops_the_process_and_deletes_its_file(
    start_editor: Callable[..., Editor], sandbox: Sandbox
) -> None:
    editor = start_editor()
    name = start(editor)
    assert kernel_pids(name)
    short = name.removesuffix(".json")
    expect_one_message(editor, lambda: editor.nvim.command("KernelShutdown"),
                       f"{short} was shut down")  # fmt: skip
    wait_for(lambda: not kernel_pids(name), 10, "the kernel's process gone")
    wait_for(lambda: not (sandbox.runtime / name).exists(), 5, "its connection file removed")
    wait_for(lambda: editor.nvim.vars["kernel_state"]["state"] == "disconnected", 5, "unlinked")


def test_interrupt_follows_the_kernelspecs_interrupt_mode(
    start_editor: Callable[..., Editor],
) -> None:
    for spec in ("testpy", "testmsg"):
        editor = start_editor()
        start(editor, spec)
        editor.nvim.command("KernelExec import time; time.sleep(60)")
        editor.wait_state("busy")
        editor.feed("\\i")
        editor.wait_output("KeyboardInterrupt")
        editor.wait_state("idle")


def test_quitting_neovim_stops_every_kernel_it_started(
    start_editor: Callable[..., Editor], sandbox: Sandbox
) -> None:
    editor = start_editor()
    names = [start(editor), start(editor)]
    assert all(kernel_pids(n) for n in names)
    editor.close()
    wait_for(lambda: not any(kernel_pids(n) for n in names), 10, "both kernels gone")
    gone = lambda: not any((sandbox.runtime / n).exists() for n in names)  # noqa: E731
    wait_for(gone, 5, "their connection files removed")


def test_a_killed_neovim_leaves_no_kernel_behind(
    start_editor: Callable[..., Editor], sandbox: Sandbox
) -> None:
    editor = start_editor()
    name = start(editor)
    os.kill(editor.pid(), signal.SIGKILL)  # no VimLeavePre: the host's own exit stops it
    wait_for(lambda: not kernel_pids(name), 10, "the kernel gone with its host")
    wait_for(lambda: not (sandbox.runtime / name).exists(), 5, "its connection file removed")


def test_kept_kernels_outlive_neovim_and_kernelconnect_finds_them(
    start_editor: Callable[..., Editor], sandbox: Sandbox
) -> None:
    editor = start_editor(keep=True)
    name = start(editor)
    editor.nvim.command("KernelExec kept = 'still here'")
    editor.wait_output("In [1]: kept = 'still here'")
    pid = editor.pid()
    editor.close()
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), 10, "the first Neovim gone")
    later = start_editor()
    later.nvim.command(f"KernelConnect {name.removesuffix('.json').removeprefix('kernel-')}")
    later.wait_state("idle", 30)
    assert kernel_pids(name) and (sandbox.runtime / name).exists()
    later.nvim.command("KernelExec print(kept)")
    later.wait_output("still here")
    # Not started by this Neovim: it neither restarts it nor stops it when it quits.
    expect_one_message(later, lambda: later.nvim.command("KernelRestart"), "was not started here")


# Section: bad input


def test_a_kernelspec_that_does_not_exist_is_named_with_those_that_do(
    start_editor: Callable[..., Editor], runtime_files: Callable[[], set[str]]
) -> None:
    editor = start_editor()
    line = expect_one_message(editor, lambda: editor.nvim.command("KernelStart nope"),
                              "no kernelspec named 'nope'")  # fmt: skip
    assert "testpy" in line
    wait_for(lambda: editor.status() == "disconnected", 5, "disconnected")
    assert runtime_files() == set()


def test_a_kernel_whose_argv_fails_says_its_stderr_and_leaves_nothing(
    start_editor: Callable[..., Editor], runtime_files: Callable[[], set[str]]
) -> None:
    editor = start_editor()
    start_and_send = lambda: editor.nvim.command("KernelStart broken | KernelExec print(1)")  # noqa: E731
    line = expect_one_message(editor, start_and_send, "exited with status 3", timeout=30)
    assert line.endswith("boom: no licence for this kernel (1 not sent)")
    assert editor.status() == "disconnected"
    wait_for(lambda: runtime_files() == set(), 10, "its connection file removed")
    line = expect_one_message(editor, lambda: editor.nvim.command("KernelStart nowhere"),
                              "cannot start nowhere")  # fmt: skip
    assert "/nonexistent/bin/python" in line and "No such file" in line
    assert runtime_files() == set()


def test_a_project_venv_without_ipykernel_gives_the_command_to_install_it(
    start_editor: Callable[..., Editor], projects: Path, runtime_files: Callable[[], set[str]]
) -> None:
    project = projects / "bare"
    editor = start_editor(project)
    editor.nvim.command(f"edit {project / 'src' / 'cells.py'}")
    editor.nvim.exec_lua(RECORD_MENU)
    editor.feed(":KernelStart\r")
    editor.wait_prompt(30)
    install = f"{project / '.venv' / 'bin' / 'python'} -m pip install ipykernel"
    assert editor.nvim.vars["kernel_test_menu"][0].endswith(
        f"no ipykernel; install it with: {install}"
    )
    line = expect_one_message(editor, lambda: editor.feed("1\r"), "has no ipykernel")
    assert f"run {install}, then :KernelStart again" in line
    assert runtime_files() == set()


def test_restart_and_shutdown_of_a_kernel_we_did_not_start_say_why_not(
    editor: Editor, own_kernel: Kernel
) -> None:
    editor.connect(own_kernel)
    line = expect_one_message(editor, lambda: editor.nvim.command("KernelRestart"),
                              "was not started here")  # fmt: skip
    assert "only its owner" in line
    line = expect_one_message(editor, lambda: editor.nvim.command("KernelShutdown"),
                              "was not started here")  # fmt: skip
    assert ":KernelShutdown! asks it to shut down" in line
    settle(editor)
    assert own_kernel.process.poll() is None and editor.status().endswith(" idle")
    expect_one_message(editor, lambda: editor.nvim.command("KernelShutdown!"), "was shut down")
    # ipykernel 7.4 can take long to exit after its shutdown_reply: its control thread flushes
    # stdout and stderr after the request, each waiting up to 10 s for an IOPub thread that the
    # app's close() has stopped serving (seen in a stack dump of such a kernel); on a loaded CI
    # machine once over 90 s. The pytest timeout (120 s) bounds the test.
    own_kernel.process.wait(timeout=105)


def test_tab_completes_kernelspec_names(start_editor: Callable[..., Editor]) -> None:
    editor = start_editor()
    found = editor.nvim.call("getcompletion", "KernelStart test", "cmdline")
    assert found == ["testmsg", "testpy", "testr"]


def test_the_connection_file_holds_what_a_jupyter_client_needs(
    start_editor: Callable[..., Editor], sandbox: Sandbox
) -> None:
    editor = start_editor()
    name = start(editor)
    info = json.loads((sandbox.runtime / name).read_text())
    assert {"shell_port", "iopub_port", "key", "transport", "signature_scheme"} <= info.keys()
    assert info["key"] not in editor.messages()


def test_checkhealth_lists_kernelspecs_and_environments_with_ipykernel_or_not(
    start_editor: Callable[..., Editor], projects: Path
) -> None:
    project = projects / "bare"
    editor = start_editor(project)
    editor.nvim.command(f"edit {project / 'src' / 'cells.py'}")
    editor.nvim.command("checkhealth kernel")
    text = "\n".join(editor.nvim.current.buffer[:])
    assert "Starting kernels (:KernelStart)" in text
    assert f"OK jupyter_client {version('jupyter_client')}" in text
    assert "OK kernelspec testpy (Test Python, python): has ipykernel" in text
    assert "OK kernelspec testr (Not R, R): has ipykernel" in text
    assert "kernelspec nowhere (nowhere, python)" in text
    bare = f"environment python {sys.version.split()[0]} (.venv of bare): no ipykernel"
    assert f"WARNING {bare}" in text
    assert f"{project / '.venv' / 'bin' / 'python'} -m pip install ipykernel" in text


def test_a_kernel_of_ours_that_dies_says_how_and_restart_brings_it_back(
    start_editor: Callable[..., Editor],
) -> None:
    editor = start_editor()
    name = start(editor)
    short = name.removesuffix(".json")
    editor.nvim.command("KernelExec import os; os._exit(7)")
    editor.wait_message(f"[kernel] {short} exited with status 7")
    editor.wait_state("dead")
    editor.wait_output("[no reply: the kernel died]")
    editor.nvim.command("KernelRestart")
    editor.wait_state("idle", 60)
    editor.nvim.command("KernelExec print('back', 2 * 21)")
    editor.wait_output("back 42")
    assert len(kernel_pids(name)) == 1
    assert_no_traceback(editor)


def test_code_sent_during_a_restart_runs_in_the_new_process(
    start_editor: Callable[..., Editor],
) -> None:
    editor = start_editor()
    start(editor)
    editor.run("x = 1")  # in the process about to go
    editor.nvim.command("KernelRestart")
    editor.nvim.command("KernelExec print('x' in dir(), 'sent during')")
    editor.wait_output("False sent during", timeout=60)
