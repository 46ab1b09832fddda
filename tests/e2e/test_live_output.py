"""End to end: output that changes in place, as notebooks show it — clear_output and display
updates from a real kernel, in a real Neovim."""

from __future__ import annotations

import re

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for


def run(editor: Editor, code: str) -> list[str]:
    """Send ``code``, wait until it printed ``done <n>`` (the code itself does not hold that, so
    its header is not taken for it) and the kernel is idle; the output."""
    n = len([line for line in editor.output() if line.startswith("done")]) + 1
    editor.nvim.exec_lua(
        "require('kernel.rpc').notify('send', ..., {})", f"{code}; print('do'+'ne', {n})"
    )
    wait_for(lambda: f"done {n}" in editor.output(), what=f"done {n}")
    wait_for(lambda: editor.status().endswith(" idle"), what="idle")
    return editor.output()


def block_of(lines: list[str], code: str) -> list[str]:
    """The output lines of the execution whose header shows ``code``."""
    start = next(i for i, line in enumerate(lines) if line.startswith("In [") and code in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("In [")),
               len(lines))  # fmt: skip
    return [line for line in lines[start + 1 : end] if line and not _CONTINUED.match(line)]


_CONTINUED = re.compile(r" +\.\.\.: ")


def test_a_counter_redrawn_with_clear_output_stays_one_line(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    code = (
        "from IPython.display import clear_output; import time\n"
        "for i in range(10): clear_output(wait=True); print('counter', i); time.sleep(0.01)\n"
        "clear_output(wait=True)"
    )
    assert block_of(run(editor, code), "from IPython.display") == ["done 1"]


def test_clear_output_at_once_leaves_nothing_of_what_it_cleared(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    code = "from IPython.display import clear_output; print('old'); clear_output(); print('new')"
    assert block_of(run(editor, code), "clear_output()") == ["new", "done 1"]


def test_a_display_updated_by_its_handle_shows_the_new_value(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    code = "h = display('step 0', display_id=True); h.update('step 5')"
    assert block_of(run(editor, code), "h = display") == ["'step 5'", "done 1"]


def test_an_update_reaches_the_display_of_an_earlier_run(editor: Editor, kernel: Kernel) -> None:
    editor.connect(kernel)
    run(editor, "h = display('step 0', display_id=True)")
    lines = run(editor, "h.update('step 5')")
    assert block_of(lines, "h = display") == ["'step 5'", "done 1"]
    assert "'step 0'" not in lines
