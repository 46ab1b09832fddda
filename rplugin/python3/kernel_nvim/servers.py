"""Kernels behind a Jupyter Server, wired into the app: ``:KernelConnect https://...`` (attach to
a running kernel, or pick one), ``:KernelStart https://...`` (a new kernel from the server's
kernelspecs), and the token each server wants.

Every REST call runs in a thread of its own; what it found comes back on the host's main thread
(``App.later``), where the picker is offered or the session linked. A server's token comes from
its URL, from g:kernel_servers, or is asked once (``inputsecret``, through the stdin asks the
editor already answers) and kept in this process's memory only, by the server's base URL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .editor.protocol import PickItem
from .errors import KernelError
from .kernel.sources.server import (
    Rest,
    ServerKernelSource,
    ServerTarget,
    TokenRefused,
    parse_url,
    short_id,
)
from .session.kernel_session import ERROR

if TYPE_CHECKING:
    from .app import App

TOKEN_ASK = "kernel.nvim-token:"  # the id of an ask that is a server's token, not input()
CONNECT_PROMPT = "Connect to a kernel on the server"
START_PROMPT = "Start a kernel on the server"


class Servers:
    def __init__(self, app: App) -> None:
        self.app = app
        self._tokens: dict[str, str] = {}  # base URL -> token, asked or given in a URL
        self._waiting: dict[str, Callable[[], None]] = {}  # ask id -> what waits for its token

    # Commands.

    def connect(self, url: str, everything: bool) -> None:
        """:KernelConnect URL: the kernel it names, else the one running there (``everything``:
        the picker always), else a picker of its kernels and of new ones."""
        target = self._target(url)
        if target.spec:
            self.start(url)
        elif target.kernel_id:
            self._aside(target, lambda rest: self._attach(rest, target.kernel_id))
        else:
            self._aside(target, lambda rest: self._choose(rest, everything))

    def start(self, url: str) -> None:
        """:KernelStart URL: a new kernel of the kernelspec it names, else a picker of them."""
        target = self._target(url)
        if target.spec:
            self._aside(target, lambda rest: self._start(rest, target.spec))
        else:
            self._aside(target, lambda rest: self._specs(rest))

    def token_reply(self, ask_id: str, value: str | None) -> None:
        """The user typed the token a server wants (None: cancelled)."""
        retry = self._waiting.pop(ask_id, None)
        base = ask_id.removeprefix(TOKEN_ASK)
        if not value:
            self.app.say(f"no token given for {base}: not connected", ERROR)
            self._settle()
            return
        self._tokens[base] = value.strip()
        if retry is not None:
            retry()

    # In a REST call's thread: what the server has, then back to the main thread.

    def _choose(self, rest: Rest, everything: bool) -> Callable[[], None]:
        kernels = _listed(rest.get("api/kernels"))
        specs = _specs_of(rest.get("api/kernelspecs"))
        if len(kernels) == 1 and not everything:
            return self._attach(rest, str(kernels[0]["id"]))
        now = time.time()
        items: list[PickItem] = [_kernel_item(rest.target, k, now) for k in kernels]
        items += [_spec_item(rest.target, name, shown) for name, shown in specs]
        if not items:
            raise KernelError(f"{rest.target.shown} runs no kernel and offers no kernelspec")
        return lambda: self._offer(CONNECT_PROMPT, items)

    def _specs(self, rest: Rest) -> Callable[[], None]:
        specs = _specs_of(rest.get("api/kernelspecs"))
        if not specs:
            raise KernelError(f"{rest.target.shown} offers no kernelspec")
        items = [_spec_item(rest.target, name, shown) for name, shown in specs]
        return lambda: self._offer(START_PROMPT, items)

    def _attach(self, rest: Rest, kernel_id: str) -> Callable[[], None]:
        kernel = rest.get(f"api/kernels/{kernel_id}")
        if not isinstance(kernel, dict) or "id" not in kernel:
            raise KernelError(f"{rest.target.shown} has no such kernel")
        return lambda: self._link(rest, kernel, owned=False)

    def _start(self, rest: Rest, spec: str) -> Callable[[], None]:
        kernel = rest.call("POST", "api/kernels", {"name": spec})
        if not isinstance(kernel, dict) or "id" not in kernel:
            raise KernelError(f"{rest.target.shown} did not start a {spec} kernel")
        return lambda: self._link(rest, kernel, owned=True)

    # On the host's main thread.

    def _link(self, rest: Rest, kernel: dict[str, Any], owned: bool) -> None:
        report = self.app.later(lambda problem: self.app.say(problem, ERROR))
        source = ServerKernelSource(rest, kernel, owned, report)
        known = self.app.sessions.get(source.key)
        if known is not None and isinstance(known.source, ServerKernelSource):
            source.owned = source.owned or known.source.owned
        self.app.link(self.app.adopt(source))

    def _offer(self, prompt: str, items: list[PickItem]) -> None:
        self._settle()
        self.app.offer({"prompt": prompt, "items": items})

    def _settle(self) -> None:
        """The editor said "connecting" on its own: the true state again."""
        self.app.resettle()

    def _target(self, url: str) -> ServerTarget:
        target = parse_url(url)
        if target.token:
            self._tokens[target.base] = target.token
        token = self._tokens.get(target.base) or self._configured(target.base)[0]
        return ServerTarget(target.base, token, target.kernel_id, target.spec)

    def _configured(self, base: str) -> tuple[str, str]:
        """The token and CA bundle g:kernel_servers gives for the server at ``base``."""
        for prefix, token, ca in self.app.options.servers:
            if base.startswith(prefix.rstrip("/") + "/") or base == prefix:
                return token, ca
        return "", ""

    def _aside(self, target: ServerTarget, work: Callable[[Rest], Callable[[], None]]) -> None:
        """``work`` in a thread; the function it returns, or its failure, on the main thread."""
        rest = Rest(target, self._configured(target.base)[1])
        then = self.app.later(lambda result: result())

        def run() -> None:
            try:
                then(work(rest))
            except TokenRefused as e:
                why = str(e)
                then(lambda: self._no_token(target, work, why))
            except KernelError as e:
                why = str(e)
                then(lambda: self._failed(why))
            except Exception as e:
                why = f"internal error ({type(e).__name__})"
                then(lambda: self._failed(why))

        threading.Thread(target=run, name="kernel.nvim REST", daemon=True).start()

    def _no_token(self, target: ServerTarget, work: Callable[[Rest], Callable[[], None]],
                  why: str) -> None:  # fmt: skip
        if target.token:  # given, and refused: asking again would not help
            self._tokens.pop(target.base, None)
            self._failed(f"{why}: check the token in the URL or in g:kernel_servers")
            return
        ask = TOKEN_ASK + target.base

        def retry() -> None:
            token = self._tokens[target.base]
            self._aside(ServerTarget(target.base, token, target.kernel_id, target.spec), work)

        self._waiting[ask] = retry
        self.app.ask({"id": ask, "prompt": f"Token for {target.base}: ", "password": True})

    def _failed(self, why: str) -> None:
        self._settle()
        self.app.say(why, ERROR)


def _listed(kernels: Any) -> list[dict[str, Any]]:
    found = [k for k in kernels if isinstance(k, dict) and k.get("id")] if isinstance(
        kernels, list) else []  # fmt: skip
    return sorted(found, key=lambda k: str(k.get("last_activity") or ""), reverse=True)


def _specs_of(answer: Any) -> list[tuple[str, str]]:
    specs = answer.get("kernelspecs") if isinstance(answer, dict) else None
    if not isinstance(specs, dict):
        return []
    default = answer.get("default")
    found = []
    for name, entry in specs.items():
        spec = entry.get("spec") if isinstance(entry, dict) else None
        shown = spec.get("display_name") if isinstance(spec, dict) else None
        found.append((str(name), str(shown or name)))
    return sorted(found, key=lambda s: (s[0] != default, s[0]))


def _kernel_item(target: ServerTarget, kernel: dict[str, Any], now: float) -> PickItem:
    kernel_id = str(kernel["id"])
    connections = kernel.get("connections")
    count = f"{connections} connection{'' if connections == 1 else 's'}" if isinstance(
        connections, int) else ""  # fmt: skip
    parts = [str(kernel.get("name") or "kernel"), short_id(kernel_id),
             str(kernel.get("execution_state") or ""), count,
             _ago(kernel.get("last_activity"), now)]  # fmt: skip
    return {"target": target.url(f"api/kernels/{kernel_id}"),
            "label": "  ".join(p for p in parts if p)}  # fmt: skip


def _spec_item(target: ServerTarget, name: str, shown: str) -> PickItem:
    return {"target": target.url(f"api/kernelspecs/{name}"), "label": f"new: {shown} ({name})",
            "command": "start"}  # fmt: skip


def _ago(stamp: Any, now: float) -> str:
    if not isinstance(stamp, str):
        return ""
    try:
        seconds = max(0.0, now - datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"active {int(seconds // size)} {unit} ago"
    return "active just now"
