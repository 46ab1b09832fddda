"""Images without Neovim: the private temp dir, half-block previews of real PNGs made with
Pillow, what :KernelOpen opens, the worker thread, and how an image's item reaches the editor
(its line at once, its preview when drawn)."""

from __future__ import annotations

import base64
import io
import os
import stat
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image as Picture
from test_session import iopub
from test_session_live_output import done, started

from kernel_nvim.editor.protocol import edit_payload
from kernel_nvim.media import blocks, forms
from kernel_nvim.media.store import Store
from kernel_nvim.media.worker import Done, Job, Worker, image_bytes
from kernel_nvim.output.document import Item
from kernel_nvim.output.rich import Image, Rich
from kernel_nvim.session.kernel_session import KernelSession

RED, BLUE = "KernelAnsi256_196", "KernelAnsi256_21"  # xterm's #ff0000 and #0000ff


def png(width: int, height: int, top: tuple[int, ...], bottom: tuple[int, ...]) -> bytes:
    """A PNG whose upper half is `top` and lower half `bottom` (RGB, or RGBA with alpha)."""
    mode = "RGBA" if len(top) == 4 else "RGB"
    picture = Picture.new(mode, (width, height), top)
    picture.paste(bottom, (0, height // 2, width, height))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# Section: the store


def test_the_store_makes_its_dir_with_the_first_file_0700_and_files_0600(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    assert store.dir == "" and list(tmp_path.iterdir()) == []
    path = Path(store.write(b"picture", ".png"))
    assert path.read_bytes() == b"picture" and path.suffix == ".png"
    assert (mode(path), mode(path.parent)) == (0o600, 0o700)
    assert path.parent.name.startswith("kernel-nvim-") and str(path.parent) == store.dir


def test_the_same_bytes_are_written_once(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    first = store.write(b"same", ".png")
    assert store.write(b"same", ".png") == first
    assert store.write(b"other", ".png") != first
    assert len(os.listdir(store.dir)) == 2


def test_remove_takes_the_dir_and_the_next_file_makes_a_new_one(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    old = Path(store.write(b"x", ".png")).parent
    store.remove()
    assert not old.exists() and store.dir == ""
    new = Path(store.write(b"x", ".png")).parent
    assert new != old and mode(new) == 0o700


# Section: half blocks


def test_blocks_draw_each_half_of_a_cell_in_its_pixels_colour() -> None:
    rows = blocks.draw(png(8, 4, (255, 0, 0), (0, 0, 255)), rows=20, columns=80)
    assert rows == ((("\u2580" * 8, (RED, "KernelAnsiBg256_196")),),
                    (("\u2580" * 8, (BLUE, "KernelAnsiBg256_21")),))  # fmt: skip


def test_a_cell_across_two_colours_has_one_above_and_one_below() -> None:
    rows = blocks.draw(png(4, 2, (255, 0, 0), (0, 0, 255)), rows=20, columns=80)
    assert rows == ((("\u2580" * 4, (RED, "KernelAnsiBg256_21")),),)


def test_transparent_pixels_leave_the_background() -> None:
    rows = blocks.draw(png(3, 4, (255, 0, 0, 255), (0, 0, 0, 0)), rows=20, columns=80)
    assert rows == ((("\u2580" * 3, (RED, "KernelAnsiBg256_196")),), (("   ", ()),))


def test_rows_are_capped_and_proportions_kept() -> None:
    rows = blocks.draw(png(40, 400, (255, 0, 0), (0, 0, 255)), rows=5, columns=80)
    assert len(rows) == 5 and len(rows[0][0][0]) == 1  # 40x400 -> 1x10 pixels
    rows = blocks.draw(png(400, 40, (255, 0, 0), (0, 0, 255)), rows=20, columns=50)
    assert len(rows) == 3 and len(rows[0][0][0]) == 50  # 400x40 -> 50x5 pixels


def test_small_images_are_not_enlarged() -> None:
    assert blocks.fit(6, 4, rows=20, columns=80) == (6, 4)


def test_colours_are_snapped_to_a_bounded_set_of_groups() -> None:
    noise = Picture.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    rows = blocks.draw(out.getvalue(), rows=32, columns=64)
    groups = {g for row in rows for _, gs in row for g in gs}
    allowed = {f"KernelAnsi{bg}256_{n}" for bg in ("", "Bg") for n in range(16, 256)}
    assert groups <= allowed and len(groups) > 10


def test_a_broken_image_raises_for_the_worker_to_report() -> None:
    with pytest.raises(OSError):
        blocks.draw(b"\x89PNG\r\n\x1a\nnot really", rows=20, columns=80)


# Section: what :KernelOpen opens


def rich(bundle: dict[str, object], image: Image | None = None) -> Rich:
    return Rich(bundle=dict(bundle), shown="text/plain", image=image)


def test_the_image_is_opened_before_any_other_form() -> None:
    image = Image("image/png", b"bytes", 1, 1)
    form = forms.richest(rich({"text/html": "<p>", "image/png": "Ynl0ZXM="}, image))
    assert form == forms.FileForm("image/png", b"", ".png", image)  # the worker gets its bytes


def test_html_is_opened_as_a_utf8_page() -> None:
    form = forms.richest(rich({"text/plain": "x", "text/html": "<b>caf\u00e9</b>"}))
    assert isinstance(form, forms.FileForm) and form.suffix == ".html"
    assert form.data.decode().endswith("<b>caf\u00e9</b>") and b'charset="utf-8"' in form.data
    whole = "<!DOCTYPE html><html></html>"
    page = forms.richest(rich({"text/html": whole}))
    assert isinstance(page, forms.FileForm) and page.data == whole.encode()


def test_json_markdown_and_latex_open_as_text_of_their_filetype() -> None:
    form = forms.richest(rich({"application/json": {"a": [1]}}))
    assert form == forms.TextForm("application/json", '{\n  "a": [\n    1\n  ]\n}', "json")
    assert forms.richest(rich({"text/markdown": ["# a", "\n"]})) == forms.TextForm(
        "text/markdown", "# a\n", "markdown"
    )
    latex = forms.richest(rich({"text/latex": "$x$"}))
    assert latex is not None and latex.filetype == "tex"
    vendor = forms.richest(rich({"application/vnd.plotly.v1+json": {"data": []}}))
    assert vendor is not None and vendor.filetype == "json"


def test_plain_text_has_nothing_to_open() -> None:
    assert forms.richest(rich({"text/plain": "42"})) is None


# Section: the worker


def test_the_worker_writes_and_draws_in_its_thread_and_posts_the_result(tmp_path: Path) -> None:
    results: list[tuple[object, Done, str]] = []
    arrived = threading.Event()

    def post(owner: object, result: Done) -> None:
        results.append((owner, result, threading.current_thread().name))
        arrived.set()

    data = png(8, 4, (255, 0, 0), (0, 0, 255))
    image = Image("image/png", b"", 8, 4, encoded=base64.b64encode(data).decode())
    shown = Rich(image=image)
    item = Item(block=None, rich=shown)  # type: ignore[arg-type]
    worker = Worker(Store(str(tmp_path)), post)
    worker.submit(Job("owner", item, shown, preview=(20, 80), write=forms.image_form(image)))
    assert arrived.wait(10)
    owner, result, thread = results[0]
    assert (owner, thread) == ("owner", "kernel-media")
    assert Path(result.file).read_bytes() == data and result.preview[0][0][1][0] == RED
    assert result.problem == "" and not result.no_pillow


def test_bad_base64_is_one_problem_and_no_file(tmp_path: Path) -> None:
    image = Image("image/png", b"", 8, 4, encoded="iVBORw0KGgo")
    shown = Rich(image=image)
    item = Item(block=None, rich=shown)  # type: ignore[arg-type]
    worker = Worker(Store(str(tmp_path)), lambda owner, result: None)
    result = worker._run(Job("owner", item, shown, write=forms.image_form(image), open=True))
    assert result is not None and result.file == ""
    assert result.problem == "the image/png cannot be decoded (bad base64)"


def test_a_broken_image_is_one_problem_and_no_preview(tmp_path: Path) -> None:
    shown = Rich(image=Image("image/png", b"\x89PNG broken", 8, 4))
    item = Item(block=None, rich=shown)  # type: ignore[arg-type]
    worker = Worker(Store(str(tmp_path)), lambda owner, result: None)
    worker._thread = threading.current_thread()  # the job runs below
    job = Job("owner", item, shown, preview=(20, 80))
    worker.submit(job)
    result = worker._run(job)
    assert result is not None and result.preview == ()
    assert result.problem.startswith("no preview: the image/png cannot be decoded (")


def test_without_pillow_the_worker_says_so_and_draws_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = png(8, 4, (255, 0, 0), (0, 0, 255))
    monkeypatch.setitem(sys.modules, "PIL", None)  # as in a host where it is not installed
    shown = Rich(image=Image("image/png", data, 8, 4))
    item = Item(block=None, rich=shown)  # type: ignore[arg-type]
    worker = Worker(Store(str(tmp_path)), lambda owner, result: None)
    worker._thread = threading.current_thread()
    job = Job("owner", item, shown, preview=(20, 80), write=forms.image_form(shown.image))
    worker.submit(job)
    result = worker._run(job)
    assert result is not None and result.no_pillow and result.preview == ()
    assert Path(result.file).read_bytes() == data  # opening it needs no Pillow


def test_only_the_newest_preview_of_an_item_is_drawn(tmp_path: Path) -> None:
    data = png(8, 4, (255, 0, 0), (0, 0, 255))
    item = Item(block=None)  # type: ignore[arg-type]
    frames = [Rich(image=Image("image/png", data, 8, 4)) for _ in range(3)]
    worker = Worker(Store(str(tmp_path)), lambda owner, result: None)
    worker._thread = threading.current_thread()  # jobs queue up, run below, in order
    jobs = [Job("owner", item, frame, preview=(20, 80)) for frame in frames]
    for job in jobs:
        worker.submit(job)
    drawn = [worker._run(job) for job in jobs]
    assert drawn[:2] == [None, None]
    assert drawn[2] is not None and drawn[2].preview


# Section: the image's item on its way to the editor


def png_display(data: bytes) -> dict[str, object]:
    bundle = {"image/png": base64.b64encode(data).decode(),
              "text/plain": "<IPython.core.display.Image object>"}  # fmt: skip
    return {"data": bundle, "metadata": {}}


def test_the_line_and_the_image_go_in_the_edit_of_the_message_without_a_preview(
    session: KernelSession,
) -> None:
    msg_id = started(session)
    session.doc.take_edit()
    session.handle(iopub("display_data", png_display(png(8, 4, (255, 0, 0), (0, 0, 255))), msg_id))
    edit = session.doc.take_edit()
    assert edit is not None and edit.lines[-1] == "[image/png 8x4]"
    (mark,) = edit_payload(edit)["marks"]
    assert mark["image"] == {"mimetype": "image/png", "width": 8, "height": 4}
    (item,) = session.doc.take_images()
    assert item.rich is not None and item.rich.image is not None
    assert image_bytes(item.rich.image)[:8] == b"\x89PNG\r\n\x1a\n"
    assert session.doc.take_images() == []
    done(session, msg_id)


def test_a_drawn_preview_sends_its_item_again_with_it(session: KernelSession) -> None:
    msg_id = started(session)
    session.handle(iopub("display_data", png_display(png(8, 4, (255, 0, 0), (0, 0, 255))), msg_id))
    session.handle(iopub("stream", {"name": "stdout", "text": "after\n"}, msg_id))
    done(session, msg_id)
    (item,) = session.doc.take_images()
    before = session.doc.take_edit()
    assert before is not None
    assert item.rich is not None and item.rich.image is not None
    item.rich.preview = blocks.draw(image_bytes(item.rich.image), 20, 80)
    session.doc.touch(item)
    edit = session.doc.take_edit()
    assert edit is not None
    assert edit.lines == ["[image/png 8x4]", "after"]  # the placeholder text is not shown
    (mark,) = edit_payload(edit)["marks"]
    assert mark["row"] == 0 and mark["rows"] == 1
    assert mark["image"]["preview"][0] == [("\u2580" * 8, [RED, "KernelAnsiBg256_196"])]


def test_item_at_finds_the_output_of_a_line(session: KernelSession) -> None:
    msg_id = started(session)
    session.handle(iopub("display_data", png_display(png(8, 4, (255, 0, 0), (0, 0, 255))), msg_id))
    done(session, msg_id)
    edit = session.doc.take_edit()
    assert edit is not None
    row = edit.start + edit.lines.index("[image/png 8x4]")
    item = session.doc.item_at(row)
    assert item is not None and item.rich is not None and item.rich.image is not None
    header = session.doc.item_at(0)
    assert header is not None and header.rich is None
    assert session.doc.item_at(10_000) is None
