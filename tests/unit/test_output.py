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


def test_carriage_return_rewrites_the_line() -> None:
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


def test_max_lines_can_be_lowered_and_trims_at_once() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    doc.new_block(seg("".join(f"{i}\n" for i in range(10))))
    mirror.apply(doc)
    doc.max_lines = 3
    mirror.apply(doc)
    assert mirror.lines == ["7", "8", "9"] == text_of(doc)


# Section: items


def test_an_item_starts_on_a_new_line_after_a_partial_stream_line() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    block = doc.new_block(seg("In [1]: x\n"))
    doc.append(block, seg("partial"))
    mirror.apply(doc)
    doc.add_item(block, seg("Out[1]: 1\n", "KernelOut"))
    doc.append(block, seg("more\n"))
    mirror.apply(doc)
    assert mirror.lines == ["In [1]: x", "partial", "Out[1]: 1", "more"] == text_of(doc)


def test_an_item_without_a_final_newline_still_ends_its_line() -> None:
    doc = OutputDocument(100)
    block = doc.new_block([])
    doc.add_item(block, seg("display"))
    doc.append(block, seg("after"))
    assert text_of(doc) == ["display", "after"]


def test_a_note_never_glues_to_a_partial_line() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    block = doc.new_block(seg("In [1]: loop\n"))
    doc.append(block, seg("491739"))
    mirror.apply(doc)
    doc.note(block, "no reply: the kernel died")
    edit = mirror.apply(doc)
    assert mirror.lines == ["In [1]: loop", "491739", "[no reply: the kernel died]"]
    assert edit is not None and edit.highlights == [(0, 0, 27, "KernelInfo")]


def test_a_note_after_a_whole_line_adds_no_blank_line() -> None:
    doc = OutputDocument(100)
    block = doc.new_block(seg("In [1]: x\n"))
    doc.append(block, seg("done\n"))
    doc.note(block, "kernel restarted")
    assert text_of(doc) == ["In [1]: x", "done", "[kernel restarted]"]


def test_output_after_a_note_starts_its_own_line() -> None:
    doc = OutputDocument(100)
    block = doc.new_block([])
    doc.append(block, seg("12"))
    doc.note(block, "the kernel is not answering")
    doc.append(block, seg("13\n"))
    assert text_of(doc) == ["12", "[the kernel is not answering]", "13"]


def test_replace_item_replaces_it_in_place_and_sends_from_there() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    block = doc.new_block(seg("In [1]: x\n"))
    doc.add_item(block, seg("progress 0%\n"), key="bar")
    doc.append(block, seg("log line\n"))
    mirror.apply(doc)
    assert doc.replace_item("bar", seg("progress 50%\n", "KernelAnsiGreen")) == 1
    edit = mirror.apply(doc)
    assert mirror.lines == ["In [1]: x", "progress 50%", "log line"] == text_of(doc)
    assert edit is not None and edit.start == 1
    assert edit.highlights == [(0, 0, 12, "KernelAnsiGreen")]


def test_replace_item_replaces_every_item_with_the_key_in_any_block() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    first = doc.new_block(seg("In [1]: a\n"))
    doc.add_item(first, seg("v1\n"), key="d")
    doc.finish(first)
    second = doc.new_block(seg("In [2]: b\n"))
    doc.add_item(second, seg("other\n"), key="e")
    doc.add_item(second, seg("v1\n"), key="d")
    mirror.apply(doc)
    assert doc.replace_item("d", seg("v2\n")) == 2
    mirror.apply(doc)
    assert mirror.lines == ["In [1]: a", "v2", "In [2]: b", "other", "v2"] == text_of(doc)


def test_an_edit_among_many_blocks_starts_at_its_line_wherever_that_is() -> None:
    doc, mirror = OutputDocument(10_000), Mirror()
    blocks = []
    for n in range(300):
        block = doc.new_block(seg(f"In [{n}]: x\n"))
        doc.add_item(block, seg(f"out {n}\n"), key=f"k{n}")
        doc.append(block, seg("" if n % 7 else "\n"))  # some end in an empty stream item
        doc.finish(block)
        blocks.append(block)
    mirror.apply(doc)
    for n in (0, 150, 299):
        doc.replace_item(f"k{n}", seg(f"new {n}\n"))
        edit = mirror.apply(doc)
        assert edit is not None and edit.lines[0] == f"new {n}"
        assert mirror.lines == text_of(doc)
    doc.append(blocks[-1], seg("tail\n"))
    edit = mirror.apply(doc)
    assert edit is not None and edit.lines == ["tail"] and mirror.lines == text_of(doc)


def test_replace_item_with_more_or_fewer_lines_moves_what_follows() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    block = doc.new_block(seg("h\n"))
    doc.add_item(block, seg("one\n"), key="k")
    doc.add_item(block, seg("tail\n"))
    mirror.apply(doc)
    doc.replace_item("k", seg("a\nb\nc\n"))
    mirror.apply(doc)
    assert mirror.lines == ["h", "a", "b", "c", "tail"]
    doc.replace_item("k", [])
    mirror.apply(doc)
    assert mirror.lines == ["h", "tail"] == text_of(doc)
    assert len(doc) == 2
    doc.replace_item("k", seg("back\n"))
    mirror.apply(doc)
    assert mirror.lines == ["h", "back", "tail"]


def test_replace_item_of_an_unknown_key_changes_nothing() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    doc.add_item(doc.new_block([]), seg("x\n"), key="k")
    mirror.apply(doc)
    assert doc.replace_item("nope", seg("y\n")) == 0
    assert doc.take_edit() is None


