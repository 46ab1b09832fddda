"""The bridge writes to the editor through pynvim: a fake Neovim records what it was sent, or
when a flush was scheduled."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from kernel_nvim.editor.bridge import HOLD, PACE, UNCONFIRMED, UNCONFIRMED_BYTES, Bridge, Part
from kernel_nvim.editor.later import Later
from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.output.document import Edit


class Recorder:
    """What a Neovim that applies nothing was sent: (text bytes, sent as a request)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []

    def exec_lua(self, code: str, update: dict[str, Any], async_: bool = False) -> None:
        self.calls.append((len(update.get("edit", {}).get("text", "")), not async_))

    def async_call(self, fn: Any) -> None:
        fn()


def bridge_sending(edits: list[Edit]) -> Recorder:
    nvim = Recorder()
    pending = list(edits)

    def compose() -> list[Part]:
        return [Part({"name": "kernel://fake"}, pending.pop(0))] if pending else []

    bridge = Bridge(nvim, lambda tag, event: None, compose)
    for _ in edits:
        bridge.update()
    return nvim


def unconfirmed_runs(calls: list[tuple[int, bool]]) -> list[tuple[int, int]]:
    """(updates, text bytes) written between requests: each run ends in a request, but the
    last may not."""
    runs, count, size = [], 0, 0
    for length, request in calls:
        count, size = count + 1, size + length
        if request:
            runs.append((count, size))
            count = size = 0
    return runs + [(count, size)] if count else runs


def test_small_updates_wait_for_the_editor_every_16th() -> None:
    calls = bridge_sending([Edit(0, i, ["x"], []) for i in range(64)]).calls
    assert unconfirmed_runs(calls) == [(UNCONFIRMED, UNCONFIRMED)] * 4


def test_large_updates_wait_for_the_editor_once_256_kib_went_unconfirmed() -> None:
    # While Neovim ran a long Lua loop, 15 updates of a flood, 5 MB, waited in the host.
    line = "x" * 1_000
    edits = [Edit(0, i * 100, [line] * 100, []) for i in range(40)]
    runs = unconfirmed_runs(bridge_sending(edits).calls)
    update = 100 * (len(line) + 1)
    assert max(size for _, size in runs) < UNCONFIRMED_BYTES + update
    assert sum(count for count, _ in runs) == len(edits)


class Scheduler:
    """A Neovim that records each flush the bridge schedules, run when the test says."""

    def __init__(self) -> None:
        self.scheduled = threading.Semaphore(0)
        self.count = 0
        self.calls: list[Any] = []

    def async_call(self, fn: Any) -> None:
        self.count += 1
        self.calls.append(fn)
        self.scheduled.release()

    def run(self) -> None:
        while self.calls:
            self.calls.pop(0)()


def message(channel: str, msg_type: str, **content: Any) -> Event:
    msg = {"msg_type": msg_type, "content": content, "header": {}, "parent_header": {}}
    return Event(EventKind.MESSAGE, channel=channel, msg=msg)


BUSY = message("iopub", "status", execution_state="busy")
ECHO = message("iopub", "execute_input", code="print(1)", execution_count=1)
REPLY = message("shell", "execute_reply", status="ok", execution_count=1)
LINE = message("iopub", "stream", name="stdout", text="1\n")


def test_busy_and_the_echo_of_the_code_wait_for_the_output_that_follows() -> None:
    nvim = Scheduler()
    sink = Bridge(nvim, lambda tag, event: None, list).sink("link", lambda: 0)
    sink([BUSY])
    sink([ECHO])
    assert nvim.count == 0
    sink([LINE])  # output goes at once, with what waited
    assert nvim.count == 1
    nvim.run()
    nvim.scheduled.acquire()
    assert not nvim.scheduled.acquire(timeout=5 * HOLD)  # the hold's timer finds nothing left
    assert nvim.count == 1


def test_what_waits_goes_by_itself_when_nothing_follows() -> None:
    nvim = Scheduler()
    sink = Bridge(nvim, lambda tag, event: None, list).sink("link", lambda: 0)
    started = time.monotonic()
    sink([BUSY, ECHO])
    assert nvim.scheduled.acquire(timeout=5)
    assert time.monotonic() - started >= HOLD * 0.9
    assert nvim.count == 1


def test_a_reply_with_news_and_output_never_wait() -> None:
    error = message("shell", "execute_reply", status="error", ename="E", evalue="", traceback=[])
    pager = message("shell", "execute_reply", status="ok", payload=[{"source": "page"}])
    idle = message("iopub", "status", execution_state="idle")
    for event in (error, pager, idle, LINE):
        nvim = Scheduler()
        Bridge(nvim, lambda tag, event: None, list).sink("link", lambda: 0)([event])
        assert nvim.count == 1, event.msg
    nvim = Scheduler()
    Bridge(nvim, lambda tag, event: None, list).sink("link", lambda: 0)([REPLY])
    assert nvim.count == 0


def output_of(request: str, text: str) -> Event:
    event = message("iopub", "stream", name="stdout", text=text)
    event.msg["parent_header"] = {"msg_id": request}
    return event


def test_a_requests_first_output_goes_at_once_and_more_of_it_at_most_every_pace() -> None:
    nvim = Scheduler()
    sink = Bridge(nvim, lambda tag, event: None, list).sink("link", lambda: 0)
    sink([output_of("run-1", "0%")])
    assert nvim.count == 1
    nvim.run()
    flushed = time.monotonic()
    assert nvim.scheduled.acquire(timeout=5)
    sink([output_of("run-1", "1%")])  # a progress bar's next frame: it waits
    sink([output_of("run-1", "2%")])
    assert nvim.count == 1
    sink([output_of("run-2", "hello")])  # another request's first output does not
    assert nvim.count == 2
    nvim.run()
    assert nvim.scheduled.acquire(timeout=5)
    sink([output_of("run-1", "3%")])
    assert nvim.scheduled.acquire(timeout=5)  # by itself, once PACE has passed
    assert time.monotonic() - flushed >= PACE * 0.9
    assert nvim.count == 3


def test_paced_output_goes_with_its_requests_end() -> None:
    nvim = Scheduler()
    sink = Bridge(nvim, lambda tag, event: None, list).sink("link", lambda: 0)
    sink([output_of("run-1", "0%")])
    nvim.run()
    assert nvim.scheduled.acquire(timeout=5)
    sink([output_of("run-1", "100%")])
    assert nvim.count == 1  # paced
    idle = message("iopub", "status", execution_state="idle")
    sink([idle])  # the idle status goes at once, and the last frame with it
    assert nvim.count == 2


def test_later_calls_each_once_soonest_first() -> None:
    later, called = Later(), queue.Queue[str]()
    later.call(0.05, lambda: called.put("second"))
    later.call(0.01, lambda: called.put("first"))
    later.call(0.01, lambda: 1 / 0)  # a failing call does not stop the others
    later.call(0.02, lambda: called.put("third"))
    assert [called.get(timeout=5) for _ in range(3)] == ["first", "third", "second"]
    assert called.empty()
