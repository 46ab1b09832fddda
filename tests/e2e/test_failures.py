"""End to end: bad input gets one clear `[kernel]` message, and nothing hangs.

Every test here checks the exact text the user reads, that it is the only `[kernel]` line the
mistake added, that no traceback reached `:messages`, and that the editor still answers.
"""

from __future__ import annotations

import functools
import json
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pynvim
import pytest

from conftest import EDITOR_ARGS, PYTHON, Editor, Kernel, editor_env, nvim_bin, wait_for

# Section: helpers


def kernel_lines(editor: Editor) -> list[str]:
    return [line for line in editor.messages().splitlines() if "[kernel]" in line]


def settle(editor: Editor) -> None:
    """Wait until the host has handled every command sent before: a request queues behind them."""
    editor.nvim.call("KernelRpcSync", "complete_connection", {}, "")


def assert_no_traceback(editor: Editor) -> None:
    messages = editor.messages()
    assert "Traceback" not in messages
    assert "Error detected while processing" not in messages


def expect_one_message(
    editor: Editor,
    action: Callable[[], None],
    text: str,
    timeout: float = 15.0,
    host: bool = True,
) -> str:
    """Do `action`; return the one `[kernel]` line it added, which must contain `text`."""
    before = len(kernel_lines(editor))

    def added() -> list[str]:
        return kernel_lines(editor)[before:]

    action()
    wait_for(lambda: any(text in line for line in added()), timeout, repr(text))
    if host:
        settle(editor)
    assert len(added()) == 1, added()
    assert_no_traceback(editor)
    assert editor.responsive() < 1.0
    return added()[0]


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on: bound by the OS for us, then released."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture
def make_file(runtime_dir: Path) -> Iterator[Callable[[str, str], Path]]:
    """Write `kernel-<fragment>.json` files into the runtime dir; all are deleted afterwards."""
    made: list[Path] = []

    def make(fragment: str, text: str) -> Path:
        path = runtime_dir / f"kernel-{fragment}.json"
        path.write_text(text)
        path.chmod(0o600)
        made.append(path)
        return path

    yield make
    for path in made:
        path.unlink(missing_ok=True)


def unique(word: str) -> str:
    return f"{word}-{uuid.uuid4().hex[:8]}"


def real_info(kernel: Kernel) -> dict[str, object]:
    return dict(json.loads(kernel.path.read_text()))


