"""HTML reads as text: blocks and paragraphs, lists, pre kept, entities decoded, scripts dropped,
and tables as aligned columns; a real pandas DataFrame's HTML reads like its text repr.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from kernel_nvim.output.render.html import to_text
from kernel_nvim.output.segments import Segment


def text(html: str) -> str:
    return "".join(piece for piece, _ in to_text(html))


def read(df: pd.DataFrame) -> list[str]:
    """The lines the output shows for a DataFrame's HTML."""
    return text(df._repr_html_()).split("\n")


def repr_lines(text_repr: str) -> list[str]:
    """pandas' text, its trailing spaces gone (the output buffer keeps none)."""
    return [line.rstrip() for line in text_repr.split("\n")]


def dimensions(df: pd.DataFrame) -> str:
    # The one documented difference of every cut frame: pandas writes the dimensions of its
    # text repr as "[100 rows x 3 columns]", and of its HTML as "100 rows × 3 columns".
    return f"{df.shape[0]} rows × {df.shape[1]} columns"


# Section: pandas


def test_a_dataframe_reads_like_its_text_repr() -> None:
    df = pd.DataFrame({"a": [1, 22, 333], "name": ["x", "yy", "zzz"], "f": [1.5, -2.25, np.nan]})
    assert read(df) == repr_lines(df.to_string())


def test_a_dataframe_of_strings_signs_and_long_labels_reads_like_its_text_repr() -> None:
    df = pd.DataFrame({"a": [-1, 22], "s": ["-x", "y"], "t": ["long text", "z"],
                       "longheader": [0.5, 1e9], "n": [np.nan, np.nan]},
                      index=["aa", "b"])  # fmt: skip
    assert read(df) == repr_lines(df.to_string())


def test_a_dataframe_with_named_axes_reads_like_its_text_repr() -> None:
    df = pd.DataFrame({"a": [1, 2]})
    df.columns.name, df.index.name = "cols", "idx"
    assert read(df) == repr_lines(df.to_string())


def test_a_multiindex_reads_like_its_text_repr() -> None:
    index = pd.MultiIndex.from_product([["A", "B"], [1, 2]], names=["k", "n"])
    df = pd.DataFrame(np.arange(12).reshape(4, 3), index=index, columns=["x", "y", "z"])
    assert read(df) == repr_lines(df.to_string())


def test_multiindex_columns_read_like_their_text_repr() -> None:
    columns = pd.MultiIndex.from_product([["one", "two"], ["a", "b"]])
    df = pd.DataFrame(np.arange(8).reshape(2, 4), columns=columns)
    assert read(df) == repr_lines(df.to_string())


def test_a_frame_cut_to_fewer_rows_reads_like_its_text_repr() -> None:
    df = pd.DataFrame({"s": ["a"] * 100, "n": range(100), "f": np.arange(100) * 1.5})
    with pd.option_context("display.max_rows", 10, "display.min_rows", 4):
        lines, expected = read(df), repr_lines(repr(df))
    assert lines[-1] == dimensions(df) and expected[-1] == f"[{df.shape[0]} rows x 3 columns]"
    assert lines[:-1] == expected[:-1]
    assert ".. ..  ..    ..." in lines  # pandas' marks of cut rows, ".." where a column is narrow


def test_a_wide_frame_cut_to_fewer_columns_reads_like_its_text_repr() -> None:
    df = pd.DataFrame(np.arange(150).reshape(5, 30))
    with pd.option_context("display.max_columns", 20):
        lines = read(df)
        expected = repr_lines(df.to_string(max_cols=20))
    assert lines[-1] == dimensions(df)
    # The values' rows are the same; pandas shifts the labels of a frame cut to fewer columns
    # one space to the left of their column, where here they stay over it.
    assert lines[1:-2] == expected[1:]
    assert lines[0].split() == expected[0].split()
    assert "  ...  " in lines[1] and lines[0].index("29") == lines[1].index("29")


def test_a_frame_cut_both_ways_reads_like_its_text_repr() -> None:
    df = pd.DataFrame(np.arange(300).reshape(30, 10) * 1.5)
    with pd.option_context("display.max_columns", 6, "display.max_rows", 6,
                           "display.min_rows", 4):  # fmt: skip
        lines, expected = read(df), repr_lines(repr(df))
    assert lines[:-1] == expected[:-1]


def test_a_frame_of_wide_characters_keeps_its_columns() -> None:
    df = pd.DataFrame({"名前": ["東京", "a"], "n": [1, 2]})
    lines = read(df)
    assert lines[1:] == ["0  東京  1", "1     a  2"]  # 東京 takes four columns on screen


# Section: other tables


def test_a_plain_table_has_its_header_and_numbers_right_aligned() -> None:
    html = ("<table><tr><th>name</th><th>value</th></tr><tr><td>a</td><td>1</td></tr>"
            "<tr><td>bbb</td><td>22.5</td></tr></table>")  # fmt: skip
    assert text(html).split("\n") == ["name  value", "a         1", "bbb    22.5"]


