"""End to end: an error in code sent from a buffer becomes a quickfix list of buffer lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for

SOURCE = [
    "import math",  # 1
    "",  # 2
    "def f(x):",  # 3
    "    return 1 / x",  # 4
    "",  # 5
    "f(0)",  # 6
]


def quickfix(editor: Editor) -> list[dict[str, Any]]:
    return list(editor.nvim.call("getqflist"))


def send_lines_3_to_6(editor: Editor, kernel: Kernel) -> None:
    editor.set_lines(SOURCE)
    editor.connect(kernel)
    editor.nvim.command("3,6KernelSend")
    editor.wait_output("ZeroDivisionError")


def test_kernel_traceback_lists_the_frames_at_the_buffer_lines_sent(
    editor: Editor, kernel: Kernel
) -> None:
    send_lines_3_to_6(editor, kernel)
    buf = editor.nvim.current.buffer.number
    editor.nvim.command("KernelTraceback")
    items = wait_for(lambda: quickfix(editor), what="the quickfix list")
    assert [(i["bufnr"], i["lnum"]) for i in items] == [(buf, 6), (buf, 4)]
    assert items[-1]["text"].endswith("ZeroDivisionError: division by zero")
    wait_for(lambda: editor.nvim.current.buffer.options["buftype"] == "quickfix", what="copen")


def test_frames_in_real_files_point_at_those_files(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    module = tmp_path / "tbmod.py"
    module.write_text("def boom():\n    raise ValueError('from a file')\n")
    editor.set_lines(
        [f"import sys; sys.path.insert(0, {str(tmp_path)!r})", "import tbmod", "tbmod.boom()"]
    )
    editor.connect(kernel)
    editor.nvim.command("1,3KernelSend")
    editor.wait_output("ValueError: from a file")
    editor.nvim.command("KernelTraceback")
    items = wait_for(lambda: quickfix(editor), what="the quickfix list")
    assert [editor.nvim.call("bufname", i["bufnr"]) for i in items][-1] == str(module)
    assert [i["lnum"] for i in items] == [3, 2]


def test_errors_fill_the_quickfix_list_by_themselves_when_asked(
    editor: Editor, kernel: Kernel
) -> None:
    editor.nvim.command("let g:kernel_error_quickfix = 1")
    send_lines_3_to_6(editor, kernel)
    items = wait_for(lambda: quickfix(editor), what="the quickfix list")
    assert [i["lnum"] for i in items] == [6, 4]
    assert editor.nvim.current.buffer.options["buftype"] == ""  # not opened: focus stays


def test_enter_on_a_traceback_line_jumps_to_the_code(editor: Editor, kernel: Kernel) -> None:
    send_lines_3_to_6(editor, kernel)
    source = editor.nvim.current.buffer.number
    editor.nvim.command("KernelOutput")
    lines = editor.output()
    wait_for(lambda: editor.nvim.current.buffer.name.startswith("kernel://"), what="output focused")
    row = next(i for i, line in enumerate(lines) if "return 1 / x" in line and "--->" in line)
    editor.feed(f"{row + 1}G\r")
    wait_for(lambda: editor.nvim.current.buffer.number == source, what="the source buffer")
    assert editor.nvim.current.window.cursor[0] == 4


def test_enter_on_a_line_that_is_no_frame_says_so(editor: Editor, kernel: Kernel) -> None:
    send_lines_3_to_6(editor, kernel)
    editor.nvim.command("KernelOutput")
    wait_for(lambda: editor.nvim.current.buffer.name.startswith("kernel://"), what="output focused")
    editor.feed("gg\r")
    editor.wait_message("[kernel] no source for this line")


def test_kernel_traceback_before_any_error_says_so(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelTraceback")
    editor.wait_message("[kernel] no traceback from code sent from here yet")
