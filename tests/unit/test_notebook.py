""":KernelSave's notebook, built from the output of a session fed message streams as ipykernel
sends them (no Neovim, no kernel); every notebook is checked with nbformat, as Jupyter reads it.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from connection_files import write
from test_session import Clock, FakeChannel, Source, channel, iopub, message, shell, status

from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.kernel.sources.existing import ConnectionFileSource
from kernel_nvim.output import notebook
from kernel_nvim.session.kernel_session import KernelSession
from kernel_nvim.session.options import Options

Message = dict[str, Any]
INFO = {"implementation": "ipython", "language_info": {
    "name": "python", "version": "3.11.4", "mimetype": "text/x-python",
    "codemirror_mode": {"name": "ipython", "version": 3}, "pygments_lexer": "ipython3",
    "nbconvert_exporter": "python", "file_extension": ".py"}}  # fmt: skip
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40).decode()


@pytest.fixture
def session(clock: Clock) -> KernelSession:
    """A linked session, its kernel an IPython that says all that ipykernel says of itself."""
    s = KernelSession(Source(), Options(), clock)
    s.link(FakeChannel())
    s.handle(Event(EventKind.READY, "shell", message("kernel_info_reply", INFO)))
    return s


class Run:
    """One execution of ours, its messages sent one by one."""

    def __init__(self, s: KernelSession, code: str, count: int) -> None:
        self.s = s
        s.send(code, {})
        self.msg_id = channel(s).last("execute_request")
        s.handle(status("busy", self.msg_id))
        s.handle(iopub("execute_input", {"code": code, "execution_count": count}, self.msg_id))

    def send(self, msg_type: str, content: Message) -> Run:
        self.s.handle(iopub(msg_type, content, self.msg_id))
        return self

    def out(self, text: str, name: str = "stdout") -> Run:
        return self.send("stream", {"name": name, "text": text})

    def done(self) -> None:
        self.s.handle(shell("execute_reply", {"status": "ok"}, self.msg_id))
        self.s.handle(status("idle", self.msg_id))


def saved(s: KernelSession, kernel_name: str = "") -> Message:
    """The notebook, validated, then through JSON and back as nbformat reads a file."""
    built = notebook.build(s.doc.blocks, s.kernel_info, kernel_name)
    nbformat.validate(built)
    read = nbformat.reads(json.dumps(built), as_version=4)
    nbformat.validate(read)
    return dict(read)


def outputs(s: KernelSession, cell: int = 0) -> list[Message]:
    return [dict(o) for o in saved(s)["cells"][cell]["outputs"]]


def bundle(data: Message, display_id: str = "", metadata: Message | None = None) -> Message:
    content: Message = {"data": data, "metadata": metadata or {}}
    if display_id:
        content["transient"] = {"display_id": display_id}
    return content


# Section: cells


def test_each_execution_is_a_code_cell_with_its_code_and_count(session: KernelSession) -> None:
    Run(session, "a = 1\nb = 2", 1).done()
    Run(session, "print(a)", 2).out("1\n").done()
    nb = saved(session)
    assert [(c["source"], c["execution_count"]) for c in nb["cells"]] == [
        ("a = 1\nb = 2", 1),
        ("print(a)", 2),
    ]
    assert all(c["cell_type"] == "code" for c in nb["cells"])
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)


def test_cells_keep_their_ids_from_one_save_to_the_next(session: KernelSession) -> None:
    Run(session, "1", 1).done()
    Run(session, "2", 2).done()
    first = [c["id"] for c in saved(session)["cells"]]
    assert len(set(first)) == 2
    assert [c["id"] for c in saved(session)["cells"]] == first


def test_the_kernel_s_language_info_and_kernelspec_are_in_the_metadata(
    session: KernelSession,
) -> None:
    meta = saved(session)["metadata"]
    assert meta["language_info"] == INFO["language_info"]
    assert meta["kernelspec"] == {"name": "python3", "display_name": "Python 3 (ipykernel)"}


def test_the_kernelspec_the_connection_file_names_wins(session: KernelSession) -> None:
    built = notebook.build(session.doc.blocks, session.kernel_info, "conda-env-ml")
    assert built["metadata"]["kernelspec"] == {
        "name": "conda-env-ml",
        "display_name": "conda-env-ml",
    }


def test_a_connection_file_names_the_kernelspec_of_a_kernel_jupyter_started(
    tmp_path: Path,
) -> None:
    def source(name: str, **info: Any) -> ConnectionFileSource:
        return ConnectionFileSource.from_file(str(write(tmp_path, name, **info)))

    started, bare = source("kernel-a.json", kernel_name="ml"), source("kernel-b.json")
    broken = source("kernel-c.json", kernel_name=7)
    assert (started.kernel_name, bare.kernel_name, broken.kernel_name) == ("ml", "", "")


def test_another_kernel_s_language_names_its_kernelspec() -> None:
    info = {"implementation": "irkernel", "language_info": {"name": "R", "file_extension": 7}}
    built = notebook.build([], info)
    assert built["metadata"]["kernelspec"]["name"] == "r"
    assert built["metadata"]["language_info"] == {"name": "R"}  # a field of a wrong type goes
    nbformat.validate(built)


def test_another_client_s_execution_is_a_cell_marked_so(session: KernelSession) -> None:
    session.handle(iopub("execute_input", {"code": "x = 5", "execution_count": 3}, "theirs",
                         client="console"))  # fmt: skip
    session.handle(iopub("stream", {"name": "stdout", "text": "hi\n"}, "theirs", client="console"))
    session.handle(status("idle", "theirs", client="console"))
    [cell] = saved(session)["cells"]
    assert (cell["source"], cell["execution_count"]) == ("x = 5", 3)
    assert cell["metadata"] == {"kernel_nvim": {"other_client": True}}
    assert cell["outputs"][0]["text"] == "hi\n"


def test_a_cell_not_run_yet_has_no_count(session: KernelSession) -> None:
    session.send("slow()", {})
    [cell] = saved(session)["cells"]
    assert (cell["source"], cell["execution_count"], cell["outputs"]) == ("slow()", None, [])


# Section: streams


def test_stream_text_is_what_the_output_shows_after_carriage_returns(
    session: KernelSession,
) -> None:
    run = Run(session, "bar()", 1).out("10%\r50%\r100%\n")
    run.out("a\x1b[31mred\x1b[0m\n").done()
    assert outputs(session) == [{"output_type": "stream", "name": "stdout", "text": "100%\nared\n"}]


def test_stdout_and_stderr_are_outputs_of_their_own(session: KernelSession) -> None:
    run = Run(session, "f()", 1).out("one\n").out("warn\n\n", "stderr").out("two\n")
    run.done()
    assert [(o["name"], o["text"]) for o in outputs(session)] == [
        ("stdout", "one\n"),
        ("stderr", "warn\n\n"),
        ("stdout", "two\n"),
    ]


def test_a_line_still_being_written_has_no_end_yet(session: KernelSession) -> None:
    Run(session, "f()", 1).out("done\nworking")
    assert outputs(session)[0]["text"] == "done\nworking"


def test_stream_text_after_a_notice_goes_on_in_one_output(session: KernelSession) -> None:
    run = Run(session, "input()", 1).out("before\n")
    session.doc.note(session.doc.blocks[-1], "interrupted")
    run.out("after\n").done()
    assert outputs(session) == [{"output_type": "stream", "name": "stdout",
                                 "text": "before\nafter\n"}]  # fmt: skip


# Section: results, displays, errors


def test_a_result_keeps_its_whole_bundle_and_count(session: KernelSession) -> None:
    data = {"text/plain": "   a\n0  1", "text/html": "<table>\n<tr><td>1</td></tr>\n</table>",
            "application/json": {"a": [1, 2]}}  # fmt: skip
    Run(session, "df", 4).send("execute_result", {"execution_count": 4, **bundle(data)}).done()
    [result] = outputs(session)
    assert result == {"output_type": "execute_result", "execution_count": 4, "data": data,
                      "metadata": {}}  # fmt: skip


def test_a_result_s_bundle_is_saved_as_it_came(session: KernelSession) -> None:
    data = {"text/plain": "x\ny\n"}
    Run(session, "x", 1).send("execute_result", {"execution_count": 1, **bundle(data)}).done()
    built = notebook.build(session.doc.blocks, session.kernel_info)
    assert built["cells"][0]["outputs"][0]["data"] == {"text/plain": ["x\n", "y\n"]}  # as Jupyter
    assert data == {"text/plain": "x\ny\n"}  # and the output's own bundle never changes


def test_an_image_keeps_its_base64_and_metadata(session: KernelSession) -> None:
    data = {"image/png": PNG, "text/plain": "<Figure size 640x480 with 1 Axes>"}
    metadata = {"image/png": {"width": 640, "height": 480}}
    Run(session, "plot()", 1).send("display_data", bundle(data, metadata=metadata)).done()
    [display] = outputs(session)
    assert display["output_type"] == "display_data"
    assert display["data"]["image/png"] == PNG
    assert display["metadata"] == metadata
    assert base64.b64decode(display["data"]["image/png"]).startswith(b"\x89PNG")


def test_a_large_image_kept_encoded_still_saves_its_base64(session: KernelSession) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1500, 1500), (10, 200, 30)).save(buffer, "PNG", compress_level=0)
    big = base64.b64encode(buffer.getvalue()).decode()
    Run(session, "show()", 1).send("display_data", bundle({"image/png": big})).done()
    rich = session.doc.blocks[-1].items[-1].rich
    assert rich is not None and rich.image is not None and rich.image.encoded  # not decoded
    assert outputs(session)[0]["data"]["image/png"] == big


def test_an_updated_display_is_saved_as_it_is_now(session: KernelSession) -> None:
    run = Run(session, "h = display('a', display_id=True)", 1)
    run.send("display_data", bundle({"text/plain": "'a'"}, "d1")).out("between\n").done()
    later = Run(session, "h.update('b')", 2)
    later.send("update_display_data", bundle({"text/plain": "'b'", "text/html": "<b>b</b>"}, "d1"))
    later.done()
    first = outputs(session, 0)
    assert first[0] == {"output_type": "display_data", "metadata": {},
                        "data": {"text/plain": "'b'", "text/html": "<b>b</b>"}}  # fmt: skip
    assert first[1]["text"] == "between\n"
    assert outputs(session, 1) == []


def test_an_error_keeps_its_raw_traceback(session: KernelSession) -> None:
    traceback = ["\x1b[0;31mZeroDivisionError\x1b[0m Traceback (most recent call last)",
                 "Cell \x1b[0;32mIn[1], line 1\x1b[0m\n----> 1 1/0",
                 "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"]  # fmt: skip
    content = {"ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": traceback}
    Run(session, "1/0", 1).out("before\n").send("error", content).done()
    assert outputs(session) == [
        {"output_type": "stream", "name": "stdout", "text": "before\n"},
        {"output_type": "error", **content},
    ]


def test_clear_output_takes_the_outputs_it_clears(session: KernelSession) -> None:
    run = (
        Run(session, "loop()", 1).out("frame 1\n").send("display_data", bundle({"text/plain": "1"}))
    )
    run.send("clear_output", {"wait": False}).out("frame 2\n").done()
    assert outputs(session) == [{"output_type": "stream", "name": "stdout", "text": "frame 2\n"}]


def test_a_text_form_that_is_not_text_is_left_out(session: KernelSession) -> None:
    data = {"text/plain": "ok", "text/html": 42, "application/vnd.custom+json": [1, {"a": None}]}
    Run(session, "x", 1).send("display_data", bundle(data)).done()
    kept = {"text/plain": "ok", "application/vnd.custom+json": [1, {"a": None}]}
    assert outputs(session)[0]["data"] == kept


def test_notices_and_pages_are_not_outputs(session: KernelSession) -> None:
    run = Run(session, "len?", 1)
    page = {"source": "page", "data": {"text/plain": "Signature: len(obj, /)"}}
    session.handle(shell("execute_reply", {"status": "ok", "payload": [page]}, run.msg_id))
    session.handle(status("idle", run.msg_id))
    session.router.notice("kernel restarted")
    nb = saved(session)
    assert [c["outputs"] for c in nb["cells"]] == [[]]
    assert "Signature" in "\n".join(session.doc.blocks[0].texts)  # shown all the same


# Section: the output cap


def test_a_block_trimmed_away_is_no_cell_and_a_trimmed_stream_keeps_what_is_shown(
    session: KernelSession,
) -> None:
    session.doc.max_lines = 6
    Run(session, "first", 1).out("gone\n").done()
    Run(session, "second", 2).out("".join(f"line {i}\n" for i in range(8))).done()
    [cell] = saved(session)["cells"]
    assert (cell["source"], cell["execution_count"]) == ("second", 2)
    assert cell["outputs"][0]["text"] == "".join(f"line {i}\n" for i in range(2, 8))
