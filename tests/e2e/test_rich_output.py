"""End to end: rich output of a real kernel shown as text — markdown, HTML, a DataFrame, JSON,
LaTeX, a matplotlib figure, rich.print — with the mark that tells of richer forms and tree-sitter
highlighting where Neovim has the parser.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import wait_for

IMPORT = "from IPython.display import Markdown, HTML, JSON, Latex, display"

# The extmarks of one namespace in the output buffer: (row, hl_group, virt_text joined).
_EXTMARKS = """
local ns = vim.api.nvim_create_namespace(...)
for _, b in ipairs(vim.api.nvim_list_bufs()) do
  if vim.api.nvim_buf_get_name(b):match('^kernel://') then
    local out = {}
    for _, m in ipairs(vim.api.nvim_buf_get_extmarks(b, ns, 0, -1, {details = true})) do
      local virt = {}
      for _, chunk in ipairs(m[4].virt_text or {}) do virt[#virt + 1] = chunk[1] end
      out[#out + 1] = {m[2], m[4].hl_group or '', table.concat(virt)}
    end
    return out
  end
end
return {}
"""


def extmarks(editor: Editor, namespace: str) -> list[tuple[int, str, str]]:
    return [(int(r), str(g), str(v)) for r, g, v in editor.nvim.exec_lua(_EXTMARKS, namespace)]


def run(editor: Editor, code: str, shown: str) -> list[str]:
    """Run ``code``; the output's lines once one is ``shown`` (a regular expression, matching
    the whole line: the code's own line holds the text too) and the kernel is idle."""
    editor.nvim.command(f"KernelExec {code}")
    wait_for(lambda: any(re.fullmatch(shown, line) for line in editor.output()),
             what=f"a line {shown!r} in {editor.output()[-8:]}")  # fmt: skip
    wait_for(lambda: editor.status().endswith("idle"), what="idle")
    return editor.output()


def row_of(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines) if line == text)


@pytest.fixture
def connected(editor: Editor, kernel: Kernel) -> Editor:
    editor.connect(kernel)
    run(editor, f"{IMPORT}; print('imported')", "imported")
    return editor


def test_markdown_shows_as_markdown_highlighted_by_tree_sitter(connected: Editor) -> None:
    lines = run(connected, "display(Markdown('# hi\\n\\nsome *em*'))", r"some \*em\*")
    assert "<IPython.core.display.Markdown object>" not in "\n".join(lines)
    heading = row_of(lines, "# hi")
    assert lines[heading + 1 : heading + 3] == ["", "some *em*"]
    # Neovim ships the markdown parsers: the heading and the emphasis are highlighted, soon.
    found = wait_for(lambda: {g for _, g, _ in extmarks(connected, "kernel_syntax")} or None,
                     what="syntax highlights")  # fmt: skip
    assert "@markup.heading.1.markdown" in found and "@markup.italic.markdown_inline" in found
    assert (heading, "@markup.heading.1.markdown", "") in extmarks(connected, "kernel_syntax")


def test_markdown_as_a_result_starts_on_the_line_after_its_prompt(connected: Editor) -> None:
    lines = run(connected, "Markdown('## two')", "## two")
    assert lines[row_of(lines, "## two") - 1].startswith("Out[")
    heading = "@markup.heading.2.markdown"
    wait_for(lambda: [m for m in extmarks(connected, "kernel_syntax") if m[1] == heading],
             what="the heading's highlight")  # fmt: skip
    assert not [m for m in extmarks(connected, "kernel_syntax") if m[0] != row_of(lines, "## two")
                and m[1].startswith("@markup.heading")]  # fmt: skip


def test_html_reads_as_text_with_its_table_in_columns(connected: Editor) -> None:
    html = "<b>bold</b> <table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>10</td></tr></table>"
    lines = run(connected, f"display(HTML('{html}'))", "bold")
    at = row_of(lines, "bold")
    assert lines[at : at + 4] == ["bold", "", "k   v", "a  10"]
    assert not [line for line in lines[at:] if "<" in line or "HTML object" in line]


def test_a_dataframe_shows_its_text_repr_and_marks_its_html(connected: Editor) -> None:
    frame = "pd.DataFrame({'a': [1, 22], 'name': ['x', 'yy']})"
    lines = run(connected, f"import pandas as pd; {frame}", r"\s+a\s+name")
    expected = pd.DataFrame({"a": [1, 22], "name": ["x", "yy"]}).to_string().split("\n")
    out = next(i for i, line in enumerate(lines) if line.startswith("Out["))
    assert lines[out + 1 : out + 4] == expected
    assert not [line for line in lines if "[also" in line or "text/html" in line]
    marks = extmarks(connected, "kernel_marks")
    assert (out, "", "  text/html") in marks


def test_a_figure_shows_its_image_line_and_not_its_placeholder(connected: Editor) -> None:
    code = ("import matplotlib; matplotlib.use('module://matplotlib_inline.backend_inline');"
            " import matplotlib.pyplot as plt; plt.plot([1, 2]); plt.show()")  # fmt: skip
    lines = run(connected, code, r"\[image/png \d+x\d+\]")
    assert len([line for line in lines if line.startswith("[image/png")]) == 1
    assert "<Figure" not in "\n".join(lines)


def test_json_and_latex_show_their_text_highlighted_if_neovim_can(connected: Editor) -> None:
    code = ("display(JSON({'a': [1, 2]})); display(Latex(r'$x^2$'));"
            " display(Markdown('# end'))")  # fmt: skip
    lines = run(connected, code, "# end")
    at, end = row_of(lines, "{"), row_of(lines, "# end")
    assert lines[at:end] == ["{", '  "a": [', "    1,", "    2", "  ]", "}", "$x^2$"]
    # Forms are highlighted in the order they came: once the last is, so are the others.
    wait_for(lambda: [m for m in extmarks(connected, "kernel_syntax") if m[0] == end],
             what="the last form's highlights")  # fmt: skip
    rows = {m[0] for m in extmarks(connected, "kernel_syntax")}
    parsers = connected.nvim.exec_lua(
        "local function has(l) return #vim.api.nvim_get_runtime_file('parser/' .. l .. '.*',"
        " false) > 0 end return {has('json'), has('latex')}"
    )
    assert bool(rows & set(range(at, at + 6))) == parsers[0]  # plain without a parser
    assert (at + 6 in rows) == parsers[1]
    assert "Error" not in connected.messages()


def test_rich_print_shows_its_colours_and_no_other_line(connected: Editor) -> None:
    pytest.importorskip("rich")
    lines = run(connected, "import rich; rich.print('[bold red]hot[/] text')", "hot text")
    at = row_of(lines, "hot text")
    assert lines[at + 1 :] in ([], [""])
    marks = extmarks(connected, "kernel_marks")
    assert (at, "", "  text/html") in marks
    colours: Any = extmarks(connected, "kernel_output")
    assert (at, "KernelAnsiRed", "") in colours and (at, "KernelAnsiBold", "") in colours
