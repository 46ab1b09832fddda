"""A bundle shows the form the preference picks: text/plain unless it only names the object, then
markdown, HTML, LaTeX, JSON or an image's line; what else it holds rides along in its Rich.

The bundles are those ipykernel 7.4 (IPython 9.18) sent for the IPython.display objects.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image as PILImage

from kernel_nvim.editor.protocol import edit_payload
from kernel_nvim.output.document import OutputDocument
from kernel_nvim.output.render import Segment, render_bundle, render_input
from kernel_nvim.output.render.mime import DEFAULT_PREFERENCE, is_placeholder
from kernel_nvim.session.options import MIME_PREFERENCE, Options

Bundle = dict[str, Any]


def png(width: int, height: int) -> str:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


FIGURE: Bundle = {"text/plain": "<Figure size 640x480 with 1 Axes>", "image/png": png(64, 48)}
MARKDOWN: Bundle = {"text/plain": "<IPython.core.display.Markdown object>",
                    "text/markdown": "# hi"}  # fmt: skip
HTML: Bundle = {"text/plain": "<IPython.core.display.HTML object>", "text/html": "<b>bold</b>"}
JSON_BUNDLE: Bundle = {"text/plain": "<IPython.core.display.JSON object>",
                       "application/json": {"a": [1, 2]}}  # fmt: skip
LATEX: Bundle = {"text/plain": "<IPython.core.display.Latex object>", "text/latex": "$x^2$"}
JAVASCRIPT: Bundle = {"text/plain": "<IPython.core.display.Javascript object>",
                      "application/javascript": "1"}  # fmt: skip
# rich.print: text/plain with ANSI colours, and the same in HTML.
RICH_PRINT: Bundle = {
    "text/plain": "\x1b[1;31mhi\x1b[0m there\n",
    "text/html": '<pre style="white-space:pre"><span style="color: #800000; font-weight: bold">'
    "hi</span> there\n</pre>\n",
}


def text_of(segments: list[Segment]) -> str:
    return "".join(piece for piece, _ in segments)


def shown(data: Bundle, preference: tuple[str, ...] = ()) -> str:
    return text_of(render_bundle(data, {}, preference)[0])


# Section: which form


@pytest.mark.parametrize(
    "text",
    [
        "<IPython.core.display.HTML object>",
        "<IPython.core.display.Markdown object>",
        "<Figure size 640x480 with 1 Axes>",
        "<Figure size 1000x500.5 with 3 Axes>",
        "<pandas.io.formats.style.Styler at 0x7f3a2b1c0d90>",
        "<__main__.Thing object at 0x7f3a2b1c0d90>",
        "  <mymodule.Plot object>\n",
    ],
)
def test_a_repr_that_only_names_the_object_is_a_placeholder(text: str) -> None:
    assert is_placeholder(text)


@pytest.mark.parametrize(
    "text",
    ["42", "<PIL.Image.Image image mode=RGB size=4x3>", "<Quantity 5. m>", "[<a object>]",
     "     a\n0    1", "<Figure size 640x480 with 1 Axes> and more"],
)  # fmt: skip
def test_a_repr_that_says_more_is_no_placeholder(text: str) -> None:
    assert not is_placeholder(text)


def test_a_real_text_repr_wins_over_richer_forms() -> None:
    segments, rich = render_bundle({"text/plain": "   a\n0  1", "text/html": "<table/>"}, {})
    assert text_of(segments) == "   a\n0  1\n"
    assert (rich.shown, rich.richer, rich.syntax) == ("text/plain", ("text/html",), "")


def test_a_placeholder_gives_way_to_markdown() -> None:
    segments, rich = render_bundle(MARKDOWN, {})
    assert text_of(segments) == "# hi\n"
    assert (rich.shown, rich.richer, rich.syntax) == ("text/markdown", (), "markdown")


def test_a_placeholder_gives_way_to_html_reduced_to_text() -> None:
    segments, rich = render_bundle(HTML, {})
    assert segments == [("bold", ("KernelAnsiBold",)), ("\n", ())]
    assert (rich.shown, rich.syntax) == ("text/html", "")


def test_json_is_pretty_printed_from_the_value_itself() -> None:
    segments, rich = render_bundle(JSON_BUNDLE, {"application/json": {"expanded": False}})
    assert text_of(segments) == '{\n  "a": [\n    1,\n    2\n  ]\n}\n'
    assert (rich.shown, rich.syntax) == ("application/json", "json")


def test_json_sent_as_a_string_is_parsed_first() -> None:
    assert shown({"application/json": '{"b":true}'}) == '{\n  "b": true\n}\n'


def test_latex_is_its_source() -> None:
    segments, rich = render_bundle(LATEX, {})
    assert text_of(segments) == "$x^2$\n"
    assert (rich.shown, rich.syntax) == ("text/latex", "tex")


def test_a_figure_shows_its_image_line_not_its_placeholder() -> None:
    segments, rich = render_bundle(FIGURE, {})
    assert segments == [("[image/png 64x48]", ("KernelInfo",)), ("\n", ())]
    assert rich.shown == "image/png" and rich.richer == ()
    assert rich.image is not None and (rich.image.width, rich.image.height) == (64, 48)
    assert rich.image.data.startswith(b"\x89PNG")  # small: decoded at once


def test_an_image_beside_a_real_text_is_kept_though_the_text_is_shown() -> None:
    data = {"text/plain": "<PIL.Image.Image image mode=RGB size=4x3>", "image/png": png(4, 3)}
    segments, rich = render_bundle(data, {})
    assert text_of(segments) == "<PIL.Image.Image image mode=RGB size=4x3>\n"
    assert rich.richer == ("image/png",)
    assert rich.image is not None and rich.image.width == 4


def test_an_image_that_cannot_be_decoded_says_so_in_one_line() -> None:
    segments, rich = render_bundle({"text/plain": "<Figure size 1x1 with 1 Axes>",
                                    "image/png": "not base64!"}, {})  # fmt: skip
    assert text_of(segments) == "[image/png: cannot decode]\n"
    assert rich.image is None


def test_a_placeholder_with_nothing_else_to_show_names_the_forms_once() -> None:
    segments, rich = render_bundle(JAVASCRIPT, {})
    assert segments == [("[application/javascript]", ("KernelInfo",)), ("\n", ())]
    assert rich.shown == "" and rich.richer == ("application/javascript",)


def test_a_placeholder_alone_is_still_shown() -> None:
    assert shown({"text/plain": "<Figure size 640x480 with 0 Axes>"}) == (
        "<Figure size 640x480 with 0 Axes>\n"
    )


def test_rich_print_shows_its_coloured_text_and_no_other_line() -> None:
    segments, rich = render_bundle(RICH_PRINT, {})
    assert segments == [("hi", ("KernelAnsiRed", "KernelAnsiBold")), (" there\n", ())]
    assert rich.richer == ("text/html",) and rich.marked


def test_html_that_shows_nothing_gives_way_to_the_next_form() -> None:
    data = {"text/plain": "<x.Chart object>", "text/html": "<script>draw()</script>",
            "text/latex": "$y$"}  # fmt: skip
    assert shown(data) == "$y$\n"


def test_the_preference_decides_between_real_forms() -> None:
    data = {"text/plain": "x", "text/markdown": "*x*"}
    assert shown(data, ("text/markdown", "text/plain")) == "*x*\n"
    assert shown(data, ("text/plain", "text/markdown")) == "x\n"


def test_text_is_shown_when_the_preference_names_nothing_the_bundle_has() -> None:
    assert shown({"text/plain": "42"}, ("text/html",)) == "42\n"


def test_a_preference_of_forms_that_cannot_be_shown_is_passed_over() -> None:
    assert shown(MARKDOWN, ("application/pdf", "text/markdown")) == "# hi\n"


def test_richer_forms_are_ordered_richest_first() -> None:
    data = {"text/plain": "x", "application/json": {}, "text/markdown": "x", "image/png": "",
            "text/html": "x", "application/vnd.custom": "x"}  # fmt: skip
    _, rich = render_bundle(data, {})
    assert rich.richer == ("text/html", "image/png", "text/markdown", "application/json",
                           "application/vnd.custom")  # fmt: skip


def test_mimetype_names_are_made_safe_to_show_on_one_line() -> None:
    segments, rich = render_bundle({"text/x\n\x1b[31mevil": "x"}, {})
    assert text_of(segments) == "[text/x evil]\n"
    assert rich.richer == ("text/x evil",)


def test_markdown_keeps_its_text_but_not_escapes_or_blank_lines_around() -> None:
    assert shown({"text/markdown": "\n\n# a\x1b[31m\r\n\n  b  \n\n"}) == "# a\n\n  b\n"


def test_a_form_of_the_wrong_type_is_passed_over() -> None:
    assert shown({"text/plain": "<a.B object>", "text/markdown": 42, "text/latex": "$z$"}) == (
        "$z$\n"
    )


# Section: results


def test_a_result_with_a_syntax_starts_its_text_on_the_next_line() -> None:
    segments, rich = render_bundle(MARKDOWN, {}, (), 3, result=True)
    assert text_of(segments) == "Out[3]: \n# hi\n"
    assert rich.lead == 1


def test_a_one_line_result_stays_after_its_prompt() -> None:
    segments, rich = render_bundle(HTML, {}, (), 4, result=True)
    assert text_of(segments) == "Out[4]: bold\n"
    assert rich.lead == 0


def test_a_result_of_a_figure_is_its_image_line() -> None:
    assert text_of(render_bundle(FIGURE, {}, (), 5, result=True)[0]) == (
        "Out[5]: [image/png 64x48]\n"
    )


def test_an_empty_display_shows_no_line() -> None:
    segments, rich = render_bundle({}, {})
    assert segments == [] and not rich.marked


# Section: the option


def test_the_option_defaults_to_the_documented_preference() -> None:
    assert MIME_PREFERENCE == DEFAULT_PREFERENCE
    assert Options.from_editor({}).mime_preference == DEFAULT_PREFERENCE
    assert Options.from_editor({"mime_preference": ["text/html"]}).mime_preference == ("text/html",)


# Section: what the editor is told


def test_the_editor_is_told_the_syntax_and_the_rows_before_the_forms_text() -> None:
    doc = OutputDocument(100)
    block = doc.new_block(render_input(3, "Markdown('# hi')"))
    segments, rich = render_bundle(MARKDOWN, {}, (), 3, result=True)
    doc.add_item(block, segments, rich=rich)
    edit = doc.take_edit()
    assert edit is not None
    payload = edit_payload(edit)
    assert payload["text"].split("\n") == ["In [3]: Markdown('# hi')", "Out[3]: ", "# hi"]
    assert payload["marks"][1] == {"row": 1, "rows": 2, "syntax": "markdown", "lead": 1}


def test_the_editor_is_told_the_forms_a_dataframe_also_has() -> None:
    doc = OutputDocument(100)
    segments, rich = render_bundle({"text/plain": "   a\n0  1", "text/html": "<table/>"}, {})
    doc.add_item(doc.new_block([]), segments, rich=rich)
    edit = doc.take_edit()
    assert edit is not None
    assert edit_payload(edit)["marks"] == [{"row": 0, "rows": 2, "richer": ["text/html"]}]
