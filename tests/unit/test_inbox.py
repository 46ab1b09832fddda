"""The inbox merges a flood's stream messages and keeps only what the output can still show."""

from __future__ import annotations

from typing import Any

import pytest

from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.session.inbox import Inbox, StreamRun


def stream(text: str, parent: str = "p", name: str = "stdout") -> Event:
    msg: dict[str, Any] = {"header": {"session": "k"}, "msg_type": "stream",
                           "parent_header": {"msg_id": parent},
                           "content": {"name": name, "text": text}}  # fmt: skip
    return Event(EventKind.MESSAGE, "iopub", msg)


def texts(inbox: Inbox) -> list[str]:
    return [e.msg["content"]["text"] for _, e in inbox.take()]


def test_consecutive_streams_of_one_execution_are_merged_in_order() -> None:
    inbox, tag = Inbox(), object()
    for i in range(3):
        inbox.add(tag, stream(f"{i}\n"), 100)
    assert texts(inbox) == ["0\n1\n2\n"]


def test_streams_of_other_executions_names_or_links_stay_apart() -> None:
    inbox, tag = Inbox(), object()
    inbox.add(tag, stream("a"), 100)
    inbox.add(tag, stream("b", parent="q"), 100)
    inbox.add(tag, stream("c", parent="q", name="stderr"), 100)
    inbox.add(object(), stream("d", parent="q", name="stderr"), 100)
    assert texts(inbox) == ["a", "b", "c", "d"]


def test_a_merged_flood_keeps_only_the_lines_the_output_can_show() -> None:
    inbox, tag = Inbox(), object()
    for i in range(10_000):
        inbox.add(tag, stream(f"line {i}\n"), 100)
    assert len(inbox.items) == 1
    text = texts(inbox)[0]
    assert 100 <= text.count("\n") <= 201
    assert text.endswith("line 9999\n")


def test_lines_cut_from_a_flood_leave_their_colour_in_force() -> None:
    inbox, tag = Inbox(), object()
    inbox.add(tag, stream("\x1b[31m" + "red\n" * 1000), 10)
    inbox.add(tag, stream("last\n"), 10)
    text = texts(inbox)[0]
    assert text.startswith("\x1b[31m")
    assert text.endswith("red\nlast\n")


def test_what_waits_is_the_cap_and_at_most_half_a_message() -> None:
    # It used to grow to twice the cap, then be joined into one string and cut.
    inbox, tag = Inbox(), object()
    for i in range(5_000):
        inbox.add(tag, stream("".join(f"{i}.{j}\n" for j in range(10))), 100)
        ((_, run),) = inbox.items
        assert isinstance(run, StreamRun)
        assert run.newlines <= 100 + 5
        assert len(run.parts) <= 100 // 10 + 2


def test_the_run_handed_over_is_exactly_the_last_lines_and_the_open_one() -> None:
    inbox, tag = Inbox(), object()
    sent = "".join(f"line {i}\n" for i in range(1_000)) + "open"
    for start in range(0, len(sent), 7):  # cut anywhere, mid-line too
        inbox.add(tag, stream(sent[start : start + 7]), 100)
    text = texts(inbox)[0]
    assert text == "".join(f"line {i}\n" for i in range(900, 1_000)) + "open"


@pytest.mark.parametrize("lines", [30, 100_000])  # the cut found from the start, from the end
def test_one_message_longer_than_the_cap_is_cut_to_it(lines: int) -> None:
    inbox, tag = Inbox(), object()
    inbox.add(tag, stream("".join(f"{i}\n" for i in range(lines))), 20)
    assert texts(inbox) == ["".join(f"{i}\n" for i in range(lines - 20, lines))]


def test_colours_of_dropped_messages_are_kept_from_their_last_reset() -> None:
    inbox, tag = Inbox(), object()
    inbox.add(tag, stream("\x1b[1mbold\n"), 10)
    inbox.add(tag, stream("\x1b[31mred\x1b[0m\x1b[32mgreen\n"), 10)
    inbox.add(tag, stream("\x1b[4munderlined\n"), 10)
    for _ in range(50):
        inbox.add(tag, stream("plain\n"), 10)
    assert texts(inbox) == ["\x1b[0m\x1b[32m\x1b[4m" + "plain\n" * 10]


