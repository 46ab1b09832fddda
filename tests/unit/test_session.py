"""The session of one kernel, driven by recorded message streams: no Neovim, no sockets.

A fake channel records what the session sends and a fake clock gives the time; messages are
built as ipykernel sends them (the kernel's session id in the header, the request in the parent).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from kernel_nvim.errors import KernelError
from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.session.kernel_session import SILENT_WHILE_BUSY, KernelSession
from kernel_nvim.session.options import Options
from kernel_nvim.session.state import KernelState

Message = dict[str, Any]
KERNEL = "kernel-session-1"
_ids = itertools.count()


@dataclass
class Source:
    name: str = "kernel-6759.json"
    short_name: str = "kernel-6759"
    buffer_name: str = "kernel://kernel-6759.json"
    kernel_name: str = ""

    def greeting(self, details: str) -> str:
        return f"Connected to {self.name} ({details})"

    def interrupt(self, channel: FakeChannel) -> str:
        return channel.send("control", "interrupt_request", {})


@dataclass
class FakeChannel:
    session_id: str = "our-session"
    sent: list[tuple[str, str, Message]] = field(default_factory=list)
    closed: bool = False

    def start(self) -> None:
        pass

    def send(self, channel: str, msg_type: str, content: Message, parent: Any = None) -> str:
        msg_id = f"ours-{next(_ids)}"
        self.sent.append((channel, msg_type, {"msg_id": msg_id, **content}))
        return msg_id

    def rejoin(self) -> None:
        self.sent.append(("", "rejoin", {}))

    def close(self) -> None:
        self.closed = True

    def last(self, msg_type: str) -> str:
        return next(m["msg_id"] for _, t, m in reversed(self.sent) if t == msg_type)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def message(msg_type: str, content: Message, parent: str = "", session: str = KERNEL,
            client: str = "our-session") -> Message:  # fmt: skip
    parent_header = {"msg_id": parent, "session": client} if parent else {}
    return {"header": {"msg_id": f"k-{next(_ids)}", "msg_type": msg_type, "session": session},
            "msg_type": msg_type, "parent_header": parent_header, "content": content}  # fmt: skip


def iopub(msg_type: str, content: Message, parent: str = "", **kw: Any) -> Event:
    return Event(EventKind.MESSAGE, "iopub", message(msg_type, content, parent, **kw))


def shell(msg_type: str, content: Message, parent: str, **kw: Any) -> Event:
    return Event(EventKind.MESSAGE, "shell", message(msg_type, content, parent, **kw))


def status(state: str, parent: str, **kw: Any) -> Event:
    return iopub("status", {"execution_state": state}, parent, **kw)


def channel(s: KernelSession) -> FakeChannel:
    assert isinstance(s.channel, FakeChannel)
    return s.channel


def run(s: KernelSession, code: str, *outputs: str, session: str = KERNEL) -> str:
    """Send `code`; the kernel runs it, printing `outputs`, and is done."""
    s.send(code, {})
    msg_id = channel(s).last("execute_request")
    s.handle(status("busy", msg_id, session=session))
    s.handle(iopub("execute_input", {"code": code, "execution_count": 1}, msg_id, session=session))
    for text in outputs:
        s.handle(iopub("stream", {"name": "stdout", "text": text}, msg_id, session=session))
    s.handle(shell("execute_reply", {"status": "ok"}, msg_id, session=session))
    s.handle(status("idle", msg_id, session=session))
    return msg_id


def text(s: KernelSession) -> str:
    return "\n".join(line for block in s.doc.blocks for line in block.texts)


def test_ready_makes_the_kernel_idle_and_says_connected(session: KernelSession) -> None:
    assert session.status.state is KernelState.IDLE
    assert session.messages == [("[kernel] Connected to kernel-6759.json (python)", 2)]
    assert session.state_payload()["text"] == "kernel-6759 idle"


def test_output_goes_to_the_block_of_its_execution(session: KernelSession) -> None:
    run(session, "print(1)", "1\n")
    assert "1" in text(session).split("\n")
    assert session.router.executions == {}


def test_linking_anew_to_a_kernel_with_another_session_id_is_no_restart(
    session: KernelSession,
) -> None:
    session.unlink()
    session.link(FakeChannel())
    info = message("kernel_info_reply", {}, session="another-kernel")
    session.handle(Event(EventKind.READY, "shell", info))
    run(session, "x = 1", session="another-kernel")
    assert "restarted" not in text(session)
    assert session.status.state is KernelState.IDLE


def test_a_new_session_id_while_linked_is_a_restart_that_ends_what_ran_before(
    session: KernelSession,
) -> None:
    session.send("while True: pass", {})
    running = channel(session).last("execute_request")
    session.handle(status("busy", running))
    session.handle(iopub("status", {"execution_state": "starting"}, session="new-kernel"))
    assert "[no reply: the kernel restarted]" in text(session)
    assert "[kernel restarted]" in text(session)
    assert session.status.state is KernelState.RESTARTED
    assert running not in session.router.executions


def test_the_first_run_after_a_restart_keeps_its_output(session: KernelSession) -> None:
    run(session, "print('old')", "old\n")
    # Sent as soon as the restarted kernel listens: the first word of the new kernel is its busy.
    run(session, "print('new')", "new\n", session="new-kernel")
    assert "new" in text(session).split("\n")
    assert "no reply" not in text(session)
    assert session.status.state is KernelState.IDLE  # the run after it has been made


def test_the_restart_notice_stands_above_the_run_that_found_the_new_kernel(
    session: KernelSession,
) -> None:
    run(session, "print('old')", "old\n")
    run(session, "print('new')", "new\n", session="new-kernel")
    assert text(session).split("\n") == ["In [1]: print('old')", "old", "",
        "[kernel restarted]", "", "In [1]: print('new')", "new"]  # fmt: skip


def test_a_send_lost_in_a_restart_is_sent_again_once_the_new_kernel_answers_a_probe(
    session: KernelSession,
) -> None:
    session.send("lost = 1", {})
    lost = channel(session).last("execute_request")
    session.handle(iopub("status", {"execution_state": "starting"}, session="new-kernel"))
    assert lost in session.router.executions  # the new kernel may still run it
    probe = channel(session).last("kernel_info_request")
    session.handle(shell("kernel_info_reply", {"status": "ok"}, probe, session="new-kernel"))
    again = channel(session).last("execute_request")
    assert again != lost and list(session.router.executions) == [again]
    assert channel(session).sent[-1][2]["code"] == "lost = 1"
    assert "no reply" not in text(session)


def test_a_send_lost_on_the_way_when_the_connection_dropped_is_sent_again_once(
    session: KernelSession,
) -> None:
    session.send("import time; time.sleep(5)", {})
    running = channel(session).last("execute_request")
    session.handle(status("busy", running))  # the kernel took it
    session.send("lost = 1", {})  # written to a connection that was dropping
    lost = channel(session).last("execute_request")
    session.handle(Event(EventKind.RECONNECTING, text="the server closed the connection"))
    session.handle(Event(EventKind.RECONNECTED))
    probe = channel(session).last("kernel_info_request")
    session.handle(shell("execute_reply", {"status": "ok"}, running))  # answered in order
    session.handle(status("idle", running))
    session.handle(shell("kernel_info_reply", {"status": "ok"}, probe))
    again = channel(session).last("execute_request")
    assert again not in (running, lost) and list(session.router.executions) == [again]
    assert channel(session).sent[-1][2]["code"] == "lost = 1"


def test_a_send_lost_twice_in_restarts_is_ended(session: KernelSession) -> None:
    session.send("lost = 1", {})
    for kernel in ("second-kernel", "third-kernel"):
        session.handle(iopub("status", {"execution_state": "starting"}, session=kernel))
        probe = channel(session).last("kernel_info_request")
        session.handle(shell("kernel_info_reply", {"status": "ok"}, probe, session=kernel))
    assert session.router.executions == {}
    assert "[no reply: the kernel restarted]" in text(session)


def test_a_send_answered_before_the_probe_is_not_sent_again(session: KernelSession) -> None:
    session.send("x = 1", {})
    sent = channel(session).last("execute_request")
    session.handle(iopub("status", {"execution_state": "starting"}, session="new-kernel"))
    probe = channel(session).last("kernel_info_request")
    # Its iopub messages may trail the shell's: the reply before the probe's says it ran.
    session.handle(shell("execute_reply", {"status": "ok"}, sent, session="new-kernel"))
    session.handle(shell("kernel_info_reply", {"status": "ok"}, probe, session="new-kernel"))
    assert channel(session).last("execute_request") == sent


def test_busy_of_another_client_is_shown_as_busy_other(session: KernelSession) -> None:
    session.handle(status("busy", "theirs", client="their-session"))
    assert session.status.state is KernelState.BUSY
    assert session.state_payload()["busy"] == "other"
    assert session.state_payload()["text"] == "kernel-6759 busy (other)"
    session.handle(status("idle", "theirs", client="their-session"))
    assert session.state_payload()["text"] == "kernel-6759 idle"


def test_an_idle_that_overtakes_its_busy_does_not_leave_the_kernel_busy(
    session: KernelSession,
) -> None:
    session.handle(status("idle", "theirs", client="their-session"))
    session.handle(status("busy", "theirs", client="their-session"))
    assert session.status.state is KernelState.IDLE


def test_the_execute_reply_ends_busy_when_the_idle_is_lost(session: KernelSession) -> None:
    session.send("1", {})
    msg_id = channel(session).last("execute_request")
    session.handle(status("busy", msg_id))
    session.handle(shell("execute_reply", {"status": "ok"}, msg_id))
    assert session.status.state is KernelState.IDLE


def test_a_kernel_silent_while_busy_is_asked_and_its_answer_ends_the_busy(
    session: KernelSession, clock: Clock
) -> None:
    session.handle(status("busy", "theirs", client="their-session"))  # its idle will be lost
    session.tick()
    assert not any(t == "kernel_info_request" for _, t, _ in channel(session).sent)
    clock.now += SILENT_WHILE_BUSY
    session.tick()
    probe = channel(session).last("kernel_info_request")
    session.handle(status("busy", probe))
    session.handle(shell("kernel_info_reply", {"status": "ok"}, probe))
    session.handle(status("idle", probe))
    assert session.status.state is KernelState.IDLE


def test_a_shutdown_by_another_client_is_told_as_shut_down(session: KernelSession) -> None:
    session.send("import time; time.sleep(9)", {})
    session.messages.clear()
    session.handle(iopub("shutdown_reply", {"status": "ok", "restart": False}))
    assert session.messages == [("[kernel] kernel-6759 was shut down", 4)]
    assert "[no reply: the kernel was shut down]" in text(session)
    assert session.status.state is KernelState.DEAD
    session.handle(Event(EventKind.GONE))
    assert len(session.messages) == 1  # its process ending is no news


def test_an_unresponsive_kernel_keeps_its_executions_and_their_later_output(
    session: KernelSession,
) -> None:
    session.send("print", {})
    msg_id = channel(session).last("execute_request")
    session.handle(status("busy", msg_id))
    session.handle(Event(EventKind.UNRESPONSIVE))
    assert session.status.state is KernelState.UNRESPONSIVE
    assert msg_id in session.router.executions
    session.handle(Event(EventKind.RESPONSIVE))
    session.handle(iopub("stream", {"name": "stdout", "text": "line 79\n"}, msg_id))
    assert "line 79" in text(session).split("\n")
    assert "no reply" not in text(session)


def test_a_kernel_whose_process_is_gone_ends_its_executions(session: KernelSession) -> None:
    session.send("print", {})
    session.handle(Event(EventKind.GONE))
    assert "[no reply: the kernel died]" in text(session)
    assert session.status.state is KernelState.DEAD
    with pytest.raises(KernelError, match="dead"):
        session.send("1", {})


def test_sends_made_while_connecting_are_told_once_as_not_sent_when_the_handshake_fails(
    clock: Clock,
) -> None:
    s = KernelSession(Source(), Options(), clock)
    s.link(FakeChannel())
    s.send("a = 1", {})
    s.send("b = 2", {})
    s.handle(Event(EventKind.NO_ANSWER, text="5"))
    why = "[kernel] kernel-6759.json did not answer within 5 s; not connected (2 not sent)"
    assert s.messages == [(why, 4)]
    assert text(s).count("[not sent]") == 2
    assert s.status.state is KernelState.DISCONNECTED


def test_a_message_whose_parent_msg_id_is_not_text_is_ignored(session: KernelSession) -> None:
    bad = message("stream", {"name": "stdout", "text": "x"})
    bad["parent_header"] = {"msg_id": ["a", "list"]}
    session.handle(Event(EventKind.MESSAGE, "iopub", bad))
    reply = message("execute_reply", {"status": "ok"})
    reply["parent_header"] = ["not", "a", "dict"]
    session.handle(Event(EventKind.MESSAGE, "shell", reply))
    run(session, "print(2)", "2\n")
    assert "2" in text(session).split("\n")


def test_an_interrupt_nobody_could_deliver_says_why(session: KernelSession) -> None:
    session.messages.clear()
    session.handle(Event(EventKind.INTERRUPT_UNANSWERED))
    ((text, _),) = session.messages
    assert text.startswith("[kernel] kernel-6759 did not answer the interrupt request: ")
    assert "proven" in text and "SIGINT" in text
