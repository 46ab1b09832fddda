"""kernel.nvim: run code from Neovim in a running Jupyter kernel.

pynvim's host finds the plugin class through this package.
"""

from .plugin import KernelPlugin

__all__ = ["KernelPlugin"]
