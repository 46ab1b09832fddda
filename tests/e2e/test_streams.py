"""End to end: stream text behaves like a terminal inside its block, with real tqdm in a real
kernel, so what ipykernel batches into each message and the editor's writes are all real."""

from __future__ import annotations

import re

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for

NESTED_BARS = [
    "import time",
    "from tqdm import tqdm",
    "for i in tqdm(range(3), desc='outer', mininterval=0):",
    "    for j in tqdm(range(20), desc='inner', mininterval=0, leave=False):",
    "        time.sleep(0.01)",  # 0.6 s in all: ipykernel sends the bars in several messages
    "print('done')",
]


def block_output(editor: Editor, last_code_line: str) -> list[str]:
    """The lines after the header that ends with `last_code_line`."""
    lines = editor.output()
    ends = [i for i, line in enumerate(lines) if line.endswith(last_code_line)]
    return lines[ends[-1] + 1 :] if ends else []


def test_nested_tqdm_bars_end_as_the_outer_bar_and_what_follows(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.set_lines(NESTED_BARS)
    editor.nvim.command("%KernelSend")
    editor.wait_state("busy")
    seen: list[int] = []

    def done() -> bool:
        output = block_output(editor, "print('done')")
        seen.append(len(output))
        return output[-1:] == ["done"] and editor.status().endswith(" idle")

    wait_for(done, 30, "the bars to finish and the kernel to be idle")
    outer, printed = block_output(editor, "print('done')")
    assert re.fullmatch(r"outer: 100%\|█+\| 3/3 \[.*\] *", outer), outer
    assert printed == "done"
    # While running: the outer bar, the inner one under it, never a line per refresh.
    assert max(seen) <= 2, seen
