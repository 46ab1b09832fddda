"""Everything the editor knows of one kernel, linked now or before: its output, its state, the
requests waiting for answers. One per kernel for the whole editor session, so switching between
kernels keeps each one's output.

Commands come from the editor, events from the kernel's channel; both run on the host's main
thread. What the user must be told or shown collects in ``messages`` and ``shows`` until the
next update takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..editor.protocol import InlinePayload, StatePayload, Where
from ..errors import KernelError
from ..kernel.channel import Channel, Event, EventKind
from ..output import tracebacks
from ..output.document import OutputDocument
from . import assist, fields, inline, interrupts
from .code import execute_content, tidy
from .options import Options
from .requests import Requests
from .router import Router
from .source import KernelSource
from .sourcemap import SourceMap
from .state import KernelState, KernelStatus
from .stdin import Stdin

Message = dict[str, Any]
INFO, WARN, ERROR = 2, 3, 4  # vim.log.levels
SILENT_WHILE_BUSY = 5.0  # seconds without a word from a kernel we think busy: ask it


class KernelSession:
    def __init__(self, source: KernelSource, options: Options, clock: Callable[[], float]) -> None:
        self.source = source
        self.options = options
        self.clock = clock
        self.doc = OutputDocument(options.max_lines)
        self.status = KernelStatus()
        self.router = Router(self.doc)
        self.requests = Requests()
        self.stdin = Stdin()
        self.sourcemap = SourceMap()
        self.channel: Channel | None = None
        self.language = ""  # of the kernel, e.g. python: the history buffer's filetype
        self.kernel_info: Message = {}  # its kernel_info_reply: what a saved notebook says of it
        self.messages: list[tuple[str, int]] = []
        self.shows: dict[str, Any] = {}  # float, complete, history, quickfix, jump
        self.show = self.focus = False
        self.last_heard = 0.0  # when iopub last said anything
        self.held: list[tuple[str, dict[str, Any]]] = []  # sent while the kernel (re)starts
        self._restarting = False  # our restart: what is sent waits for the new process
        self._probing = False
        self._interrupted: dict[str, set[str]] = {}  # interrupt msg_id -> what ran when sent

    # Linking.

    def link(self, channel: Channel) -> None:
        self.channel, self._restarting = channel, False  # a new channel: to the kernel as it is
        if self.status.linked is not KernelState.STARTING:
            self.status.connecting()
        self._send_held()

    def starting(self) -> None:
        """A kernel we start: no channel yet; what is sent meanwhile waits for one."""
        self.status.starting()

    def restarting(self) -> None:
        """We restart the kernel: `starting` until its new session id says it is back. Code
        sent meanwhile runs in the new process, not in the one about to go."""
        if self.channel is not None:
            self.status.restarting()
            self._restarting = True

    def restart_done(self) -> None:
        """Our restart is done: the channel proves the way to the new process, a request makes
        it speak (and so be seen back), and what was sent meanwhile follows."""
        self._restarting = False
        if self.channel is None:
            return  # unlinked meanwhile: what waits goes once there is a channel again
        self.channel.rejoin()
        if self.status.linked is KernelState.STARTING:
            self._ask("started_probe", {}, lambda _: self.status.back(), "kernel_info_request")
        self._send_held()

    def _send_held(self) -> None:
        held, self.held = self.held, []
        for code, source in held:
            self.send(code, source)

    def start_failed(self, why: str) -> None:
        """The kernel we started never answered: say why, and what was not sent."""
        not_sent, self.held = len(self.held) + self.router.end("not sent"), []
        self.unlink()
        self.say(why + (f" ({not_sent} not sent)" if not_sent else ""), ERROR)

    def unlink(self, notice: str = "disconnected") -> None:
        channel, self.channel = self.channel, None
        if channel is not None:
            # A kernel waiting in input() for us would wait forever: answer it before leaving.
            for request in self.stdin.take_all():
                channel.send("stdin", "input_reply", {"value": ""}, parent=request)
            channel.close()
        self.router.end(notice)
        self.requests.clear()
        self._interrupted.clear()
        self.status.unlinked()

    def handle(self, event: Event) -> None:
        kind = event.kind
        if kind is EventKind.MESSAGE:
            self._on_message(event.channel, event.msg)
        elif kind is EventKind.READY:
            self._on_ready(event.msg)
        elif kind in (EventKind.NO_ANSWER, EventKind.FAILED):
            self._on_failed(event)
        elif kind is EventKind.UNRESPONSIVE and self.status.unresponsive():
            self.say(f"{self.short} does not answer: output will follow if it comes back", WARN)
        elif kind is EventKind.RESPONSIVE and self.status.responsive():
            self.say(f"{self.short} answers again")
        elif kind is EventKind.RECONNECTING and self.status.reconnecting():
            self.say(f"{self.short}: connection lost ({event.text}); reconnecting", WARN)
        elif kind is EventKind.RECONNECTED and self.status.reconnected():
            self.say(f"{self.short}: reconnected")
            self._resend_unheard("reconnect_probe", self.router.unheard())
        elif kind is EventKind.REJOINED:  # the probe's status messages: did it restart?
            self._resend_unheard("reconnect_probe", self.router.unheard())
        elif kind is EventKind.GONE:  # text: why, when the channel knows (a server says so)
            self.gone("no reply: the kernel died",
                      event.text or f"{self.short} stopped answering: the kernel died")  # fmt: skip
        elif kind in interrupts.ENDS:
            running = self.status.busy_ours | self.status.busy_other
            word = interrupts.word(kind, self._interrupted.pop(event.text, set()), running,
                                   self.short)  # fmt: skip
            if word:
                self.say(word, WARN)

    # Commands.

    def send(self, code: str, source: dict[str, Any]) -> None:
        code = tidy(code)
        if not code:
            raise KernelError("nothing to send: the selection is empty")
        starting = self.status.linked is KernelState.STARTING
        if self._restarting or (self.channel is None and starting):
            self.held.append((code, source))  # sent, in order, once there is a (new) kernel
            return
        msg_id = self._channel().send("shell", "execute_request", execute_content(code))
        self.router.start(msg_id, code, source)
        self.show = self.show or self.options.output_open == "always"

    def interrupt(self) -> None:
        msg_id = self.source.interrupt(self._channel())
        if msg_id:  # a request, not a signal: its reply, or its silence, is told
            self._interrupted[msg_id] = self.status.busy_ours | self.status.busy_other

    def input_reply(self, request_id: str, value: str | None) -> None:
        """The user answered (or, with None, cancelled) the kernel's input() prompt."""
        request = self.stdin.answer(request_id)
        if request is None or self.channel is None:
            return  # answered after a reconnect: that kernel no longer waits for it
        self.channel.send("stdin", "input_reply", {"value": value or ""}, parent=request)
        execution = self.router.executions.get(fields.parent_id(request))
        if execution is not None:
            content = request["content"]
            answer = "" if content.get("password") else (value or "")
            prompt = fields.text(content.get("prompt"))
            self.doc.append(execution.block, [(f"{prompt}{answer}\n", ())])

    def inspect(self, code: str, col: int, where: Where) -> None:
        if not code.strip():
            raise KernelError("nothing to inspect here")
        content = {"code": code, "cursor_pos": assist.code_points(code, col), "detail_level": 0}
        self._ask("inspect", content, lambda c: self._on_inspect(c, where))

    def complete(self, line: str, col: int, where: Where) -> None:
        idle = self.status.state in (KernelState.IDLE, KernelState.RESTARTED)
        if self.channel is None or not idle:
            return  # a busy kernel would answer only when done: typing goes on without it
        content = {"code": line, "cursor_pos": assist.code_points(line, col)}
        self._ask("complete", content, lambda c: self._on_complete(c, line, where))

    def history(self, n: int) -> None:
        content = {"output": False, "raw": True, "hist_access_type": "tail", "n": n or 100}
        self._ask("history", content, self._on_history)

    def traceback(self) -> None:
        if not self.sourcemap.last_error:
            raise KernelError("no traceback from code sent from here yet")
        self.shows["quickfix"] = {"items": self.sourcemap.last_error, "open": True}

    def jump(self, row: int) -> None:
        """<CR> on line ``row`` (1-based) of the output: go to the code its traceback names."""
        found = self.doc.block_at(row - 1)
        frame = tracebacks.frame_at(found[0].texts, found[1]) if found else None
        place = self.sourcemap.place(frame) if frame else None
        if place is None:
            raise KernelError("no source for this line: <CR> jumps from a traceback's frames")
        self.shows["jump"] = place

    def tick(self) -> None:
        """Time passed: a kernel we think busy but that says nothing may have lost an idle."""
        now = self.clock()
        quiet = now - self.last_heard >= SILENT_WHILE_BUSY
        if self.status.state is KernelState.BUSY and quiet and not self._probing:
            before = self.status.busy_ours | self.status.busy_other
            self._probing = True
            self._ask("busy_probe", {}, lambda _: self._settle(before), "kernel_info_request")

    def expire(self) -> None:
        """Time passed: say which requests the user waits for got no answer in time."""
        for pending in self.requests.expire(self.clock()):
            # A kernel is busy with the request itself too (its own busy/idle on iopub).
            running = (self.status.busy_ours | self.status.busy_other) - {pending.msg_id}
            busy = ": it is busy" if running else ""
            self.say(f"{self.short} did not answer the {pending.what} within "
                     f"{pending.timeout:g} s{busy}")  # fmt: skip

    # What the editor shows.

    @property
    def short(self) -> str:
        return self.source.short_name

    def state_payload(self) -> StatePayload:
        state = self.status.state
        busy = self.status.busy_kind if state is KernelState.BUSY else ""
        text = f"{self.short} {state.value}" + (" (other)" if busy == "other" else "")
        return {"state": state.value, "name": self.short, "buffer": self.source.buffer_name,
                "busy": busy, "text": text}  # fmt: skip

    def say(self, text: str, level: int = INFO) -> None:
        self.messages.append((f"[kernel] {text}", level))

    # Events.

    def _on_ready(self, msg: Message) -> None:
        self.status.ready(fields.text(msg["header"].get("session")))
        content = self.kernel_info = msg["content"]
        language = fields.mapping(content.get("language_info"))
        self.language = fields.text(language.get("name"))
        self.last_heard = self.clock()
        self.say(self.source.greeting(fields.describe(content, language)))

    def _on_failed(self, event: Event) -> None:
        not_sent = self.router.end("not sent")
        if event.kind is EventKind.NO_ANSWER:
            why = f"{self.source.name} did not answer within {event.text} s; not connected"
        else:
            why = f"cannot talk to {self.source.name}: {event.text}"
        self.unlink()
        self.say(why + (f" ({not_sent} not sent)" if not_sent else ""), ERROR)

    def gone(self, notice: str, why: str) -> None:
        """The kernel's process is gone: what ran ends with ``notice``; ``why`` is said once."""
        not_sent, self.held, self._restarting = len(self.held), [], False
        said = why + (f" ({not_sent} not sent)" if not_sent else "")
        if self.status.linked is KernelState.DEAD:
            if not_sent:  # its death was told already (a shutdown, then its process ending)
                self.say(said, ERROR)
            return
        self.router.end(notice)
        self.requests.clear()
        self.stdin.take_all()
        self.status.dead()
        self.say(said, ERROR)

    def _on_message(self, channel: str, msg: Message) -> None:
        if channel == "iopub":
            self._on_iopub(msg)
        elif channel in ("shell", "control"):
            self._on_reply(msg)
        elif channel == "stdin" and msg["msg_type"] == "input_request":
            self.stdin.on_request(msg)

    def _on_iopub(self, msg: Message) -> None:
        self.last_heard = self.clock()
        session = fields.text(msg["header"].get("session"))
        parent = fields.parent_id(msg)
        if self.status.is_restart(session):
            self._on_restart(session, parent)
        msg_type, content = msg["msg_type"], msg["content"]
        ours = self._ours(msg)
        if msg_type == "status" and parent:
            self.status.on_status(parent, fields.text(content.get("execution_state")), ours)
        elif msg_type == "shutdown_reply" and content.get("restart") is False:
            self.gone("no reply: the kernel was shut down", f"{self.short} was shut down")
            return
        execution = self.router.on_iopub(msg, parent, other=not ours)
        if execution is None or execution.other:
            return
        if msg_type == "execute_input":
            self.status.ran()  # code of ours runs: "restarted" has been read
            if execution.count is not None:
                self.sourcemap.record(execution.count, execution.source)
        elif msg_type == "error":
            self._on_error(content)
        if self.options.inline and msg_type in inline.SHOWN:
            self._inline(inline.answer(execution.source, msg_type, content))

    def _on_error(self, content: Message) -> None:
        if self.options.output_open == "error":
            self.show = True
        traceback = [fields.text(t) for t in fields.items(content.get("traceback"))]
        ename, evalue = fields.text(content.get("ename")), fields.text(content.get("evalue"))
        items = self.sourcemap.on_error(ename, evalue, traceback)
        if items and self.options.error_quickfix:
            self.shows["quickfix"] = {"items": items, "open": False}

    def _inline(self, answer: InlinePayload | None) -> None:
        if answer is not None:
            self.shows.setdefault("inline", []).append(answer)

    def _on_restart(self, session: str, parent: str) -> None:
        """The kernel's owner restarted it (or a new kernel took its connection file)."""
        unstarted = [m for m in self.router.on_restart(session) if m != parent]
        self.status.restarted(session)
        self.sourcemap.clear()
        self.stdin.take_all()
        self.router.notice("kernel restarted")
        self.say(f"{self.short} restarted: its variables are gone", WARN)
        if unstarted:  # sent around the restart: the new kernel may have them
            self._resend_unheard("restart_probe", unstarted)

    def _resend_unheard(self, kind: str, sent: list[str]) -> None:
        """The kernel answers shell requests in order: of ``sent``, those it said no word of by
        the time it answers one sent now never reached it (lost with the old process, or on the
        way, with a connection that dropped): never run, they are sent again, once."""

        def resend(_: Message) -> None:
            for msg_id in [m for m in sent if not self.router.heard(m)]:
                self._resend(msg_id)

        self._ask(kind, {}, resend, "kernel_info_request")

    def _on_reply(self, msg: Message) -> None:
        parent = fields.parent_id(msg)
        if not parent or self.requests.on_reply(parent, msg["content"], self.clock()):
            return
        self.status.done(parent)
        self.router.on_reply(parent, msg["content"])

    def _on_inspect(self, content: Message, where: Where) -> None:
        shown = assist.inspected(content)
        if shown is None:
            self.say("nothing known about the name under the cursor")
            return
        self.shows["float"] = {**shown, "where": where}

    def _on_complete(self, content: Message, line: str, where: Where) -> None:
        start, items = assist.completions(line, content)
        if not items:
            self.say("the kernel offers no completion here")
            return
        self.shows["complete"] = {"start": start, "items": items, "where": where}

    def _on_history(self, content: Message) -> None:
        entries = assist.history_entries(content)
        if not entries:
            self.say("the kernel has no history")
            return
        self.shows["history"] = {"name": f"kernel-history://{self.source.name}",
                                 "entries": entries, "language": self.language}  # fmt: skip

    # Helpers.

    def _channel(self) -> Channel:
        if self.channel is None and self.status.linked is KernelState.STARTING:
            raise KernelError(f"{self.short} is starting: try again once it is idle")
        if self.channel is None:
            raise KernelError("not connected: use :KernelConnect first")
        if self.status.state is KernelState.DEAD:
            raise KernelError(f"{self.short} is dead: :KernelConnect to try again")
        return self.channel

    def _ask(
        self, kind: str, content: Message, then: Callable[[Message], None], msg_type: str = ""
    ) -> None:
        msg_id = self._channel().send("shell", msg_type or f"{kind}_request", content)
        self.requests.add(msg_id, kind, then, self.clock())

    def _settle(self, before: set[str]) -> None:
        self._probing = False
        self.status.settle(before)

    def _resend(self, msg_id: str) -> None:
        execution = self.router.executions[msg_id]
        if execution.resent or self.channel is None:
            self.router.end("no reply: the kernel restarted", [msg_id])
            return
        execution.resent = True
        again = self.channel.send("shell", "execute_request", execute_content(execution.code))
        self.router.executions[again] = self.router.executions.pop(msg_id)

    def _ours(self, msg: Message) -> bool:
        """Caused by us: requests carry their client's session id, ours or another's."""
        session = fields.mapping(msg.get("parent_header")).get("session")
        return not session or self.channel is None or session == self.channel.session_id
