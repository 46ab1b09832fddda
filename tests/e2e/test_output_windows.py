"""End to end: the output window, one per tab, and the output buffer, whose text is never sent.

Keys go in through nvim_input, as a user types them, several at once where a user types faster
than the host answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import Editor, Kernel, start_kernel, wait_for

# Section: helpers


def settle(editor: Editor) -> None:
    """Wait until the host has handled every call made before: a request queues behind them."""
    editor.nvim.call("KernelRpcSync", "complete_connection", {}, "")


def output_windows(editor: Editor, tab: Any = None) -> list[str]:
    """The buffer names of the output windows of a tab (the current one by default)."""
    tab = tab or editor.nvim.current.tabpage
    return [w.buffer.name for w in tab.windows if w.buffer.name.startswith("kernel://")]


def current_name(editor: Editor) -> str:
    return str(editor.nvim.current.buffer.name)


def kernel_lines(editor: Editor) -> list[str]:
    return [line for line in editor.messages().splitlines() if "[kernel]" in line]


def send_and_wait(editor: Editor, code: str, printed: str) -> None:
    editor.nvim.command(f"KernelExec {code}")
    editor.wait_output(printed)
    wait_for(lambda: editor.status().endswith("idle"), what="idle")


# Section: output text is never executed


def test_send_keys_in_the_output_buffer_say_so_once_each_and_send_nothing(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    send_and_wait(editor, "print('1 +' + ' 1')", "1 + 1")
    editor.nvim.command("KernelOutput")
    assert current_name(editor).startswith("kernel://")
    before_output = editor.output()
    before = len(kernel_lines(editor))
    editor.feed("gg\\l")
    editor.feed("\\c")
    editor.feed("\\x")
    editor.feed("\\sip")
    editor.feed("Vj\\s")
    editor.nvim.command("%KernelSend")
    editor.nvim.command("KernelSendCell")
    wait_for(lambda: len(kernel_lines(editor)) - before >= 7, what="seven messages")
    settle(editor)
    added = kernel_lines(editor)[before:]
    assert added == ["[kernel] not sent: this buffer is the kernel's output, not code"] * 7
    assert editor.output() == before_output
    assert current_name(editor).startswith("kernel://")


def test_a_history_buffer_still_sends(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    send_and_wait(editor, "print('from' + ' history')", "from history")
    editor.nvim.command("KernelHistory 1")
    wait_for(lambda: current_name(editor).startswith("kernel-history://"), what="history")
    editor.feed("G\\l")
    wait_for(lambda: editor.output_text().count("from history") == 2, what="sent again")


# Section: one output window per tab


def test_the_output_window_switches_to_the_kernel_linked_now_in_every_tab(
    editor: Editor, kernel: Kernel, runtime_dir: Path, home: Path
) -> None:
    other = start_kernel(runtime_dir, home)
    try:
        editor.connect(kernel)
        send_and_wait(editor, "print('in' + ' A')", "in A")
        first_tab = editor.nvim.current.tabpage
        editor.nvim.command("tabnew")
        editor.nvim.command("KernelOutput!")
        assert output_windows(editor) == [f"kernel://{kernel.path.name}"]
        assert not current_name(editor).startswith("kernel://")

        editor.connect(other)
        b = f"kernel://{other.path.name}"
        wait_for(lambda: output_windows(editor) == [b], what="this tab's window on B")
        wait_for(lambda: output_windows(editor, first_tab) == [b], what="the first tab's on B")
        editor.nvim.command("KernelExec print('in' + ' B')")
        wait_for(lambda: "in B" in "\n".join(editor.nvim.exec_lua(
            "return vim.api.nvim_buf_get_lines(vim.fn.bufnr(...), 0, -1, false)", b)),
            what="B's output")  # fmt: skip
        settle(editor)
        assert output_windows(editor) == [b]
        assert len(editor.nvim.current.tabpage.windows) == 2
        assert output_windows(editor, first_tab) == [b]
        assert len(first_tab.windows) == 2
    finally:
        other.kill()


def test_q_in_the_output_window_closes_it(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    source = editor.nvim.current.window
    send_and_wait(editor, "print('q' * 3)", "qqq")
    editor.nvim.command("KernelOutput")
    editor.feed("q")
    wait_for(lambda: len(editor.nvim.current.tabpage.windows) == 1, what="the window closed")
    assert editor.nvim.current.window == source


def test_output_bang_toggles_the_window_and_leaves_the_cursor(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    source = editor.nvim.current.window
    editor.nvim.command("KernelOutput! | let g:windows = winnr('$')")
    assert editor.nvim.vars["windows"] == 2
    assert output_windows(editor) == [f"kernel://{kernel.path.name}"]
    assert editor.nvim.current.window == source
    editor.nvim.command("KernelOutput! | let g:windows = winnr('$')")
    assert editor.nvim.vars["windows"] == 1
    assert editor.nvim.current.window == source


def test_output_then_q_typed_at_once_closes_the_output_window(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.set_lines(["print('typed' + ' fast')"])
    editor.feed("\\l")
    editor.wait_output("typed fast")
    source = editor.nvim.current.buffer
    editor.feed(":KernelOutput\r:q\r")
    wait_for(lambda: len(editor.nvim.current.tabpage.windows) == 1, what="one window left")
    settle(editor)
    assert len(editor.nvim.current.tabpage.windows) == 1
    assert editor.nvim.current.buffer == source


def test_output_opens_the_buffer_of_the_kernel_when_nothing_was_sent_yet(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelOutput")
    assert current_name(editor) == f"kernel://{kernel.path.name}"


def test_output_before_any_connect_says_so(editor: Editor) -> None:
    editor.nvim.command("KernelOutput")
    editor.wait_message("[kernel] no output yet: use :KernelConnect first")
    assert len(editor.nvim.current.tabpage.windows) == 1


# Section: g:kernel_output_open


def test_output_open_never_leaves_the_window_closed(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.vars["kernel_output_open"] = "never"
    editor.connect(kernel)
    send_and_wait(editor, "print('never' + ' shown')", "never shown")
    settle(editor)
    assert output_windows(editor) == []


def test_output_open_error_opens_the_window_only_on_an_error(
    editor: Editor, kernel: Kernel
) -> None:
    editor.nvim.vars["kernel_output_open"] = "error"
    editor.connect(kernel)
    send_and_wait(editor, "print('no' + ' error')", "no error")
    settle(editor)
    assert output_windows(editor) == []
    editor.nvim.command("KernelExec 1 / 0")
    wait_for(lambda: output_windows(editor), what="the window, for the error")
    assert "ZeroDivisionError" in editor.output_text()
    assert not current_name(editor).startswith("kernel://")


# Section: :KernelClear


def test_clear_empties_the_buffer_before_the_command_returns(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    send_and_wait(editor, "print('to' + ' clear')", "to clear")
    name = f"kernel://{kernel.path.name}"
    editor.nvim.command(f"KernelClear | let g:lines = getbufline(bufnr('{name}'), 1, '$')")
    assert editor.nvim.vars["lines"] == [""]
    settle(editor)
    assert editor.output() == [""]
    send_and_wait(editor, "print('after' + ' clear')", "after clear")
    assert "to clear" not in editor.output_text()
