"""The session's word on what the user waits for: K, completion and history answered with nothing
or never (bash_kernel sends no reply to a completion at the start of a line), and interrupts a
kernel acknowledges but does not act on (xeus-python). Recorded streams on a fake clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_session import Clock, channel, iopub, shell, status

from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.session.kernel_session import KernelSession
from kernel_nvim.session.requests import TIMEOUTS

WHERE = {"win": 1000, "line": 1, "col": 1}


@pytest.fixture
def quiet(session: KernelSession) -> KernelSession:
    """A linked session whose "Connected" message was read."""
    session.messages.clear()
    return session


def said(s: KernelSession) -> list[str]:
    texts = [text for text, _ in s.messages]
    s.messages.clear()
    return texts


def reply(s: KernelSession, request: str, content: dict[str, object]) -> None:
    msg_id = channel(s).last(request)
    s.handle(shell(request.replace("_request", "_reply"), content, msg_id))


# Section: empty answers


def test_a_completion_with_no_matches_says_the_kernel_offers_none(quiet: KernelSession) -> None:
    quiet.complete("zzqx", 4, WHERE)
    reply(quiet, "complete_request", {"status": "ok", "matches": [], "cursor_start": 4,
                                      "cursor_end": 4, "metadata": {}})  # fmt: skip
    assert said(quiet) == ["[kernel] the kernel offers no completion here"]
    assert "complete" not in quiet.shows


def test_a_completion_answered_with_an_error_is_an_empty_answer(quiet: KernelSession) -> None:
    quiet.complete("x.", 2, WHERE)
    reply(quiet, "complete_request", {"status": "error", "ename": "IndexError"})
    assert said(quiet) == ["[kernel] the kernel offers no completion here"]


def test_matches_show_the_menu_and_say_nothing(quiet: KernelSession) -> None:
    quiet.complete("ech", 3, WHERE)
    reply(quiet, "complete_request", {"status": "ok", "matches": ["echo"], "cursor_start": 0,
                                      "cursor_end": 3, "metadata": {}})  # fmt: skip
    assert quiet.shows["complete"]["items"][0]["word"] == "echo"
    assert said(quiet) == []


def test_inspect_found_nothing_says_so(quiet: KernelSession) -> None:
    quiet.inspect("echo", 4, WHERE)
    reply(quiet, "inspect_request", {"status": "ok", "found": False, "data": {}})
    assert said(quiet) == ["[kernel] nothing known about the name under the cursor"]


def test_an_empty_history_says_so(quiet: KernelSession) -> None:
    quiet.history(10)
    reply(quiet, "history_request", {"status": "ok", "history": []})
    assert said(quiet) == ["[kernel] the kernel has no history"]


# Section: no answer


ASKS: dict[str, Callable[[KernelSession], None]] = {
    "complete": lambda s: s.complete("", 0, WHERE),
    "inspect": lambda s: s.inspect("len", 3, WHERE),
    "history": lambda s: s.history(5),
}


@pytest.mark.parametrize(
    ("kind", "what"),
    [("complete", "completion request"), ("inspect", "inspect request (K)"),
     ("history", "history request")],
)  # fmt: skip
def test_a_request_never_answered_is_told_once_at_its_deadline(
    quiet: KernelSession, clock: Clock, kind: str, what: str
) -> None:
    ASKS[kind](quiet)
    assert quiet.requests.next_deadline() == clock.now + TIMEOUTS[kind]
    clock.now += TIMEOUTS[kind]
    quiet.expire()
    assert said(quiet) == []
    clock.now += 0.01
    quiet.expire()
    expected = f"[kernel] kernel-6759 did not answer the {what} within {TIMEOUTS[kind]:g} s"
    assert said(quiet) == [expected]
    clock.now += 100
    quiet.expire()
    assert said(quiet) == []
    assert quiet.requests.next_deadline() is None


def test_an_answer_after_the_deadline_is_not_shown_and_told_as_unanswered(
    quiet: KernelSession, clock: Clock
) -> None:
    quiet.inspect("len", 3, WHERE)
    clock.now += TIMEOUTS["inspect"] + 1
    reply(quiet, "inspect_request", {"status": "ok", "found": True,
                                     "data": {"text/plain": "len(obj, /)"}})  # fmt: skip
    assert "float" not in quiet.shows
    quiet.expire()
    assert said(quiet) == ["[kernel] kernel-6759 did not answer the inspect request (K) within 2 s"]


def test_a_busy_kernel_that_does_not_answer_k_is_told_busy(
    quiet: KernelSession, clock: Clock
) -> None:
    quiet.send("import time; time.sleep(10)", {})
    quiet.handle(status("busy", channel(quiet).last("execute_request")))
    quiet.inspect("time", 4, WHERE)
    clock.now += TIMEOUTS["inspect"] + 1
    quiet.expire()
    assert said(quiet) == [
        "[kernel] kernel-6759 did not answer the inspect request (K) within 2 s: it is busy"
    ]


def test_a_kernel_busy_only_with_the_request_itself_is_not_called_busy(
    quiet: KernelSession, clock: Clock
) -> None:
    quiet.complete("import o", 8, WHERE)
    quiet.handle(status("busy", channel(quiet).last("complete_request")))  # xeus-python does
    clock.now += TIMEOUTS["complete"] + 1
    quiet.expire()
    assert said(quiet) == ["[kernel] kernel-6759 did not answer the completion request within 10 s"]


def test_a_newer_request_replaces_the_older_one_and_only_it_can_be_told(
    quiet: KernelSession, clock: Clock
) -> None:
    quiet.complete("pri", 3, WHERE)
    clock.now += 1
    quiet.complete("prin", 4, WHERE)
    clock.now += TIMEOUTS["complete"] + 1
    quiet.expire()
    assert said(quiet) == ["[kernel] kernel-6759 did not answer the completion request within 10 s"]


def test_probes_of_the_queue_are_never_told(quiet: KernelSession, clock: Clock) -> None:
    quiet.send("while True: pass", {})
    quiet.handle(status("busy", channel(quiet).last("execute_request")))
    clock.now += 3 * 3600
    quiet.tick()  # asks kernel_info on shell, a busy probe
    assert quiet.requests.next_deadline() is None
    clock.now += 2 * 3600
    quiet.expire()
    assert said(quiet) == []


# Section: interrupts


def interrupt_ends(s: KernelSession, kind: EventKind) -> None:
    s.handle(Event(kind, text=channel(s).last("interrupt_request")))


def test_an_acknowledged_interrupt_whose_code_still_runs_says_so(quiet: KernelSession) -> None:
    quiet.send("while True: pass", {})
    running = channel(quiet).last("execute_request")
    quiet.handle(status("busy", running))
    quiet.interrupt()
    interrupt_ends(quiet, EventKind.INTERRUPT_ANSWERED)
    (text,) = said(quiet)
    assert text == ("[kernel] kernel-6759 answered the interrupt request, but the code still "
                    "runs: the kernel may ignore interrupts")  # fmt: skip


def test_an_interrupt_that_stopped_the_code_says_nothing(quiet: KernelSession) -> None:
    quiet.send("while True: pass", {})
    running = channel(quiet).last("execute_request")
    quiet.handle(status("busy", running))
    quiet.interrupt()
    quiet.handle(iopub("error", {"ename": "KeyboardInterrupt", "evalue": "", "traceback": []},
                       running))  # fmt: skip
    quiet.handle(shell("execute_reply", {"status": "error"}, running))
    quiet.handle(status("idle", running))
    interrupt_ends(quiet, EventKind.INTERRUPT_ANSWERED)
    assert said(quiet) == []


def test_an_interrupt_of_an_idle_kernel_says_nothing(quiet: KernelSession) -> None:
    quiet.interrupt()
    interrupt_ends(quiet, EventKind.INTERRUPT_ANSWERED)
    assert said(quiet) == []


def test_code_started_after_the_interrupt_is_not_taken_for_code_that_went_on(
    quiet: KernelSession,
) -> None:
    quiet.interrupt()
    quiet.send("while True: pass", {})
    quiet.handle(status("busy", channel(quiet).last("execute_request")))
    interrupt_ends(quiet, EventKind.INTERRUPT_ANSWERED)
    assert said(quiet) == []


def test_a_signalled_interrupt_says_nothing_of_its_own(quiet: KernelSession) -> None:
    quiet.send("while True: pass", {})
    quiet.handle(status("busy", channel(quiet).last("execute_request")))
    quiet.interrupt()
    interrupt_ends(quiet, EventKind.INTERRUPT_SIGNALLED)
    assert said(quiet) == []
