"""Output that changes in place: clear_output, display updates, and the marks the editor keeps.

Driven by message streams as ipykernel sends them, through the session: no Neovim, no sockets.
"""

from __future__ import annotations

from typing import Any

from test_session import channel, iopub, shell, status, text

from kernel_nvim.session.kernel_session import KernelSession

Message = dict[str, Any]


def started(s: KernelSession, code: str = "x") -> str:
    s.send(code, {})
    msg_id = channel(s).last("execute_request")
    s.handle(status("busy", msg_id))
    s.handle(iopub("execute_input", {"code": code, "execution_count": 1}, msg_id))
    return msg_id


def done(s: KernelSession, msg_id: str) -> None:
    s.handle(shell("execute_reply", {"status": "ok"}, msg_id))
    s.handle(status("idle", msg_id))


def out(s: KernelSession, msg_id: str, line: str) -> None:
    s.handle(iopub("stream", {"name": "stdout", "text": line}, msg_id))


def clear(s: KernelSession, msg_id: str, wait: bool) -> None:
    s.handle(iopub("clear_output", {"wait": wait}, msg_id))


def display(s: KernelSession, msg_id: str, value: str, display_id: str = "", update: bool = False):
    content: Message = {"data": {"text/plain": value}, "metadata": {}}
    if display_id:
        content["transient"] = {"display_id": display_id}
    msg_type = "update_display_data" if update else "display_data"
    s.handle(iopub(msg_type, content, msg_id))


def test_clear_output_waiting_leaves_only_the_last_frame(session: KernelSession) -> None:
    msg_id = started(session)
    for i in range(10):
        clear(session, msg_id, wait=True)
        out(session, msg_id, f"counter {i}\n")
    done(session, msg_id)
    assert text(session).split("\n")[1:] == ["counter 9"]


def test_clear_output_waiting_keeps_the_frame_until_output_comes(session: KernelSession) -> None:
    msg_id = started(session)
    out(session, msg_id, "frame 1\n")
    clear(session, msg_id, wait=True)
    session.handle(status("idle", msg_id))  # a status is not output: the frame stays
    assert "frame 1" in text(session)


def test_clear_output_at_once_clears_the_execution_s_output(session: KernelSession) -> None:
    msg_id = started(session)
    out(session, msg_id, "old\n")
    clear(session, msg_id, wait=False)
    assert "old" not in text(session)
    out(session, msg_id, "new\n")
    assert text(session).split("\n")[1:] == ["new"]


def test_clear_output_clears_only_its_own_execution(session: KernelSession) -> None:
    first = started(session, "a")
    out(session, first, "kept\n")
    done(session, first)
    second = started(session, "b")
    out(session, second, "gone\n")
    clear(session, second, wait=False)
    assert "kept" in text(session) and "gone" not in text(session)


def test_update_display_data_replaces_the_display_in_place(session: KernelSession) -> None:
    msg_id = started(session)
    display(session, msg_id, "'step 0'", "d1")
    out(session, msg_id, "after\n")
    display(session, msg_id, "'step 5'", "d1", update=True)
    assert text(session).split("\n")[1:] == ["'step 5'", "after"]


def test_update_display_data_reaches_an_earlier_execution(session: KernelSession) -> None:
    first = started(session, "h = show()")
    display(session, first, "'a'", "d1")
    done(session, first)
    second = started(session, "h.update()")
    display(session, second, "'b'", "d1", update=True)
    done(session, second)
    assert text(session).split("\n") == ["In [1]: h = show()", "'b'", "", "In [1]: h.update()"]


def test_update_of_an_unknown_display_id_is_ignored(session: KernelSession) -> None:
    msg_id = started(session)
    display(session, msg_id, "'x'", "nobody", update=True)
    done(session, msg_id)
    assert "'x'" not in text(session)


def test_every_display_with_an_id_is_updated(session: KernelSession) -> None:
    msg_id = started(session)
    display(session, msg_id, "1", "same")
    display(session, msg_id, "2", "same")
    display(session, msg_id, "3", "same", update=True)
    assert text(session).split("\n")[1:] == ["3", "3"]


def test_an_edit_marks_where_each_execution_starts(session: KernelSession) -> None:
    for code in ("a", "b"):
        done(session, started(session, code))
    edit = session.doc.take_edit()
    assert edit is not None
    blocks = [m.row for m in edit.marks if m.rich is None]
    assert [edit.lines[row] for row in blocks] == ["In [1]: a", "In [1]: b"]


def test_an_edit_marks_an_output_whose_bundle_holds_more(session: KernelSession) -> None:
    msg_id = started(session)
    session.handle(iopub("display_data", {"data": {"text/plain": "x", "text/html": "<b>x</b>"},
                                          "metadata": {}}, msg_id))  # fmt: skip
    edit = session.doc.take_edit()
    assert edit is not None
    rich = [m for m in edit.marks if m.rich is not None]
    assert [(edit.lines[m.row], m.rich.richer if m.rich else ()) for m in rich] == [
        ("x", ("text/html",))
    ]
