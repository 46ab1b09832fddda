""":KernelConnect ssh://[user@]host[:port]/[kernel] (or scp's host:kernel), wired into the app.

Everything slow (ssh to list the connection files there, to read the one chosen, to open the
tunnel) runs in threads of its own; what it found comes back on the host's main thread
(``_later``), as lifecycle's news does. Without a kernel named: the one kernel running there
is linked, several are offered in the picker (newest first; with ! the files of kernels that
died too, marked), none is one line.

Until the file is read, the session is a stand-in's (:class:`Pending`), so that code sent right
after :KernelConnect waits for the kernel, in order, as it does for a local one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import KernelError
from .session.kernel_session import ERROR, KernelSession

if TYPE_CHECKING:
    from .app import App
    from .editor.protocol import PickItem
    from .kernel.channel import Channel
    from .kernel.sources.ssh import SshSource
    from .kernel.sources.ssh_hosts import Listing
    from .kernel.sources.targets import SshTarget

log = logging.getLogger(__name__)


class Tunnels:
    def __init__(self, app: App) -> None:
        self.app = app

    def connect(self, target: SshTarget, everything: bool) -> None:
        """Find the kernel there aside; link it once its tunnel is open."""
        command = self.app.options.ssh_command
        unsigned = self.app.options.allow_unsigned
        pending = self.app.adopt(Pending(target), keep=True)  # the link stays till it is found
        pending.starting()  # what is sent meanwhile waits
        found = self.app.later(lambda source: self._found(pending, source))
        failed = self.app.later(lambda why: self._failed(pending, why))
        offer = self.app.later(lambda listing: self._offer(pending, target, listing))

        def find() -> None:
            from .kernel.sources import ssh, ssh_hosts

            try:
                path = target.what
                if not target.is_path:
                    listing = ssh_hosts.list_files(command, target)
                    live = ssh_hosts.running(listing)
                    if not path and not (live or (everything and listing.files)):
                        raise KernelError(ssh_hosts.nothing_there(listing, target.host))
                    if not path and (everything or len(live) > 1):
                        offer(listing if everything else replace(listing, files=tuple(live)))
                        return
                    chosen = ssh_hosts.choose(listing, path, target.host) if path else live[0]
                    path = chosen.path
                path, raw = ssh_hosts.read_file(command, target, path)
                found(ssh.SshSource.make(command, target, path, raw, unsigned))
            except KernelError as e:
                failed(str(e))
            except Exception as e:  # never a traceback, and nothing of the file: its type
                log.exception("kernel.nvim: ssh to %s failed", target.host)
                failed(f"internal error ({type(e).__name__}); details in the log")

        threading.Thread(target=find, name="kernel.nvim ssh", daemon=True).start()

    def _found(self, pending: KernelSession, source: SshSource) -> None:
        if not self._drop(pending):
            source.tunnel.close()  # another kernel was linked meanwhile: its dir goes
            return
        session = self.app.adopt(source)
        session.starting()  # what is sent meanwhile waits for the link
        session.held = [*pending.held, *session.held]
        source.tunnel.start(self.app.later(lambda why: self._opened(session, source, why)))

    def _failed(self, pending: KernelSession, why: str) -> None:
        waited = self._drop(pending)
        not_sent = len(pending.held) if waited else 0
        self.app.say(why + (f" ({not_sent} not sent)" if not_sent else ""), ERROR)

    def _drop(self, pending: KernelSession) -> bool:
        """The stand-in goes, and the link kept behind it is back; whether it was still the
        session the user waits for."""
        if self.app.sessions.get(pending.source.key) is pending:
            del self.app.sessions[pending.source.key]
        if self.app.active is not pending:
            return False
        self.app.active = None
        self.app.back()
        return True

    def _opened(self, session: KernelSession, source: SshSource, why: str) -> None:
        waiting = session.source is source and session.channel is None
        if why:
            source.tunnel.close()
            if waiting and self.app.active is session:
                session.start_failed(f"cannot reach {source.name} on {source.target.host}: {why}")
            return
        if waiting and self.app.active is session:
            self.app.link(session)
        else:  # another kernel was linked meanwhile
            source.tunnel.close()

    def _offer(self, pending: KernelSession, target: SshTarget, listing: Listing) -> None:
        not_sent = len(pending.held)
        if self._drop(pending) and not_sent:  # the choice is a :KernelConnect of its own
            self.app.say(f"{not_sent} not sent: choose a kernel first", ERROR)
        self.app.offer({"prompt": f"Connect to kernel on {target.host}:",
                       "items": picker_items(target, listing, time.time())})  # fmt: skip


def picker_items(target: SshTarget, listing: Listing, now: float) -> list[PickItem]:
    """One line per file there, newest first; choosing one links it by its path."""
    from .session.kernel_list import age

    port = f":{target.port}" if target.port else ""
    base = f"ssh://{quote(target.destination, safe='@')}{port}/"
    width = max(len(f.name) for f in listing.files)
    return [{"target": base + quote(f.path),
             "label": f"{f.name:<{width}}  {age(now - f.mtime):<11}  "
                      f"{listing.shown(f.path).rsplit('/', 1)[0]}"
                      + ("  not running" if f.alive is False else "")}
            for f in listing.files]  # fmt: skip


class Pending:
    """The stand-in source of a kernel on another host while its file is looked for there."""

    owned = False
    can_restart = False
    can_shutdown = False

    def __init__(self, target: SshTarget) -> None:
        self.target = target

    @property
    def name(self) -> str:
        return self.target.shown

    short_name = buffer_name = key = name

    @property
    def kernel_name(self) -> str:
        return ""

    def warnings(self) -> list[str]:
        return []

    def open(self, on_events: Any, timing: Any = None) -> Channel:
        raise self._not_yet()

    def greeting(self, details: str) -> str:
        return details

    def interrupt(self, channel: Channel) -> str:
        raise self._not_yet()

    def restart(self, now: bool, done: Callable[[str], None]) -> None:
        raise self._not_yet()

    def shutdown(self, channel: Channel, force: bool, done: Callable[[str], None]) -> None:
        raise self._not_yet()

    def _not_yet(self) -> KernelError:
        return KernelError(f"{self.name}: the kernel is still looked for there")

    def release(self, keep: bool) -> threading.Event:
        done = threading.Event()
        done.set()
        return done