def start_editor(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Editor:
    # pynvim starts the child with this process's environment.
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nvim = pynvim.attach("child", argv=[nvim_bin(), "--embed", "--headless", *EDITOR_ARGS])
    return Editor(nvim)


def stop_editor(editor: Editor) -> None:
    try:
        editor.nvim.command("qa!", async_=True)
        editor.nvim.close()
    except (OSError, EOFError):  # the editor is already gone
        pass


# Section: finding the connection file


def test_unknown_fragment_says_no_file_matches(editor: Editor) -> None:
    line = expect_one_message(
        editor,
        lambda: editor.nvim.command("KernelConnect nosuchid"),
        "no connection file matches 'nosuchid'",
    )
    assert line.startswith("[kernel] no connection file matches 'nosuchid' in ")
    assert editor.status() == "disconnected"


def test_ambiguous_fragment_lists_every_match(
    editor: Editor, kernel: Kernel, make_file: Callable[[str, str], Path]
) -> None:
    text = kernel.path.read_text()
    make_file("77001", text)
    make_file("77002", text)
    line = expect_one_message(
        editor,
        lambda: editor.nvim.command("KernelConnect 7700"),
        "'7700' matches 2 connection files: ",
    )
    assert "kernel-77001.json" in line and "kernel-77002.json" in line
    assert editor.status() == "disconnected"


# Section: reading the connection file


def test_file_that_is_not_json_is_refused(
    editor: Editor, make_file: Callable[[str, str], Path]
) -> None:
    fragment = unique("notjson")
    make_file(fragment, '{"shell_port": 1,\n  oops')
    line = expect_one_message(
        editor,
        lambda: editor.nvim.command(f"KernelConnect {fragment}"),
        "is not a connection file",
    )
    name = f"kernel-{fragment}.json"
    assert line == f"[kernel] {name} is not a connection file: not valid JSON (line 2)"
    assert editor.status() == "disconnected"


def test_file_missing_keys_names_them(
    editor: Editor, kernel: Kernel, make_file: Callable[[str, str], Path]
) -> None:
    info = real_info(kernel)
    del info["hb_port"], info["key"]
    fragment = unique("missing")
    make_file(fragment, json.dumps(info))
    line = expect_one_message(
        editor,
        lambda: editor.nvim.command(f"KernelConnect {fragment}"),
        "is not a connection file",
    )
    assert line == f"[kernel] kernel-{fragment}.json is not a connection file: missing hb_port, key"
    assert editor.status() == "disconnected"


def test_file_with_empty_key_is_refused_naming_the_opt_in(
    editor: Editor, kernel: Kernel, make_file: Callable[[str, str], Path]
) -> None:
    fragment = unique("unsigned")
    make_file(fragment, json.dumps({**real_info(kernel), "key": ""}))
    line = expect_one_message(
        editor,
        lambda: editor.nvim.command(f"KernelConnect {fragment}"),
        "has an empty key",
    )
    assert line == (
        f"[kernel] kernel-{fragment}.json has an empty key, so its messages would be unsigned; "
        "set g:kernel_allow_unsigned = 1 to connect anyway"
    )
    assert editor.status() == "disconnected"


# Section: a kernel that does not answer


def test_silent_ports_give_up_after_five_seconds(
    editor: Editor, kernel: Kernel, make_file: Callable[[str, str], Path]
) -> None:
    ports = dict(zip(("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"),
                     free_ports(5)))  # fmt: skip
    fragment = unique("silent")
    make_file(fragment, json.dumps({**real_info(kernel), **ports, "key": uuid.uuid4().hex}))
    before = len(kernel_lines(editor))
    rounds: list[float] = []

    def gave_up() -> bool:
        rounds.append(editor.responsive())
        return any("did not answer" in line for line in kernel_lines(editor)[before:])

    editor.nvim.command(f"KernelConnect {fragment}")
    wait_for(lambda: editor.status() == f"kernel-{fragment} connecting", 5, "connecting")
    wait_for(gave_up, 10, "the handshake to time out")
    settle(editor)
    added = kernel_lines(editor)[before:]
    assert added == [f"[kernel] kernel-{fragment}.json did not answer within 5 s; not connected"]
    assert editor.status() == "disconnected"
    assert len(rounds) > 50, "the wait was not observed"
    assert max(rounds) < 1.0
    assert_no_traceback(editor)


# Section: sending without a kernel or without code


def test_exec_while_disconnected_says_connect_first(editor: Editor) -> None:
    line = expect_one_message(
        editor, lambda: editor.nvim.command("KernelExec 1"), "not connected", host=False
    )
    assert line == "[kernel] not connected: use :KernelConnect first"


def test_send_line_key_while_disconnected_says_connect_first(editor: Editor) -> None:
    editor.set_lines(["print(1)"])
    line = expect_one_message(editor, lambda: editor.feed("\\l"), "not connected", host=False)
    assert line == "[kernel] not connected: use :KernelConnect first"
    assert editor.output() == []


def test_send_on_blank_line_says_nothing_to_send(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["print(1)", "   ", "print(2)"])
    editor.nvim.current.window.cursor = (2, 0)
    line = expect_one_message(editor, lambda: editor.nvim.command("KernelSend"), "nothing to send")
    assert line == "[kernel] nothing to send: the selection is empty"
    assert editor.status() == f"kernel-{kernel.fragment} idle"
    assert editor.output_text() == ""


def test_send_cell_on_empty_cell_says_nothing_to_send(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["# %%", "print(1)", "# %%", "# %%", "print(2)"])
    editor.nvim.current.window.cursor = (3, 0)
    line = expect_one_message(
        editor, lambda: editor.nvim.command("KernelSendCell"), "nothing to send"
    )
    assert line == "[kernel] nothing to send: the cell is empty"
    assert editor.output_text() == ""


# Section: the key stays secret


@pytest.fixture
def logged_editor(
    manifest: Path,
    home: Path,
    runtime_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Editor, Path]]:
    """An editor whose Python host logs everything at DEBUG under the returned prefix."""
    prefix = tmp_path / "log"
    env = editor_env(home, runtime_dir, manifest)
    env.update(NVIM_PYTHON_LOG_FILE=str(prefix), NVIM_PYTHON_LOG_LEVEL="DEBUG")
    editor = start_editor(env, monkeypatch)
    yield editor, prefix
    stop_editor(editor)