def test_a_table_keeps_the_alignment_its_html_says() -> None:
    html = ('<table><tr><td align="right">a</td><td style="text-align: center">b</td></tr>'
            "<tr><td>long</td><td>wider</td></tr></table>")  # fmt: skip
    assert text(html).split("\n") == ["   a    b", "long  wider"]


def test_a_cell_spanning_columns_widens_the_last_it_covers() -> None:
    html = ('<table><tr><td colspan="2">a long label</td></tr>'
            "<tr><td>x</td><td>y</td></tr></table>")  # fmt: skip
    assert text(html).split("\n") == ["a long label", "x  y"]


def test_a_table_with_unclosed_cells_and_rows_is_read_as_browsers_do() -> None:
    html = "<table><tr><td>1<td>2<tr><td>3<td>4</table>after"
    assert text(html).split("\n") == ["1  2", "3  4", "", "after"]


def test_a_table_caption_stands_above_it() -> None:
    assert text("<table><caption>Sales</caption><tr><td>x</td></tr></table>") == "Sales\nx"


# Section: text


def test_paragraphs_are_set_apart_and_whitespace_is_collapsed() -> None:
    html = "<p>one\n   two</p><p>three</p>  four<br>five"
    assert text(html) == "one two\n\nthree\n\nfour\nfive"


def test_headings_are_bold_lines_of_their_own() -> None:
    assert to_text("<h2>Title</h2>text") == [
        ("Title", ("KernelAnsiBold",)),
        ("\n\ntext", ()),
    ]


def test_lists_have_markers_nested_lists_indents() -> None:
    html = "<ul><li>one<li>two<ul><li>deep</ul></ul><ol start=3><li>c<li>d</ol>"
    assert text(html).split("\n") == ["- one", "- two", "  - deep", "", "3. c", "4. d"]


def test_pre_and_code_are_kept_verbatim() -> None:
    html = "<pre>\n  x = 1\n\n    y  = 2</pre><p>a <code>b  c</code></p>"
    assert text(html).split("\n") == ["  x = 1", "", "    y  = 2", "", "a b c"]


def test_entities_are_decoded_and_a_no_break_space_is_kept() -> None:
    assert text("a &amp; b &lt;c&gt; &eacute; &#x263A;&nbsp;&nbsp;d") == "a & b <c> é ☺  d"


def test_scripts_styles_and_hidden_elements_are_dropped() -> None:
    html = ("<head><title>t</title><style>p {}</style></head><script>var a = '<p>x</p>';"
            "</script><div hidden>h</div><span style='display: none'>n</span>shown")  # fmt: skip
    assert text(html) == "shown"


def test_blockquotes_are_marked_on_every_line() -> None:
    assert text("<p>a</p><blockquote>q1<p>q2</blockquote>b") == "a\n\n> q1\n>\n> q2\n\nb"


def test_styles_become_the_groups_ansi_text_uses() -> None:
    html = ('<span style="color: #800000; font-weight: bold">hi</span> <i>it</i> '
            '<span style="color:#0f0;text-decoration: underline">u</span>')  # fmt: skip
    assert to_text(html) == [
        ("hi", ("KernelAnsiRGB_800000", "KernelAnsiBold")),
        (" ", ()),
        ("it", ("KernelAnsiItalic",)),
        (" ", ()),
        ("u", ("KernelAnsiRGB_00ff00", "KernelAnsiUnderline")),
    ]


def test_an_image_is_its_alt_text_else_where_it_is() -> None:
    html = ('<img src="x.png" alt="a plot"> and <img src="https://e.org/y.png"> and '
            '<img src="data:image/png;base64,iVBOR">')  # fmt: skip
    assert text(html) == "[a plot] and [image: https://e.org/y.png] and [image]"


def test_html_that_shows_nothing_is_empty() -> None:
    assert to_text("<script>x()</script>\n  <div></div>") == []


# Section: bad input


def test_markup_past_repair_shows_what_came_before_it() -> None:
    assert text("<p>kept</p><![foo <p>x") == "kept"  # html.parser raises an AssertionError


def test_deep_nesting_does_not_overflow() -> None:
    assert text("<div>" * 5000 + "deep" + "</div>" * 5000) == "deep"
    assert text("<table><tr><td>" * 300 + "x").endswith("x")


def test_random_markup_never_raises() -> None:
    pieces = ["<", ">", "/", "p", "td", "tr", "table", "li", "ul", "pre", " ", "\n", "&", "#",
              "x", ";", "=", '"', "'", "rowspan=", "colspan=", "99999", "-1", "<!", "--", "]",
              "\x00", "\udcff", "é"]  # fmt: skip
    rng = random.Random(7)
    for _ in range(500):
        html = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 80)))
        result: list[Segment] = to_text(html)
        assert all(isinstance(piece, str) and piece for piece, _ in result)


@pytest.mark.parametrize("span", ['rowspan="100000"', 'colspan="100000"', 'colspan="x"'])
def test_huge_or_bad_spans_are_bounded(span: str) -> None:
    lines = text(f"<table><tr><td {span}>a</td><td>b</td></tr></table>").split("\n")
    assert lines[0].startswith("a") and len(lines) <= 2
