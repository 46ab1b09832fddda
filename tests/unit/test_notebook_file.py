""":KernelSave's file: where it goes, what may be replaced, and how it is written (real files
in a temp dir); nbformat reads each one back as Jupyter would."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from kernel_nvim.errors import KernelError
from kernel_nvim.media import notebook as notebook_file
from kernel_nvim.output import notebook

INFO = {"implementation": "ipython", "language_info": {"name": "python"}}


def small(text: str = "hello") -> dict[str, Any]:
    nb = notebook.build([], INFO)
    output = {"output_type": "stream", "name": "stdout", "text": [text]}
    nb["cells"].append({"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
                        "source": ["print('x')"], "outputs": [output]})  # fmt: skip
    return nb


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# Section: the name


def test_the_name_is_relative_to_the_editor_s_cwd_and_gets_ipynb(tmp_path: Path) -> None:
    assert notebook_file.target("analysis", str(tmp_path)) == str(tmp_path / "analysis.ipynb")
    assert notebook_file.target("sub/a.ipynb", str(tmp_path)) == str(tmp_path / "sub" / "a.ipynb")
    assert notebook_file.target("out.json", str(tmp_path)) == str(tmp_path / "out.json")
    assert notebook_file.target("/abs/x", str(tmp_path)) == "/abs/x.ipynb"


def test_a_tilde_is_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert notebook_file.target("~/n.ipynb", "/elsewhere") == str(tmp_path / "n.ipynb")
    assert notebook_file.shown(str(tmp_path / "n.ipynb"), "/elsewhere") == "~/n.ipynb"
    assert notebook_file.shown(str(tmp_path / "d" / "n.ipynb"), str(tmp_path)) == "d/n.ipynb"


def test_an_empty_name_is_one_message() -> None:
    with pytest.raises(KernelError, match=r"give :KernelSave a file name"):
        notebook_file.target("  ", "/tmp")


# Section: writing


def test_the_file_reads_back_as_the_notebook_it_was(tmp_path: Path) -> None:
    path = tmp_path / "a.ipynb"
    assert notebook_file.write(small(), str(path), overwrite=False) is True
    read = nbformat.read(str(path), as_version=4)
    nbformat.validate(read)
    assert read.cells[0].outputs[0].text == "hello"
    assert path.read_text() == nbformat.writes(read) + "\n"  # laid out as Jupyter writes it
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]  # no temp file left


def test_a_new_file_gets_the_user_s_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        notebook_file.write(small(), str(tmp_path / "a.ipynb"), overwrite=False)
    finally:
        os.umask(old)
    assert mode(tmp_path / "a.ipynb") == 0o640


def test_an_existing_file_stays_without_bang(tmp_path: Path) -> None:
    path = tmp_path / "a.ipynb"
    path.write_text("mine")
    with pytest.raises(KernelError, match=r"^not saved: a.ipynb exists \(add ! to overwrite\)$"):
        notebook_file.write(small(), str(path), overwrite=False, cwd=str(tmp_path))
    assert path.read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]


def test_overwriting_keeps_the_file_s_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.ipynb"
    path.write_text("old")
    path.chmod(0o600)
    notebook_file.write(small("new"), str(path), overwrite=True)
    assert nbformat.read(str(path), as_version=4).cells[0].outputs[0].text == "new"
    assert mode(path) == 0o600


def test_a_symbolic_link_is_replaced_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    victim.chmod(0o644)
    link = tmp_path / "a.ipynb"
    link.symlink_to(victim)
    with pytest.raises(KernelError, match=r"exists"):
        notebook_file.write(small(), str(link), overwrite=False)
    notebook_file.write(small(), str(link), overwrite=True)
    assert victim.read_text() == "precious" and mode(victim) == 0o644
    assert not link.is_symlink() and json.loads(link.read_text())["nbformat"] == 4


def test_a_dangling_link_counts_as_existing(tmp_path: Path) -> None:
    link = tmp_path / "a.ipynb"
    link.symlink_to(tmp_path / "nowhere" / "x")
    with pytest.raises(KernelError, match=r"exists"):
        notebook_file.write(small(), str(link), overwrite=False)
    assert not (tmp_path / "nowhere").exists()


def test_a_missing_directory_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "a.ipynb"
    with pytest.raises(KernelError, match=r"^not saved: no directory no/such$"):
        notebook_file.write(small(), str(path), overwrite=False, cwd=str(tmp_path))
    assert not (tmp_path / "no").exists()


def test_a_directory_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "d.ipynb").mkdir()
    with pytest.raises(KernelError, match=r"d.ipynb is a directory"):
        notebook_file.write(small(), str(tmp_path / "d.ipynb"), overwrite=True, cwd=str(tmp_path))


def test_a_file_that_cannot_be_written_is_one_message(tmp_path: Path) -> None:
    name = "n" * 250 + ".ipynb"  # fits a file system's 255 bytes, its temp file's name does not
    with pytest.raises(
        KernelError, match=r"^not saved: cannot write n+\.ipynb \(File name too long\)$"
    ):
        notebook_file.write(small(), str(tmp_path / name), overwrite=False, cwd=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_an_invalid_notebook_is_not_written(tmp_path: Path) -> None:
    nb = small()
    nb["cells"][0]["outputs"][0]["name"] = 7
    with pytest.raises(KernelError, match=r"invalid at cells/0/outputs/0/name"):
        notebook_file.write(nb, str(tmp_path / "a.ipynb"), overwrite=False)
    assert list(tmp_path.iterdir()) == []


def test_without_nbformat_it_is_written_unchecked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "nbformat", None)  # what a host without it finds
    assert notebook_file.write(small(), str(tmp_path / "a.ipynb"), overwrite=False) is False
    assert json.loads((tmp_path / "a.ipynb").read_text())["nbformat_minor"] == 5


def test_a_lone_surrogate_from_the_kernel_reads_back_as_it_came(tmp_path: Path) -> None:
    path = tmp_path / "a.ipynb"
    notebook_file.write(small("bad \ud800 end é"), str(path), overwrite=False)
    assert nbformat.read(str(path), as_version=4).cells[0].outputs[0].text == "bad \ud800 end é"
