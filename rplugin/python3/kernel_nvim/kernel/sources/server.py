"""Kernels behind a Jupyter Server, a Kernel Gateway, an Enterprise Gateway or a JupyterHub
user server: they all speak the same REST API (``/api/kernels``, ``/api/kernelspecs``) and the
same kernel websocket (``ws_channel``).

:class:`ServerTarget` is what a URL names: the server's base URL (JupyterHub's ``/user/NAME/``
kept), the token it carried, and a kernel or kernelspec when it names one. :class:`Rest` makes
the calls, with the standard library, in the caller's thread (never the editor's: ``servers``
runs them aside). :class:`ServerKernelSource` is what the session may do with such a kernel.
No message quotes the token: servers are shown by their URL without its query.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from ...errors import KernelError
from .. import ws_watch
from ..channel import Channel, EventSink

if TYPE_CHECKING:
    from ..ws_channel import WsChannel
    from ..zmq_channel import Timing

TIMEOUT = 10.0  # seconds a REST call may take
# The first path segment of the server's own pages: the base URL ends before it.
_PAGES = {"lab", "tree", "notebooks", "edit", "view", "doc", "voila", "consoles", "terminals",
          "files", "nbclassic", "retro", "api", "login", "logout"}  # fmt: skip
_KERNEL = re.compile(r"api/kernels/([0-9A-Za-z_-]+)")
_SPEC = re.compile(r"api/kernelspecs/([^/?#]+)")
Done = Callable[[str], None]


class TokenRefused(KernelError):
    """The server wants a token (none was given) or refused the one given."""


@dataclass(frozen=True)
class ServerTarget:
    base: str  # scheme://host[:port]/base/, ending in /
    token: str = field(default="", repr=False)
    kernel_id: str = ""  # .../api/kernels/{id}: that kernel
    spec: str = ""  # .../api/kernelspecs/{name}: a new kernel of it

    @property
    def shown(self) -> str:
        return self.base

    @property
    def is_loopback(self) -> bool:
        host = urlsplit(self.base).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")


def parse_url(url: str) -> ServerTarget:
    """What ``url`` names: any URL of the server (``/lab?token=...``, ``/tree``, a notebook's,
    ``/api/kernels/{id}``), cut back to its base."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KernelError(f"not a server URL: {parts.scheme}://{parts.netloc}{parts.path} "
                          "(use http(s)://host:port/...)")  # fmt: skip
    token = (parse_qs(parts.query).get("token") or [""])[0]
    segments = parts.path.split("/")
    cut = next((i for i, s in enumerate(segments) if s in _PAGES), len(segments))
    base_path = "/".join(segments[:cut]).rstrip("/") + "/"
    rest = "/".join(segments[cut:])
    kernel = _KERNEL.match(rest)
    spec = _SPEC.match(rest)
    netloc = parts.netloc.rsplit("@", 1)[-1]  # never a user:password of the URL
    base = f"{parts.scheme}://{netloc}{base_path if base_path.startswith('/') else '/'}"
    return ServerTarget(base, token, kernel[1] if kernel else "", spec[1] if spec else "")


class Rest:
    """The server's REST API, as one user with one token."""

    def __init__(self, target: ServerTarget, ca_file: str = "") -> None:
        self.target = target
        self.ca_file = ca_file
        self.ahead = 0.0  # seconds the server's clock is ahead of ours, by its last Date

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        import ssl
        import urllib.error
        import urllib.request

        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.target.url(path), data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.target.token:
            request.add_header("Authorization", f"token {self.target.token}")
        context = ssl.create_default_context(cafile=self.ca_file or None)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as answer:
                text = answer.read()
                self.ahead = ws_watch.ahead(answer.headers.get("Date"), time.time(), self.ahead)
        except urllib.error.HTTPError as e:
            raise self._refused(e.code, method, path) from None
        except urllib.error.URLError as e:
            raise self._unreachable(e.reason) from None
        except (OSError, ValueError) as e:
            raise self._unreachable(e) from None
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise KernelError(f"{self.target.shown} answered {path} with something that is "
                              "not JSON: is it a Jupyter Server?") from None  # fmt: skip

    def _refused(self, status: int, method: str, path: str) -> KernelError:
        shown = self.target.shown
        if status in (401, 403):
            if self.target.token:
                return TokenRefused(f"{shown} refused the token ({status})")
            return TokenRefused(f"{shown} wants a token ({status})")
        if status == 404 and path.startswith("api/kernels/"):
            return KernelError(f"{shown} has no such kernel (404)")
        if status == 404:
            return KernelError(f"{shown} has no {path} (404): is it a Jupyter Server?")
        return KernelError(f"{shown} answered {method} {path} with {status}")

    def _unreachable(self, reason: object) -> KernelError:
        import ssl

        shown = self.target.shown
        if isinstance(reason, ssl.SSLCertVerificationError):
            why = reason.verify_message or "not trusted"
            return KernelError(f"{shown}'s certificate is not trusted ({why}): if it is yours, "
                               "set its CA bundle as 'ca' in g:kernel_servers")  # fmt: skip
        if isinstance(reason, ConnectionRefusedError):
            return KernelError(f"cannot reach {shown}: connection refused (is the server up?)")
        text = " ".join(str(reason).split())[:120] or type(reason).__name__
        return KernelError(f"cannot reach {shown}: {text}")


