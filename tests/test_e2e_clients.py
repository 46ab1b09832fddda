"""End to end: the kernel is shared with other clients, as with a qtconsole beside Neovim."""

from __future__ import annotations

from conftest import Editor, Kernel, wait_for


def test_other_clients_code_and_output_appear_labelled_with_no_key_pressed(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('ours')")
    editor.wait_output("ours")
    console = kernel.client()
    try:
        console.execute_interactive("print('from the console')", timeout=30)
    finally:
        console.stop_channels()
    text = editor.wait_output("from the console")
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if "print('from the console')" in line)
    assert lines[header].startswith("[other] In [")
    assert lines[header + 1] == "from the console"
    assert not any(line.startswith("[other]") and "ours" in line for line in lines)


def test_other_clients_output_is_hidden_when_asked(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.command("let g:kernel_show_other_output = 0")
    editor.connect(kernel)
    console = kernel.client()
    try:
        console.execute_interactive("print('hidden from neovim')", timeout=30)
    finally:
        console.stop_channels()
    editor.nvim.command("KernelExec print('after the console')")
    text = editor.wait_output("after the console")
    wait_for(lambda: editor.status().endswith("idle"), what="idle")
    assert "hidden from neovim" not in text
