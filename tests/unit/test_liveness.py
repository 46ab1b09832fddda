"""Unit tests of kernel_nvim.kernel.liveness: the channel's decisions, driven by a fake clock."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kernel_nvim.kernel.liveness import (
    DropLog,
    Handshake,
    Heartbeat,
    InterruptWatch,
    Join,
    Liveness,
    Redial,
    Step,
)
from kernel_nvim.kernel.wire import DropReason


def message(msg_type: str, parent_id: str = "") -> dict[str, Any]:
    parent = {"msg_id": parent_id} if parent_id else {}
    return {"msg_type": msg_type, "parent_header": parent, "content": {}}


# Handshake


def test_handshake_is_ready_once_kernel_info_is_answered_and_iopub_has_spoken() -> None:
    handshake = Handshake(now=0.0, timeout=5.0)
    handshake.asked("info-1")
    assert handshake.step(0.0) is Step.WAIT

    assert handshake.on_message("shell", message("kernel_info_reply", "info-1")) is True
    assert handshake.step(0.1) is Step.PROBE  # ask again: its busy/idle will show iopub works
    assert handshake.on_message("iopub", message("status", "someone-else")) is False
    assert handshake.step(0.2) is Step.READY
    assert handshake.reply == message("kernel_info_reply", "info-1")
    assert handshake.step(0.3) is Step.WAIT
    assert handshake.next_deadline() is None


def test_a_rejoin_waits_for_iopub_caused_by_its_own_probes() -> None:
    # After the shell connection dropped, iopub still queued from the kernel that went proves
    # nothing about the one that comes back.
    rejoin = Handshake(now=0.0, timeout=5.0, own_iopub=True)
    rejoin.asked("info-1")
    rejoin.on_message("shell", message("kernel_info_reply", "info-1"))
    assert rejoin.on_message("iopub", message("stream", "an-old-request")) is False
    assert rejoin.step(0.1) is Step.PROBE
    assert rejoin.on_message("iopub", message("status", "info-1")) is True
    assert rejoin.step(0.2) is Step.READY


def test_a_join_holds_sends_through_the_handshake_and_each_rejoin_then_lets_them_go() -> None:
    join = Join(now=0.0, timeout=5.0)
    assert join.again(0.0) is False  # the handshake proves iopub already
    join.asked("info-1")
    join.on_message("shell", message("kernel_info_reply", "info-1"))
    assert join.on_message("iopub", message("status", "info-1")) is True
    assert join.step(0.1) is Step.READY and join.joined
    assert join.again(1.0) is True and not join.joined  # we restarted it: prove iopub again
    assert join.again(1.0) is False  # one rejoin at a time
    join.asked("info-2")
    assert join.on_message("shell", message("kernel_info_reply", "info-2")) is True
    assert join.step(1.1) is Step.PROBE  # replied, but its iopub has not come
    join.asked("info-3")
    assert join.on_message("iopub", message("status", "info-3")) is True
    assert join.step(1.2) is Step.REJOINED and join.joined
    assert join.reply == message("kernel_info_reply", "info-1")  # the session's, from linking


def test_a_rejoin_that_gets_no_answer_lets_what_waits_go_at_its_deadline() -> None:
    join = Join(now=0.0, timeout=5.0)
    join.asked("info-1")
    join.on_message("shell", message("kernel_info_reply", "info-1"))
    join.on_message("iopub", message("status", "info-1"))
    assert join.step(0.1) is Step.READY
    join.again(1.0)
    assert join.next_deadline() == 6.0
    assert join.step(5.9) is Step.WAIT
    assert join.step(6.0) is Step.REJOINED and join.joined and join.next_deadline() is None


def test_redial_backs_off_then_gives_up_and_says_whether_it_was_a_rejoin() -> None:
    redial = Redial(give_up_after=3.0, backoff=(0.1, 1.0))
    redial.lost(10.0)
    assert redial.next_try == 10.0  # the first try at once
    assert redial.failed(10.0) is False and redial.next_try == 10.1
    assert redial.failed(10.1) is False and redial.next_try == 11.1
    assert redial.failed(11.1) is False and redial.next_try == 12.1  # the last one, repeated
    assert redial.failed(13.0) is True
    redial.lost(20.0, rejoin=True)
    assert redial.back() is True and redial.since is None
    redial.lost(30.0)
    assert redial.back() is False


def test_handshake_probes_at_most_once_per_interval() -> None:
    handshake = Handshake(now=0.0, timeout=5.0, probe_every=0.2)
    handshake.asked("info-1")
    handshake.on_message("control", message("kernel_info_reply", "info-1"))

    steps = [handshake.step(t) for t in (0.0, 0.1, 0.2, 0.3, 0.4)]

    assert steps == [Step.PROBE, Step.WAIT, Step.PROBE, Step.WAIT, Step.PROBE]


def test_handshake_gives_up_when_the_kernel_never_answers() -> None:
    handshake = Handshake(now=10.0, timeout=5.0)
    handshake.asked("info-1")
    handshake.on_message("iopub", message("status"))

    assert handshake.step(14.9) is Step.WAIT
    assert handshake.next_deadline() == 15.0
    assert handshake.step(15.0) is Step.NO_ANSWER
    assert handshake.step(16.0) is Step.WAIT


def test_handshake_goes_on_at_the_deadline_when_only_iopub_stays_silent() -> None:
    handshake = Handshake(now=0.0, timeout=5.0)
    handshake.asked("info-1")
    handshake.on_message("shell", message("kernel_info_reply", "info-1"))

    assert handshake.step(5.0) is Step.READY


def test_handshake_keeps_the_status_of_its_own_requests_from_the_session() -> None:
    handshake = Handshake(now=0.0, timeout=5.0)
    handshake.asked("info-1")
    handshake.on_message("control", message("kernel_info_reply", "info-1"))

    assert handshake.on_message("iopub", message("status", "info-1")) is True  # iopub works
    assert handshake.step(0.0) is Step.READY
    assert handshake.on_message("iopub", message("status", "info-1")) is True  # also after
    assert handshake.on_message("iopub", message("status", "run-1")) is False


def test_handshake_keeps_every_reply_to_its_own_requests_from_the_session() -> None:
    handshake = Handshake(now=0.0, timeout=5.0)
    for msg_id in ("info-1", "info-2"):
        handshake.asked(msg_id)
    handshake.on_message("control", message("kernel_info_reply", "info-1"))
    handshake.on_message("iopub", message("status"))
    assert handshake.step(0.0) is Step.READY

    assert handshake.on_message("shell", message("kernel_info_reply", "info-2")) is True
    assert handshake.on_message("shell", message("kernel_info_reply", "someone")) is False
    assert handshake.reply == message("kernel_info_reply", "info-1")


# Heartbeat


def test_heartbeat_pings_once_per_interval() -> None:
    heartbeat = Heartbeat(now=0.0, interval=1.0, timeout=3.0)

    assert [heartbeat.ping_due(t) for t in (0.0, 0.5, 1.0, 1.5, 2.1)] == [
        True, False, True, False, True
    ]  # fmt: skip


def test_heartbeat_loss_is_unresponsive_once_and_its_return_responsive_once() -> None:
    heartbeat = Heartbeat(now=0.0, interval=1.0, timeout=3.0)
    heartbeat.arm()
    heartbeat.beat(1.0)

    assert heartbeat.check(4.0) is None
    assert heartbeat.check(4.1) is Liveness.UNRESPONSIVE
    assert heartbeat.check(9.0) is None  # told once
    assert heartbeat.beat(9.5) is Liveness.RESPONSIVE
    assert heartbeat.beat(10.0) is None
    assert heartbeat.check(12.0) is None


def test_heartbeat_is_not_judged_before_the_handshake_is_done() -> None:
    heartbeat = Heartbeat(now=0.0, interval=1.0, timeout=3.0)

    assert heartbeat.check(100.0) is None
    heartbeat.arm()
    assert heartbeat.check(100.0) is Liveness.UNRESPONSIVE


def test_heartbeat_asks_whether_the_process_is_gone_once_per_interval_while_lost() -> None:
    heartbeat = Heartbeat(now=0.0, interval=1.0, timeout=3.0)
    heartbeat.arm()
    assert heartbeat.gone_check_due(1.0) is False  # answering: nothing to ask
    heartbeat.check(3.5)

    asks = [heartbeat.gone_check_due(t) for t in (3.5, 4.0, 4.5, 5.0)]
    heartbeat.beat(5.2)

    assert asks == [True, False, True, False]
    assert heartbeat.gone_check_due(9.0) is False


def test_heartbeat_deadline_is_the_next_ping_or_the_moment_of_loss() -> None:
    heartbeat = Heartbeat(now=0.0, interval=1.0, timeout=3.0)
    heartbeat.ping_due(0.0)
    assert heartbeat.next_deadline() == 1.0
    heartbeat.arm()
    heartbeat.beat(0.0)
    for t in (1.0, 2.0, 3.0):
        heartbeat.ping_due(t)
    assert heartbeat.next_deadline() == pytest.approx(3.001)


# InterruptWatch


def test_each_interrupts_grace_ends_once_saying_whether_it_was_answered() -> None:
    watch = InterruptWatch(grace=1.0)
    watch.sent("int-1", now=0.0)
    watch.sent("int-2", now=0.5)
    watch.answered("int-2")
    watch.answered("not-ours")

    assert watch.overdue(0.9) == []
    assert watch.next_deadline() == 1.0
    assert watch.overdue(1.0) == [("int-1", False)]
    assert watch.next_deadline() == 1.5
    assert watch.overdue(1.5) == [("int-2", True)]
    assert watch.overdue(2.0) == []
    assert watch.next_deadline() is None


# DropLog


def test_a_flood_of_drops_logs_one_line_per_reason_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drops = DropLog(interval=30.0)
    with caplog.at_level(logging.WARNING):
        for i in range(100_000):
            drops.drop(DropReason.UNSIGNED, now=i / 10_000)  # over 10 s
        drops.drop(DropReason.REPLAYED, now=10.0)

    assert +drops.counts == {DropReason.UNSIGNED: 100_000, DropReason.REPLAYED: 1}
    assert [r.getMessage() for r in caplog.records] == [
        "kernel.nvim: dropped 1 unsigned message(s) from the kernel",
        "kernel.nvim: dropped 1 replayed message(s) from the kernel",
    ]


def test_drops_not_yet_told_are_told_when_their_interval_has_passed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drops = DropLog(interval=30.0)
    with caplog.at_level(logging.WARNING):
        for t in (0.0, 1.0, 2.0):
            drops.drop(DropReason.MALFORMED, now=t)
        assert drops.next_deadline() == 30.0
        drops.flush(29.0)
        drops.flush(30.0)
        drops.flush(31.0)

    assert [r.getMessage() for r in caplog.records] == [
        "kernel.nvim: dropped 1 malformed message(s) from the kernel",
        "kernel.nvim: dropped 2 malformed message(s) from the kernel",
    ]
    assert drops.next_deadline() is None
