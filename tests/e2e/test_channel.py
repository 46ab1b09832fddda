"""End to end, the channel alone against a real ipykernel: a kernel stopped with SIGSTOP is only
unresponsive and comes back whole on SIGCONT; a killed one is proven gone; SIGINT reaches the
proven kernel process. No Neovim: these are the channel's promises to the session."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Kernel, start_kernel, wait_for

from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.kernel.sources.existing import ConnectionFileSource
from kernel_nvim.kernel.zmq_channel import Timing, ZmqChannel

TIMING = Timing(handshake=30.0, hb_interval=0.2, hb_timeout=1.0, interrupt_grace=0.5)


class Events:
    def __init__(self) -> None:
        self.seen: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, batch: list[Event]) -> None:
        with self._lock:
            self.seen.extend(batch)

    def kinds(self) -> list[EventKind]:
        with self._lock:
            return [e.kind for e in self.seen]

    def of(self, parent: str) -> list[dict[str, Any]]:
        """The messages caused by our request ``parent``."""
        with self._lock:
            return [e.msg for e in self.seen
                    if e.msg and e.msg["parent_header"].get("msg_id") == parent]  # fmt: skip

    def stdout(self, parent: str) -> str:
        return "".join(m["content"].get("text", "") for m in self.of(parent)
                       if m["msg_type"] == "stream")  # fmt: skip


@pytest.fixture
def stoppable(runtime_dir: Path, home: Path) -> Iterator[Kernel]:
    k = start_kernel(runtime_dir, home)
    yield k
    if k.process.poll() is None:
        k.process.send_signal(signal.SIGCONT)
    k.kill()


def connect(kernel: Kernel, timing: Timing = TIMING) -> tuple[ZmqChannel, Events]:
    events = Events()
    channel = ConnectionFileSource.from_file(str(kernel.path)).open(events, timing)
    channel.start()
    wait_for(lambda: EventKind.READY in events.kinds(), 30, "ready")
    return channel, events


def run(channel: ZmqChannel, code: str) -> str:
    content = {"code": code, "silent": False, "store_history": False, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}  # fmt: skip
    return channel.send("shell", "execute_request", content)


def test_a_stopped_kernel_is_unresponsive_and_on_sigcont_nothing_is_lost(
    stoppable: Kernel,
) -> None:
    channel, events = connect(stoppable)
    try:
        code = "import time\nfor i in range(80):\n    print(i, flush=True)\n    time.sleep(0.05)"
        msg_id = run(channel, code)
        wait_for(lambda: "11\n" in events.stdout(msg_id), 15, "the first lines")
        stoppable.process.send_signal(signal.SIGSTOP)
        wait_for(lambda: EventKind.UNRESPONSIVE in events.kinds(), 10, "unresponsive")
        # Past several heartbeat timeouts, and asked about the process each interval.
        stopped_for = channel.clock() + 3 * TIMING.hb_timeout
        wait_for(lambda: channel.clock() > stopped_for, 10, "a long stop")
        assert EventKind.GONE not in events.kinds()

        stoppable.process.send_signal(signal.SIGCONT)

        wait_for(lambda: EventKind.RESPONSIVE in events.kinds(), 10, "responsive")
        wait_for(lambda: "79\n" in events.stdout(msg_id), 15, "the last line")
        assert events.stdout(msg_id) == "".join(f"{i}\n" for i in range(80))
        kinds = [k for k in events.kinds() if k is not EventKind.MESSAGE]
        assert kinds == [EventKind.READY, EventKind.UNRESPONSIVE, EventKind.RESPONSIVE]
    finally:
        channel.close()


def test_a_killed_kernel_is_gone_without_a_word_of_silence_and_the_channel_stops(
    own_kernel: Kernel,
) -> None:
    channel, events = connect(own_kernel)
    try:
        own_kernel.kill()
        wait_for(lambda: EventKind.GONE in events.kinds(), 10, "gone")
        kinds = [k for k in events.kinds() if k is not EventKind.MESSAGE]
        assert kinds == [EventKind.READY, EventKind.GONE]  # the silence is explained
        wait_for(lambda: not channel._thread.is_alive(), 5, "the I/O thread to end")
    finally:
        channel.close()


def test_sigint_fallback_reaches_the_proven_kernel_process(own_kernel: Kernel) -> None:
    source = ConnectionFileSource.from_file(str(own_kernel.path))
    channel, events = connect(own_kernel)
    try:
        msg_id = run(channel, "import time\nwhile True: time.sleep(0.01)")
        wait_for(lambda: any(m["content"].get("execution_state") == "busy"
                             for m in events.of(msg_id)), 10, "busy")  # fmt: skip
        assert source.interrupt_fallback() is True
        errors = wait_for(lambda: [m["content"]["ename"] for m in events.of(msg_id)
                                   if m["msg_type"] == "error"], 10, "the error")  # fmt: skip
        assert errors == ["KeyboardInterrupt"]
    finally:
        channel.close()
