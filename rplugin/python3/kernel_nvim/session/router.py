"""Executions by parent msg_id: which block of the output each kernel message belongs to.

Every message the kernel sends about a request names it in ``parent_header.msg_id``; output is
routed to the block of that execution wherever the block is, so that output of a cell still
running never lands under the next one. Executions of other clients (a console, a notebook on
the same kernel) get blocks of their own, labelled, when they are shown at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..output import render
from ..output.ansi import AnsiState
from ..output.blocks import DISPLAY, RESULT, Cell, Saved
from ..output.document import Block, OutputDocument
from ..output.segments import Segment
from . import fields

Message = dict[str, Any]


@dataclass
class Execution:
    code: str
    block: Block
    source: dict[str, Any]  # where the code was: buffer, file, line (empty for other clients)
    separated: bool  # a blank line stands before its header
    other: bool = False  # run by another client of the kernel
    count: int | None = None
    started_in: str = ""  # the kernel session that said it runs it
    idle: bool = False  # the idle status (iopub) and the reply (shell) come in either order
    replied: bool = False
    streams: dict[str, AnsiState] = field(default_factory=dict)
    clear_waits: bool = False  # clear_output(wait=True): clear when the next output comes
    resent: bool = False  # sent again: the first went to a kernel that restarted before it

    @property
    def over(self) -> bool:
        return self.idle and (self.replied or self.other)  # other clients get their own replies


class Router:
    def __init__(self, doc: OutputDocument) -> None:
        self.doc = doc
        self.executions: dict[str, Execution] = {}
        self.show_other = True
        self.preference: tuple[str, ...] = ()  # g:kernel_mime_preference

    def start(self, msg_id: str, code: str, source: dict[str, Any]) -> Execution:
        separated = len(self.doc) > 0
        block = self.doc.new_block(_header(None, code, separated, False), lead=int(separated))
        block.cell = Cell(code)
        execution = Execution(code, block, source, separated)
        self.executions[msg_id] = execution
        return execution

    def on_iopub(self, msg: Message, parent: str, other: bool) -> Execution | None:
        """Route one iopub message; returns the execution it belongs to, if shown."""
        msg_type = msg["msg_type"]
        content = msg["content"]
        if msg_type == "update_display_data":
            self._update_display(msg["content"])  # in whichever block shows it, ended or not
            return None
        execution = self.executions.get(parent) if parent else None
        if execution is None and msg_type == "execute_input" and other and self.show_other:
            execution = self._start_other(parent, fields.text(content.get("code")))
        if execution is None:
            return None
        if msg_type in ("status", "execute_input") and not execution.started_in:
            execution.started_in = fields.text(msg["header"].get("session"))
        handler = _HANDLERS.get(msg_type)
        if handler is not None:
            if execution.clear_waits and msg_type in _OUTPUTS:
                self._clear(execution)
            handler(self, execution, content)
        if msg_type == "status" and content.get("execution_state") == "idle":
            self.doc.finish(execution.block)
            execution.idle = True
            self._forget_if_over(parent)
        return execution

    def on_reply(self, parent: str, content: Message) -> Execution | None:
        execution = self.executions.get(parent)
        if execution is None:
            return None
        if content.get("status") == "aborted":
            self.doc.note(execution.block, "not run: an earlier execution raised an error")
        for payload in fields.items(content.get("payload")):
            if isinstance(payload, dict) and payload.get("source") == "page":
                self._page(execution, payload)
        execution.replied = True
        self._forget_if_over(parent)
        return execution

    def end(self, notice: str, which: list[str] | None = None) -> int:
        """End executions (all, or those in ``which``) with a notice; returns how many."""
        ended = [m for m in (self.executions if which is None else which) if m in self.executions]
        for msg_id in ended:
            execution = self.executions.pop(msg_id)
            self.doc.note(execution.block, notice)
            self.doc.finish(execution.block)
        return len(ended)

    def on_restart(self, session: str) -> list[str]:
        """The kernel restarted: end what ran in the old process at once; return the msg_ids of
        executions no process has said it runs, which the new one may still run."""
        old = [m for m, e in self.executions.items() if e.started_in and e.started_in != session]
        self.end("no reply: the kernel restarted", old)
        return self.unheard()

    def heard(self, msg_id: str) -> bool:
        """Whether the kernel said a word of execution ``msg_id``, or it is over."""
        execution = self.executions.get(msg_id)
        return execution is None or bool(execution.started_in) or execution.replied

    def unheard(self) -> list[str]:
        """Our executions the kernel has said no word of yet."""
        return [m for m, e in self.executions.items() if not e.other and not self.heard(m)]

    def notice(self, text: str) -> None:
        """A line about the session, in a block of its own: ``[kernel restarted]``. It goes in
        front of the executions still open, which the news is about (they run after it)."""
        first = next((e for e in self.executions.values() if not e.other), None)
        at = len(self.doc) if first is None else self.doc.offset(first.block)
        blank: list[Segment] = [("\n", ())] if at else []
        block = self.doc.new_block(
            blank + render.render_notice(text), len(blank), first.block if first else None
        )
        self.doc.finish(block)
        if first is not None and not first.separated:
            first.separated, first.block.lead = True, 1  # the notice now stands above it
            self._set_header(first)

    def _start_other(self, parent: str, code: str) -> Execution:
        separated = len(self.doc) > 0
        block = self.doc.new_block(_header(None, code, separated, True), lead=int(separated))
        block.cell = Cell(code, other=True)
        execution = Execution(code, block, {}, separated, other=True)
        self.executions[parent] = execution
        return execution

    def _input(self, execution: Execution, content: Message) -> None:
        count = content.get("execution_count")
        execution.count = count if isinstance(count, int) and not isinstance(count, bool) else None
        if execution.block.cell is not None:
            execution.block.cell.count = execution.count
        self._set_header(execution)

    def _set_header(self, execution: Execution) -> None:
        header = _header(execution.count, execution.code, execution.separated, execution.other)
        self.doc.set_header(execution.block, header)

    def _stream(self, execution: Execution, content: Message) -> None:
        name = "stderr" if content.get("name") == "stderr" else "stdout"
        state = execution.streams.get(name, AnsiState())
        pieces, execution.streams[name] = render.render_stream(
            name, fields.text(content.get("text")), state
        )
        self.doc.append(execution.block, pieces, name)

    def _result(self, execution: Execution, content: Message) -> None:
        segments, rich = self._bundle(content, execution.count, result=True)
        self.doc.add_item(execution.block, segments, rich=rich, saved=RESULT)

    def _display(self, execution: Execution, content: Message) -> None:
        segments, rich = self._bundle(content)
        self.doc.add_item(execution.block, segments, _display_id(content), rich, DISPLAY)

    def _update_display(self, content: Message) -> None:
        key = _display_id(content)
        if key is not None:  # unknown ids are ignored: the item may have been trimmed away
            segments, rich = self._bundle(content)
            self.doc.replace_item(key, segments, rich)

    def _bundle(
        self, content: Message, count: int | None = None, result: bool = False
    ) -> tuple[list[Segment], render.Rich]:
        data, metadata = (fields.mapping(content.get(k)) for k in ("data", "metadata"))
        return render.render_bundle(data, metadata, self.preference, count, result)

    def _clear_output(self, execution: Execution, content: Message) -> None:
        if content.get("wait") is True:
            execution.clear_waits = True  # so that a redrawn frame replaces the last at once
        else:
            self._clear(execution)

    def _clear(self, execution: Execution) -> None:
        execution.clear_waits = False
        execution.streams.clear()
        self.doc.clear_block(execution.block)

    def _error(self, execution: Execution, content: Message) -> None:
        traceback = [fields.text(t) for t in fields.items(content.get("traceback"))]
        ename, evalue = fields.text(content.get("ename")), fields.text(content.get("evalue"))
        segments = render.render_error(ename, evalue, traceback)
        saved = Saved("error", ename, evalue, tuple(traceback))
        self.doc.add_item(execution.block, segments, saved=saved)

    def _page(self, execution: Execution, payload: Message) -> None:
        data = fields.mapping(payload.get("data"))
        if "text/plain" in data:
            text = {"text/plain": data["text/plain"]}
            self.doc.add_item(execution.block, render.render_display(text))

    def _forget_if_over(self, msg_id: str) -> None:
        execution = self.executions.get(msg_id)
        if execution is not None and execution.over:
            del self.executions[msg_id]


_HANDLERS = {
    "execute_input": Router._input,
    "stream": Router._stream,
    "execute_result": Router._result,
    "display_data": Router._display,
    "error": Router._error,
    "clear_output": Router._clear_output,
}
# What clear_output clears, and what a clear that waits waits for.
_OUTPUTS = frozenset(("stream", "execute_result", "display_data", "error"))


def _display_id(content: Message) -> str | None:
    display_id = fields.mapping(content.get("transient")).get("display_id")
    return display_id if isinstance(display_id, str) and display_id else None


def _header(count: int | None, code: str, separated: bool, other: bool) -> list[Segment]:
    blank: list[Segment] = [("\n", ())] if separated else []
    label: list[Segment] = [("[other] ", ("KernelInfo",))] if other else []
    return blank + label + render.render_input(count, code)