def all_buffer_text(editor: Editor) -> str:
    return str(
        editor.nvim.exec_lua(
            "local out = {} for _, b in ipairs(vim.api.nvim_list_bufs()) do"
            " out[#out + 1] = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\\n')"
            " end return table.concat(out, '\\n')"
        )
    )


def test_connection_key_never_reaches_messages_buffers_or_log(
    logged_editor: tuple[Editor, Path],
    kernel: Kernel,
    make_file: Callable[[str, str], Path],
) -> None:
    editor, prefix = logged_editor
    info = real_info(kernel)
    key = str(info["key"])
    assert len(key) >= 16
    # Files that hold the key but fail: their messages, and the traceback the host logs when
    # the sockets cannot be opened, must not quote it.
    files = {
        unique("truncated"): (json.dumps(info)[:-20], "not valid JSON"),
        unique("keyport"): (json.dumps({**info, "shell_port": key}), "bad shell_port"),
        unique("keytransport"): (json.dumps({**info, "transport": key}), "transport"),
    }
    for fragment, (text, expected) in files.items():
        make_file(fragment, text)
        connect = functools.partial(editor.nvim.command, f"KernelConnect {fragment}")
        expect_one_message(editor, connect, expected)
    bad_ip = unique("badip")  # also warned about as a remote address, so two messages
    make_file(bad_ip, json.dumps({**info, "ip": "bad host!"}))
    editor.nvim.command(f"KernelConnect {bad_ip}")
    editor.wait_message(f"[kernel] cannot talk to kernel-{bad_ip}.json: ")
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('secret check')")
    wait_for(lambda: "secret check" in all_buffer_text(editor), what="the output")
    settle(editor)

    logs = sorted(prefix.parent.glob(prefix.name + "*"))
    log_text = "".join(p.read_text(errors="replace") for p in logs)
    assert "kernel.nvim: cannot open sockets" in log_text, "the host's log was not written"
    assert key not in log_text
    assert key not in editor.messages()
    assert key not in all_buffer_text(editor)
    assert key not in str(editor.nvim.vars.get("kernel_status"))


# Section: a broken installation


def test_unregistered_remote_plugin_says_run_update_remote_plugins(
    home: Path, runtime_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "rplugin.vim"
    empty.write_text("")
    editor = start_editor(editor_env(home, runtime_dir, empty), monkeypatch)
    try:
        line = expect_one_message(
            editor, lambda: editor.nvim.command("KernelConnect x"), "not registered", host=False
        )
        assert line == (
            "[kernel] the remote plugin is not registered: run :UpdateRemotePlugins, "
            "then restart Neovim"
        )
        assert editor.status() == "disconnected"
    finally:
        stop_editor(editor)


def test_missing_package_names_the_package_and_pip(
    manifest: Path,
    home: Path,
    runtime_dir: Path,
    kernel: Kernel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shadow = tmp_path / "shadow"
    (shadow / "jupyter_core").mkdir(parents=True)
    (shadow / "jupyter_core" / "__init__.py").write_text(
        "raise ImportError(\"No module named 'jupyter_core'\", name='jupyter_core')\n"
    )
    wrapper = tmp_path / "python3"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={shadow} exec {PYTHON} "$@"\n')
    wrapper.chmod(0o755)
    env = editor_env(home, runtime_dir, manifest)
    env["KERNEL_TEST_PYTHON"] = str(wrapper)
    editor = start_editor(env, monkeypatch)
    try:
        line = expect_one_message(
            editor,
            lambda: editor.nvim.command(f"KernelConnect {kernel.fragment}"),
            "python package missing",
            timeout=30,
        )
        assert line.startswith("[kernel] python package missing: jupyter_core (run: ")
        assert "pip install" in line
        assert editor.status() == "disconnected"
    finally:
        stop_editor(editor)
