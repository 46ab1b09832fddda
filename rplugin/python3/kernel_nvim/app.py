"""Wires it together: a kernel source gives a channel, the channel's events go to the session of
that kernel, and the editor bridge writes what changed. One session per kernel for the whole
editor session; at most one of them is linked at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .editor.bridge import Bridge, Part
from .editor.protocol import Ask, PickPayload, StatePayload, Update, Where
from .errors import KernelError
from .kernel.channel import Event
from .media.gallery import NOTHING_TO_OPEN, Gallery
from .media.worker import Done
from .remote import Remote
from .session.kernel_session import ERROR, SILENT_WHILE_BUSY, WARN, KernelSession
from .session.options import Options
from .session.source import KernelSource
from .session.state import KernelState

if TYPE_CHECKING:
    from .lifecycle import Lifecycle

log = logging.getLogger(__name__)

DISCONNECTED: StatePayload = {"state": KernelState.DISCONNECTED.value, "name": "", "buffer": "",
                              "busy": "", "text": "disconnected"}  # fmt: skip


class Link:
    """The tag of one channel's events: events of a link replaced since are stale."""

    def __init__(self, session: KernelSession) -> None:
        self.session = session


class App:
    def __init__(self, nvim: Any) -> None:
        self.options = Options()
        self.sessions: dict[str, KernelSession] = {}
        self.active: KernelSession | None = None
        self.behind: KernelSession | None = None  # linked still, while one elsewhere is sought
        self.bridge = Bridge(nvim, self._handle, self._compose, lambda: self.gallery.flushed())
        self.gallery = Gallery(lambda: self.options, self.bridge.post)
        self.messages: list[tuple[str, int]] = []
        self._links: dict[int, Link] = {}  # id(session) -> its current link
        self._shown_state: StatePayload | None = None
        self._shown_linked = ""
        self._ticking = False
        self._pick: PickPayload | None = None  # the picker, for the next update
        self._asks: list[Ask] = []  # what the host itself asks the user (a server's token)
        self._expiry: float | None = None  # when the next request the user waits for runs out
        self._lifecycle: Lifecycle | None = None
        self.remote = Remote(self)  # kernels elsewhere: over ssh, behind a Jupyter Server

    @property
    def lifecycle(self) -> Lifecycle:
        """Kernels of our own (:KernelStart, restart, shutdown): loaded with the first use."""
        if self._lifecycle is None:
            from .lifecycle import Lifecycle

            self._lifecycle = Lifecycle(self)
        return self._lifecycle

    # Commands that need no linked kernel.

    def connect(self, target: str, cwd: str, everything: bool = False) -> None:
        """:KernelConnect [target]: without one, the one running kernel, or a picker of them
        (``everything``, the !: the picker always, with the files of stopped kernels too)."""
        from .kernel.sources import existing, targets

        self._shown_state = None  # the editor said "connecting" on its own: say it all again
        if not target.strip():
            self._choose(bool(everything), ":KernelConnect", direct=not everything)
        elif targets.is_server_url(target):
            self.remote.servers().connect(target.strip(), bool(everything))
        elif (host := targets.ssh_target(target, cwd)) is not None:
            self.remote.tunnels().connect(host, bool(everything))
        else:
            self._link(existing.resolve_connection_file(target, cwd))

    def _link(self, path: str) -> None:
        from .kernel.sources import existing

        source = existing.ConnectionFileSource.from_file(path, self.options.allow_unsigned)
        self.link(self.adopt(source))

    def disconnect(self) -> None:
        self._shown_state = None  # the editor said "disconnected" on its own
        self._drop_behind()
        session = self.linked()
        session.unlink()
        self.forget_link(session)

    def adopt(self, source: KernelSource, keep: bool = False) -> KernelSession:
        """The session of ``source``'s kernel (made the first time), active from now on; the link
        before is dropped, or (``keep``) kept behind until the next adopt or :meth:`back`."""
        self._shown_state = None  # the editor said "connecting"/"starting": say it all again
        session, before = self.sessions.get(source.key), self.active
        if keep and before is not None and before.channel is not None:
            self.behind = before
        elif not keep:
            self._drop_behind()
            if before is not None and before.channel is not None:
                before.unlink()
        if session is None:
            session = KernelSession(source, self.options, time.monotonic)
            self.sessions[source.key] = session
        if not session.source.owned:
            session.source = source  # a new kernel may have taken the file since
        self._apply_options(session)
        self.active = session
        return session

    def back(self) -> None:
        """No kernel was found where :KernelConnect looked: the link kept behind is active again."""
        behind, self.behind = self.behind, None
        if self.active is None and behind is not None and behind.channel is not None:
            self.active = behind
            self._shown_state = None

    def _drop_behind(self) -> None:
        behind, self.behind = self.behind, None
        if behind is not None and behind is not self.active and behind.channel is not None:
            behind.unlink()

    def link(self, session: KernelSession) -> None:
        """Open a channel to the session's kernel, and talk to it through that from now on."""
        source = session.source
        link = Link(session)
        self._links[id(session)] = link
        channel = source.open(self.bridge.sink(link, lambda: session.doc.max_lines))
        session.link(channel)
        for warning in source.warnings():
            session.say(warning, WARN)
        self.active = session
        channel.start()

    def list_kernels(self, everything: bool = False) -> None:
        """:KernelList: the picker, however many kernels run (``everything``: stopped ones too)."""
        self._choose(bool(everything), ":KernelList", direct=False)

    def forget_link(self, session: KernelSession) -> None:
        """Events of the session's last channel are stale from now on."""
        self._links.pop(id(session), None)

    def clear(self) -> None:
        if self.active is not None:
            self.active.doc.clear()

    def resend(self, name: str = "") -> None:
        """The user wiped an output buffer: write it all again."""
        for session in self.sessions.values():
            if not name or session.source.buffer_name == name:
                session.doc.invalidate()

    def complete_connection(self, arglead: str) -> list[str]:
        try:
            from .kernel.sources import catalog, existing
        except ImportError:  # told by :KernelConnect itself, not on every <Tab>
            return []
        # The socket table alone, no walk of /proc: 2 ms with 10 live kernels and 20 dead files
        # (bench/picker.py), where the names alone took 0.4 ms.
        return existing.completion_candidates(arglead, live=catalog.live_paths())

    def jump(self, row: int, name: str = "") -> None:
        """<CR> on line ``row`` (1-based): open a rich output, or go to a traceback's code."""
        session = self._named(name)
        if not self.gallery.open(session, row, self.active or session):
            session.jump(row)

    def input_reply(self, request_id: str, value: str | None) -> None:
        from .servers import TOKEN_ASK

        if isinstance(request_id, str) and request_id.startswith(TOKEN_ASK):
            self.remote.servers().token_reply(request_id, value)
        elif self.active is not None:
            self.active.input_reply(request_id, value)

    def complete(self, line: str, col: int, where: Where) -> None:
        if self.active is not None:
            self.active.complete(line, col, where)

    def save(self, file: str, bang: bool, cwd: str, name: str = "") -> None:
        """:KernelSave {file}: the executions the output of the kernel holds, as a notebook.
        After :KernelDisconnect, those of the kernel last linked; in an output buffer, its own."""
        from .media import notebook as notebook_file
        from .output import notebook

        if not self.sessions:
            raise KernelError("nothing to save: no kernel connected yet (use :KernelConnect)")
        session = self._named(name)
        path = notebook_file.target(file, cwd)
        saved = notebook.build(session.doc.blocks, session.kernel_info, session.source.kernel_name)
        notebook_file.write(saved, path, overwrite=bool(bang), cwd=cwd)
        cells = len(saved["cells"])
        session.say(f"saved {cells} cell{'' if cells == 1 else 's'} to "
                    f"{notebook_file.shown(path, cwd)}")  # fmt: skip

    def linked(self) -> KernelSession:
        """The session linked now (or whose kernel we start), for commands that need one."""
        active = self.active
        starting = active is not None and active.status.linked is KernelState.STARTING
        if active is None or (active.channel is None and not starting):
            raise KernelError("not connected: use :KernelConnect first")
        return active

    def set_options(self, values: Any) -> None:
        options = Options.from_editor(values)
        if options != self.options:
            self.options = options
            for session in self.sessions.values():
                self._apply_options(session)

    def say(self, text: str, level: int) -> None:
        self.messages.append((f"[kernel] {text}", level))

    def offer(self, pick: PickPayload) -> None:
        """Have the editor show a picker whose choice is :KernelConnect (or :KernelStart)."""
        self._pick = pick

    def ask(self, ask: Ask) -> None:
        """Ask the user something only the host needs (a token); answered as input_reply."""
        self._asks.append(ask)

    def resettle(self) -> None:
        """The editor showed a state of its own ("connecting"): send the true one again."""
        self._shown_state = None

    def update(self) -> None:
        self.bridge.update()

    def later(self, func: Callable[..., None]) -> Callable[..., None]:
        """``func``, called from another thread (a source's, a REST call's), runs on the host's
        main thread; what it says reaches the editor, and its failure is one line."""

        def soon(*args: Any) -> None:
            self.bridge.call_soon(lambda: self._run_later(func, *args))

        return soon

    def _run_later(self, func: Callable[..., None], *args: Any) -> None:
        try:
            func(*args)
        except KernelError as e:
            self.say(str(e), ERROR)
        except Exception as e:  # never a traceback: one line, and the log
            log.exception("kernel.nvim: news from another thread failed")
            self.say(f"internal error ({type(e).__name__}); details in the log", ERROR)
        self.update()

    # Choosing a kernel: :KernelConnect without a target, :KernelList.

    def _choose(self, everything: bool, command: str, direct: bool) -> None:
        """Link the one running kernel (``direct``), else have the editor show the picker.
        Until a choice comes back, the link stays as it was."""
        from .kernel.sources import catalog, existing
        from .session import kernel_list

        dirs = existing.search_dirs()
        known = kernel_list.known(self.sessions, self.active)
        # The socket table and one walk of /proc, here in the host's main thread: 7-10 ms with
        # 10 live kernels and 20 dead files (bench/picker.py), half of it the walk; files of
        # other hosts are probed in parallel, 0.2 s at most, only when there are such files.
        found = catalog.survey(dirs, extra=kernel_list.session_files(self.sessions.values()))
        choices = kernel_list.listed(found, known, everything)
        if not any(c.alive for c in choices) and not (everything and choices):
            raise KernelError(kernel_list.nothing_to_list(found, existing.describe_dirs(dirs),
                                                          command))  # fmt: skip
        one = kernel_list.the_one(choices)
        if direct and one is not None:
            self._link(one.found.path)
            return
        self._pick = {"prompt": kernel_list.PROMPT,
                      "items": kernel_list.items(choices, time.time())}  # fmt: skip

    # Events and updates.

    def _handle(self, tag: object, event: Event | Done) -> None:
        if isinstance(event, Done):
            if isinstance(tag, KernelSession):
                self.gallery.done(tag, event)
            return
        if not isinstance(tag, Link) or self._links.get(id(tag.session)) is not tag:
            return  # from a link replaced since
        tag.session.handle(event)
        self.gallery.draw(tag.session)

    def _named(self, name: str) -> KernelSession:
        """The session of output buffer ``name``, else the active one."""
        session = next((s for s in self.sessions.values() if s.source.buffer_name == name),
                       self.active)  # fmt: skip
        if session is None:
            raise KernelError("no output here")
        return session

    def _tick(self) -> None:
        self._ticking = False
        if self.active is not None:
            self.active.tick()
        self.update()

    def _compose(self) -> list[Part]:
        parts: list[Part] = []
        active = self.active
        for session in self.sessions.values():
            if session is not active:
                part = self._session_part(session)
                if part.edit is not None:
                    parts.append(part)
        head: Update = {}
        if active is not None:
            part = self._session_part(active)
            head = part.head
            parts.append(part)
            if active.stdin.asks:
                head["asks"], active.stdin.asks = active.stdin.asks, []
            if active.shows:
                head.update(active.shows)  # type: ignore[typeddict-item]
                active.shows = {}
        else:
            parts.append(Part(head))
        lifecycle = self._lifecycle
        if lifecycle is not None and lifecycle.menu is not None:  # :KernelStart's picker
            head["start_menu"], lifecycle.menu = lifecycle.menu, None
        live = active and (active.channel or active.status.linked is KernelState.STARTING)
        state = active.state_payload() if active and live else DISCONNECTED
        if state != self._shown_state:
            head["state"] = self._shown_state = state
        linked = active.source.buffer_name if active and active.channel else ""
        if linked and linked != self._shown_linked:
            head["linked"] = linked
        self._shown_linked = linked
        if self._pick is not None:
            head["pick"], self._pick = self._pick, None
        if self._asks:
            head["asks"], self._asks = [*head.get("asks", []), *self._asks], []
        messages = [m for s in self.sessions.values() for m in s.messages] + self.messages
        if messages:
            head["messages"] = messages
            self.messages = []
            for session in self.sessions.values():
                session.messages = []
        self._keep_ticking(state)
        self._watch_requests()
        return parts

    def _session_part(self, session: KernelSession) -> Part:
        head: Update = {"name": session.source.buffer_name}
        if session.show:
            head["show"], head["focus"] = True, session.focus
            session.show = session.focus = False
        return Part(head, session.doc.take_edit(), session.doc)

    def _keep_ticking(self, state: StatePayload) -> None:
        """While the kernel is busy, look now and then whether it still says so."""
        if state["state"] == KernelState.BUSY.value and not self._ticking:
            self._ticking = True
            self.bridge.call_later(SILENT_WHILE_BUSY, self._tick)

    def _watch_requests(self) -> None:
        """A K or a completion with no answer by its deadline is told then, not never."""
        active = self.active
        deadline = active.requests.next_deadline() if active is not None else None
        if active is None or deadline is None:
            return
        if self._expiry is not None and self._expiry <= deadline:
            return  # a timer set already goes off no later
        self._expiry = deadline
        self.bridge.call_later(max(0.0, deadline - active.clock()) + 0.01, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        for session in self.sessions.values():
            session.expire()
        self.update()

    def _apply_options(self, session: KernelSession) -> None:
        session.options = self.options
        session.router.show_other = self.options.show_other_output
        session.router.preference = self.options.mime_preference
        session.doc.max_lines = self.options.max_lines

    # Media.

    def open(self, row: int, name: str = "") -> None:
        """:KernelOpen, gx: open the richest form of the output on line ``row`` (1-based)."""
        session = self._named(name)
        if not self.gallery.open(session, row, self.active or session):
            raise KernelError(NOTHING_TO_OPEN)
