"""sanitize: the one gate for kernel text on its way to the editor; merge: tidy segments."""

from __future__ import annotations

import pytest

from kernel_nvim.output.segments import merge, sanitize

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
        "\u200e", "\u200f", "\u061c"]  # fmt: skip


def test_sanitize_returns_ascii_text_itself() -> None:
    text = "plain\tline\x1b[31m\n"

    assert sanitize(text) is text


def test_sanitize_returns_valid_text_unchanged() -> None:
    text = "héllo wörld ✓ 😀 \u00a0nbsp «quotes» — dash"

    assert sanitize(text) is text


def test_sanitize_replaces_each_lone_surrogate() -> None:
    assert sanitize("a\udcffb\ud800\udc00c") == "a\ufffdb\ufffd\ufffdc"


@pytest.mark.parametrize("control", ["\x80", "\x85", "\x9b", "\x9c", "\x9d", "\x9f"])
def test_sanitize_removes_c1_controls(control: str) -> None:
    assert sanitize(f"a{control}31mb") == "a31mb"


def test_sanitize_removes_an_8_bit_csi_and_osc_but_keeps_their_text() -> None:
    assert sanitize("\x9b2J\x9d0;title\x9cok") == "2J0;titleok"


@pytest.mark.parametrize("control", BIDI)
def test_sanitize_shows_a_bidi_control_instead_of_obeying_it(control: str) -> None:
    assert sanitize(f"abc{control}def") == f"abc<U+{ord(control):04X}>def"


def test_sanitize_cannot_disguise_a_file_name_with_an_override() -> None:
    # Shown as "evil‮txt.exe" reversed, the name would read "evilexe.txt".
    assert sanitize("evil\u202etxt.exe") == "evil<U+202E>txt.exe"


def test_sanitize_handles_every_kind_in_one_text() -> None:
    assert sanitize("é\udcff\x9b\u2067x") == "é\ufffd<U+2067>x"


def test_merge_joins_neighbours_with_equal_groups_and_drops_empty_ones() -> None:
    segments = [("a", ()), ("", ("X",)), ("b", ()), ("c", ("X",)), ("d", ("X",))]

    assert merge(segments) == [("ab", ()), ("cd", ("X",))]