def short_id(kernel_id: str) -> str:
    return kernel_id[:8]


class ServerKernelSource:
    """A kernel on a server. Restart and interrupt go through the server; shutting it down is
    for kernels we started there (or :KernelShutdown!). Neovim's exit shuts down those we
    started, unless g:kernel_keep_started."""

    can_restart = True
    can_shutdown = True

    def __init__(self, rest: Rest, kernel: dict[str, Any], owned: bool,
                 report: Callable[[str], None]) -> None:  # fmt: skip
        self.rest = rest
        self.kernel_id = str(kernel["id"])
        self._kernel_name = str(kernel.get("name") or "")
        self.owned = owned
        self.keep = False
        self._report = report  # a failure of a call made aside, said on the host's thread
        self._session_id = uuid.uuid4().hex  # the same on every reconnect: the server replays
        self._greeted = False

    def __repr__(self) -> str:
        return f"ServerKernelSource({self.rest.target.base!r}, {self.kernel_id!r})"

    @property
    def name(self) -> str:
        return f"kernel {short_id(self.kernel_id)} on {self.rest.target.shown}"

    @property
    def short_name(self) -> str:
        host = urlsplit(self.rest.target.base).netloc
        return f"{short_id(self.kernel_id)}@{host}"

    @property
    def buffer_name(self) -> str:
        parts = urlsplit(self.rest.target.base)
        return f"kernel://{parts.netloc}{parts.path}kernels/{self.kernel_id}"

    @property
    def kernel_name(self) -> str:
        return self._kernel_name

    @property
    def key(self) -> str:
        return self.rest.target.base + "api/kernels/" + self.kernel_id

    def warnings(self) -> list[str]:
        target = self.rest.target
        if target.base.startswith("http://") and not target.is_loopback:
            return [f"{target.shown} is reached over http: the token and the code are not "
                    "encrypted (use https)"]  # fmt: skip
        return []

    def greeting(self, details: str) -> str:
        greeted, self._greeted = self._greeted, True
        how = "Started" if self.owned and not greeted else "Connected to"
        return f"{how} {self.name} ({details})"

    def open(self, on_events: EventSink, timing: Timing | None = None) -> WsChannel:
        from ..ws_channel import WsChannel, WsEndpoint
        from ..zmq_channel import Timing

        target = self.rest.target
        ws_base = "ws" + target.base.removeprefix("http")
        url = (f"{ws_base}api/kernels/{quote(self.kernel_id)}/channels"
               f"?session_id={self._session_id}")  # fmt: skip
        headers = {"Authorization": f"token {target.token}"} if target.token else {}
        endpoint = WsEndpoint(url, target.shown, headers, self.rest.ca_file)
        # A kernel a server starts may take its time; pings say whether the server answers.
        timing = timing or Timing(handshake=60.0, hb_interval=5.0, hb_timeout=15.0)
        return WsChannel(endpoint, self._session_id, on_events, timing, activity=self._activity)

    def _activity(self) -> tuple[str, float]:
        """The server's last_activity of the kernel, and how far the server's clock is ahead
        of ours (ws_watch): in the watch's thread."""
        model = self.rest.get(self._path())
        activity = str(model.get("last_activity") or "") if isinstance(model, dict) else ""
        return activity, self.rest.ahead

    def interrupt(self, channel: Channel) -> str:
        """Through the server (it knows how its kernel takes interrupts)."""
        self._aside("interrupt", lambda: self.rest.call("POST", self._path("interrupt")))
        return ""

    def restart(self, now: bool, done: Done) -> None:
        self._aside("restart", lambda: self.rest.call("POST", self._path("restart")), done)

    def shutdown(self, channel: Channel, force: bool, done: Done) -> None:
        if not (self.owned or force):
            raise KernelError(f"{self.short_name} was not started here: :KernelShutdown! shuts "
                              "it down on the server, for every client of it")  # fmt: skip
        self._aside("shut down", lambda: self.rest.call("DELETE", self._path()), done)

    def release(self, keep: bool) -> threading.Event:
        """Neovim exits: shut down the kernel we started, unless ``keep``."""
        finished = threading.Event()
        if not self.owned or keep:
            finished.set()
        else:
            self._aside("shut down", lambda: self.rest.call("DELETE", self._path()),
                        lambda _: finished.set())  # fmt: skip
        return finished

    def _path(self, action: str = "") -> str:
        path = f"api/kernels/{quote(self.kernel_id)}"
        return f"{path}/{action}" if action else path

    def _aside(self, what: str, call: Callable[[], Any], done: Done | None = None) -> None:
        def run() -> None:
            problem = ""
            try:
                call()
            except KernelError as e:
                problem = f"cannot {what} {self.short_name}: {e}"
            except Exception as e:
                problem = f"cannot {what} {self.short_name}: internal error ({type(e).__name__})"
            if done is not None:
                done(problem)
            elif problem:
                self._report(problem)

        threading.Thread(target=run, name=f"kernel.nvim {what}", daemon=True).start()
