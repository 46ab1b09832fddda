"""kernel.nvim: run code from Neovim in a Jupyter kernel.

pynvim's host finds the plugin class through this package (it lists the package's members).
The class is imported on that first look, not with the package, so that the pure layers
(``session``, ``output``) can be imported, and unit-tested, without pynvim.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KernelPlugin"]


def __getattr__(name: str) -> Any:
    if name == "KernelPlugin":
        from .plugin import KernelPlugin

        return KernelPlugin
    raise AttributeError(name)


def __dir__() -> list[str]:
    return list(__all__)
