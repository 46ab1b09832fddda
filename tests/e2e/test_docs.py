"""The docs cover the code: every command, map, option, function and highlight group has a help
tag that :helptags accepts, the README shows how to install and develop, and :checkhealth kernel
reports what it should in a real Neovim, without ever showing a connection key.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pynvim
import pytest

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import REPO

DOC = REPO / "doc" / "kernel.txt"
README = REPO / "README.md"
CODE_GLOBS = ("plugin/**/*.vim", "autoload/**/*.vim", "rplugin/python3/**/*.py", "lua/**/*.lua")

# Where the code names an option: the before-stop checker's patterns, and the ways it misses.
OPTION_PATTERNS = (
    r"\bg:(kernel_\w+)",
    r"""vars(?:\[|\.get\()\s*['"](kernel_\w+)['"]""",
    r"""\bget\(g:,\s*['"](kernel_\w+)['"]""",
    r"\bvim\.g\.(kernel_\w+)",
    r"""_option\(\s*['"](kernel_\w+)['"]""",
)

# `hi def link KernelIn Title`, but not `'hi def KernelAnsi' . name`, a prefix of built names.
HIGHLIGHT_PATTERN = r"\bhi(?:ghlight)? def(?:ault)?\s+(?:link\s+)?(Kernel\w+)(?![\w'])"


def code() -> str:
    return "\n".join(
        path.read_text(errors="replace") for pattern in CODE_GLOBS for path in REPO.glob(pattern)
    )


def commands() -> set[str]:
    found = set(re.findall(r"command!?\s+(?:-\S+\s+)*(Kernel\w+)", code()))
    return found | set(re.findall(r"""command\(\s*['"](Kernel\w+)['"]""", code()))


def plug_maps() -> set[str]:
    return set(re.findall(r"<Plug>\((Kernel\w+)\)", code()))


def options() -> set[str]:
    source = code()
    return {name for pattern in OPTION_PATTERNS for name in re.findall(pattern, source)}


def functions() -> set[str]:
    """Global Vimscript functions of plugin/ and the remote functions of the Python host."""
    plugin = (REPO / "plugin" / "kernel.vim").read_text()
    python = (REPO / "rplugin" / "python3" / "kernel_nvim" / "plugin.py").read_text()
    found = set(re.findall(r"^\s*function!?\s+([A-Z]\w*)\(", plugin, re.MULTILINE))
    return found | set(re.findall(r"""pynvim\.function\(\s*['"](\w+)['"]""", python))


@pytest.fixture
def help_tags(bare_nvim: pynvim.Nvim, tmp_path: Path) -> set[str]:
    """The tags :helptags finds in a copy of doc/; a duplicate tag fails it with E154."""
    doc = tmp_path / "doc"
    shutil.copytree(REPO / "doc", doc)
    try:
        bare_nvim.command(f"helptags {bare_nvim.funcs.fnameescape(str(doc))}")
    except pynvim.NvimError as e:
        pytest.fail(f":helptags doc/ failed: {e}")
    return {line.split("\t", 1)[0] for line in (doc / "tags").read_text().splitlines()}


# Section: doc/kernel.txt


def test_helptags_accepts_the_doc(help_tags: set[str]) -> None:
    assert {"kernel.txt", "kernel.nvim", "kernel-commands"} <= help_tags


def test_doc_follows_the_house_layout() -> None:
    lines = DOC.read_text().splitlines()
    assert lines[0].startswith("*kernel.txt*")
    assert lines[-1].strip() == "vim:tw=78:et:ft=help:norl:"
    assert [n for n, line in enumerate(lines, 1) if len(line) > 78 or "\t" in line] == []
    sections = [line for line in lines if re.match(r"[A-Z][A-Z ]+\s+\*kernel[\w.-]*\*$", line)]
    assert len(sections) >= 10 and all(len(line) == 78 for line in sections)


def test_every_command_has_a_tag(help_tags: set[str]) -> None:
    found = commands()
    assert {"KernelConnect", "KernelInterrupt"} <= found
    assert sorted(c for c in found if f":{c}" not in help_tags) == []


def test_every_plug_map_has_a_tag(help_tags: set[str]) -> None:
    found = plug_maps()
    assert {"KernelSendLine", "KernelSendCellAndNext"} <= found
    assert sorted(m for m in found if f"<Plug>({m})" not in help_tags) == []


def test_every_option_has_a_tag(help_tags: set[str]) -> None:
    found = options()
    assert {"kernel_no_mappings", "kernel_output_position", "kernel_allow_unsigned"} <= found
    assert sorted(o for o in found if f"g:{o}" not in help_tags) == []
    assert "b:kernel_cell_pattern" in help_tags


def test_every_function_has_a_tag(help_tags: set[str]) -> None:
    found = functions() | {"kernel#cell_range", "kernel#cell_pattern"}
    assert {"KernelStatus", "KernelRpc", "KernelRpcSync"} <= found
    assert sorted(f for f in found if f"{f}()" not in help_tags) == []


def test_every_highlight_group_has_a_tag(bare_nvim: pynvim.Nvim, help_tags: set[str]) -> None:
    defined = set(bare_nvim.funcs.getcompletion("Kernel", "highlight"))
    source = (REPO / "plugin" / "kernel.vim").read_text()
    named = set(re.findall(HIGHLIGHT_PATTERN, source))
    assert named <= defined and "KernelAnsiBgBrightWhite" in defined
    # Made by lua/kernel/output.lua on first use: documented as patterns.
    generated = {
        "KernelAnsi256_N",
        "KernelAnsiBg256_N",
        "KernelAnsiRGB_RRGGBB",
        "KernelAnsiBgRGB_RRGGBB",
    }
    assert sorted(g for g in defined | generated if g not in help_tags) == []


# Section: README.md


def test_readme_shows_install_and_the_two_commands() -> None:
    text = README.read_text()
    for needed in ("make demo", "make test", "make bench", ":UpdateRemotePlugins"):
        assert needed in text
    assert re.search(r"\{ 'OWNER/kernel\.nvim', build = ':UpdateRemotePlugins' \}", text)
    assert "Plug 'OWNER/kernel.nvim', { 'do': ':UpdateRemotePlugins' }" in text
    assert "python3 -m pip install pynvim pyzmq jupyter_core" in text
    assert "## Performance" in text


# Section: :checkhealth kernel


def checkhealth(editor: Editor) -> list[str]:
    editor.nvim.command("checkhealth kernel")
    return list(editor.nvim.current.buffer[:])


def test_checkhealth_reports_versions_and_registration(editor: Editor) -> None:
    lines = checkhealth(editor)
    text = "\n".join(lines)
    assert f"jupyter_core {version('jupyter_core')}" in text
    assert f"pynvim {version('pynvim')}" in text
    assert any("OK" in line and "KernelRpc" in line for line in lines), text
    assert [line for line in lines if "ERROR" in line] == []


def test_checkhealth_lists_kernels_but_never_their_key(editor: Editor, kernel: Kernel) -> None:
    key = json.loads(kernel.path.read_text())["key"]
    assert key
    text = "\n".join(checkhealth(editor))
    assert kernel.path.name in text
    assert key not in text
    assert key not in editor.messages()


def test_checkhealth_gives_the_pip_command_for_a_missing_package(
    editor: Editor, tmp_path: Path
) -> None:
    # A fresh virtualenv has none of the host's packages.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")],
                   check=True, timeout=60)  # fmt: skip
    prog = str(tmp_path / "venv" / "bin" / "python")
    editor.nvim.vars["python3_host_prog"] = prog
    text = "\n".join(checkhealth(editor))
    assert "ERROR jupyter_core is missing" in text
    assert f"{prog} -m pip install jupyter_core" in text
