"""End to end with kernels that are not ipykernel: bash_kernel (Python, on ipykernel's base
class, driving a real bash) and xeus-python (C++: xeus's own protocol code). Each is started by a
KernelManager from its kernelspec and linked with `:KernelConnect`, as any kernel a notebook
started; each test checks what the kernel really answers, and that where it answers nothing, or
never, the user reads one line saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.checks import assert_no_traceback, expect_one_message, kernel_lines, settle
from support.editor import Editor
from support.kernelspecs import ManagedKernel, managed_kernel, missing
from support.sandbox import wait_for


def popup_words(editor: Editor) -> list[str]:
    info = editor.nvim.call("complete_info", ["items", "pum_visible"])
    return [item["word"] for item in info["items"]] if info["pum_visible"] else []


def floats(editor: Editor) -> list[object]:
    return [w for w in editor.nvim.api.list_wins() if editor.nvim.api.win_get_config(w)["relative"]]


def history_lines(editor: Editor) -> list[str]:
    name = wait_for(lambda: editor.nvim.current.buffer.name.startswith("kernel-history://")
                    and editor.nvim.current.buffer.name, what="the history buffer")  # fmt: skip
    assert name
    return list(editor.nvim.current.buffer[:])


def put_cursor(editor: Editor, line: int) -> None:
    editor.nvim.current.window.cursor = (line, 0)


# Section: cell markers from 'commentstring'


@pytest.mark.parametrize(
    ("filetype", "marker", "other"),
    [("sh", "# %%", "// %%"), ("c", "// %%", "# %%"), ("rust", "// %%", "-- %%"),
     ("", "# %%", "// %%")],
)  # fmt: skip
def test_cell_markers_are_the_comment_leader_of_commentstring_then_percent_signs(
    editor: Editor, filetype: str, marker: str, other: str
) -> None:
    editor.set_lines(["a", marker, "b", f"{other} not a marker here", f"{marker} last", "c"],
                     filetype=filetype)  # fmt: skip
    if not filetype:
        editor.nvim.command("setlocal commentstring=")
    cell_range = lambda lnum: editor.nvim.call("kernel#cell_range", lnum)  # noqa: E731
    assert cell_range(1) == [1, 1, 3]
    assert cell_range(4) == [3, 4, 6]
    assert cell_range(6) == [6, 6, 0]


# Section: bash_kernel


@pytest.fixture(scope="module")
def bash(runtime_dir: Path, home: Path, kernelspecs: Path) -> Iterator[ManagedKernel]:
    if missing("bash"):
        pytest.skip(missing("bash"))
    with managed_kernel(runtime_dir, home, kernelspecs, "bash") as kernel:
        yield kernel


def test_bash_runs_a_line_and_the_cells_that_its_comment_leader_marks(
    editor: Editor, bash: ManagedKernel
) -> None:
    editor.set_lines(["echo one", "# %%", "x=$((6 * 7))", 'echo "x is $x"', "# %% next",
                      "echo last"], filetype="sh")  # fmt: skip
    editor.connect(bash)
    assert re.search(r"Connected to kernel-bash-\w+\.json \(bash, bash_kernel ", editor.messages())
    editor.feed("gg\\l")
    editor.wait_output("one")
    put_cursor(editor, 3)
    editor.feed("\\x")
    editor.wait_output("x is 42")
    wait_for(lambda: editor.nvim.current.window.cursor == (6, 0), what="the next cell")
    assert "# %% next" not in editor.output_text()
    editor.feed("\\c")
    editor.wait_output("last")
    editor.wait_state("idle")
    assert_no_traceback(editor)


def test_a_failing_bash_command_shows_its_error_output_and_no_bare_exit_status(
    editor: Editor, bash: ManagedKernel
) -> None:
    editor.connect(bash)
    editor.nvim.command("KernelExec nosuchcommand_xyz")
    editor.wait_output("nosuchcommand_xyz: command not found")
    editor.wait_state("idle")
    lines = editor.output()
    assert not [line for line in lines if line.strip() == "127"]
    editor.nvim.command("KernelExec echo still here")
    editor.wait_output("still here")


def test_interrupt_stops_a_bash_command_and_bash_goes_on(
    editor: Editor, bash: ManagedKernel
) -> None:
    editor.connect(bash)
    editor.nvim.command("KernelExec sleep 60; echo never printed")
    editor.wait_state("busy")
    editor.feed("\\i")
    editor.wait_state("idle", timeout=10)
    editor.nvim.command("KernelExec echo after the interrupt")
    editor.wait_output("after the interrupt")
    settle(editor)
    assert "never printed" not in editor.output()  # a line of its own: only in the code
    assert not [line for line in kernel_lines(editor) if "interrupt" in line]
    assert bash.alive()


def test_bash_completes_command_names(editor: Editor, bash: ManagedKernel) -> None:
    editor.set_lines(["ex"], filetype="sh")
    editor.connect(bash)
    assert editor.nvim.current.buffer.options["omnifunc"] == "kernel#complete"
    editor.feed("A\x18\x0f")  # <C-x><C-o>
    words = wait_for(lambda: popup_words(editor), timeout=30, what="the popup menu")
    assert {"exit", "export"} <= set(words)
    editor.feed("\x1b")


def test_bash_without_a_completion_says_it_offers_none(editor: Editor, bash: ManagedKernel) -> None:
    editor.set_lines(["zzqx_no_such_thing"], filetype="sh")
    editor.connect(bash)
    line = expect_one_message(editor, lambda: editor.feed("A\x18\x0f"), "no completion")
    assert line == "[kernel] the kernel offers no completion here"
    editor.feed("\x1b")


def test_a_completion_bash_kernel_never_answers_is_told_at_its_deadline(
    editor: Editor, bash: ManagedKernel
) -> None:
    # At the start of a line bash_kernel's do_complete raises (code[-1] of ''), and
    # ipykernel's base class then sends no reply at all.
    editor.set_lines([""], filetype="sh")
    editor.connect(bash)
    line = expect_one_message(
        editor, lambda: editor.feed("i\x18\x0f"), "did not answer", timeout=20
    )
    assert line == (f"[kernel] kernel-{bash.fragment} did not answer the completion request "
                    "within 10 s")  # fmt: skip
    editor.feed("\x1b")
    editor.nvim.command("KernelExec echo answers again")
    editor.wait_output("answers again")


def test_bash_knows_nothing_to_inspect_and_keeps_no_history(
    editor: Editor, bash: ManagedKernel
) -> None:
    editor.set_lines(["echo"], filetype="sh")
    editor.connect(bash)
    line = expect_one_message(editor, lambda: editor.feed("K"), "nothing known")
    assert line == "[kernel] nothing known about the name under the cursor"
    assert not floats(editor)
    line = expect_one_message(editor, lambda: editor.nvim.command("KernelHistory"), "history")
    assert line == "[kernel] the kernel has no history"


# Section: xeus-python


@pytest.fixture(scope="module")
def xeus(runtime_dir: Path, home: Path, kernelspecs: Path) -> Iterator[ManagedKernel]:
    if missing("xpython"):
        pytest.skip(missing("xpython"))
    with managed_kernel(runtime_dir, home, kernelspecs, "xpython") as kernel:
        # Its first completion loads jedi (7 s seen on a loaded machine): done once, here.
        client = kernel.manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=30)
            client.complete("import o", 8, reply=True, timeout=60)
        finally:
            client.stop_channels()
        yield kernel


def test_xeus_python_runs_a_line_cells_and_shows_an_error(
    editor: Editor, xeus: ManagedKernel
) -> None:
    editor.set_lines(["answer = 6 * 7", "# %%", "print('answer is', answer)", "# %% fails",
                      "1 / 0"])  # fmt: skip
    editor.connect(xeus)
    assert re.search(r"Connected to kernel-xpython-\w+\.json \(python [\d.]+, xeus-python ",
                     editor.messages())  # fmt: skip
    editor.feed("gg\\l")
    put_cursor(editor, 3)
    editor.feed("\\x")
    editor.wait_output("answer is 42")
    editor.feed("\\c")
    editor.wait_output("ZeroDivisionError")
    editor.wait_state("idle")
    assert "# %% fails" not in editor.output_text()
    assert_no_traceback(editor)


def test_an_interrupt_xeus_python_only_acknowledges_is_told_and_the_kernel_lives_on(
    editor: Editor, xeus: ManagedKernel
) -> None:
    # xeus-python answers interrupt_request "ok" and stops nothing, and its SIGINT handler
    # ends the process: kernel.nvim must say so, and never signal it.
    editor.connect(xeus)
    editor.nvim.command("KernelExec kept = 'alive'")
    editor.nvim.command("KernelExec import time; [time.sleep(0.05) for _ in range(60)]; "
                        "print('ran to the end')")  # fmt: skip
    editor.wait_state("busy")
    line = expect_one_message(editor, lambda: editor.nvim.command("KernelInterrupt"),
                              "interrupt", host=False)  # fmt: skip
    assert line == (f"[kernel] kernel-{xeus.fragment} answered the interrupt request, but the "
                    "code still runs: the kernel may ignore interrupts")  # fmt: skip
    editor.wait_output("ran to the end")
    editor.nvim.command("KernelExec print('still', kept)")
    editor.wait_output("still alive")
    assert xeus.alive()


def test_xeus_python_completes_inspects_and_keeps_history(
    editor: Editor, xeus: ManagedKernel
) -> None:
    editor.set_lines(["import o", "len"])
    editor.connect(xeus)
    editor.run("history_mark = 1")  # done: a busy kernel is not asked for completions
    editor.feed("ggA\x18\x0f")
    words = wait_for(lambda: popup_words(editor), timeout=30, what="the popup menu")
    assert "os" in words
    editor.feed("\x1b")
    editor.feed("2GK")
    (win,) = wait_for(lambda: floats(editor), what="the inspect float")
    text = "\n".join(editor.nvim.api.win_get_buf(win)[:])
    assert "len(obj, /)" in text and "\x1b" not in text
    editor.feed("j")  # the float closes
    editor.nvim.command("KernelHistory 10")
    assert "history_mark = 1" in history_lines(editor)


def test_xeus_python_without_a_completion_says_it_offers_none(
    editor: Editor, xeus: ManagedKernel
) -> None:
    editor.set_lines(["zzqx_no_such_name"])
    editor.connect(xeus)
    line = expect_one_message(editor, lambda: editor.feed("A\x18\x0f"), "no completion")
    assert line == "[kernel] the kernel offers no completion here"
    editor.feed("\x1b")
