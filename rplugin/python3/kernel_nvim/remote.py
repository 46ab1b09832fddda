"""Kernels elsewhere, wired into the app: on a host reached over ssh (``tunnels``) and behind a
Jupyter Server, Kernel Gateway or JupyterHub (``servers``). Each is made the first time it is
used, so that nothing of it is imported before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import App


class Remote:
    def __init__(self, app: App) -> None:
        self.app = app
        self._tunnels: Any = None
        self._servers: Any = None

    def tunnels(self) -> Any:
        """:KernelConnect ssh://host/...: kernels on a host reached over ssh."""
        if self._tunnels is None:
            from .tunnels import Tunnels

            self._tunnels = Tunnels(self.app)
        return self._tunnels

    def servers(self) -> Any:
        """:KernelConnect http(s)://...: kernels behind a Jupyter Server."""
        if self._servers is None:
            from .servers import Servers

            self._servers = Servers(self.app)
        return self._servers
