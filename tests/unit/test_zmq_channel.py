"""Unit tests of kernel_nvim.kernel.zmq_channel against a fake kernel speaking real zmq and
signing with the real key: the handshake, liveness, the interrupt's fallback, and attacks.

The fake kernel is the one the end-to-end tests use (support.fake_kernel), without Neovim."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from kernel_nvim.kernel import zmq_channel, zmq_sockets
from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.kernel.wire import DropReason
from kernel_nvim.kernel.zmq_channel import Timing, ZmqChannel, ZmqEndpoints
from support.fake_kernel import KERNEL_INFO, FakeKernel

KEY = "a-fake-kernel-key-never-shown-3b9c"
FAST = Timing(handshake=3.0, hb_interval=0.05, hb_timeout=0.3, interrupt_grace=0.2)
HEADER = b'{"msg_id": "%s", "msg_type": "stream", "session": "kernel-session"}'
STREAM = b'{"name": "stdout", "text": "%s"}'


class Events:
    """What the channel handed its sink, from the I/O thread."""

    def __init__(self) -> None:
        self.seen: list[Event] = []
        self._changed = threading.Condition()

    def __call__(self, batch: list[Event]) -> None:
        with self._changed:
            self.seen.extend(batch)
            self._changed.notify_all()

    def kinds(self) -> list[EventKind]:
        return [e.kind for e in self.seen]

    def texts(self) -> list[str]:
        return [
            e.msg["content"].get("text", "") for e in self.seen if e.msg.get("msg_type") == "stream"
        ]

    def wait(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; events: {self.kinds()}"
                self._changed.wait(min(left, 0.05))  # conditions may watch more than events

    def wait_kind(self, kind: EventKind, timeout: float = 5.0) -> Event:
        self.wait(lambda: kind in self.kinds(), timeout)
        return next(e for e in self.seen if e.kind is kind)

    def wait_reply(self, msg_id: str, msg_type: str = "", timeout: float = 5.0) -> None:
        def replied() -> bool:
            return any(e.msg.get("parent_header", {}).get("msg_id") == msg_id
                       and e.msg["msg_type"].startswith(msg_type) for e in self.seen)  # fmt: skip

        self.wait(replied, timeout)

    def wait_text(self, text: str, timeout: float = 5.0) -> None:
        self.wait(lambda: text in self.texts(), timeout)


def endpoints(info: dict[str, Any], **overrides: Any) -> ZmqEndpoints:
    fields = {
        "transport": info["transport"],
        "ip": info["ip"],
        "ports": {c: info[f"{c}_port"] for c in ("shell", "iopub", "stdin", "control", "hb")},
        "key": info["key"].encode(),
        **overrides,
    }
    return ZmqEndpoints(**fields)


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[FakeKernel]:
    with FakeKernel(tmp_path, key=KEY) as k:
        yield k


def publish_raw(kernel: FakeKernel, header: bytes, parent: bytes, content: bytes,
                signed_with: bytes | None = None) -> None:  # fmt: skip
    """Hand-written JSON parts on iopub, signed with the kernel's key unless told otherwise."""
    kernel.send_raw("iopub", header, parent, b"{}", content, signed_with=signed_with)


def request_types(kernel: FakeKernel) -> list[tuple[str, str]]:
    return [(r.channel, r.msg_type) for r in kernel.requests]


@pytest.fixture
def open_channel(kernel: FakeKernel) -> Iterator[Callable[..., tuple[ZmqChannel, Events]]]:
    channels: list[ZmqChannel] = []

    def start(**kwargs: Any) -> tuple[ZmqChannel, Events]:
        events = Events()
        channel = ZmqChannel(endpoints(kernel.connection), events, kwargs.pop("timing", FAST),
                             **kwargs)  # fmt: skip
        channels.append(channel)
        channel.start()
        return channel, events

    yield start
    for channel in channels:
        channel.close()


