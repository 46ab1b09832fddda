"""Real parts for kernels we start: kernelspecs in a Jupyter data dir of their own, and projects
with a real virtual environment (`python -m venv`), with or without ipykernel.

A project's venv gets ipykernel without a download: a `.pth` file in its site-packages adds the
test environment's site-packages, so its own python imports ipykernel from there, as a venv
made with `--system-site-packages` would from its base python.
"""

from __future__ import annotations

import json
import subprocess
import sysconfig
from pathlib import Path

from .sandbox import PYTHON

SITE_PACKAGES = sysconfig.get_paths()["purelib"]  # the test environment's: it has ipykernel


def write_kernelspec(
    data_dir: Path,
    name: str,
    argv: list[str],
    display_name: str = "",
    language: str = "python",
    interrupt_mode: str = "signal",
) -> Path:
    """`data_dir`/kernels/`name`/kernel.json, as `jupyter kernelspec install` writes it."""
    spec_dir = data_dir / "kernels" / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv, "display_name": display_name or name, "language": language,
            "interrupt_mode": interrupt_mode, "metadata": {}}  # fmt: skip
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return spec_dir


def ipykernel_argv(python: str = PYTHON) -> list[str]:
    return [python, "-m", "ipykernel_launcher", "-f", "{connection_file}",
            "--HistoryManager.hist_file=:memory:"]  # fmt: skip


def make_venv(root: Path, ipykernel: bool) -> Path:
    """A real venv at `root`; returns its python."""
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    if ipykernel:
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()  # fmt: skip
        (Path(purelib) / "kernel_test_packages.pth").write_text(SITE_PACKAGES + "\n")
    return python


def make_project(root: Path, name: str, ipykernel: bool) -> Path:
    """`root`/`name` with a `.venv` and a `src/cells.py`; returns the project's directory."""
    project = root / name
    (project / "src").mkdir(parents=True)
    make_venv(project / ".venv", ipykernel)
    (project / "src" / "cells.py").write_text(
        "# %%\nimport sys\nprint('prefix', sys.prefix)\n# %%\nprint('second', 6 * 7)\n"
    )
    return project


def kernel_pids(connection_file: str) -> list[int]:
    """The processes whose command line names `connection_file`: the kernel started with it."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # exited meanwhile
            continue
        if connection_file in cmdline and state != "Z":
            found.append(int(entry.name))
    return found
