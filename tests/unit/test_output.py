"""The output model: routing into blocks, partial lines, trimming, and minimal edits.

`Mirror` applies edits the way lua/kernel/output.lua does, so each test checks that what the
editor would show equals what the model holds.
"""

from __future__ import annotations

from kernel_nvim.output.document import Edit, OutputDocument
from kernel_nvim.output.segments import Segment


def seg(text: str, *groups: str) -> list[Segment]:
    return [(text, tuple(groups))]


class Mirror:
    """The editor's copy of the buffer: starts as one empty line, like a new buffer."""

    def __init__(self) -> None:
        self.lines = [""]
        self.edits: list[Edit] = []

    def apply(self, doc: OutputDocument) -> Edit | None:
        edit = doc.take_edit()
        if edit is not None:
            self.edits.append(edit)
            del self.lines[: edit.trim]
            start = min(edit.start, len(self.lines))
            self.lines[start:] = edit.lines
            if not self.lines:
                self.lines = [""]
        return edit


def text_of(doc: OutputDocument) -> list[str]:
    return [text for block in doc.blocks for text in block.texts] or [""]


def test_output_lands_in_its_own_block_even_when_a_later_block_exists() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    first = doc.new_block(seg("In [1]: a\n"))
    second = doc.new_block(seg("In [2]: b\n"))
    mirror.apply(doc)
    doc.append(first, seg("from a\n"))
    doc.append(second, seg("from b\n"))
    mirror.apply(doc)
    assert mirror.lines == ["In [1]: a", "from a", "In [2]: b", "from b"]


def test_partial_lines_join_across_messages() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    block = doc.new_block([])
    doc.append(block, seg("ab"))
    mirror.apply(doc)
    doc.append(block, seg("c\nd"))
    mirror.apply(doc)
    assert mirror.lines == ["abc", "d"]
    doc.finish(block)
    doc.append(doc.new_block([]), seg("next\n"))
    mirror.apply(doc)
    assert mirror.lines == ["abc", "d", "next"]


def test_an_empty_print_makes_an_empty_line() -> None:
    doc = OutputDocument(100)
    block = doc.new_block([])
    doc.append(block, seg("a\n"))
    doc.append(block, seg("\n"))
    doc.append(block, seg("b\n"))
    assert text_of(doc) == ["a", "", "b"]


def test_carriage_return_starts_the_line_over() -> None:
    doc = OutputDocument(100)
    block = doc.new_block([])
    doc.append(block, seg("10%\r"))
    doc.append(block, seg("50%\r100%\r\n"))
    assert text_of(doc) == ["100%"]


def test_header_is_replaced_in_place_when_the_count_arrives() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    block = doc.new_block(seg("In [ ]: x\n"))
    doc.append(block, seg("out\n"))
    mirror.apply(doc)
    doc.set_header(block, seg("In [7]: x\n"))
    edit = mirror.apply(doc)
    assert mirror.lines == ["In [7]: x", "out"]
    assert edit is not None and edit.start == 0


def test_appending_sends_only_the_new_lines() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    block = doc.new_block(seg("h\n"))
    doc.append(block, seg("1\n2\n"))
    mirror.apply(doc)
    doc.append(block, seg("3\n"))
    edit = mirror.apply(doc)
    assert edit == Edit(trim=0, start=3, lines=["3"], highlights=[])


def test_no_change_means_no_edit() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    doc.new_block(seg("h\n"))
    mirror.apply(doc)
    assert doc.take_edit() is None


def test_cap_trims_the_oldest_lines_in_model_and_editor() -> None:
    doc, mirror = OutputDocument(5), Mirror()
    block = doc.new_block(seg("In [1]: loop\n"))
    mirror.apply(doc)
    for i in range(3):
        doc.append(block, seg(f"{i}\n"))
    mirror.apply(doc)
    for i in range(3, 10):
        doc.append(block, seg(f"{i}\n"))
    mirror.apply(doc)
    assert mirror.lines == ["5", "6", "7", "8", "9"] == text_of(doc)
    assert len(doc) == 5


def test_lines_trimmed_before_the_editor_saw_them_are_never_sent() -> None:
    doc, mirror = OutputDocument(10), Mirror()
    block = doc.new_block([])
    doc.append(block, seg("".join(f"{i}\n" for i in range(100_000))))
    edit = mirror.apply(doc)
    assert edit is not None and len(edit.lines) == 10
    assert mirror.lines[-1] == "99999"


def test_trimming_a_finished_block_away_removes_it() -> None:
    doc = OutputDocument(3)
    old = doc.new_block(seg("old\n"))
    doc.finish(old)
    new = doc.new_block(seg("a\nb\nc\n"))
    assert old not in doc.blocks and new in doc.blocks
    assert text_of(doc) == ["a", "b", "c"]


def test_highlights_are_byte_columns_relative_to_the_edit() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    block = doc.new_block(seg("first\n"))
    mirror.apply(doc)
    doc.append(block, [("é", ()), ("rr", ("KernelStderr",)), ("\n", ())])
    edit = mirror.apply(doc)
    assert edit is not None
    assert edit.highlights == [(0, 2, 4, "KernelStderr")]


def test_clear_empties_the_editor_and_output_still_arrives() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    running = doc.new_block(seg("In [1]: x\n"))
    doc.append(running, seg("before\n"))
    mirror.apply(doc)
    doc.clear()
    mirror.apply(doc)
    assert mirror.lines == [""]
    doc.append(running, seg("after\n"))
    mirror.apply(doc)
    assert mirror.lines == ["after"]


def test_invalidate_resends_everything() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    doc.new_block(seg("a\nb\n"))
    mirror.apply(doc)
    fresh = Mirror()
    doc.invalidate()
    fresh.apply(doc)
    assert fresh.lines == ["a", "b"]
