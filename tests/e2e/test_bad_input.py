"""End to end: what a kernel (or anything that can write to its ports) sends can be anything.

A fake kernel on real zmq, signing with the real key, sends what a real kernel never would. One
bad message is dropped, never the link; no traceback reaches `:messages`; no message quotes the
key; what reaches the output buffer cannot disguise itself.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.checks import assert_no_traceback, expect_one_message
from support.editor import Editor
from support.fake_kernel import FakeKernel, Message, Received, dumps

BUSY: Message = {"execution_state": "busy"}
IDLE: Message = {"execution_state": "idle"}

# Section: helpers


def run_by_hand(editor: Editor, fake: FakeKernel, code: str) -> Received:
    """`:KernelExec code`, left for the test to answer; returns the execute_request."""
    fake.answer_execute = False
    editor.nvim.command(f"KernelExec {code}")
    return fake.wait_request("execute_request")


def stream(fake: FakeKernel, request: Received, text: str) -> None:
    fake.publish("stream", {"name": "stdout", "text": text}, request)


def execute_reply(fake: FakeKernel, request: Received) -> None:
    fake.reply(request, {"status": "ok", "execution_count": 1, "user_expressions": {}})


def finish(fake: FakeKernel, request: Received, text: str) -> None:
    """A well-formed end of the execution: its output, its reply, its idle."""
    stream(fake, request, text)
    execute_reply(fake, request)
    fake.publish("status", IDLE, request)


def assert_still_linked(editor: Editor) -> None:
    editor.wait_state("idle", timeout=5)
    assert_no_traceback(editor)
    assert editor.responsive() < 1.0


@pytest.fixture
def make_fake(runtime_dir: Path) -> Iterator[Callable[..., FakeKernel]]:
    """FakeKernel(runtime_dir, **options), each closed after the test."""
    made: list[FakeKernel] = []

    def make(**options: Any) -> FakeKernel:
        made.append(FakeKernel(runtime_dir, **options))
        return made[-1]

    yield make
    for fake in made:
        fake.close()


# Section: a message drops the link


def test_stream_nested_100000_lists_deep_is_dropped_and_the_link_survives(
    editor: Editor, fake_kernel: FakeKernel
) -> None:
    editor.connect(fake_kernel)
    request = run_by_hand(editor, fake_kernel, "deep()")
    fake_kernel.publish("status", BUSY, request)
    deep = b'{"name": "stdout", "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    header = dumps(fake_kernel.header("stream"))
    fake_kernel.send_raw("iopub", header, dumps(request.header), b"{}", deep)
    finish(fake_kernel, request, "after the deep one\n")
    editor.wait_output("after the deep one")
    assert_still_linked(editor)


def test_parent_msg_id_that_is_a_list_is_dropped_and_the_link_survives(
    editor: Editor, fake_kernel: FakeKernel
) -> None:
    editor.connect(fake_kernel)
    request = run_by_hand(editor, fake_kernel, "listed()")
    fake_kernel.publish("status", BUSY, request)
    parent = dumps({**request.header, "msg_id": [request.msg_id]})
    content = dumps({"name": "stdout", "text": "from a list parent\n"})
    fake_kernel.send_raw("iopub", dumps(fake_kernel.header("stream")), parent, b"{}", content)
    finish(fake_kernel, request, "after the list parent\n")
    editor.wait_output("after the list parent")
    assert_still_linked(editor)


# Section: lone surrogates in kernel strings


def test_lone_surrogate_in_the_language_name_still_connects(
    editor: Editor, make_fake: Callable[..., FakeKernel]
) -> None:
    language = {"name": "py\ud800thon", "version": "3.11"}  # sent as a JSON \ud800 escape
    fake = make_fake(kernel_info={"language_info": language})
    editor.nvim.command(f"KernelConnect {fake.fragment}")
    editor.wait_state("idle", timeout=10)
    editor.wait_message("Connected to")
    assert_no_traceback(editor)


def test_lone_surrogate_in_an_input_prompt_still_asks(
    editor: Editor, fake_kernel: FakeKernel
) -> None:
    editor.connect(fake_kernel)
    request = run_by_hand(editor, fake_kernel, "input()")
    fake_kernel.publish("status", BUSY, request)
    fake_kernel.send_input_request(request, "name\ud800? ")
    editor.wait_prompt(timeout=10)
    editor.feed("Ada<CR>")
    assert fake_kernel.wait_request("input_reply").content["value"] == "Ada"
    finish(fake_kernel, request, "answered\n")
    editor.wait_output("answered")
    assert_still_linked(editor)


# Section: what reaches the buffer


def test_c1_controls_never_reach_the_output_buffer(editor: Editor, fake_kernel: FakeKernel) -> None:
    editor.connect(fake_kernel)
    request = run_by_hand(editor, fake_kernel, "c1()")
    fake_kernel.publish("status", BUSY, request)
    finish(fake_kernel, request, "c1 [\u009b] [\u009c] [\u009d] end\nafter c1\n")
    lines = editor.wait_output("after c1").splitlines()
    assert any(line.startswith("c1 ") for line in lines)
    assert not [line for line in lines if set(line) & {"\u009b", "\u009c", "\u009d"}]


def test_bidi_override_is_shown_visibly(editor: Editor, fake_kernel: FakeKernel) -> None:
    editor.connect(fake_kernel)
    request = run_by_hand(editor, fake_kernel, "bidi()")
    fake_kernel.publish("status", BUSY, request)
    finish(fake_kernel, request, "bidi \u202etxt.exe\nafter bidi\n")
    lines = editor.wait_output("after bidi").splitlines()
    (line,) = [line for line in lines if line.startswith("bidi ")]
    assert "\u202e" not in line
    assert "<U+202E>" in line


# Section: status stuck at busy


def idle_for_an_unknown_parent(fake: FakeKernel, request: Received) -> None:
    fake.publish("status", BUSY, request)
    finish_without_idle(fake, request)
    fake.publish("status", IDLE, {"msg_id": uuid.uuid4().hex, "session": uuid.uuid4().hex})


def idle_before_its_busy(fake: FakeKernel, request: Received) -> None:
    fake.publish("status", IDLE, request)
    fake.publish("status", BUSY, request)
    finish_without_idle(fake, request)


def lost_idle(fake: FakeKernel, request: Received) -> None:
    fake.publish("status", BUSY, request)
    finish_without_idle(fake, request)


def finish_without_idle(fake: FakeKernel, request: Received) -> None:
    stream(fake, request, "ran\n")
    execute_reply(fake, request)


@pytest.mark.parametrize(
    "statuses",
    [idle_for_an_unknown_parent, idle_before_its_busy, lost_idle],
    ids=lambda f: f.__name__,
)
def test_status_is_not_stuck_at_busy_after_the_execute_reply(
    editor: Editor, fake_kernel: FakeKernel, statuses: Callable[[FakeKernel, Received], None]
) -> None:
    editor.connect(fake_kernel)
    request = run_by_hand(editor, fake_kernel, "stuck()")
    statuses(fake_kernel, request)
    editor.wait_output("ran")
    editor.wait_state("idle", timeout=5)
    assert_no_traceback(editor)


# Section: the key stays secret


def test_lone_surrogate_in_the_key_gives_one_line_without_the_key(
    editor: Editor, make_fake: Callable[..., FakeKernel]
) -> None:
    secret = uuid.uuid4().hex
    fake = make_fake(key=f"{secret}\udc80")
    connect = functools.partial(editor.nvim.command, f"KernelConnect {fake.fragment}")
    line = expect_one_message(editor, connect, "[kernel]", timeout=10)
    assert "internal error" not in line
    messages = editor.messages()
    assert secret not in messages
    assert "\\udc80" not in messages and "\udc80" not in messages


# Section: memory


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to read memory")
def test_a_flood_of_invalid_messages_costs_the_editor_no_memory(
    editor: Editor, fake_kernel: FakeKernel
) -> None:
    # Each dropped message used to log a line to the host's stderr, which Neovim buffers.
    editor.connect(fake_kernel)
    request = run_by_hand(editor, fake_kernel, "flood()")
    header, parent = dumps(fake_kernel.header("stream")), dumps(request.header)
    before = rss_kb(editor.pid())
    for _ in range(50_000):
        fake_kernel.send_raw("iopub", header, parent, b"{}", b"not json")
    finish(fake_kernel, request, "after the flood\n")
    editor.wait_output("after the flood", timeout=60)
    assert rss_kb(editor.pid()) - before < 10_000
    assert_still_linked(editor)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to read memory")
def test_a_50_mb_line_is_cut_and_costs_the_editor_no_memory(
    editor: Editor, fake_kernel: FakeKernel
) -> None:
    editor.connect(fake_kernel)
    request = run_by_hand(editor, fake_kernel, "long_line()")
    before = rss_kb(editor.pid())
    for _ in range(50):
        stream(fake_kernel, request, "x" * 1_000_000)
    finish(fake_kernel, request, "\nafter the long line\n")
    editor.wait_output("after the long line", timeout=60)
    assert rss_kb(editor.pid()) - before < 20_000
    assert any("more bytes]" in line for line in editor.output())
    assert max(len(line) for line in editor.output()) < 20_000
    assert_still_linked(editor)