def test_colours_set_again_and_again_are_kept_once() -> None:
    # Each dropped message added its codes to the ones kept: a prefix as long as the flood.
    inbox, tag = Inbox(), object()
    for _ in range(10_000):
        inbox.add(tag, stream("\x1b[1m\x1b[31mx\x1b[1m\n"), 10)
    assert texts(inbox) == ["\x1b[31m\x1b[1m" + "\x1b[1m\x1b[31mx\x1b[1m\n" * 10]


def test_other_events_keep_their_place_between_streams() -> None:
    inbox, tag = Inbox(), object()
    inbox.add(tag, stream("a"), 100)
    inbox.add(tag, Event(EventKind.UNRESPONSIVE), 100)
    inbox.add(tag, stream("b"), 100)
    kinds = [e.kind for _, e in inbox.take()]
    assert kinds == [EventKind.MESSAGE, EventKind.UNRESPONSIVE, EventKind.MESSAGE]


def clear(wait: bool, parent: str = "p") -> Event:
    msg: dict[str, Any] = {"header": {"session": "k"}, "msg_type": "clear_output",
                           "parent_header": {"msg_id": parent},
                           "content": {"wait": wait}}  # fmt: skip
    return Event(EventKind.MESSAGE, "iopub", msg)


def kinds(inbox: Inbox) -> list[str]:
    """Each event as its type, with the text of a stream: ``stream:frame 9\n``."""
    taken = [e.msg for _, e in inbox.take()]
    return [m["msg_type"] + (":" + m["content"]["text"] if "text" in m["content"] else "")
            for m in taken]  # fmt: skip


def test_an_animation_redrawn_while_the_editor_is_away_waits_as_its_last_frame() -> None:
    inbox, tag = Inbox(), object()
    for i in range(10_000):
        inbox.add(tag, clear(wait=True), 100)
        inbox.add(tag, stream(f"frame {i}\n"), 100)
    assert kinds(inbox) == ["clear_output", "stream:frame 9999\n"]


def test_a_clear_that_waits_keeps_the_last_frame_until_output_comes() -> None:
    inbox, tag = Inbox(), object()
    inbox.add(tag, stream("frame\n"), 100)
    inbox.add(tag, clear(wait=True), 100)
    assert kinds(inbox) == ["stream:frame\n", "clear_output"]


def test_a_clear_at_once_drops_what_it_clears_and_nothing_of_others() -> None:
    inbox, tag, other = Inbox(), object(), object()
    inbox.add(tag, stream("mine\n"), 100)
    inbox.add(tag, stream("theirs\n", parent="q"), 100)
    inbox.add(other, stream("other link\n"), 100)
    inbox.add(tag, clear(wait=False), 100)
    inbox.add(tag, stream("after\n"), 100)
    assert kinds(inbox) == ["stream:theirs\n", "stream:other link\n", "clear_output",
                            "stream:after\n"]  # fmt: skip


def test_a_flood_that_moves_up_is_cut_where_its_moves_cancel_out() -> None:
    # tqdm's nested bars: down to the inner bar's line, redraw it, back up to the outer one.
    inbox, tag = Inbox(), object()
    inbox.add(tag, stream("\router 0%"), 10)
    for i in range(1000):
        inbox.add(tag, stream(f"\n\rinner {i}\x1b[A"), 10)
    text = texts(inbox)[0]
    assert text.startswith("\n\rinner ")  # a tail starting after a newline would start a line low
    assert 10 <= text.count("\n") <= 21
    assert text.endswith("inner 999\x1b[A")


def test_a_flood_that_moves_up_but_never_back_is_still_cut() -> None:
    inbox, tag = Inbox(), object()
    inbox.add(tag, stream("\x1b[A"), 100)
    for i in range(10_000):
        inbox.add(tag, stream(f"line {i}\n"), 100)
    text = texts(inbox)[0]
    assert 100 <= text.count("\n") <= 201
    assert text.endswith("line 9999\n")
