"""End to end, the editor's side of the link: its state as data in g:kernel_state, commands that
take effect before they return, `:KernelConnect` with -bar, the host check on every call, and
messages that fit one screen line.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pynvim
import pytest
from conftest import EDITOR_ARGS, Editor, Kernel, editor_env, nvim_bin, wait_for

# Section: helpers


def settle(editor: Editor) -> None:
    """Wait until the host has handled every call made before: a request queues behind them."""
    editor.nvim.call("KernelRpcSync", "complete_connection", {}, "")


def kernel_lines(editor: Editor) -> list[str]:
    return [line for line in editor.messages().splitlines() if "[kernel]" in line]


@pytest.fixture
def launch() -> Iterator[list[Editor]]:
    """Start editors with arguments of the test's own (files, +commands); all quit afterwards."""
    started: list[Editor] = []
    yield started
    for editor in started:
        try:
            editor.nvim.command("qa!", async_=True)
            editor.nvim.close()
        except (OSError, EOFError):
            pass


def start(launch: list[Editor], env: dict[str, str], mp: pytest.MonkeyPatch, *args: str) -> Editor:
    for key, value in env.items():
        mp.setenv(key, value)
    argv = [nvim_bin(), "--embed", "--headless", *EDITOR_ARGS, *args]
    editor = Editor(pynvim.attach("child", argv=argv))
    launch.append(editor)
    return editor


# Section: g:kernel_state


