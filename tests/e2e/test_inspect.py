"""End to end: K shows what the kernel knows about a name; <C-x><C-o> completes from the kernel.

Both answer some time after the key press, so the tests wait for the float or the popup menu.
"""

from __future__ import annotations

from typing import Any

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for


def floats(editor: Editor) -> list[Any]:
    return [w for w in editor.nvim.api.list_wins() if editor.nvim.api.win_get_config(w)["relative"]]


def float_lines(editor: Editor) -> list[str]:
    (win,) = wait_for(lambda: floats(editor), what="the inspect float")
    return list(editor.nvim.api.win_get_buf(win)[:])


def float_highlights(editor: Editor) -> list[Any]:
    (win,) = floats(editor)
    buf = editor.nvim.api.win_get_buf(win)
    ns = editor.nvim.api.create_namespace("kernel_output")
    return list(editor.nvim.api.buf_get_extmarks(buf, ns, 0, -1, {"details": True}))


def connect_in_python_buffer(editor: Editor, kernel: Kernel, lines: list[str]) -> None:
    editor.set_lines(lines)
    editor.connect(kernel)


def keep_kernel_busy(editor: Editor, seconds: float) -> None:
    editor.nvim.command(f"KernelExec import time; time.sleep({seconds})")
    editor.wait_state("busy")


# Section: inspect


def test_k_shows_the_kernels_help_for_the_name_under_the_cursor(
    editor: Editor, kernel: Kernel
) -> None:
    connect_in_python_buffer(editor, kernel, ["n = len([1, 2])"])
    editor.feed("0fl")  # on `len`
    editor.feed("K")
    lines = float_lines(editor)
    text = "\n".join(lines)
    assert "Signature: len(obj, /)" in text
    assert "\x1b" not in text  # ANSI escapes became highlights
    assert any(mark[3]["hl_group"].startswith("KernelAnsi") for mark in float_highlights(editor))


def test_the_float_closes_when_the_cursor_moves(editor: Editor, kernel: Kernel) -> None:
    connect_in_python_buffer(editor, kernel, ["print(1)", "x = 2"])
    editor.feed("ggK")
    float_lines(editor)
    editor.feed("j")
    wait_for(lambda: not floats(editor), what="the float closed")


def test_the_command_inspects_an_expression(editor: Editor, kernel: Kernel) -> None:
    connect_in_python_buffer(editor, kernel, [""])
    editor.nvim.command("KernelExec import os")
    editor.nvim.command("KernelInspect os.path.join")
    assert any("Signature: os.path.join(" in line for line in float_lines(editor))


def test_k_on_a_selection_inspects_the_selected_expression(editor: Editor, kernel: Kernel) -> None:
    connect_in_python_buffer(editor, kernel, ["os.path.join('a', 'b')"])
    editor.nvim.command("KernelExec import os")
    editor.feed("0vt(K")  # `os.path.join`: the cursor alone would give `os`
    assert any("Signature: os.path.join(" in line for line in float_lines(editor))


def test_k_on_an_empty_line_says_so_once(editor: Editor, kernel: Kernel) -> None:
    connect_in_python_buffer(editor, kernel, ["", "x"])
    editor.feed("ggK")
    editor.wait_message("[kernel] nothing to inspect here")
    assert editor.messages().count("[kernel]") == 2  # connected, and this
    assert not floats(editor)


def test_k_while_the_kernel_is_busy_shows_no_float_then_or_later_but_says_why(
    editor: Editor, kernel: Kernel
) -> None:
    connect_in_python_buffer(editor, kernel, ["print"])
    keep_kernel_busy(editor, 2.5)
    editor.feed("K")
    assert editor.responsive() < 1.0
    editor.wait_message(f"[kernel] kernel-{kernel.fragment} did not answer the inspect request "
                        "(K) within 2 s: it is busy")  # fmt: skip
    editor.wait_state("idle")
    # The inspect reply comes before this execution's reply: once it is over, it was handled.
    editor.nvim.command("KernelExec print('after')")
    editor.wait_output("after")
    editor.wait_state("idle")
    assert not floats(editor)
    assert "Traceback" not in editor.messages()


def test_users_own_k_map_is_left_alone(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.command("nnoremap K <Cmd>let g:my_k = 1<CR>")
    connect_in_python_buffer(editor, kernel, ["print"])
    editor.feed("K")
    wait_for(lambda: editor.nvim.vars.get("my_k") == 1, what="the user's K")
    assert editor.nvim.call("maparg", "K", "n") == "<Cmd>let g:my_k = 1<CR>"


# Section: completion


def popup_words(editor: Editor) -> list[str]:
    info = editor.nvim.call("complete_info", ["items", "pum_visible"])
    return [item["word"] for item in info["items"]] if info["pum_visible"] else []


def test_omni_completion_offers_the_kernels_matches_with_their_types(
    editor: Editor, kernel: Kernel
) -> None:
    connect_in_python_buffer(editor, kernel, ["os.pa"])
    assert editor.nvim.current.buffer.options["omnifunc"] == "kernel#complete"
    editor.nvim.command("KernelExec import os; print('import' + 'ed')")  # not in the header
    editor.wait_output("imported")
    editor.wait_state("idle")
    editor.feed("A\x18\x0f")  # <C-x><C-o>
    words = wait_for(lambda: popup_words(editor), timeout=30, what="the popup menu")
    assert "path" in words and "pathsep" in words
    items = editor.nvim.call("complete_info", ["items"])["items"]
    assert any(item.get("kind") == "module" for item in items)
    editor.feed("\x1b")


def test_completion_while_the_kernel_is_busy_returns_at_once_and_quietly(
    editor: Editor, kernel: Kernel
) -> None:
    connect_in_python_buffer(editor, kernel, ["pri"])
    keep_kernel_busy(editor, 2)
    before = editor.messages()
    editor.feed("A\x18\x0f")
    assert editor.responsive() < 1.0
    editor.feed("nt(1)\x1b")  # typing goes on
    wait_for(lambda: editor.nvim.current.line == "print(1)", what="typed text")
    assert editor.messages() == before
    editor.wait_state("idle")