def ready(
    open_channel: Callable[..., tuple[ZmqChannel, Events]], **kwargs: Any
) -> tuple[ZmqChannel, Events]:
    channel, events = open_channel(**kwargs)
    events.wait_kind(EventKind.READY)
    return channel, events


def stopped(channel: ZmqChannel) -> bool:
    return not channel._thread.is_alive()


# The handshake and sending


def test_ready_carries_the_kernel_info_reply_and_sends_reach_the_kernel(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    channel, events = open_channel()

    info = events.wait_kind(EventKind.READY).msg
    assert info["msg_type"] == "kernel_info_reply"
    assert info["content"]["language_info"] == KERNEL_INFO["language_info"]
    msg_id = channel.send("shell", "execute_request", {"code": "1"})
    events.wait_reply(msg_id, "execute_reply")
    assert ("shell", "execute_request") in request_types(kernel)
    assert all(r.signed for r in kernel.requests)
    assert all(e.kind in (EventKind.READY, EventKind.MESSAGE) for e in events.seen)


def test_a_lone_surrogate_in_kernel_info_reaches_the_session_as_a_replacement(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    language = {**KERNEL_INFO["language_info"], "name": "py\ud800thon"}  # sent as \ud800
    kernel.kernel_info = {**kernel.kernel_info, "language_info": language}

    _, events = open_channel()

    info = events.wait_kind(EventKind.READY).msg
    assert info["content"]["language_info"]["name"] == "py\ufffdthon"


def test_a_kernel_that_never_answers_is_no_answer_and_the_channel_stops(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    kernel.close()  # its ports stay known, nothing answers them

    channel, events = open_channel(timing=Timing(handshake=0.3))

    events.wait_kind(EventKind.NO_ANSWER)
    events.wait(lambda: stopped(channel))
    assert events.kinds() == [EventKind.NO_ANSWER]


def test_sockets_that_cannot_open_fail_without_quoting_the_address() -> None:
    events = Events()
    ports = {f"{c}_port": 1 for c in ("shell", "iopub", "stdin", "control", "hb")}
    # An ip zmq refuses, holding the key: pyzmq's error text quotes the whole address.
    info = {"transport": "tcp", "ip": "bad " + KEY, "key": KEY, **ports}
    channel = ZmqChannel(endpoints(info), events, FAST)
    channel.start()
    try:
        failed = events.wait_kind(EventKind.FAILED)
    finally:
        channel.close()

    assert failed.text == "Invalid argument"
    assert KEY not in repr(endpoints({**info, "ip": "127.0.0.1"}))


# Bad messages: each is dropped and counted, and the next one still arrives


def test_content_nested_a_hundred_thousand_deep_is_dropped_and_the_link_lives(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    channel, events = ready(open_channel)

    deep = b'{"name": "stdout", "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    publish_raw(kernel, HEADER % b"deep", b"{}", deep)
    publish_raw(kernel, HEADER % b"after", b"{}", STREAM % b"after")

    events.wait_text("after")
    assert channel.dropped == {DropReason.MALFORMED: 1}
    assert EventKind.FAILED not in events.kinds()


def test_a_parent_msg_id_that_is_a_list_is_dropped_and_the_link_lives(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    channel, events = ready(open_channel)

    publish_raw(kernel, HEADER % b"bad", b'{"msg_id": ["a", "list"]}', STREAM % b"bad")
    publish_raw(kernel, HEADER % b"after", b'{"msg_id": "x"}', STREAM % b"after")

    events.wait_text("after")
    assert "bad" not in events.texts()
    assert channel.dropped == {DropReason.MALFORMED: 1}


def test_an_error_handling_one_message_drops_that_message_alone(
    kernel: FakeKernel,
    open_channel: Callable[..., tuple[ZmqChannel, Events]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel, events = ready(open_channel)
    real = zmq_channel.Join.on_message

    def fragile(self: Any, name: str, msg: dict[str, Any]) -> bool:
        if msg["content"].get("text") == "boom":
            raise KeyError("a bug of ours")
        return real(self, name, msg)

    monkeypatch.setattr(zmq_channel.Join, "on_message", fragile)
    publish_raw(kernel, HEADER % b"boom", b"{}", STREAM % b"boom")
    publish_raw(kernel, HEADER % b"after", b"{}", STREAM % b"after")

    events.wait_text("after")
    assert channel.dropped == {DropReason.MALFORMED: 1}


def test_floods_of_bad_messages_are_counted_per_kind_and_logged_once_each(
    kernel: FakeKernel,
    open_channel: Callable[..., tuple[ZmqChannel, Events]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel, events = ready(open_channel)
    with caplog.at_level(logging.WARNING, logger="kernel_nvim"):
        for i in range(300):
            publish_raw(kernel, HEADER % b"u%d" % i, b"{}", STREAM % b"unsigned", signed_with=b"")
            publish_raw(kernel, HEADER % b"m%d" % i, b"{}", b"[not json")
            publish_raw(kernel, HEADER % b"s%d" % i, b"{}", STREAM % b"forged",
                        signed_with=b"another key")  # fmt: skip
        publish_raw(kernel, HEADER % b"after", b"{}", STREAM % b"after")
        events.wait_text("after")

    assert channel.dropped == {
        DropReason.UNSIGNED: 300, DropReason.MALFORMED: 300, DropReason.BAD_SIGNATURE: 300
    }  # fmt: skip
    lines = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert sorted(lines) == [
        "kernel.nvim: dropped 1 malformed message(s) from the kernel",
        "kernel.nvim: dropped 1 unsigned message(s) from the kernel",
        "kernel.nvim: dropped 1 wrongly signed message(s) from the kernel",
    ]


def test_a_replayed_message_is_dropped(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    channel, events = ready(open_channel)

    for _ in range(2):
        publish_raw(kernel, HEADER % b"once", b"{}", STREAM % b"once")
    publish_raw(kernel, HEADER % b"after", b"{}", STREAM % b"after")

    events.wait_text("after")
    assert events.texts().count("once") == 1
    assert channel.dropped == {DropReason.REPLAYED: 1}


def test_a_sink_that_raises_does_not_stop_the_channel(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    channel, events = ready(open_channel)
    failed = threading.Event()

    def failing_once(batch: list[Event]) -> None:
        if not failed.is_set():
            failed.set()
            raise RuntimeError("the session's bug")
        events(batch)

    channel._on_events = failing_once
    publish_raw(kernel, HEADER % b"lost", b"{}", STREAM % b"lost")
    assert failed.wait(5)
    publish_raw(kernel, HEADER % b"after", b"{}", STREAM % b"after")

    events.wait_text("after")


def test_a_flood_of_large_messages_reaches_the_sink_a_megabyte_at_a_time(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    # A batch of 500 messages, however large, waited whole in the I/O thread for the session.
    channel, events = ready(open_channel)
    held, release = threading.Event(), threading.Event()
    sizes: list[int] = []

    def holding(batch: list[Event]) -> None:
        sizes.append(sum(len(e.msg["content"].get("text", "")) for e in batch if e.msg))
        held.set()
        release.wait(10)
        events(batch)

    channel._on_events = holding
    publish_raw(kernel, HEADER % b"first", b"{}", STREAM % b"first")
    assert held.wait(5)  # the I/O thread waits in the sink: what follows queues in zmq
    big = "x" * 200_000
    for i in range(20):
        publish_raw(kernel, HEADER % b"big%d" % i, b"{}", STREAM % big.encode())
    release.set()

    events.wait(lambda: events.texts().count(big) == 20)
    assert max(sizes) <= zmq_channel._Loop.MAX_BATCH_BYTES + len(big)


# Liveness: losing the heartbeat ends nothing


def test_heartbeat_loss_is_unresponsive_and_its_return_responsive_with_nothing_lost(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    asked: list[float] = []

    def process_gone() -> bool:
        asked.append(time.monotonic())
        return False

    channel, events = ready(open_channel, process_gone=process_gone)

    kernel.stop_heartbeat()
    events.wait_kind(EventKind.UNRESPONSIVE)
    events.wait(lambda: len(asked) >= 2)
    publish_raw(kernel, HEADER % b"meanwhile", b"{}", STREAM % b"meanwhile")
    events.wait_text("meanwhile")
    kernel.start_heartbeat()

    events.wait_kind(EventKind.RESPONSIVE)
    assert EventKind.GONE not in events.kinds()
    assert not stopped(channel)
    kinds = [k for k in events.kinds() if k is not EventKind.MESSAGE]
    assert kinds == [EventKind.READY, EventKind.UNRESPONSIVE, EventKind.RESPONSIVE]


def test_a_process_proven_gone_while_unresponsive_is_gone_and_the_channel_stops(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    gone = threading.Event()
    channel, events = ready(open_channel, process_gone=gone.is_set)
    kernel.stop_heartbeat()
    events.wait_kind(EventKind.UNRESPONSIVE)
    assert EventKind.GONE not in events.kinds()

    gone.set()

    events.wait_kind(EventKind.GONE)
    events.wait(lambda: stopped(channel))
    assert events.kinds()[-1] is EventKind.GONE


def test_without_a_way_to_tell_the_process_is_gone_the_channel_waits(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    channel, events = ready(open_channel)
    kernel.stop_heartbeat()
    events.wait_kind(EventKind.UNRESPONSIVE)
    publish_raw(kernel, HEADER % b"later", b"{}", STREAM % b"later")

    events.wait_text("later")
    assert not stopped(channel)


# The interrupt's fallback


@pytest.mark.parametrize(
    ("fallback", "kind"),
    [
        (lambda: True, EventKind.INTERRUPT_SIGNALLED),
        (lambda: False, EventKind.INTERRUPT_UNANSWERED),
        (None, EventKind.INTERRUPT_UNANSWERED),
    ],
)
def test_an_unanswered_interrupt_asks_the_source_to_signal(
    kernel: FakeKernel,
    open_channel: Callable[..., tuple[ZmqChannel, Events]],
    fallback: Callable[[], bool] | None,
    kind: EventKind,
) -> None:
    kernel.unanswered.add("interrupt_request")
    channel, events = ready(open_channel, interrupt_fallback=fallback)

    channel.send("control", "interrupt_request", {})

    events.wait_kind(kind)
    assert [k for k in events.kinds() if k.name.startswith("INTERRUPT")] == [kind]


def test_an_answered_interrupt_is_never_signalled_and_ends_its_grace_as_answered(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    called: list[bool] = []
    channel, events = ready(open_channel, interrupt_fallback=lambda: called.append(True) or True)

    msg_id = channel.send("control", "interrupt_request", {})
    events.wait(lambda: any(e.msg.get("msg_type") == "interrupt_reply" for e in events.seen))
    later = channel.send("shell", "execute_request", {"code": "pass"})
    events.wait_reply(later, "execute_reply")
    # Round trips until well past the grace: a fallback would have been asked by then.
    past_grace = time.monotonic() + FAST.interrupt_grace * 2
    while time.monotonic() < past_grace:
        probe = channel.send("shell", "kernel_info_request", {})
        events.wait_reply(probe)

    assert called == []
    ends = [e for e in events.seen if e.kind.name.startswith("INTERRUPT")]
    assert [(e.kind, e.text) for e in ends] == [(EventKind.INTERRUPT_ANSWERED, msg_id)]


def test_an_interrupt_fallback_that_raises_is_unanswered(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    def broken() -> bool:
        raise OSError("no /proc")

    kernel.unanswered.add("interrupt_request")
    channel, events = ready(open_channel, interrupt_fallback=broken)
    channel.send("control", "interrupt_request", {})

    events.wait_kind(EventKind.INTERRUPT_UNANSWERED)
    assert not stopped(channel)


def test_close_stops_the_thread_and_never_touches_the_kernel(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    channel, _ = ready(open_channel)

    channel.close()
    channel.close()

    assert stopped(channel)
    assert "shutdown_request" not in [r.msg_type for r in kernel.requests]
    assert channel.dropped == {}


def test_the_session_never_sees_the_handshakes_own_busy_and_idle(
    kernel: FakeKernel, open_channel: Callable[..., tuple[ZmqChannel, Events]]
) -> None:
    channel, events = ready(open_channel)
    events.wait_reply(channel.send("shell", "execute_request", {"code": "1"}), "execute_reply")

    handshake_ids = {r.msg_id for r in kernel.requests if r.msg_type == "kernel_info_request"}
    parents = {e.msg["parent_header"].get("msg_id") for e in events.seen
               if e.kind is EventKind.MESSAGE}  # fmt: skip
    assert len(handshake_ids) >= 2  # control and shell
    assert parents & handshake_ids == set()


# CurveZMQ


@pytest.fixture
def curve_kernel(tmp_path: Path) -> Iterator[FakeKernel]:
    with FakeKernel(tmp_path, key=KEY, curve=True) as k:
        yield k


@pytest.mark.parametrize("keys", ["keypair", "public key only"])
def test_a_curve_kernel_is_reached_with_its_keys_from_the_connection_file(
    curve_kernel: FakeKernel, keys: str
) -> None:
    info = curve_kernel.connection
    if keys == "public key only":
        del info["curve_secretkey"]
    events = Events()
    ends = endpoints(info, curve_publickey=info["curve_publickey"],
                     curve_secretkey=info.get("curve_secretkey", ""))  # fmt: skip
    channel = ZmqChannel(ends, events, FAST)
    channel.start()
    try:
        events.wait_kind(EventKind.READY)
        msg_id = channel.send("shell", "kernel_info_request", {})
        events.wait_reply(msg_id, "kernel_info_reply")
    finally:
        channel.close()
    assert info["curve_publickey"] not in repr(ends)


@pytest.mark.parametrize("keys", ["none", "another kernel's"])
def test_a_curve_kernel_never_hears_a_client_without_its_keys_and_the_link_gives_up(
    curve_kernel: FakeKernel, keys: str
) -> None:
    other = {}
    if keys != "none":  # a stale file: another kernel's keys, on the same ports
        public, secret = (k.decode() for k in zmq.curve_keypair())
        other = {"curve_publickey": public, "curve_secretkey": secret}
    gives_up(endpoints(curve_kernel.connection, **other))
    assert curve_kernel.requests == []


def gives_up(ends: ZmqEndpoints) -> None:
    """A link to a kernel that refused it: NO_ANSWER in its handshake's time, and the thread
    ends (the heartbeat's pings, refused, never stop it)."""
    events = Events()
    channel = ZmqChannel(ends, events, Timing(handshake=0.5, hb_interval=0.05))
    channel.start()
    try:
        events.wait_kind(EventKind.NO_ANSWER, timeout=3.0)
    finally:
        channel.close()
    assert not channel._thread.is_alive()


def test_a_link_whose_first_sends_come_after_the_kernel_refused_it_still_gives_up(
    curve_kernel: FakeKernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A loaded machine: the I/O thread's first send comes after the kernel refused the CurveZMQ
    # handshake, which leaves the DEALER without a pipe, where a blocking send waits for good.
    opened = zmq_sockets.Sockets.__init__

    def refused_first(sockets: zmq_sockets.Sockets, *args: Any) -> None:
        opened(sockets, *args)
        deadline = time.monotonic() + 5.0
        for name in ("control", "shell"):
            while True:  # a frame that goes is refused with the pipe that took it
                assert time.monotonic() < deadline, f"{name} kept its pipe"
                try:
                    sockets.by_name[name].send(b"", zmq.NOBLOCK)
                except zmq.Again:
                    break
                time.sleep(0.01)

    monkeypatch.setattr(zmq_sockets.Sockets, "__init__", refused_first)
    gives_up(endpoints(curve_kernel.connection))
