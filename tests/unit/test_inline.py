"""Results and errors shown inline (g:kernel_inline): what the session hands the editor, and
the one line made of a result or an error. No Neovim, no kernel."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from test_session import channel, iopub, shell, status

from kernel_nvim.session.inline import MAX_CHARS, answer
from kernel_nvim.session.kernel_session import KernelSession
from kernel_nvim.session.options import Options

SOURCE = {"buffer": 3, "file": "/x.py", "line": 1, "last": 2, "anchor": 7}


def result(text: Any, **more: Any) -> dict[str, Any]:
    return {"data": {"text/plain": text, **more}, "metadata": {}, "execution_count": 1}


# Section: the line


def test_a_result_is_the_first_line_of_its_text() -> None:
    assert answer(SOURCE, "execute_result", result("42")) == {
        "buffer": 3, "anchor": 7, "text": "42", "error": False,
    }  # fmt: skip
    shown = answer(SOURCE, "execute_result", result("array([[1, 2],\n       [3, 4]])"))
    assert shown is not None and shown["text"] == "array([[1, 2], …"


def test_an_error_is_its_name_and_the_first_line_of_its_value() -> None:
    content = {"ename": "ValueError", "evalue": "bad\nmore", "traceback": []}
    shown = answer(SOURCE, "error", content)
    assert shown is not None and (shown["text"], shown["error"]) == ("ValueError: bad", True)


def test_the_line_is_plain_and_short() -> None:
    shown = answer(SOURCE, "execute_result", result("\x1b[31mred\x1b[0m\tand\u202e" + "x" * 200))
    assert shown is not None
    text = shown["text"]
    assert text.startswith("red and<U+202E>x") and len(text) == MAX_CHARS and text[-1] == "…"


def test_a_result_without_text_names_its_forms() -> None:
    content = {"data": {"image/png": "iVBOR"}, "metadata": {}}
    shown = answer(SOURCE, "execute_result", content)
    assert shown is not None and shown["text"] == "[image/png]"


def test_nothing_without_an_anchor_or_with_a_bad_one() -> None:
    for source in ({}, {**SOURCE, "anchor": None}, {**SOURCE, "anchor": True},
                   {**SOURCE, "buffer": "3"}, {**SOURCE, "anchor": -1}):  # fmt: skip
        assert answer(source, "execute_result", result("1")) is None
    assert answer(SOURCE, "stream", {"name": "stdout", "text": "1"}) is None


def test_a_kernel_sending_junk_gets_a_line_not_a_crash() -> None:
    assert answer(SOURCE, "execute_result", {"data": "not a dict"}) == {
        "buffer": 3, "anchor": 7, "text": "[]", "error": False,
    }  # fmt: skip
    shown = answer(SOURCE, "error", {"ename": ["x"], "evalue": 3})
    assert shown is not None and shown["text"] == "error"


# Section: the session


def run_result(s: KernelSession, source: dict[str, Any], data: Any) -> None:
    s.send("1+1", source)
    msg_id = channel(s).last("execute_request")
    s.handle(status("busy", msg_id))
    s.handle(iopub("execute_input", {"code": "1+1", "execution_count": 4}, msg_id))
    s.handle(iopub("execute_result", result(data), msg_id))
    s.handle(shell("execute_reply", {"status": "ok"}, msg_id))
    s.handle(status("idle", msg_id))


def test_the_session_shows_answers_only_with_the_option(session: KernelSession) -> None:
    run_result(session, SOURCE, "2")
    assert "inline" not in session.shows
    session.options = replace(session.options, inline=True)
    run_result(session, SOURCE, "2")
    run_result(session, {**SOURCE, "anchor": 8}, "3")
    texts = [(a["anchor"], a["text"]) for a in session.shows["inline"]]
    assert texts == [(7, "2"), (8, "3")]


def test_the_option_comes_from_the_editor_as_1() -> None:
    assert Options.from_editor({"inline": 1}).inline is True
    assert Options.from_editor({"inline": 0}).inline is False
    assert Options.from_editor({"inline": "yes"}).inline is False
    assert Options.from_editor({}).inline is False
