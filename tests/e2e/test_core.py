"""End to end: connect, send, see output — a real Neovim and a real kernel."""

from __future__ import annotations

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for


def test_connect_by_fragment_reports_the_kernel(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    assert editor.status() == f"kernel-{kernel.fragment} idle"
    editor.wait_message(f"[kernel] Connected to {kernel.path.name} (python 3.")


def test_send_line_shows_input_and_output_under_it(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["print(6 * 7)"])
    editor.nvim.command("KernelSend")
    text = editor.wait_output("42")
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if "print(6 * 7)" in line)
    assert lines[header].startswith("In [")
    assert lines[header + 1] == "42"


def test_exec_sends_quotes_and_bars_intact(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command('KernelExec print("a|b", \'c"d\')')
    editor.wait_output('a|b c"d')


def test_traceback_is_coloured_without_escape_bytes(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec 1/0")
    text = editor.wait_output("ZeroDivisionError: division by zero")
    assert "\x1b" not in text
    groups = editor.nvim.exec_lua(
        "local out = {}"
        " for _, b in ipairs(vim.api.nvim_list_bufs()) do"
        "  if vim.api.nvim_buf_get_name(b):match('^kernel://') then"
        "   for _, m in ipairs(vim.api.nvim_buf_get_extmarks(b, -1, 0, -1, {details = true})) do"
        "    out[#out + 1] = m[4].hl_group end end end return out"
    )
    assert "KernelAnsiRed" in groups


def test_status_turns_busy_then_idle_without_a_key(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.exec_lua(
        "vim.g.kernel_seen = {} vim.api.nvim_create_autocmd('User', {pattern = "
        "'KernelStatusChanged', callback = function() local s = vim.g.kernel_seen"
        " table.insert(s, vim.fn.KernelStatus()) vim.g.kernel_seen = s end})"
    )
    editor.nvim.command("KernelExec import time; time.sleep(0.5)")
    wait_for(lambda: editor.status().endswith("busy"), what="busy")
    wait_for(lambda: editor.status().endswith("idle"), what="idle again")
    seen = editor.nvim.vars["kernel_seen"]
    assert any(s.endswith("busy") for s in seen) and seen[-1].endswith("idle")
