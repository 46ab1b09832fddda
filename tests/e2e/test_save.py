"""End to end: :KernelSave writes what a real kernel ran from a real Neovim as a notebook that
nbformat validates and reads back, code, counts and outputs as they were."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import nbformat
from PIL import Image

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for

IMAGE = (
    "import io; from PIL import Image as P; from IPython.display import Image, display; "
    "b = io.BytesIO(); P.new('RGB', (8, 4), (255, 0, 0)).save(b, 'PNG'); "
    "display(Image(data=b.getvalue()))"
)
# What each runs, and a text its output shows once it has run.
RUNS = [
    ("print('hello')", "hello"),
    ("6 * 7", "42"),
    ("h = display('first', display_id=True)", "'first'"),
    ("h.update('second')", "'second'"),
    (IMAGE, "[image/png 8x4]"),
    ("1 / 0", "ZeroDivisionError"),
]


def run(editor: Editor, code: str, shown: str) -> None:
    before = editor.output_text().count(shown) + (shown in code)  # its header may show it
    editor.nvim.command(f"KernelExec {code}")
    wait_for(lambda: editor.output_text().count(shown) > before, what=f"{shown!r} shown")
    editor.wait_state("idle")


def read(path: Path) -> Any:
    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)
    return notebook


def kernel_messages(editor: Editor) -> list[str]:
    return [line for line in editor.messages().splitlines() if line.startswith("[kernel]")]


def test_a_saved_session_is_a_valid_notebook_of_what_ran(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    editor.nvim.command(f"cd {tmp_path} | edit analysis.py")
    editor.connect(kernel)
    for code, shown in RUNS:
        run(editor, code, shown)
    editor.nvim.command("KernelSave %:r")  # Vim expands %:r; .ipynb is added
    editor.wait_message("[kernel] saved 6 cells to analysis.ipynb")
    notebook = read(tmp_path / "analysis.ipynb")
    cells = notebook.cells
    assert [cell.source for cell in cells] == [code for code, _ in RUNS]
    first = cells[0].execution_count
    assert [cell.execution_count for cell in cells] == list(range(first, first + 6))
    printed, result, display, update, image, error = (cell.outputs for cell in cells)
    assert printed == [{"output_type": "stream", "name": "stdout", "text": "hello\n"}]
    assert result == [{"output_type": "execute_result", "execution_count": first + 1,
                       "data": {"text/plain": "42"}, "metadata": {}}]  # fmt: skip
    assert [(o.output_type, o.data["text/plain"]) for o in display] == [
        ("display_data", "'second'")
    ]
    assert update == []
    [picture] = image
    png = Image.open(io.BytesIO(base64.b64decode(picture.data["image/png"])))
    assert (png.size, png.getpixel((0, 0))) == ((8, 4), (255, 0, 0))
    [raised] = error
    assert (raised.ename, raised.evalue) == ("ZeroDivisionError", "division by zero")
    assert any("\x1b[" in entry for entry in raised.traceback)  # raw, as Jupyter keeps it
    assert notebook.metadata.kernelspec.name == "python3"
    assert notebook.metadata.language_info.name == "python"


def test_an_existing_file_is_replaced_only_with_bang(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    path = tmp_path / "kept.ipynb"
    path.write_text("mine")
    editor.connect(kernel)
    run(editor, "print('to' + ' save')", "to save")
    editor.nvim.command(f"KernelSave {path}")
    editor.wait_message("[kernel] not saved:")
    assert kernel_messages(editor)[-1] == f"[kernel] not saved: {path} exists (add ! to overwrite)"
    assert path.read_text() == "mine"
    editor.nvim.command(f"KernelSave! {path}")
    editor.wait_message("[kernel] saved")
    assert read(path).cells[-1].outputs[0].text == "to save\n"


def test_without_a_kernel_there_is_nothing_to_save(editor: Editor, tmp_path: Path) -> None:
    editor.nvim.command(f"KernelSave {tmp_path / 'a.ipynb'}")
    editor.wait_message("[kernel] nothing to save")
    assert kernel_messages(editor) == [
        "[kernel] nothing to save: no kernel connected yet (use :KernelConnect)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_one_message(editor: Editor, kernel: Kernel, tmp_path: Path) -> None:
    editor.connect(kernel)
    editor.nvim.command(f"cd {tmp_path} | KernelSave no/such/a.ipynb")
    editor.wait_message("[kernel] not saved")
    assert kernel_messages(editor)[-1] == "[kernel] not saved: no directory no/such"
    assert list(tmp_path.iterdir()) == []


# Section: :checkhealth kernel


def checkhealth(editor: Editor) -> str:
    editor.nvim.command("checkhealth kernel")
    return "\n".join(editor.nvim.current.buffer[:])


def test_checkhealth_names_nbformat_and_its_version(editor: Editor) -> None:
    assert f"OK nbformat {version('nbformat')}" in checkhealth(editor)


def test_checkhealth_gives_the_pip_command_for_nbformat(editor: Editor, tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")],
                   check=True, timeout=60)  # fmt: skip
    prog = str(tmp_path / "venv" / "bin" / "python")
    editor.nvim.vars["python3_host_prog"] = prog
    text = checkhealth(editor)
    why = "optional: :KernelSave checks the notebooks it writes"
    assert f"WARNING nbformat is not installed ({why})" in text
    assert f"{prog} -m pip install nbformat" in text
