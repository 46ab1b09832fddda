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


def test_what_a_first_link_does_not_need_is_loaded_only_when_used() -> None:
    # The host loads the plugin while Neovim waits for it (the first command's remote#host
    # poll): :KernelStart's lifecycle, the picker's listing, HTML rendering and the media
    # store (tempfile, shutil, hashlib) come with their first use.
    later = ("kernel_nvim.lifecycle", "kernel_nvim.session.kernel_list",
             "kernel_nvim.media.forms", "kernel_nvim.media.store",
             "kernel_nvim.output.render.html", "html.parser")  # fmt: skip
    code = f"import sys, kernel_nvim.plugin; print([m for m in {later!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(PACKAGE.parent)}).stdout  # fmt: skip
    assert out.strip() == "[]"
