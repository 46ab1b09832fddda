"""A session whose kernel we start or restart: `starting` until it answers, sends held until there
is a channel, and our own restart told by the same detection as anyone's (a new session id)."""

from __future__ import annotations

from test_session import KERNEL, Clock, FakeChannel, Source, channel, iopub, message, run, status

from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.session.kernel_session import KernelSession
from kernel_nvim.session.options import Options
from kernel_nvim.session.state import KernelState

INFO = message("kernel_info_reply", {"language_info": {"name": "python", "version": "3.12"}})


def starting(clock: Clock) -> KernelSession:
    s = KernelSession(Source(), Options(), clock)
    s.starting()
    return s


def test_a_kernel_we_start_is_starting_until_it_answers(clock: Clock) -> None:
    s = starting(clock)
    assert s.state_payload()["text"] == "kernel-6759 starting"
    s.link(FakeChannel())
    assert s.status.state is KernelState.STARTING  # not `connecting`: it is still booting
    s.handle(Event(EventKind.READY, "shell", INFO))
    assert s.status.state is KernelState.IDLE
    assert s.messages[-1][0] == "[kernel] Connected to kernel-6759.json (python 3.12)"


def test_what_is_sent_before_there_is_a_channel_is_sent_in_order_once_there_is(
    clock: Clock,
) -> None:
    s = starting(clock)
    s.send("a = 1", {})
    s.send("print(a)", {})
    assert s.channel is None and len(s.held) == 2
    s.link(FakeChannel())
    sent = [m["code"] for _, t, m in channel(s).sent if t == "execute_request"]
    assert sent == ["a = 1", "print(a)"] and s.held == []


def test_a_start_that_fails_says_why_and_how_many_sends_were_lost(clock: Clock) -> None:
    s = starting(clock)
    s.send("a = 1", {})
    s.start_failed("cannot start python3: it exited with status 1: boom")
    assert s.messages[-1][0] == (
        "[kernel] cannot start python3: it exited with status 1: boom (1 not sent)"
    )
    assert s.status.state is KernelState.DISCONNECTED and s.held == []


def test_our_restart_is_starting_then_restarted_when_the_new_kernel_speaks(
    session: KernelSession,
) -> None:
    run(session, "x = 1")
    session.send("import time; time.sleep(60)", {})
    sleeping = channel(session).last("execute_request")
    session.handle(status("busy", sleeping))
    session.handle(iopub("execute_input", {"code": "sleep", "execution_count": 2}, sleeping))
    session.restarting()
    assert session.status.state is KernelState.STARTING
    session.handle(Event(EventKind.UNRESPONSIVE))  # the old process is gone: nothing to say
    assert not any("does not answer" in m for m, _ in session.messages)
    session.restart_done()
    # The channel proves the way to the new process before the probe (and what follows) goes.
    assert [t for _, t, _ in channel(session).sent[-2:]] == ["rejoin", "kernel_info_request"]
    probe = channel(session).last("kernel_info_request")
    session.handle(status("busy", probe, session="new-kernel"))
    session.handle(status("idle", probe, session="new-kernel"))
    assert session.status.state is KernelState.RESTARTED
    out = "\n".join(line for block in session.doc.blocks for line in block.texts)
    assert "[no reply: the kernel restarted]" in out and "[kernel restarted]" in out
    assert KERNEL != session.status.kernel_session == "new-kernel"


def test_code_sent_during_our_restart_runs_in_the_new_process_after_the_rejoin(
    session: KernelSession,
) -> None:
    run(session, "x = 1")
    session.restarting()
    session.send("print('after')", {})
    assert [t for _, t, _ in channel(session).sent].count("execute_request") == 1  # it waits
    session.restart_done()
    kinds = [t for _, t, _ in channel(session).sent[-3:]]
    assert kinds == ["rejoin", "kernel_info_request", "execute_request"]
    assert channel(session).sent[-1][2]["code"] == "print('after')"


def test_a_restart_that_fails_says_what_was_not_sent(session: KernelSession) -> None:
    session.restarting()
    session.send("print('after')", {})
    session.gone("no reply: the kernel could not restart", "cannot restart it: boom")
    assert session.messages[-1] == ("[kernel] cannot restart it: boom (1 not sent)", 4)
    assert session.held == [] and session.status.state is KernelState.DEAD
