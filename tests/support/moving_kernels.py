"""A Jupyter Server kernel manager whose restarts give the kernel new ports, as Enterprise
Gateway's remote kernels (and other provisioners) do: the server's sockets of a websocket open
before the restart then lead nowhere. Loaded by the real server a test starts
(``start_server(..., moving=True)``); the kernels are real ipykernels."""

from __future__ import annotations

from typing import Any

from jupyter_client.ioloop.manager import AsyncIOLoopKernelManager


class MovingKernelManager(AsyncIOLoopKernelManager):
    async def _async_restart_kernel(
        self, now: bool = False, newports: bool = False, **kw: Any
    ) -> None:
        await super()._async_restart_kernel(now=now, newports=True, **kw)

    restart_kernel = _async_restart_kernel  # type: ignore[assignment]
