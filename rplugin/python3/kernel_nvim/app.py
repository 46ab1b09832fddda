"""Wires it together: a kernel source gives a channel, the channel's events go to the session of
that kernel, and the editor bridge writes what changed. One session per kernel for the whole
editor session; at most one of them is linked at a time.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .editor.bridge import Bridge, Part
from .editor.protocol import OpenPayload, StatePayload, Update, Where
from .errors import KernelError
from .kernel.channel import Event
from .lifecycle import Lifecycle
from .media import forms
from .media.store import Store
from .media.worker import Done, Job, Worker
from .output.document import Item
from .session.kernel_session import ERROR, SILENT_WHILE_BUSY, WARN, KernelSession
from .session.options import Options
from .session.source import KernelSource
from .session.state import KernelState

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
        self.bridge = Bridge(nvim, self._handle, self._compose, self._start_media)
        self.messages: list[tuple[str, int]] = []
        self._links: dict[int, Link] = {}  # id(session) -> its current link
        self._shown_state: StatePayload | None = None
        self._shown_linked = ""
        self._ticking = False
        self._worker: Worker | None = None  # made with the first image
        self._waiting: list[Job] = []  # started once the lines they are for are written
        self._opened = 0  # scratch buffers opened: their names' numbers
        self._said_pillow = False
        self.lifecycle = Lifecycle(self)  # kernels of our own: :KernelStart, restart, shutdown

    # Commands that need no linked kernel.

    def connect(self, target: str, cwd: str) -> None:
        from .kernel.sources import existing

        self._shown_state = None  # the editor said "connecting" on its own: say it all again
        path = existing.resolve_connection_file(target, cwd)
        source = existing.ConnectionFileSource.from_file(path, self.options.allow_unsigned)
        self.link(self.adopt(source))

    def disconnect(self) -> None:
        self._shown_state = None  # the editor said "disconnected" on its own
        session = self.linked()
        session.unlink()
        self.forget_link(session)

    def adopt(self, source: KernelSource) -> KernelSession:
        """The session of ``source``'s kernel (made the first time), active from now on; the
        link to the kernel linked before is dropped."""
        self._shown_state = None  # the editor said "connecting"/"starting": say it all again
        session = self.sessions.get(source.key)
        if self.active is not None and self.active.channel is not None:
            self.active.unlink()
        if session is None:
            session = KernelSession(source, self.options, time.monotonic)
            self.sessions[source.key] = session
        if not session.source.owned:
            session.source = source  # a new kernel may have taken the file since
        self._apply_options(session)
        self.active = session
        return session

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
            from .kernel.sources import existing
        except ImportError:  # told by :KernelConnect itself, not on every <Tab>
            return []
        return existing.completion_candidates(arglead)

    def jump(self, row: int, name: str = "") -> None:
        """<CR> on line ``row`` (1-based): open a rich output, or go to a traceback's code."""
        session = self._named(name)
        found = _openable(session, row)
        if found is not None:
            self._open(session, *found)
        else:
            session.jump(row)

    def input_reply(self, request_id: str, value: str | None) -> None:
        if self.active is not None:
            self.active.input_reply(request_id, value)

    def complete(self, line: str, col: int, where: Where) -> None:
        if self.active is not None:
            self.active.complete(line, col, where)

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

    def update(self) -> None:
        self.bridge.update()

    # Events and updates.

    def _handle(self, tag: object, event: Event | Done) -> None:
        if isinstance(event, Done):
            if isinstance(tag, KernelSession):
                self._on_media(tag, event)
            return
        if not isinstance(tag, Link) or self._links.get(id(tag.session)) is not tag:
            return  # from a link replaced since
        tag.session.handle(event)
        for item in tag.session.doc.take_images():
            self._draw(tag.session, item)

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
        if self.lifecycle.menu is not None:  # :KernelStart's picker
            head["start_menu"], self.lifecycle.menu = self.lifecycle.menu, None
        state = active.state_payload() if active and active.channel else DISCONNECTED
        if state != self._shown_state:
            head["state"] = self._shown_state = state
        linked = active.source.buffer_name if active and active.channel else ""
        if linked and linked != self._shown_linked:
            head["linked"] = linked
        self._shown_linked = linked
        messages = [m for s in self.sessions.values() for m in s.messages] + self.messages
        if messages:
            head["messages"] = messages
            self.messages = []
            for session in self.sessions.values():
                session.messages = []
        self._keep_ticking(state)
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

    def _apply_options(self, session: KernelSession) -> None:
        session.options = self.options
        session.router.show_other = self.options.show_other_output
        session.router.preference = self.options.mime_preference
        session.doc.max_lines = self.options.max_lines

    # Media: images written and drawn, outputs opened; the slow part in the worker's thread.

    def open(self, row: int, name: str = "") -> None:
        """:KernelOpen, gx: open the richest form of the output on line ``row`` (1-based)."""
        session = self._named(name)
        found = _openable(session, row)
        if found is None:
            raise KernelError("nothing to open on this line: :KernelOpen opens images, HTML, "
                              "JSON, markdown and LaTeX outputs")  # fmt: skip
        self._open(session, *found)

    def _open(self, session: KernelSession, item: Item, form: forms.Form) -> None:
        rich = item.rich
        assert rich is not None
        if isinstance(form, forms.TextForm):
            self._opened += 1
            name = f"kernel-open://{self._opened}.{form.filetype}"
            self._show_open(session, {"name": name, "text": form.text, "filetype": form.filetype})
        elif rich.file and rich.image is not None and form.mimetype == rich.image.mimetype:
            self._show_open(session, {"file": rich.file})
        else:
            self._media().submit(Job(session, item, rich, write=form, open=True))

    def _draw(self, session: KernelSession, item: Item) -> None:
        """A new image: its preview drawn, or its file written for an image plugin."""
        rich, options = item.rich, self.options
        image = rich.image if rich is not None else None
        if rich is None or image is None or options.image == "none":
            return
        write = size = None
        if options.image in ("file", "both") and image.mimetype in forms.SUFFIXES:
            write = forms.image_form(image)
        if options.image in ("blocks", "both") and image.mimetype in DRAWN:
            size = (options.image_rows, options.image_columns)
        if write is not None or size is not None:
            self._waiting.append(Job(session, item, rich, preview=size, write=write))

    def _start_media(self) -> None:
        # Only now: a decode in the worker's thread, started before the flush's update, would
        # hold the GIL at times while the main thread writes the image's line.
        jobs, self._waiting = self._waiting, []
        for job in jobs:
            self._media().submit(job)

    def _on_media(self, session: KernelSession, done: Done) -> None:
        job = done.job
        # Said once, and only when nothing else draws images: an image plugin may draw them.
        if done.no_pillow and not self._said_pillow and self.options.image == "blocks":
            self._said_pillow = True
            session.say(f"image previews need Pillow in the python3 host: {sys.executable} -m "
                        "pip install Pillow (or let g:kernel_image = 'none')", WARN)  # fmt: skip
        if done.problem:
            session.say(done.problem, ERROR if job.open else WARN)
        if job.open:
            if done.file:
                self._show_open(session, {"file": done.file})
                if job.write is not None and job.write.image is job.rich.image:
                    job.rich.file = done.file  # the next open need not wait for the worker
            return
        if job.item.rich is job.rich and (done.file or done.preview):  # not replaced since
            job.rich.file = done.file or job.rich.file
            job.rich.preview = done.preview or job.rich.preview
            session.doc.touch(job.item)

    def _show_open(self, session: KernelSession, payload: OpenPayload) -> None:
        # Shown with the active session's answers, wherever the output was.
        (self.active or session).shows["open"] = payload

    def _media(self) -> Worker:
        if self._worker is None:
            self._worker = Worker(Store(), self.bridge.post)
        return self._worker


DRAWN = ("image/png", "image/jpeg", "image/gif")  # what Pillow draws previews of


def _openable(session: KernelSession, row: int) -> tuple[Item, forms.Form] | None:
    item = session.doc.item_at(row - 1)
    form = forms.richest(item.rich) if item is not None and item.rich is not None else None
    return (item, form) if item is not None and form is not None else None
