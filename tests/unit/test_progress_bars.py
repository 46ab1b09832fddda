"""Real tqdm output stays a fixed set of lines: nested bars, `position=` bars, `leave=False`.

The stream text is recorded from real tqdm, run in a subprocess (tqdm keeps its bars' positions
in class state) with `file=` an object that records each write, and fed to the document one
write per stream message, as ipykernel would send them when it flushes after each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from test_terminal import Stream

from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.session.inbox import Inbox

RECORD = """
import json, sys
from tqdm import tqdm

class Recorder:
    def __init__(self):
        self.writes = []
    def write(self, text):
        self.writes.append(text)
    def flush(self):
        pass

def nested(outer, inner, **inner_options):
    out = Recorder()
    for _ in tqdm(range(outer), file=out, mininterval=0, desc="outer"):
        for _ in tqdm(range(inner), file=out, mininterval=0, desc="inner", **inner_options):
            pass
    return out.writes

def parallel(close_order):
    out = Recorder()
    bars = [tqdm(total=5, file=out, mininterval=0, position=i, desc=f"w{i}") for i in range(3)]
    for _ in range(5):
        for bar in bars:
            bar.update()
    for i in close_order:
        bars[i].close()
    return out.writes

json.dump({
    "nested": nested(3, 20, leave=False),
    "nested_position": nested(2, 3, leave=False, position=1),
    "parallel": parallel([0, 1, 2]),
    "parallel_reversed": parallel([2, 1, 0]),
    "flood": nested(2, 3000, leave=False),
}, sys.stdout)
"""


@pytest.fixture(scope="module")
def recorded() -> dict[str, list[str]]:
    pytest.importorskip("tqdm")
    done = subprocess.run(
        [sys.executable, "-c", RECORD], capture_output=True, text=True, check=True, timeout=60
    )
    writes: dict[str, list[str]] = json.loads(done.stdout)
    return writes


def play(writes: list[str], max_lines: int = 1000) -> tuple[Stream, int]:
    """The stream after each write in turn, and the most lines it ever held."""
    stream, most = Stream(max_lines), 0
    for text in writes:
        stream.send(text)
        most = max(most, len(stream.lines()))
    stream.doc.finish(stream.block)
    return stream, most


def bar(line: str, desc: str, done: str) -> bool:
    return line.startswith(f"{desc}: 100%|") and f"| {done} [" in line


def test_nested_bars_with_leave_false_end_as_the_outer_bar(
    recorded: dict[str, list[str]],
) -> None:
    stream, most = play(recorded["nested"])
    assert len(recorded["nested"]) > 60  # one refresh per step: the bars were redrawn in place
    [line] = stream.lines()
    assert bar(line, "outer", "3/3"), line
    assert most == 2  # the outer bar and the inner one under it, never more


def test_nested_bars_with_position_end_as_the_outer_bar(recorded: dict[str, list[str]]) -> None:
    stream, most = play(recorded["nested_position"])
    [line] = stream.lines()
    assert bar(line, "outer", "2/2"), line
    assert most == 2


@pytest.mark.parametrize("name", ["parallel", "parallel_reversed"])
def test_parallel_bars_keep_one_line_each(recorded: dict[str, list[str]], name: str) -> None:
    stream, most = play(recorded[name])
    lines = stream.lines()
    assert most == 3 and len(lines) == 3
    for line in lines:
        assert any(bar(line, f"w{i}", "5/5") for i in range(3)), lines
    # Closing the bottom bar first leaves each where it was; closing the top one first moves
    # the cursor down, so the later ones are redrawn a line up, as in a terminal.
    if name == "parallel":
        assert [line[:2] for line in lines] == ["w0", "w1", "w2"]


def test_bars_sent_as_one_message_or_in_odd_pieces_end_the_same(
    recorded: dict[str, list[str]],
) -> None:
    writes = recorded["nested"]
    joined = "".join(writes)
    odd = [joined[i : i + 7] for i in range(0, len(joined), 7)]  # splits escapes in two
    ends = [play(w)[0].lines() for w in (writes, [joined], odd)]
    assert ends[0] == ends[1] == ends[2]


def test_a_merged_flood_of_bars_is_cut_where_the_bars_are_level(
    recorded: dict[str, list[str]],
) -> None:
    inbox, tag = Inbox(), object()
    for text in recorded["flood"]:
        inbox.add(tag, stream_event(text), 100)
    [(_, event)] = inbox.take()
    text = event.msg["content"]["text"]
    assert len(text) < len("".join(recorded["flood"])) // 10  # it was cut
    stream, most = play([text])
    [line] = stream.lines()
    assert bar(line, "outer", "2/2"), line
    assert most == 2


def stream_event(text: str) -> Event:
    msg: dict[str, Any] = {"header": {"session": "k"}, "msg_type": "stream",
                           "parent_header": {"msg_id": "p"},
                           "content": {"name": "stderr", "text": text}}  # fmt: skip
    return Event(EventKind.MESSAGE, "iopub", msg)
