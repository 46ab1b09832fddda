"""End to end: output redrawn as fast as a real kernel can make it, frame after frame with
clear_output(wait=True), in a real Neovim that must keep answering while it comes."""

from __future__ import annotations

import re

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for

FRAMES = 10_000
CODE = [
    "from IPython.display import clear_output",
    f"for i in range({FRAMES}): clear_output(wait=True); print('frame', i)",
]
_CONTINUED = re.compile(r" +\.\.\.: ")


def last_block(editor: Editor) -> list[str]:
    """The non-empty output lines of the last execution, without its header."""
    lines = editor.output()
    start = max((i for i, line in enumerate(lines) if line.startswith("In [")), default=len(lines))
    return [line for line in lines[start + 1 :] if line and not _CONTINUED.match(line)]


def test_ten_thousand_clear_output_frames_end_as_the_last_one_and_the_editor_answers_throughout(
    editor: Editor, kernel: Kernel
) -> None:
    editor.connect(kernel)
    editor.set_lines(CODE)
    rounds: list[float] = []
    busy: list[bool] = []

    def all_shown() -> bool:
        rounds.append(editor.responsive())
        busy.append(editor.status().endswith(" busy"))
        return not busy[-1] and last_block(editor)[-1:] == [f"frame {FRAMES - 1}"]

    editor.nvim.command("%KernelSend")
    wait_for(all_shown, 60, f"frame {FRAMES - 1}, the kernel idle", interval=0.01)
    assert sum(busy) > 10, "the frames were not observed while they came"
    assert max(rounds) < 1.0
    assert last_block(editor) == [f"frame {FRAMES - 1}"]
