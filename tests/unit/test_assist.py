"""Byte columns against code points, and complete_reply turned into complete-items."""

from __future__ import annotations

from kernel_nvim.session.assist import byte_col, code_points, completions


def test_byte_columns_and_code_points_convert_both_ways_past_multibyte_text() -> None:
    line = "é = naïve.up"
    col = len(line.encode("utf-8"))
    assert code_points(line, col) == len(line)
    assert byte_col(line, len(line)) == col
    assert code_points(line, 2) == 1  # after "é"
    assert code_points(line, 1) == 0  # inside "é": the character before


def test_completions_start_at_the_kernels_cursor_start_in_bytes() -> None:
    line = "naïve.up"
    content = {"matches": ["upper", "upper", "update"], "cursor_start": 6, "cursor_end": 8}
    start, items = completions(line, content)
    assert start == len("naïve.".encode())
    assert [i["word"] for i in items] == ["upper", "update"]


def test_completion_items_carry_type_and_signature_when_the_kernel_gives_them() -> None:
    types = [
        {"text": "print", "type": "function", "signature": "(*values)", "start": 0, "end": 3},
        {"text": "property", "type": "<unknown>", "signature": "", "start": 0, "end": 3},
    ]
    content = {
        "matches": ["print", "property"],
        "cursor_start": 0,
        "metadata": {"_jupyter_types_experimental": types},
    }
    _, items = completions("pri", content)
    assert items[0]["kind"] == "function" and items[0]["menu"] == "(*values)"
    assert "kind" not in items[1] and "menu" not in items[1]


def test_a_reply_without_matches_gives_no_items() -> None:
    assert completions("x", {"matches": [], "cursor_start": 1}) == (1, [])
