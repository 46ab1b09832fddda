"""The layers keep to themselves: the pure ones import neither pynvim nor zmq."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rplugin" / "python3" / "kernel_nvim"


def pure_modules() -> list[str]:
    found = []
    for layer in ("session", "output"):
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            found.append(".".join(p for p in parts if p != "__init__"))
    return found


@pytest.mark.parametrize("module", pure_modules())
def test_a_pure_module_imports_neither_pynvim_nor_zmq(module: str) -> None:
    code = (
        f"import sys; import {module}; "
        "print(sorted(m for m in ('pynvim', 'zmq') if m in sys.modules))"
    )
    env_path = str(PACKAGE.parent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": env_path}).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_the_host_still_finds_the_plugin_class() -> None:
    import kernel_nvim

    assert "KernelPlugin" in dir(kernel_nvim)
    assert getattr(kernel_nvim.KernelPlugin, "_nvim_plugin", False)
