"""End to end: the ways of sending code (maps, commands, cells) and the output window they fill.

Keys go in through nvim_input, as a user types them; the output buffer is read back whole and
compared line for line, with execution counts replaced by `n` since the kernel is shared.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for

CELLS = [
    "# %%",
    'print("a")',
    "# %%",
    'print("b")',
    'print("c")',
    "# %%",
    'print("d")',
]


def normalized(lines: list[str]) -> list[str]:
    """The output lines with execution counts as `n`; a header still without its count stays
    `In [ ]:`, so waiting for a normalized header also waits for the count."""
    out = []
    for line in lines:
        line = re.sub(r"^In \[\d+\]: ", "In [n]: ", line)
        line = re.sub(r"^ +\.\.\.: ", "   ...: ", line)
        out.append(re.sub(r"^Out\[\d+\]: ", "Out[n]: ", line))
    return out


def wait_lines(editor: Editor, expected: list[str], timeout: float = 15.0) -> None:
    """Wait until the output buffer holds exactly `expected` and the kernel is idle, then check
    that nothing more arrived (a second send of the same code would)."""
    wait_for(lambda: normalized(editor.output()) == expected, timeout, f"output {expected!r}")
    editor.wait_state("idle")
    assert normalized(editor.output()) == expected


def output_window(editor: Editor) -> Any:
    windows = [
        w for w in editor.nvim.current.tabpage.windows if w.buffer.name.startswith("kernel://")
    ]
    assert len(windows) == 1, [w.buffer.name for w in editor.nvim.current.tabpage.windows]
    return windows[0]


def wait_output_window(editor: Editor) -> Any:
    wait_for(lambda: len(editor.nvim.current.tabpage.windows) == 2, what="output window")
    return output_window(editor)


# Section: sending lines


def test_send_line_map_sends_the_current_line(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["print('one')", "print('two')"])
    editor.nvim.current.window.cursor = (2, 0)
    editor.feed("\\l")
    wait_lines(editor, ["In [n]: print('two')", "two"])
    assert editor.nvim.current.window.cursor == (2, 0)


def test_send_line_map_with_count_sends_lines_as_one_execution(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.set_lines(["print('one')", "print('two')", "print('three')", "print('four')"])
    editor.nvim.current.window.cursor = (2, 0)
    editor.feed("3\\l")
    wait_lines(
        editor,
        ["In [n]: print('two')", "   ...: print('three')", "   ...: print('four')",
         "two", "three", "four"],
    )  # fmt: skip


# Section: sending a selection or a motion


def test_visual_line_selection_sends_the_selected_lines(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["print('one')", "print('two')", "print('three')"])
    editor.nvim.current.window.cursor = (2, 0)
    editor.feed("Vj\\s")
    wait_lines(editor, ["In [n]: print('two')", "   ...: print('three')", "two", "three"])


def test_charwise_selection_sends_only_the_selected_text(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["the answer is 6 * 7 (not valid Python as a whole)"])
    editor.feed("0f6v4l\\s")
    wait_lines(editor, ["In [n]: 6 * 7", "Out[n]: 42"])


def test_selection_leaves_unnamed_register_and_clipboard_alone(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    # A clipboard provider of the test's own, recording what reaches the system clipboard.
    editor.nvim.exec_lua(
        "_G.copied = {}"
        " local function copy(lines) table.insert(_G.copied, table.concat(lines, '\\n')) end"
        " local function paste() return {{'clip'}, 'v'} end"
        " vim.g.clipboard = {name = 'test', copy = {['+'] = copy, ['*'] = copy},"
        "  paste = {['+'] = paste, ['*'] = paste}}"
    )
    editor.nvim.command("set clipboard=unnamed")
    editor.nvim.call("setreg", '"', "kept", "v")
    editor.nvim.exec_lua("_G.copied = {}")
    editor.set_lines(["print('sent')"])
    editor.feed("V\\s")
    wait_lines(editor, ["In [n]: print('sent')", "sent"])
    assert editor.nvim.call("getreg", '"') == "kept"
    assert editor.nvim.options["clipboard"] == "unnamed"
    assert editor.nvim.exec_lua("return #_G.copied") == 0  # nothing reached the clipboard


def test_operator_sends_a_paragraph_and_dot_sends_it_again(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(
        [
            "print('other paragraph')",
            "",
            "dots = globals().get('dots', 0) + 1",
            "print('count', dots)",
            "",
            "print('not this one')",
        ]
    )
    editor.nvim.current.window.cursor = (4, 3)
    header = ["In [n]: dots = globals().get('dots', 0) + 1", "   ...: print('count', dots)"]
    editor.feed("\\sip")
    wait_lines(editor, [*header, "count 1"])
    editor.feed(".")
    wait_lines(editor, [*header, "count 1", "", *header, "count 2"])


def test_operator_leaves_the_cursor_where_it_was(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["", "a_value = 6", "print(a_value * 7)", ""])
    editor.nvim.current.window.cursor = (3, 6)
    editor.feed("\\sip")
    wait_lines(editor, ["In [n]: a_value = 6", "   ...: print(a_value * 7)", "42"])
    assert editor.nvim.current.window.cursor == (3, 6)


# Section: cells


def test_send_cell_map_sends_only_the_cell_under_the_cursor(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(CELLS)
    editor.nvim.current.window.cursor = (5, 0)
    editor.feed("\\c")
    wait_lines(editor, ['In [n]: print("b")', '   ...: print("c")', "b", "c"])
    assert editor.nvim.current.window.cursor == (5, 0)


def test_send_cell_map_on_a_marker_sends_the_cell_below(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(CELLS)
    editor.nvim.current.window.cursor = (6, 0)
    editor.feed("\\c")
    wait_lines(editor, ['In [n]: print("d")', "d"])


def test_send_cell_and_next_map_moves_to_the_next_cell(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(CELLS)
    editor.nvim.current.window.cursor = (2, 0)
    editor.feed("\\x")
    wait_for(lambda: editor.nvim.current.window.cursor == (4, 0), what="cursor on line 4")
    wait_lines(editor, ['In [n]: print("a")', "a"])
    editor.feed("\\x")
    wait_for(lambda: editor.nvim.current.window.cursor == (7, 0), what="cursor on line 7")
    wait_lines(
        editor,
        ['In [n]: print("a")', "a", "", 'In [n]: print("b")', '   ...: print("c")', "b", "c"],
    )


def test_cell_range_uses_the_comment_leader_of_the_filetype(editor: Editor) -> None:
    editor.set_lines(
        ["local a = 1", "-- %%", "local b = 2", "# %% not a marker in Lua", "-- %% last", "x()"],
        filetype="lua",
    )
    cell_range = lambda lnum: editor.nvim.call("kernel#cell_range", lnum)  # noqa: E731
    assert cell_range(1) == [1, 1, 3]
    assert cell_range(3) == [3, 4, 6]
    assert cell_range(4) == [3, 4, 6]
    assert cell_range(6) == [6, 6, 0]


def test_cell_range_knows_in_and_codecell_markers(editor: Editor) -> None:
    editor.set_lines(["# In[3]:", "a = 1", "# <codecell>", "b = 2", "#In[ ]:", "c = 3"])
    cell_range = lambda lnum: editor.nvim.call("kernel#cell_range", lnum)  # noqa: E731
    assert cell_range(2) == [2, 2, 4]
    assert cell_range(4) == [4, 4, 6]
    assert cell_range(6) == [6, 6, 0]


def test_buffer_cell_pattern_replaces_the_default_markers(editor: Editor) -> None:
    editor.set_lines(["a = 1", "## split", "b = 2", "# %%", "c = 3"])
    editor.nvim.current.buffer.vars["kernel_cell_pattern"] = "^## "
    cell_range = lambda lnum: editor.nvim.call("kernel#cell_range", lnum)  # noqa: E731
    assert cell_range(1) == [1, 1, 3]
    assert cell_range(5) == [3, 5, 0]


def test_send_cell_without_markers_sends_the_whole_buffer(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["", "print('first')", "", "print('last')", ""])
    editor.nvim.current.window.cursor = (4, 0)
    editor.nvim.command("KernelSendCell")
    wait_lines(
        editor, ["In [n]: print('first')", "   ...: ", "   ...: print('last')", "first", "last"]
    )


# Section: the send command


def test_send_command_with_whole_range_sends_the_file(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["def f():", "    return 6 * 7", "", "print(f())"])
    editor.nvim.command("%KernelSend")
    wait_lines(
        editor,
        ["In [n]: def f():", "   ...:     return 6 * 7", "   ...: ", "   ...: print(f())", "42"],
    )


def test_indented_selection_is_dedented_and_runs(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.set_lines(["def f():", "    x = 6", "    print(x * 7)", "", "f()"])
    editor.nvim.current.window.cursor = (2, 4)
    editor.feed("Vj\\s")
    wait_lines(editor, ["In [n]: x = 6", "   ...: print(x * 7)", "42"])


# Section: default maps


@pytest.fixture
def start_editor(make_editor: Callable[..., Editor]) -> Callable[..., Editor]:
    """An editor given `--cmd` lines, run before plugin/kernel.vim loads."""

    def start(*commands: str) -> Editor:
        return make_editor([arg for command in commands for arg in ("--cmd", command)])

    return start


def test_no_mappings_option_leaves_keys_free(start_editor: Callable[..., Editor]) -> None:
    editor = start_editor("let g:kernel_no_mappings = 1")
    assert editor.nvim.call("exists", "g:loaded_kernel") == 1
    for mode, lhs in [("n", "\\l"), ("x", "\\s"), ("n", "\\s"), ("n", "\\c"), ("n", "\\x")]:
        assert editor.nvim.call("maparg", lhs, mode) == "", (mode, lhs)
    assert "kernel#send_lines" in editor.nvim.call("maparg", "<Plug>(KernelSendLine)", "n")


def test_users_own_mapping_is_kept(start_editor: Callable[..., Editor]) -> None:
    editor = start_editor("nnoremap <LocalLeader>l <Cmd>let g:mine = 1<CR>")
    assert editor.nvim.call("maparg", "\\l", "n") == "<Cmd>let g:mine = 1<CR>"
    assert editor.nvim.call("maparg", "\\c", "n") == "<Plug>(KernelSendCell)"
    editor.feed("\\l")
    wait_for(lambda: editor.nvim.vars.get("mine") == 1, what="the user's map to run")


# Section: the output window


def test_first_send_opens_the_output_beside_and_keeps_the_cursor(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    code_window = editor.nvim.current.window
    assert len(editor.nvim.current.tabpage.windows) == 1
    editor.nvim.command("KernelExec print('hi')")
    window = wait_output_window(editor)
    wait_lines(editor, ["In [n]: print('hi')", "hi"])
    assert editor.nvim.current.window == code_window
    layout = editor.nvim.call("winlayout")
    assert layout == ["row", [["leaf", code_window.handle], ["leaf", window.handle]]]


def test_output_buffer_is_a_scratch_buffer(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('hi')")
    buffer = wait_output_window(editor).buffer
    assert buffer.name == f"kernel://kernel-{kernel.fragment}.json"

    def option(name: str) -> Any:
        return editor.nvim.api.get_option_value(name, {"buf": buffer.handle})

    assert option("buftype") == "nofile"
    assert option("buflisted") is False
    assert option("modifiable") is False
    assert option("swapfile") is False
    assert option("filetype") == "kernel-output"


def test_output_command_focuses_the_output_window(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('hi')")
    window = wait_output_window(editor)
    assert editor.nvim.current.window != window
    editor.nvim.command("KernelOutput")
    wait_for(lambda: editor.nvim.current.window == window, what="output window focused")
    assert len(editor.nvim.current.tabpage.windows) == 2


def test_output_position_below_splits_horizontally(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.vars["kernel_output_position"] = "below"
    editor.connect(kernel)
    code_window = editor.nvim.current.window
    editor.nvim.command("KernelExec print('hi')")
    window = wait_output_window(editor)
    layout = editor.nvim.call("winlayout")
    assert layout == ["col", [["leaf", code_window.handle], ["leaf", window.handle]]]


def test_clear_empties_the_output_and_later_output_still_shows(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('before')")
    wait_lines(editor, ["In [n]: print('before')", "before"])
    editor.nvim.command("KernelClear")
    wait_for(lambda: editor.output() == [""], what="an empty output buffer")
    editor.nvim.command("KernelExec print('after')")
    wait_lines(editor, ["In [n]: print('after')", "after"])


def test_output_window_follows_new_output_unless_moved_up(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command("KernelExec print('one')")
    window = wait_output_window(editor)
    wait_lines(editor, ["In [n]: print('one')", "one"])
    assert window.cursor == (2, 0)
    editor.nvim.command("KernelExec for i in range(3): print(i)")
    wait_lines(
        editor,
        ["In [n]: print('one')", "one", "", "In [n]: for i in range(3): print(i)", "0", "1", "2"],
    )
    assert window.cursor == (7, 0)
    editor.nvim.command("KernelOutput")
    wait_for(lambda: editor.nvim.current.window == window, what="output window focused")
    editor.feed("gg<C-w>p")
    wait_for(lambda: editor.nvim.current.window != window, what="back in the code window")
    assert window.cursor == (1, 0)
    editor.nvim.command("KernelExec print('more')")
    wait_lines(
        editor,
        ["In [n]: print('one')", "one", "", "In [n]: for i in range(3): print(i)", "0", "1", "2",
         "", "In [n]: print('more')", "more"],
    )  # fmt: skip
    assert window.cursor == (1, 0)


def test_output_max_lines_keeps_only_the_newest_lines(editor: Editor, kernel: Kernel) -> None:
    editor.nvim.vars["kernel_output_max_lines"] = 100
    editor.connect(kernel)
    editor.nvim.command("KernelExec for i in range(1000): print(i)")
    wait_lines(editor, [str(i) for i in range(900, 1000)], timeout=30)
    assert "0" not in editor.output()


def test_output_goes_under_the_execution_that_printed_it(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    editor.nvim.command('KernelExec import time; time.sleep(0.3); print("first")')
    editor.nvim.command('KernelExec print("second")')
    wait_lines(
        editor,
        ['In [n]: import time; time.sleep(0.3); print("first")', "first", "",
         'In [n]: print("second")', "second"],
    )  # fmt: skip
