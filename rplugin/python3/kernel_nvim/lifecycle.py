"""Kernels of our own, wired into the app: `:KernelStart` (and its picker), `:KernelRestart`,
`:KernelShutdown`, and what Neovim's exit does to them.

Everything slow (running pythons to see which has ipykernel, importing jupyter_client, starting
and stopping processes) happens in the sources' threads; what they did comes back here on the
host's main thread (``App.later``), where the session is told. Restart and shutdown are asked of
the kernel's source, whatever it is: one we did not start says why not.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .editor.protocol import StartMenuPayload
from .errors import KernelError
from .session.kernel_session import ERROR, KernelSession
from .session.state import KernelState

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .app import App
    from .kernel.sources.choices import Choice
    from .kernel.sources.managed import ManagedSource

EXIT_WAIT = 3.0  # seconds Neovim's exit waits, at most, for the kernels we started to stop
PROMPT = "Start a kernel"


@dataclass(frozen=True)
class Where:
    """Where :KernelStart was typed: the buffer's file, Neovim's cwd, the buffer's filetype."""

    file: str = ""
    cwd: str = ""
    filetype: str = ""

    @classmethod
    def from_editor(cls, values: Any) -> Where:
        values = values if isinstance(values, dict) else {}
        texts = {k: values.get(k) for k in ("file", "cwd", "filetype")}
        return cls(**{k: v if isinstance(v, str) else "" for k, v in texts.items()})


class Lifecycle:
    def __init__(self, app: App) -> None:
        self.app = app
        self.menu: StartMenuPayload | None = None  # the picker, for the app's next update
        self._menu: list[Choice] = []
        self._menu_where = Where()
        self._gathering = False

    # Commands.

    def start(self, target: str, where: Any = None) -> None:
        """:KernelStart [kernelspec]: without one, the picker (its lines are gathered aside)."""
        from .kernel.sources.targets import is_server_url

        place = Where.from_editor(where)
        if isinstance(target, str) and is_server_url(target):
            self.app.remote.servers().start(target.strip())
        elif not isinstance(target, str) or not target.strip():
            self._gather(place)
        else:
            self._start(target.strip(), place)

    def pick(self, index: int) -> None:
        """The picker's answer: the ``index``th line (1-based) of the last menu shown."""
        if not isinstance(index, int) or not 1 <= index <= len(self._menu):
            raise KernelError("that choice is no longer offered: :KernelStart again")
        self._start(self._menu[index - 1], self._menu_where)

    def restart(self) -> None:
        session = self._linked()
        was_dead = session.status.linked is KernelState.DEAD
        busy = session.status.state is KernelState.BUSY
        session.source.restart(
            busy, self.app.later(lambda p: self._restarted(session, p, was_dead))
        )
        session.restarting()

    def shutdown(self, force: int = 0) -> None:
        session = self._linked()
        assert session.channel is not None
        done = self.app.later(lambda problem: self._shut_down(session, problem))
        session.source.shutdown(session.channel, bool(force), done)

    def exit(self) -> None:
        """Neovim exits (VimLeavePre): stop the kernels we started, unless they are kept."""
        keep = self.app.options.keep_started
        waits = [session.source.release(keep) for session in self.app.sessions.values()]
        deadline = time.monotonic() + EXIT_WAIT
        for finished in waits:
            finished.wait(max(0.0, deadline - time.monotonic()))

    def complete(self, arglead: str) -> list[str]:
        """:KernelStart <Tab>: kernelspec names (read from their directories: fast)."""
        from .kernel.sources import choices

        lead = arglead if isinstance(arglead, str) else ""
        return [name for name in choices.spec_names() if name.startswith(lead)]

    def _linked(self) -> KernelSession:
        session = self.app.linked()
        if session.channel is None:
            raise KernelError(f"{session.short} is starting: try again once it is idle")
        return session

    # Starting.

    def _gather(self, where: Where) -> None:
        from .kernel.sources import choices

        if self._gathering:
            return  # the picker is on its way
        self._gathering = True
        offer = self.app.later(lambda found, problem: self._offer(found, problem, where))
        choices.gather_aside(where.file, where.cwd, where.filetype, offer)

    def _offer(self, found: list[Choice], problem: str, where: Where) -> None:
        self._gathering = False
        if problem:
            self.app.say(problem, ERROR)
        elif not found:
            self.app.say(
                "nothing to start: no kernelspec found (jupyter kernelspec list) and no python "
                "with ipykernel in this project; install one: python3 -m pip install ipykernel",
                ERROR,
            )
        else:
            self._menu, self._menu_where = found, where
            self.menu = {"prompt": PROMPT, "items": [c.text for c in found]}

    def _start(self, choice: Choice | str, where: Where) -> None:
        from .kernel.sources import managed

        if not isinstance(choice, str) and choice.problem:
            raise KernelError(choice.problem)  # before the kernel linked now is dropped
        source = managed.ManagedSource(choice, where.cwd)
        session = self.app.adopt(source)
        session.starting()
        source.start(
            self.app.options.keep_started,
            self.app.later(lambda problem: self._launched(session, source, problem)),
            self.app.later(lambda how, tail: self._exited(session, source, how, tail)),
        )

    def _launched(self, session: KernelSession, source: ManagedSource, problem: str) -> None:
        waiting = session.source is source and session.channel is None
        waiting = waiting and session.status.linked is KernelState.STARTING
        if problem:
            if waiting:
                session.start_failed(problem)
            else:
                self.app.say(problem, ERROR)
        elif waiting and self.app.active is session:
            self.app.link(session)
        elif waiting:  # another kernel was linked meanwhile: this one waits for :KernelConnect
            session.status.unlinked()
            session.say(f"{source.short_name} started; :KernelConnect {source.short_name} "
                        "links it")  # fmt: skip

    def _exited(self, session: KernelSession, source: ManagedSource, how: str, tail: str) -> None:
        """The process ended by itself: before it answered (a bad argv: what it wrote to stderr
        says why), or later (a crash: its stderr holds only what it said as it started)."""
        if session.source is not source:
            return
        if session.status.linked is KernelState.STARTING:
            session.start_failed(
                f"cannot start {source.label}: it {how}" + (f": {tail}" * bool(tail))
            )
            self.app.forget_link(session)
            source.release(keep=False)  # its connection file goes
        elif session.channel is not None:
            session.gone("no reply: the kernel died", f"{source.short_name} {how}")

    # Restart, shutdown.

    def _restarted(self, session: KernelSession, problem: str, was_dead: bool) -> None:
        if problem:
            session.gone("no reply: the kernel could not restart", problem)
        elif was_dead and self.app.active is session:  # its channel stopped with it: a new one
            session.unlink()
            session.starting()
            self.app.link(session)
        else:
            session.restart_done()

    def _shut_down(self, session: KernelSession, problem: str) -> None:
        if problem:
            session.say(problem, ERROR)
            return
        session.gone("no reply: the kernel was shut down", f"{session.short} was shut down")
        if session.channel is not None:
            session.unlink()
            self.app.forget_link(session)
