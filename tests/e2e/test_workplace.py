"""End to end: the output buffer as a place to work (`]]`, `[[`, a fold per execution, `yo`) and
results shown inline in the source (g:kernel_inline) — a real Neovim and a real kernel.

Keys go in through nvim_input, as a user types them. Three executions make the output:
    1  In [n]: print('a1')       4  In [n]: print('b1'); print('b2')     8  In [n]: print('c1')
    2  a1                        5  b1                                  9  c1
    3                            6  b2
                                 7
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for

THREE = ["print('a1')", "print('b1'); print('b2')", "print('c1')"]
STARTS = [1, 4, 8]  # the In [n]: lines of the three executions

# Section: helpers


def settle(editor: Editor) -> None:
    """Wait until the host has handled every call made before: a request queues behind them."""
    editor.nvim.call("KernelRpcSync", "complete_connection", {}, "")


def run_three(editor: Editor, kernel: Kernel) -> None:
    """The three executions, each done before the next is sent; then go to the output window."""
    editor.connect(kernel)
    for code, printed in zip(THREE, ["a1", "b2", "c1"]):
        editor.nvim.command(f"KernelExec {code}")
        editor.wait_output(f"\n{printed}")
        editor.wait_state("idle")
    wait_for(lambda: [line[:4] for line in editor.output()].count("In [") == 3, what="3 runs")
    assert editor.output()[8] == "c1" and len(editor.output()) == 9, editor.output()
    editor.nvim.command("KernelOutput")


def line(editor: Editor) -> int:
    return int(editor.nvim.call("line", "."))


def keys_then_line(editor: Editor, keys: str, want: int) -> None:
    editor.feed(keys)
    wait_for(lambda: line(editor) == want, 5, f"line {want} after {keys!r} (at {line(editor)})")
    assert editor.nvim.current.line.startswith("In [")


def inline_marks(editor: Editor, row: int = -1) -> list[Any]:
    """The extmarks of namespace kernel_inline in the current buffer (on 0-based `row`, or all):
    [row, virt_text text or None], [] when the namespace does not exist."""
    return list(editor.nvim.exec_lua(
        "local ns = vim.api.nvim_get_namespaces().kernel_inline"
        " if not ns then return {} end"
        " local row = ... local from, to = 0, -1"
        " if row >= 0 then from, to = {row, 0}, {row, -1} end"
        " local out = {}"
        " for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, from, to, {details = true})) do"
        "  local vt = m[4].virt_text"
        "  out[#out + 1] = {m[2], vt and vt[1][1] or vim.NIL, vt and vt[1][2] or vim.NIL} end"
        " return out",
        row,
    ))  # fmt: skip


def wait_inline(editor: Editor, row: int, text: str) -> list[Any]:
    def shown() -> list[Any]:
        return [m for m in inline_marks(editor, row) if m[1] is not None and text in m[1]]

    return wait_for(shown, what=f"{text!r} inline on row {row}: {inline_marks(editor)!r}")


# Section: ]] and [[


def test_brackets_jump_between_the_in_lines_with_a_count(editor: Editor, kernel: Kernel) -> None:
    run_three(editor, kernel)
    editor.feed("gg")
    keys_then_line(editor, "]]", STARTS[1])
    keys_then_line(editor, "]]", STARTS[2])
    keys_then_line(editor, "]]", STARTS[2])  # no execution after the last: it stays
    keys_then_line(editor, "[[", STARTS[1])
    keys_then_line(editor, "[[", STARTS[0])
    keys_then_line(editor, "2]]", STARTS[2])
    keys_then_line(editor, "G2[[", STARTS[1])  # from the last line: the last start, then this
    keys_then_line(editor, "6G[[", STARTS[1])  # inside an execution: to its own start
    keys_then_line(editor, "9]]", STARTS[2])  # a count past the last: the last there is
    keys_then_line(editor, "\x0f", STARTS[1])  # <C-o>: ]] was a jump
    editor.feed("ggy]]")  # a motion: exclusive, from a line's start to one's, so linewise
    wait_for(lambda: editor.nvim.call("getreg", '"').startswith("In ["), 5, "the yank")
    assert editor.nvim.call("getreg", '"') == "\n".join(editor.output()[:3]) + "\n"
    assert editor.nvim.call("getregtype", '"') == "V"


# Section: folds


def fold_of(editor: Editor, lnum: int) -> tuple[int, int]:
    return (int(editor.nvim.call("foldclosed", lnum)), int(editor.nvim.call("foldclosedend", lnum)))


def test_each_execution_is_a_fold_open_until_zc_closes_it(editor: Editor, kernel: Kernel) -> None:
    run_three(editor, kernel)
    assert [fold_of(editor, n) for n in range(1, 10)] == [(-1, -1)] * 9  # all open
    assert [editor.nvim.call("foldlevel", n) for n in range(1, 10)] == [1] * 9
    editor.feed("5Gzc")
    wait_for(lambda: fold_of(editor, 5) != (-1, -1), 5, "a closed fold")
    # From its In line to the blank line before the next execution.
    assert [fold_of(editor, n) for n in range(1, 10)] == (
        [(-1, -1)] * 3 + [(4, 7)] * 4 + [(-1, -1)] * 2
    )
    editor.feed("zo9Gzc")
    wait_for(lambda: fold_of(editor, 9) == (8, 9), 5, "the last execution's fold closed")
    assert fold_of(editor, 5) == (-1, -1)


def test_the_fold_of_a_running_execution_grows_and_stays_closed(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    editor.connect(kernel)
    editor.set_lines([
        "import os, time",
        "print('before')",
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)",
        "print('after')",
    ])  # fmt: skip
    editor.nvim.command("%KernelSend")
    try:
        editor.wait_output("\nbefore")
        editor.nvim.command("KernelOutput")
        editor.feed("ggzc")
        wait_for(lambda: fold_of(editor, 1)[0] == 1, 5, "the running execution's fold closed")
        assert fold_of(editor, 1)[1] == editor.nvim.call("line", "$")
    finally:
        go.touch()  # the kernel is the module's: it must not be left waiting
    editor.wait_output("\nafter")
    editor.wait_state("idle")
    last = int(editor.nvim.call("line", "$"))
    assert editor.nvim.call("getline", last) == "after"
    assert fold_of(editor, 1) == (1, last)


def test_a_selection_in_the_output_window_outlasts_new_output(
    editor: Editor, kernel: Kernel
) -> None:
    run_three(editor, kernel)
    editor.feed("5GVj")
    wait_for(lambda: editor.nvim.api.get_mode()["mode"] == "V", 5, "Visual mode")
    editor.nvim.command("KernelExec print('d1')")
    editor.wait_output("\nd1")
    editor.wait_state("idle")
    assert editor.nvim.api.get_mode()["mode"] == "V"
    assert (editor.nvim.call("line", "v"), line(editor)) == (5, 6)
    editor.feed("<Esc>")
    wait_for(lambda: editor.nvim.call("foldlevel", 11) == 1, 5, "the fold of the new execution")
    editor.feed("12Gzc")
    wait_for(lambda: fold_of(editor, 12) == (11, 12), 5, "its fold closed")
    assert fold_of(editor, 8) == (-1, -1)
    editor.feed("8Gzc")
    wait_for(lambda: fold_of(editor, 8) == (8, 10), 5, "the one before, with the blank line")


def test_output_while_neovim_asks_for_input_leaves_the_prompt_alone(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('a1')")
    editor.wait_output("\na1")
    editor.wait_state("idle")
    # A thread prints while input() waits: output is written, and folded, under the prompt.
    editor.nvim.command("KernelExec import threading; threading.Timer(0.2, print, ('tick',))"
                        ".start(); print('hello', input('name? '))")  # fmt: skip
    editor.wait_prompt()
    editor.wait_output("\ntick")
    assert editor.nvim.api.get_mode()["mode"] == "c"
    editor.feed("Ada<CR>")
    editor.wait_output("hello Ada")
    editor.wait_state("idle")
    editor.nvim.command("KernelOutput")
    editor.feed("Gzc")
    wait_for(lambda: fold_of(editor, 4) == (4, len(editor.output())), 5, "the fold closed")
    assert fold_of(editor, 1) == (-1, -1)


def test_fold_options_stay_with_the_output_buffer(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.command("set foldmethod=indent")  # the user's, in every window
    run_three(editor, kernel)
    assert editor.nvim.current.window.options["foldmethod"] == "manual"
    editor.nvim.command("enew")  # another buffer in the output window: the user's options
    assert editor.nvim.current.window.options["foldmethod"] == "indent"
    editor.nvim.command("buffer #")  # back: folds again, one per execution
    assert editor.nvim.current.window.options["foldmethod"] == "manual"
    editor.feed("5Gzc")
    wait_for(lambda: fold_of(editor, 5) == (4, 7), 5, "B's fold closed")


# Section: yo


def register(editor: Editor, name: str) -> tuple[str, str]:
    return (str(editor.nvim.call("getreg", name)), str(editor.nvim.call("getregtype", name)))


def test_yo_yanks_the_output_of_the_execution_under_the_cursor(
    editor: Editor, kernel: Kernel
) -> None:
    run_three(editor, kernel)
    editor.nvim.call("setreg", '"', "before", "v")
    editor.feed("5Gyo")
    wait_for(lambda: register(editor, '"')[0] != "before", 5, "the unnamed register")
    assert register(editor, '"') == ("b1\nb2\n", "V")
    assert register(editor, "0") == ("b1\nb2\n", "V")
    editor.feed('7G"ayo')  # the blank line before the next execution is the middle one's
    wait_for(lambda: register(editor, "a")[0], 5, "register a")
    assert register(editor, "a") == ("b1\nb2\n", "V")
    editor.feed('G"byo')
    wait_for(lambda: register(editor, "b")[0], 5, "register b")
    assert register(editor, "b") == ("c1\n", "V")


def test_yo_on_an_execution_without_output_says_so(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec x_workplace = 1")
    editor.wait_output("x_workplace = 1")
    editor.wait_state("idle")
    editor.nvim.command("KernelOutput")
    editor.nvim.call("setreg", '"', "kept", "v")
    editor.feed("yo")
    editor.wait_message("[kernel] no output to yank here")
    assert register(editor, '"') == ("kept", "v")


# Section: g:kernel_inline


def test_inline_shows_the_result_at_the_end_of_the_last_line_sent(
    editor: Editor, kernel: Kernel
) -> None:
    editor.nvim.vars["kernel_inline"] = 1
    editor.connect(kernel)
    editor.set_lines(["1+1", "", "y_workplace = 20", "y_workplace * 2 + 1", "", "# next"])
    editor.feed("\\l")
    assert wait_inline(editor, 0, "2")[0][1:] == ["⇒ 2", "KernelInlineResult"]
    editor.nvim.command("3,5KernelSend")  # the answer goes after the code, not on the blank
    assert wait_inline(editor, 3, "41")[0][1] == "⇒ 41"
    assert [m[0] for m in inline_marks(editor)] == [0, 3]


def test_inline_shows_an_error_by_its_name(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.vars["kernel_inline"] = 1
    editor.connect(kernel)
    editor.set_lines(["1/0"])
    editor.feed("\\l")
    mark = wait_inline(editor, 0, "ZeroDivisionError")[0]
    assert mark[1:] == ["✗ ZeroDivisionError: division by zero", "KernelInlineError"]


def test_sending_the_lines_again_replaces_what_they_show(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.vars["kernel_inline"] = 1
    editor.connect(kernel)
    editor.set_lines(["n_workplace = globals().get('n_workplace', 0) + 1; n_workplace * 100"])
    editor.feed("\\l")
    before = int(wait_inline(editor, 0, "00")[0][1].split()[-1])
    # Cleared as the send happens, before any answer could come.
    shown = editor.nvim.exec_lua(
        "vim.cmd('KernelSend') local ns = vim.api.nvim_get_namespaces().kernel_inline"
        " return vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, {details = true})"
    )
    assert [[m[1], m[3].get("virt_text")] for m in shown] == [[0, None]]  # the anchor, bare
    wait_inline(editor, 0, str(before + 100))
    assert len(inline_marks(editor)) == 1


def test_inline_is_off_by_default(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["1+1"])
    editor.feed("\\l")
    editor.wait_output("Out[")
    editor.wait_state("idle")
    settle(editor)
    assert inline_marks(editor) == []