def test_state_is_a_dict_whose_text_is_kernel_status(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    name = kernel.path.stem
    assert editor.nvim.vars["kernel_state"] == {
        "state": "idle",
        "name": name,
        "buffer": f"kernel://{kernel.path.name}",
        "busy": "",
        "text": f"{name} idle",
    }
    editor.nvim.exec_lua(
        "vim.g.kernel_seen = {} vim.api.nvim_create_autocmd('User', {pattern ="
        " 'KernelStatusChanged', callback = function() local s = vim.g.kernel_seen"
        " table.insert(s, vim.g.kernel_state) vim.g.kernel_seen = s end})"
    )
    editor.nvim.command("KernelExec import time; time.sleep(0.3)")
    wait_for(lambda: editor.status() == f"{name} busy", what="busy")
    busy = editor.nvim.vars["kernel_state"]
    assert (busy["state"], busy["busy"]) == ("busy", "ours")
    wait_for(lambda: editor.status() == f"{name} idle", what="idle again")
    seen = editor.nvim.vars["kernel_seen"]
    assert [s["state"] for s in seen][-2:] == ["busy", "idle"]


def test_completion_reads_the_state_never_the_status_text(editor: Editor) -> None:
    def findstart(state: str, text: str) -> int:
        editor.nvim.vars["kernel_state"] = {"state": state, "name": "kernel-1", "buffer": "",
                                            "busy": "", "text": text}  # fmt: skip
        return int(editor.nvim.call("kernel#complete", 1, ""))

    assert findstart("busy", "kernel-1 idle") == -3  # a busy kernel is not asked
    assert findstart("idle", "kernel-1 busy") == -2  # asked; the answer comes later


def test_send_while_the_state_says_disconnected_is_refused_in_the_editor(editor: Editor) -> None:
    editor.nvim.vars["kernel_state"] = {"state": "disconnected", "name": "", "buffer": "",
                                        "busy": "", "text": "kernel-1 idle"}  # fmt: skip
    editor.set_lines(["print(1)"])
    editor.feed("\\l")
    editor.wait_message("[kernel] not connected: use :KernelConnect first")


# Section: connecting


def test_connect_is_connecting_before_the_command_returns(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.command(f"KernelConnect {kernel.fragment} | let g:seen = g:kernel_state.state")
    assert editor.nvim.vars["seen"] == "connecting"
    assert editor.status() in ("connecting", f"{kernel.path.stem} connecting",
                               f"{kernel.path.stem} idle")  # fmt: skip
    wait_for(lambda: editor.status() == f"{kernel.path.stem} idle", what="idle")


def test_connect_takes_a_bar_and_the_exec_after_it_runs(editor: Editor, kernel: Kernel) -> None:
    # Sent while connecting: the editor lets it through, the host holds it until the handshake.
    editor.nvim.command(f"KernelConnect {kernel.fragment} | KernelExec print(6 * 7, 'bar')")
    editor.wait_output("42 bar")
    assert not [line for line in kernel_lines(editor) if "not connected" in line]


def test_startup_commands_connect_then_exec(
    launch: list[Editor],
    manifest: Path,
    home: Path,
    runtime_dir: Path,
    kernel: Kernel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = tmp_path / "file.py"
    source.write_text("print(1)\n")
    env = editor_env(home, runtime_dir, manifest)
    editor = start(launch, env, monkeypatch, str(source), f"+KernelConnect {kernel.fragment}",
                   "+KernelExec print('from', 'startup')")  # fmt: skip
    editor.wait_output("from startup")
    assert not [line for line in kernel_lines(editor) if "not connected" in line]


def test_a_bar_in_a_path_is_escaped_as_for_edit(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    folder = tmp_path / "a|b"
    folder.mkdir(mode=0o700)
    copy = folder / kernel.path.name
    shutil.copy(kernel.path, copy)
    copy.chmod(0o600)
    escaped = str(copy).replace("|", "\\|")
    editor.nvim.command(f"KernelConnect {escaped} | let g:after = 1")
    assert editor.nvim.vars["after"] == 1
    editor.wait_message(f"[kernel] Connected to {kernel.path.name}")


def test_disconnect_is_disconnected_before_the_command_returns(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelDisconnect | let g:seen = [g:kernel_state.state, KernelStatus()]")
    assert editor.nvim.vars["seen"] == ["disconnected", "disconnected"]
    settle(editor)
    assert editor.nvim.vars["kernel_state"]["state"] == "disconnected"
    editor.nvim.command("KernelExec print(1)")
    editor.wait_message("[kernel] not connected: use :KernelConnect first")


def test_connect_to_a_missing_file_ends_disconnected_every_time(editor: Editor) -> None:
    # The editor said `connecting` on its own: the host must answer with its state even when,
    # as far as it knows, the state has not changed since it last sent it.
    said = "no connection file matches 'nosuchkernel'"
    for attempt in (1, 2):
        editor.nvim.command("KernelConnect nosuchkernel")
        wait_for(lambda n=attempt: editor.messages().count(said) == n, what=f"message {attempt}")
        settle(editor)
        wait_for(lambda: editor.status() == "disconnected", what="disconnected again")
        assert editor.nvim.vars["kernel_state"]["state"] == "disconnected"


# Section: the host check


def test_lua_calls_check_the_host_first(
    launch: list[Editor],
    home: Path,
    runtime_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = tmp_path / "rplugin.vim"
    empty.write_text("")
    editor = start(launch, editor_env(home, runtime_dir, empty), monkeypatch)
    editor.nvim.exec_lua("require('kernel.rpc').notify('resend')")
    editor.nvim.command("KernelClear")
    wait_for(lambda: len(kernel_lines(editor)) == 2, what="two messages")
    assert all("the remote plugin is not registered" in line for line in kernel_lines(editor))
    assert "Error" not in editor.messages()


# Section: messages


def test_a_long_message_fits_one_line_and_keeps_its_full_text(
    editor: Editor, kernel: Kernel
) -> None:
    editor.nvim.ui_attach(40, 12, rgb=True)
    fragment = "x" * 60
    editor.nvim.command(f"KernelConnect {fragment}")  # the host's message
    editor.nvim.command("KernelDisconnect | KernelExec 1")  # the editor's, 47 characters

    def shown() -> bool:
        assert not editor.nvim.api.get_mode()["blocking"], "a hit-enter prompt"
        return "[kernel] not connected: use :KernelConnect first" in editor.messages()

    wait_for(shown, what="the editor's message")
    wait_for(lambda: f"no connection file matches '{fragment}' in " in editor.messages(),
             what="the host's message in full")  # fmt: skip
    assert not editor.nvim.api.get_mode()["blocking"]
    assert editor.responsive() < 0.5
