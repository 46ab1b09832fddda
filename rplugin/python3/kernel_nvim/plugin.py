"""The only module that knows pynvim's decorators: thin entry points that delegate.

Neovim calls ``KernelRpc(method, options, args...)`` (a notification: the editor never waits)
and ``KernelRpcSync(method, options, args...)`` (a request, only where a value must come back, as
for tab completion); ``options`` are the user's settings, sent along so that no command has to
ask the editor for them midway. Nothing happens at import time or in ``__init__``:
``:UpdateRemotePlugins`` imports this module in a throw-away host.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pynvim

from .app import App
from .errors import KernelError
from .session.kernel_session import ERROR, KernelSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    run: Callable[..., Any]
    linked: bool = False  # run on the session linked now: "not connected" without one
    sync: bool = False  # called through KernelRpcSync: its value goes back to the editor


def _lifecycle(method: str) -> Callable[..., Any]:
    """A command of kernels we start (lifecycle.py), run on the app's Lifecycle."""
    return lambda app, *args: getattr(app.lifecycle, method)(*args)


COMMANDS: dict[str, Command] = {
    "connect": Command(App.connect),
    "list": Command(App.list_kernels),
    "disconnect": Command(App.disconnect),
    "clear": Command(App.clear),
    "resend": Command(App.resend),
    "jump": Command(App.jump),
    "open": Command(App.open),
    "input_reply": Command(App.input_reply),
    "complete": Command(App.complete),
    "complete_connection": Command(App.complete_connection, sync=True),
    "save": Command(App.save),
    "send": Command(KernelSession.send, linked=True),
    "interrupt": Command(KernelSession.interrupt, linked=True),
    "inspect": Command(KernelSession.inspect, linked=True),
    "history": Command(KernelSession.history, linked=True),
    "traceback": Command(KernelSession.traceback, linked=True),
    "start": Command(_lifecycle("start")),
    "start_pick": Command(_lifecycle("pick")),
    "restart": Command(_lifecycle("restart")),
    "shutdown": Command(_lifecycle("shutdown")),
    "complete_start": Command(_lifecycle("complete"), sync=True),
    # Sync: Neovim's exit waits (a bounded time) for the kernels we started to stop.
    "exit": Command(_lifecycle("exit"), sync=True),
}


@pynvim.plugin
class KernelPlugin:
    def __init__(self, nvim: pynvim.Nvim) -> None:
        self._nvim = nvim
        self._app: App | None = None

    # Async: sending, connecting, interrupting never make the editor wait for the host.
    @pynvim.function("KernelRpc", sync=False)  # type: ignore[untyped-decorator]
    def rpc(self, args: list[Any]) -> None:
        self._call(args, sync=False)

    # Sync only because tab completion needs the list back; it never touches the kernel.
    @pynvim.function("KernelRpcSync", sync=True)  # type: ignore[untyped-decorator]
    def rpc_sync(self, args: list[Any]) -> Any:
        return self._call(args, sync=True)

    def _call(self, args: list[Any], sync: bool) -> Any:
        if self._app is None:
            self._app = App(self._nvim)
        app = self._app
        method = args[0] if args else None
        options = args[1] if len(args) > 1 else None
        params = args[2:]
        result = None
        try:
            command = COMMANDS.get(method) if isinstance(method, str) else None
            if command is None or command.sync != sync:
                raise KernelError(f"unknown request {method!r}")
            app.set_options(options)
            result = command.run(app.linked() if command.linked else app, *params)
        except KernelError as e:
            app.say(str(e), ERROR)
        except ImportError as e:
            app.say(f"python package missing: {e.name or 'a package'} (run: {sys.executable} -m "
                    "pip install pynvim pyzmq jupyter_core)", ERROR)  # fmt: skip
        except Exception as e:  # never a traceback, nor a value it may quote: one line, the log
            log.exception("kernel.nvim: %s failed", method)
            app.say(f"internal error in {method} ({type(e).__name__}); details in the log", ERROR)
        try:  # whatever the call changed, showed or said reaches the editor
            app.update()
        except Exception:
            log.exception("kernel.nvim: cannot report to the editor")
        return result