def test_an_item_trimmed_away_is_not_brought_back() -> None:
    doc, mirror = OutputDocument(3), Mirror()
    block = doc.new_block([])
    doc.add_item(block, seg("old\n"), key="k")
    doc.append(block, seg("1\n2\n3\n"))
    mirror.apply(doc)
    assert doc.replace_item("k", seg("new\n")) == 0
    mirror.apply(doc)
    assert mirror.lines == ["1", "2", "3"]


def test_an_item_cleared_away_is_not_brought_back() -> None:
    doc = OutputDocument(100)
    block = doc.new_block([])
    doc.add_item(block, seg("old\n"), key="k")
    doc.clear()
    assert doc.replace_item("k", seg("new\n")) == 0
    doc.add_item(block, seg("fresh\n"), key="k")
    assert doc.replace_item("k", seg("newer\n")) == 1
    assert text_of(doc) == ["newer"]


def test_a_partly_trimmed_item_is_replaced_whole_where_it_was() -> None:
    doc, mirror = OutputDocument(4), Mirror()
    block = doc.new_block([])
    doc.add_item(block, seg("a\nb\nc\n"), key="k")
    doc.append(block, seg("x\ny\n"))
    mirror.apply(doc)
    assert mirror.lines == ["b", "c", "x", "y"]
    doc.replace_item("k", seg("z\n"))
    mirror.apply(doc)
    assert mirror.lines == ["z", "x", "y"] == text_of(doc)


def test_the_header_can_still_be_set_after_items() -> None:
    doc, mirror = OutputDocument(100), Mirror()
    block = doc.new_block(seg("In [ ]: x\n"))
    doc.add_item(block, seg("r\n"), key="k")
    doc.set_header(block, seg("In [3]: x\n"))
    doc.replace_item("k", seg("s\n"))
    mirror.apply(doc)
    assert mirror.lines == ["In [3]: x", "s"]


# Section: long lines


def test_a_line_over_the_byte_cap_is_cut_with_a_marker() -> None:
    doc, mirror = OutputDocument(100, max_line_bytes=10), Mirror()
    block = doc.new_block([])
    doc.append(block, seg("0123456789abcdef\nshort\n"))
    edit = mirror.apply(doc)
    assert mirror.lines == ["0123456789 [... 6 more bytes]", "short"]
    assert edit is not None and edit.highlights == [(0, 11, 29, "KernelInfo")]


def test_an_open_line_growing_over_many_messages_is_counted_not_stored() -> None:
    doc, mirror = OutputDocument(100, max_line_bytes=1000), Mirror()
    block = doc.new_block([])
    for _ in range(5000):
        doc.append(block, seg("x" * 1000))
        mirror.apply(doc)
    assert mirror.lines == text_of(doc) == ["x" * 1000 + " [... 4999000 more bytes]"]
    doc.append(block, seg("yy\nnext\n"))
    mirror.apply(doc)
    assert mirror.lines == ["x" * 1000 + " [... 4999002 more bytes]", "next"]


def test_a_50_mb_single_line_holds_only_the_cap() -> None:
    doc = OutputDocument(10_000)
    block = doc.new_block([])
    chunk = "0123456789" * 6_553  # about what ipykernel sends per stream message
    for _ in range(50_000_000 // len(chunk)):
        doc.append(block, seg(chunk))
    doc.finish(block)
    assert sum(len(text) for text in block.texts) < 10_100
    assert text_of(doc)[0].endswith(
        f" [... {len(chunk) * (50_000_000 // len(chunk)) - 10_000} more bytes]"
    )


def test_the_cut_keeps_whole_utf8_characters() -> None:
    doc = OutputDocument(100, max_line_bytes=9)
    block = doc.new_block([])
    doc.append(block, seg("é" * 10 + "\n"))  # 2 bytes each: 9 bytes cannot end on a whole one
    assert text_of(doc) == ["éééé [... 12 more bytes]"]


def test_a_carriage_return_overwrites_a_cut_line_from_its_start() -> None:
    # As in a terminal: the rest of the line stays, and so does the count of what was not kept.
    doc = OutputDocument(100, max_line_bytes=10)
    block = doc.new_block([])
    doc.append(block, seg("x" * 30))
    doc.append(block, seg("more\r50%"))
    assert text_of(doc) == ["50%xxxxxxx [... 24 more bytes]"]
    doc.append(block, seg("\r100%\n"))
    assert text_of(doc) == ["100%xxxxxx [... 24 more bytes]"]


def test_highlights_of_a_cut_line_stop_at_the_cut() -> None:
    doc, mirror = OutputDocument(100, max_line_bytes=6), Mirror()
    block = doc.new_block([])
    doc.append(block, [("abcd", ("KernelAnsiRed",)), ("efgh", ("KernelAnsiBlue",)), ("\n", ())])
    edit = mirror.apply(doc)
    assert mirror.lines == ["abcdef [... 2 more bytes]"]
    assert edit is not None and edit.highlights == [
        (0, 0, 4, "KernelAnsiRed"),
        (0, 4, 6, "KernelAnsiBlue"),
        (0, 7, 25, "KernelInfo"),
    ]


def test_a_long_line_in_an_item_is_cut_too() -> None:
    doc = OutputDocument(100, max_line_bytes=5)
    doc.add_item(doc.new_block(seg("In [1]: x\n")), seg("'xxxxxxxx'\n"), key="k")
    assert text_of(doc) == ["In [1 [... 4 more bytes]", "'xxxx [... 5 more bytes]"]
