"""The inbox merges a flood's stream messages and keeps only what the output can still show."""

from __future__ import annotations

from typing import Any

from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.session.inbox import Inbox


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
