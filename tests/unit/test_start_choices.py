"""What :KernelStart offers: the project's environments found on disk, what running their python
says (real pythons: the tests' own, a real venv, a script that fails), and the picker's order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel_nvim.kernel.sources import choices, environments
from kernel_nvim.kernel.sources.choices import Spec
from kernel_nvim.kernel.sources.environments import Environment


def fake_python(root: Path, script: str = "#!/bin/sh\nexit 0\n") -> Path:
    """`root`/bin/python, an executable that is no python (candidates never run it)."""
    python = root / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(script)
    python.chmod(0o755)
    return python


def spec(name: str, language: str = "python") -> Spec:
    return Spec(name, name.title(), language, ("python", "-m", "ipykernel_launcher"))


def env(origin: str, ipykernel: bool, project: str = "", version: str = "3.12.1") -> Environment:
    return Environment(f"/{origin}/bin/python", origin, f"/{origin}", project, version, ipykernel)


# Section: finding environments


def test_the_nearest_projects_venv_comes_first_then_the_variables_then_path(tmp_path: Path) -> None:
    fake_python(tmp_path / "myproj" / ".venv")
    fake_python(tmp_path / ".venv")  # a farther project: not this file's
    fake_python(tmp_path / "active")
    fake_python(tmp_path / "conda")
    path_dir = fake_python(tmp_path / "usr").parent
    (path_dir / "python3").symlink_to(path_dir / "python")
    file = tmp_path / "myproj" / "src" / "deep" / "cells.py"
    environ = {"VIRTUAL_ENV": str(tmp_path / "active"), "CONDA_PREFIX": str(tmp_path / "conda"),
               "PATH": str(path_dir)}  # fmt: skip
    found = environments.candidates(str(file), "/", environ)
    assert [(e.origin, e.project) for e in found] == [
        (".venv", "myproj"), ("VIRTUAL_ENV", ""), ("CONDA_PREFIX", ""), ("PATH", ""),
    ]  # fmt: skip
    assert found[0].python == str(tmp_path / "myproj" / ".venv" / "bin" / "python")


def test_an_environment_found_twice_is_offered_once(tmp_path: Path) -> None:
    fake_python(tmp_path / "proj" / "venv")
    environ = {"VIRTUAL_ENV": str(tmp_path / "proj" / "venv"), "PATH": ""}
    found = environments.candidates("", str(tmp_path / "proj"), environ)
    assert [(e.origin, e.where) for e in found] == [("venv", "venv of proj")]


def test_an_environment_is_shown_by_version_and_place() -> None:
    assert env(".venv", True, "myproj").label == "python 3.12.1 (.venv of myproj)"
    assert env("CONDA_PREFIX", True).label == "python 3.12.1 ($CONDA_PREFIX, /CONDA_PREFIX)"
    lacking = env(".venv", False, "my proj")
    assert lacking.install_command == "/.venv/bin/python -m pip install ipykernel"


def test_the_kernel_of_an_environment_finds_its_programs_first() -> None:
    venv = env(".venv", True, "p").kernel_env
    assert venv["VIRTUAL_ENV"] == "/.venv" and venv["PATH"].startswith("/.venv/bin" + os.pathsep)
    assert "CONDA_PREFIX" in env("CONDA_PREFIX", True).kernel_env
    assert env("PATH", True).kernel_env == {}


# Section: probing


def test_probing_a_real_venv_says_whether_it_has_ipykernel_and_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / ".venv")],
                   check=True, timeout=120)  # fmt: skip
    (found,) = environments.candidates(str(tmp_path / "x.py"), "", {"PATH": ""})
    runs: list[str] = []
    real = environments._run_probe
    monkeypatch.setattr(environments, "_run_probe", lambda p: runs.append(p) or real(p))
    probed = environments.probe(found)
    assert probed.version == sys.version.split()[0] and not probed.has_ipykernel
    assert environments.probe(found) == probed and len(runs) == 1  # cached
    site = next((tmp_path / ".venv" / "lib").glob("python*/site-packages"))
    (site / "ipykernel").mkdir()  # what pip install does to site-packages
    (site / "ipykernel_launcher.py").write_text("")
    os.utime(site, (1, 1))  # a new mtime, however fast the clock
    assert environments.probe(found).has_ipykernel and len(runs) == 2


def test_the_tests_own_python_has_ipykernel() -> None:
    here = Environment(sys.executable, "PATH", os.path.dirname(sys.executable), "")
    assert environments.probe(here).has_ipykernel


def test_a_python_that_fails_says_why(tmp_path: Path) -> None:
    python = fake_python(tmp_path / "broken", "#!/bin/sh\necho 'bad interpreter' >&2\nexit 1\n")
    probed = environments.probe(Environment(str(python), "VIRTUAL_ENV", str(tmp_path), ""))
    assert not probed.has_ipykernel and probed.problem == "it failed: bad interpreter"
    choice = choices.environment_choice(probed)
    assert choice.problem.endswith("it failed: bad interpreter")


# Section: the picker's order


def test_the_first_environment_with_ipykernel_comes_first_of_all() -> None:
    envs = [env(".venv", False, "myproj"), env("VIRTUAL_ENV", True), env("PATH", True)]
    menu = choices.menu([spec("python3"), spec("ir", "R")], envs, "python")
    assert [c.label for c in menu] == [
        "python 3.12.1 (.venv of myproj)", "python 3.12.1 ($VIRTUAL_ENV, /VIRTUAL_ENV)",
        "python3", "ir",
    ]  # fmt: skip
    lacking = menu[0]
    assert lacking.text.endswith(
        "no ipykernel; install it with: /.venv/bin/python -m pip install ipykernel"
    )
    assert "then :KernelStart again" in lacking.problem and not menu[1].problem


def test_in_a_buffer_of_another_language_its_kernelspecs_come_first() -> None:
    menu = choices.menu([spec("python3"), spec("ir", "R"), spec("bash", "bash")],
                        [env(".venv", True, "p")], "sh")  # fmt: skip
    assert [c.label for c in menu] == ["bash", "python 3.12.1 (.venv of p)", "ir", "python3"]
    assert menu[0].text == "Bash (bash)"


def test_without_environments_the_picker_lists_kernelspecs() -> None:
    assert [c.label for c in choices.menu([spec("ir", "R")], [], "")] == ["ir"]


def test_nothing_of_kernelstart_imports_jupyter_client_until_a_kernel_is_started() -> None:
    code = (
        "import sys; import kernel_nvim.plugin, kernel_nvim.lifecycle; "
        "from kernel_nvim.kernel.sources import managed, choices; "
        "choices.spec_names(); print('jupyter_client' in sys.modules)"
    )
    package = Path(choices.__file__).parents[3]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(package)}).stdout  # fmt: skip
    assert out.strip() == "False"
