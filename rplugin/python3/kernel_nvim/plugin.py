"""The only module that knows pynvim's decorators: thin entry points that delegate.

Neovim calls ``KernelRpc(method, args...)`` (a notification: the editor never waits) and
``KernelRpcSync(method, args...)`` (a request, only where a value must come back, as for tab
completion). Nothing happens at import time or in ``__init__``: ``:UpdateRemotePlugins`` imports
this module in a throw-away host.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import pynvim

from .controller import ERROR, Controller
from .errors import KernelError

log = logging.getLogger(__name__)

METHODS = {
    "connect",
    "disconnect",
    "send",
    "interrupt",
    "output",
    "clear",
    "complete_connection",
    "resend",
    "input_reply",
    "inspect",
    "complete",
    "history",
    "traceback",
    "jump",
}


@pynvim.plugin
class KernelPlugin:
    def __init__(self, nvim: pynvim.Nvim) -> None:
        self._nvim = nvim
        self._controller: Controller | None = None

    # Async: sending, connecting, interrupting never make the editor wait for the host.
    @pynvim.function("KernelRpc", sync=False)  # type: ignore[untyped-decorator]
    def rpc(self, args: list[Any]) -> None:
        self._call(args)

    # Sync only because tab completion needs the list back; it never touches the kernel.
    @pynvim.function("KernelRpcSync", sync=True)  # type: ignore[untyped-decorator]
    def rpc_sync(self, args: list[Any]) -> Any:
        return self._call(args)

    def _call(self, args: list[Any]) -> Any:
        if self._controller is None:
            self._controller = Controller(self._nvim)
        controller = self._controller
        method, _options, *params = args or ["?", None]  # options: read by the new host
        result = None
        try:
            if method not in METHODS:
                raise KernelError(f"unknown request {method!r}")
            result = getattr(controller, method)(*params)
        except KernelError as e:
            controller.say(str(e), ERROR)
        except ImportError as e:
            controller.say(
                f"python package missing: {e.name or e} (run: {sys.executable} -m pip install "
                "pynvim pyzmq jupyter_core)",
                ERROR,
            )
        except Exception as e:  # never a traceback in the user's face: one line, details logged
            log.exception("kernel.nvim: %s failed", method)
            controller.say(f"internal error in {method}: {e!r}", ERROR)
        try:  # whatever the call changed, showed or said reaches the editor
            controller.update()
        except Exception:
            log.exception("kernel.nvim: cannot report to the editor")
        return result
