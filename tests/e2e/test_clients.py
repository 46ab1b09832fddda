"""End to end: the kernel is shared with other clients, as with a qtconsole beside Neovim."""

from __future__ import annotations

import re
from pathlib import Path

from support.editor import Editor
from support.kernels import Kernel, owned_kernel, run_in_console
from support.sandbox import wait_for


def test_other_clients_code_and_output_appear_labelled_with_no_key_pressed(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('ours')")
    editor.wait_output("ours")
    run_in_console(kernel, "print('from the console')")
    # The code itself contains the text: wait for the output line, not the header.
    lines = wait_for(
        lambda: "from the console" in editor.output() and editor.output(), what="console output"
    )
    header = next(i for i, line in enumerate(lines) if "print('from the console')" in line)
    assert lines[header].startswith("[other] In [")
    assert lines[header + 1] == "from the console"
    assert not any(line.startswith("[other]") and "ours" in line for line in lines)


def test_other_clients_output_is_hidden_when_asked(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.command("let g:kernel_show_other_output = 0")
    editor.connect(kernel)
    run_in_console(kernel, "print('hidden from neovim')")
    editor.nvim.command("KernelExec print('after the console')")
    text = editor.wait_output("after the console")
    editor.wait_state("idle")
    assert "hidden from neovim" not in text


def test_input_is_answered_from_neovim_and_shown_like_a_console(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec name = input('name? '); print('hello', name)")
    editor.wait_prompt()
    editor.feed("Ada<CR>")
    text = editor.wait_output("hello Ada")
    assert "name? Ada" in text.splitlines()


def test_getpass_answer_never_reaches_a_buffer_or_messages(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec import getpass; print(len(getpass.getpass('secret? ')))")
    editor.wait_prompt()
    editor.feed("hunter2<CR>")
    editor.wait_output("\n7")
    buffers = "\n".join("\n".join(b[:]) for b in editor.nvim.buffers)
    assert "hunter2" not in buffers and "hunter2" not in editor.messages()
    assert "secret? " in editor.output()


def test_cancelled_input_gives_the_kernel_an_empty_answer(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec print(repr(input('name? ')))")
    editor.wait_prompt()
    editor.feed("<Esc>")
    editor.wait_output("''")
    editor.wait_state("idle")


def test_disconnecting_during_input_leaves_the_kernel_free(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec input('never answered? ')")
    editor.wait_prompt()
    editor.nvim.command("KernelDisconnect")
    editor.feed("<Esc>")
    reply = run_in_console(kernel, "print('free')")
    assert reply["content"]["status"] == "ok"


def test_a_restart_by_the_kernels_owner_is_noticed_and_the_count_starts_again(
    editor: Editor, runtime_dir: Path, home: Path
) -> None:
    with owned_kernel(runtime_dir, home, "owned") as kernel:
        editor.connect(kernel)
        editor.nvim.command("KernelExec x = 1")
        editor.nvim.command("KernelExec print(x)")
        wait_for(lambda: "In [2]: print(x)" in editor.output(), what="second execution")
        kernel.manager.restart_kernel(now=False)
        editor.wait_message("restarted: its variables are gone")
        editor.wait_state("restarted")
        assert "[kernel restarted]" in editor.output()
        editor.nvim.command("KernelExec print('x' in globals())")
        wait_for(lambda: "In [1]: print('x' in globals())" in editor.output(), what="count 1")
        editor.wait_output("False")
        editor.wait_state("idle")


def test_history_lists_every_clients_inputs_as_cells_that_can_be_sent_again(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec hist_a = 40")
    run_in_console(kernel, "hist_b = 2")
    editor.nvim.command("KernelHistory 5")
    wait_for(
        lambda: editor.nvim.current.buffer.name.startswith("kernel-history://"), what="history"
    )
    lines = list(editor.nvim.current.buffer[:])
    assert "hist_a = 40" in lines and "hist_b = 2" in lines
    assert re.fullmatch(r"# In \[\d+\]:", lines[lines.index("hist_b = 2") - 1])
    assert editor.nvim.current.buffer.options["filetype"] == "python"
    editor.feed(f"{lines.index('hist_a = 40') + 1}G\\c")
    wait_for(
        lambda: sum(line.endswith(": hist_a = 40") for line in editor.output()) == 2,
        what="the entry sent again",
    )
