"""End to end: images and :KernelOpen, with a real kernel displaying a PNG it made with Pillow.

The system viewer is the one part replaced: `vim.ui.open` records what it is given. snacks.nvim
and image.nvim are the real plugins, from the shared third-party copies (skipped without them).
The terminal is a pty that answers as kitty does (support/tui.py), with Neovim's own TUI in it:
what is checked is what reaches it, the kitty graphics commands that send and place the image,
besides the fallback when no terminal can show images or the plugin cannot place them.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.editor import Editor
from support.kernels import Kernel
from support.sandbox import REPO, Sandbox, wait_for
from support.tui import TuiEditor

SNACKS = REPO.parent / "shared" / "third_party" / "snacks.nvim"
IMAGE_NVIM = REPO.parent / "shared" / "third_party" / "image.nvim"
LINE = "[image/png 64x32]"
RED, BLUE = 0xFF0000, 0x0000FF

# Section: helpers


def show_png(editor: Editor, kernel: Kernel, keep: Path) -> bytes:
    """The kernel makes a 64x32 PNG, red above and blue below, saves its bytes to `keep` and
    displays it; returns the bytes once its line is in the output."""
    editor.set_lines([
        "import io",
        "from PIL import Image as Picture",
        "from IPython.display import Image, display",
        "picture = Picture.new('RGB', (64, 32), (255, 0, 0))",
        "picture.paste((0, 0, 255), (0, 16, 64, 32))",
        "buffer = io.BytesIO(); picture.save(buffer, 'PNG'); png = buffer.getvalue()",
        f"open({str(keep)!r}, 'wb').write(png)",
        "display(Image(data=png))",
    ])  # fmt: skip
    editor.connect(kernel)
    shown = editor.output_text().count(LINE)
    editor.nvim.command("%KernelSend")
    wait_for(lambda: editor.output_text().count(LINE) > shown, what=f"another {LINE}")
    editor.wait_state("idle")
    return keep.read_bytes()


def run(editor: Editor, kernel: Kernel, code: str, shown: str) -> None:
    editor.connect(kernel)
    editor.nvim.command(f"KernelExec {code}")
    editor.wait_output(shown)
    editor.wait_state("idle")


def go_to_line_with(editor: Editor, text: str) -> int:
    """Into the output window, the cursor on the line holding `text`; returns its 0-based row."""
    editor.nvim.command("KernelOutput")
    row = next(i for i, line in enumerate(editor.output()) if text in line)
    editor.nvim.current.window.cursor = (row + 1, 0)
    return row


def previews(editor: Editor) -> list[Any]:
    """The extmarks (with details) of kernel.nvim's images in the output buffer."""
    return list(editor.nvim.exec_lua(
        "local buf = vim.fn.bufnr('^kernel://') local ns = vim.api.nvim_get_namespaces()"
        " if not ns.kernel_media then return {} end"
        " return vim.api.nvim_buf_get_extmarks(buf, ns.kernel_media, 0, -1, {details = true})"
    ))  # fmt: skip


def record_opens(editor: Editor) -> None:
    editor.nvim.exec_lua(
        "_G.opened = {} vim.ui.open = function(path) table.insert(_G.opened, path) end"
    )


def opened(editor: Editor) -> list[str]:
    return list(editor.nvim.exec_lua("return _G.opened"))


def kernel_messages(editor: Editor) -> list[str]:
    return [line for line in editor.messages().splitlines() if line.startswith("[kernel]")]


def fg(editor: Editor, group: str) -> int:
    return int(editor.nvim.api.get_hl(0, {"name": group, "link": False})["fg"])


def bg(editor: Editor, group: str) -> int:
    return int(editor.nvim.api.get_hl(0, {"name": group, "link": False})["bg"])


def private(path: Path) -> tuple[int, int]:
    return stat.S_IMODE(path.stat().st_mode), stat.S_IMODE(path.parent.stat().st_mode)


def needs(plugin: Path) -> None:
    if not (plugin / "lua").is_dir():
        pytest.skip(f"no copy of {plugin.name} at ../shared/third_party/")


# Section: the line and the half-block preview


def test_an_image_gets_its_line_and_nothing_else_in_the_text(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    show_png(editor, kernel, tmp_path / "a.png")
    lines = editor.output()
    assert lines[-1] == LINE and "<IPython.core.display.Image object>" not in lines
    assert not any("\u2580" in line for line in lines)


def test_blocks_draw_the_image_under_its_line_in_its_colours(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    editor.nvim.command("set termguicolors columns=240 | let g:kernel_image = 'blocks'")
    show_png(editor, kernel, tmp_path / "a.png")
    row = go_to_line_with(editor, LINE)
    marks = wait_for(lambda: [m for m in previews(editor) if m[3].get("virt_lines")],
                     what="the preview's extmark")  # fmt: skip
    assert [m[1] for m in marks] == [row]
    rows = marks[0][3]["virt_lines"]
    assert len(rows) == 16  # 32 pixels, two a row
    (text, groups), *rest = rows[0]
    assert rest == [] and text == "\u2580" * 64
    assert (fg(editor, groups[0]), bg(editor, groups[1])) == (RED, RED)
    (text, groups), *rest = rows[-1]
    assert (fg(editor, groups[0]), bg(editor, groups[1])) == (BLUE, BLUE)


def test_rows_are_capped_by_kernel_image_rows(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    editor.nvim.command("set termguicolors | let g:kernel_image = 'blocks'")
    editor.nvim.vars["kernel_image_rows"] = 4
    show_png(editor, kernel, tmp_path / "a.png")
    marks = wait_for(lambda: [m for m in previews(editor) if m[3].get("virt_lines")],
                     what="the preview's extmark")  # fmt: skip
    rows = marks[0][3]["virt_lines"]
    assert len(rows) == 4 and len(rows[0][0][0]) == 16  # 64x32 shrunk to 16x8


def test_without_termguicolors_there_is_only_the_line(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    editor.nvim.command("set notermguicolors")
    show_png(editor, kernel, tmp_path / "a.png")
    run(editor, kernel, "print('after' + ' the image')", "after the image")
    assert previews(editor) == []


# Section: opening outside Neovim


def test_enter_on_the_image_line_opens_its_private_file(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    record_opens(editor)
    png = show_png(editor, kernel, tmp_path / "a.png")
    go_to_line_with(editor, LINE)
    editor.feed("<CR>")
    path = Path(wait_for(lambda: opened(editor), what="vim.ui.open called")[0])
    assert path.suffix == ".png" and path.read_bytes() == png
    assert private(path) == (0o600, 0o700)
    assert path.parent.name.startswith("kernel-nvim-")
    editor.nvim.command("qa!", async_=True)
    wait_for(lambda: not path.parent.exists(), what="the temp dir removed at exit")


def host_pid(editor: Editor) -> int:
    """The python3 host: the child of Neovim running python."""
    nvim = editor.pid()
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == nvim and b"python" in cmdline:
            return int(entry.name)
    raise LookupError("no python3 host under Neovim")


def test_the_temp_dir_goes_at_exit_even_when_the_host_was_killed(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    record_opens(editor)
    show_png(editor, kernel, tmp_path / "a.png")
    go_to_line_with(editor, LINE)
    editor.feed("<CR>")
    path = Path(wait_for(lambda: opened(editor), what="vim.ui.open called")[0])
    os.kill(host_pid(editor), signal.SIGKILL)  # no atexit: only Neovim can remove it now
    editor.nvim.command("qa!", async_=True)  # and the channel stays open until it is gone
    wait_for(lambda: not path.parent.exists(), what="the temp dir removed by Neovim")


def test_gx_on_the_image_opens_it_too(editor: Editor, kernel: Kernel, tmp_path: Path) -> None:
    record_opens(editor)
    png = show_png(editor, kernel, tmp_path / "a.png")
    go_to_line_with(editor, LINE)
    editor.feed("gx")
    path = Path(wait_for(lambda: opened(editor), what="vim.ui.open called")[0])
    assert path.read_bytes() == png


def test_open_on_html_opens_a_private_html_file(editor: Editor, kernel: Kernel) -> None:
    record_opens(editor)
    run(editor, kernel, "from IPython.display import HTML; HTML('<b>caf\u00e9</b>')", "Out[")
    go_to_line_with(editor, "Out[")
    editor.nvim.command("KernelOpen")
    path = Path(wait_for(lambda: opened(editor), what="vim.ui.open called")[0])
    assert path.suffix == ".html"
    assert "<b>caf\u00e9</b>" in path.read_text(encoding="utf-8")
    assert private(path) == (0o600, 0o700)


def test_open_on_json_shows_it_in_a_json_buffer(editor: Editor, kernel: Kernel) -> None:
    run(editor, kernel, "from IPython.display import JSON; JSON({'a': [1, 2]})", "Out[")
    go_to_line_with(editor, "Out[")
    editor.nvim.command("KernelOpen")
    wait_for(lambda: editor.nvim.current.buffer.options["filetype"] == "json", what="json")
    assert json.loads("\n".join(editor.nvim.current.buffer[:])) == {"a": [1, 2]}
    assert len(editor.nvim.current.tabpage.windows) == 3  # a split beside the output window


def test_open_where_there_is_nothing_to_open_says_so_once(editor: Editor, kernel: Kernel) -> None:
    record_opens(editor)
    run(editor, kernel, "print('plain' + ' text')", "plain text")
    go_to_line_with(editor, "plain text")
    editor.nvim.command("KernelOpen")
    editor.wait_message("[kernel] nothing to open on this line")
    assert opened(editor) == []
    editor.nvim.command("wincmd p | KernelOpen")
    editor.wait_message("[kernel] nothing to open here: :KernelOpen opens")
    assert len([m for m in kernel_messages(editor) if "nothing to open" in m]) == 2


def test_enter_on_a_plain_line_still_says_there_is_no_source(
    editor: Editor, kernel: Kernel
) -> None:
    run(editor, kernel, "print('no' + ' frame')", "no frame")
    go_to_line_with(editor, "no frame")
    editor.feed("<CR>")
    editor.wait_message("[kernel] no source for this line")


def test_a_bad_kernel_image_says_so_once_and_works_as_auto(
    editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    editor.nvim.command("set termguicolors | let g:kernel_image = 'sixel'")
    show_png(editor, kernel, tmp_path / "a.png")
    wait_for(lambda: [m for m in previews(editor) if m[3].get("virt_lines")], what="blocks")
    show_png(editor, kernel, tmp_path / "b.png")
    assert [m for m in kernel_messages(editor) if "g:kernel_image" in m] == [
        "[kernel] g:kernel_image must be 'auto', 'snacks', 'image.nvim', 'blocks' or 'none': "
        "using 'auto'"
    ]


def test_checkhealth_names_pillow_and_the_image_mode(editor: Editor) -> None:
    from importlib.metadata import version

    editor.nvim.command("checkhealth kernel")
    text = "\n".join(editor.nvim.current.buffer[:])
    assert f"Pillow {version('Pillow')}" in text
    assert "g:kernel_image = 'auto'" in text


# Section: snacks.nvim and image.nvim


@pytest.fixture
def snacks_editor(make_editor: Any) -> Editor:
    needs(SNACKS)
    ed: Editor = make_editor(["--cmd", f"set rtp+={SNACKS}"])
    return ed


def test_snacks_without_a_terminal_falls_back_to_blocks_with_one_message(
    snacks_editor: Editor, kernel: Kernel, tmp_path: Path
) -> None:
    editor = snacks_editor
    editor.nvim.command("set termguicolors | let g:kernel_image = 'snacks'")
    show_png(editor, kernel, tmp_path / "a.png")
    wait_for(lambda: [m for m in previews(editor) if m[3].get("virt_lines")], what="blocks")
    show_png(editor, kernel, tmp_path / "b.png")
    said = [m for m in kernel_messages(editor) if "snacks" in m]
    assert said == ["[kernel] g:kernel_image is 'snacks', but no terminal shows this Neovim: "
                    "previews are drawn with half blocks"]  # fmt: skip


# Section: snacks.nvim and image.nvim in a terminal that shows images


@pytest.fixture
def make_kitty(manifest: Path, sandbox: Sandbox) -> Iterator[Callable[..., TuiEditor]]:
    """`make_kitty(*plugins)`: a Neovim with its terminal UI in a pty that answers as kitty does
    (no screen: what reaches the terminal is read from the pty), with `plugins` on its
    runtimepath; skipped when one of them has no copy here."""
    started: list[TuiEditor] = []

    def make(*plugins: Path) -> TuiEditor:
        extra: list[str] = []
        for plugin in plugins:
            needs(plugin)
            extra += ["--cmd", f"set rtp+={plugin}"]
        socket = sandbox.root / f"tui-{uuid.uuid4().hex[:8]}.sock"
        started.append(TuiEditor(socket, sandbox.env(), extra))
        return started[-1]

    yield make
    for editor in started:
        editor.close()


def transmitted(editor: TuiEditor) -> tuple[dict[str, str], Path]:
    """The last kitty graphics command that sent an image by its file's name (t=f), and that
    file, once one reached the terminal."""
    sent = editor.terminal.wait_graphics(lambda c: c.get("t") == "f", "an image sent by file")
    return sent[-1], Path(base64.b64decode(sent[-1]["data"]).decode())


def shown_where(editor: TuiEditor, image_id: str) -> dict[str, str]:
    """The last placement (a=p) of the image `image_id` that reached the terminal."""
    placed = editor.terminal.wait_graphics(
        lambda c: c.get("a") == "p" and c.get("i") == image_id, f"image {image_id} placed"
    )
    return placed[-1]


def test_snacks_in_kitty_sends_the_private_file_and_places_it_under_its_line(
    make_kitty: Callable[..., TuiEditor], kernel: Kernel, tmp_path: Path
) -> None:
    editor = make_kitty(SNACKS)
    editor.nvim.exec_lua(
        "vim.o.termguicolors = true vim.g.kernel_image = 'snacks' _G.placed = {}"
        " local placement = require('snacks').image.placement local new = placement.new"
        " placement.new = function(buf, src, opts)"
        "  table.insert(_G.placed, {buf = buf, src = src, row = opts.pos[1]})"
        "  return new(buf, src, opts) end"
    )
    editor.connect(kernel)
    # snacks.nvim asks the terminal its name (XTVERSION): kitty's answer says it shows images.
    # Until it is known, the host would draw half blocks too (mode 'both').
    wait_for(lambda: editor.nvim.exec_lua("return require('kernel.media').host_mode()") == "file",
             what="snacks.nvim's answer that the terminal shows images")  # fmt: skip
    png = show_png(editor, kernel, tmp_path / "a.png")
    sent, path = transmitted(editor)
    assert sent["f"] == "100"  # PNG, which the terminal reads from the file itself
    assert path.read_bytes() == png and private(path) == (0o600, 0o700)
    assert shown_where(editor, sent["i"])["U"] == "1"  # drawn where its placeholders are,
    placeholder = chr(0x10EEEE).encode()  # which the TUI draws in the output window
    wait_for(lambda: placeholder in editor.terminal.output(), what="its placeholders drawn")
    placed = wait_for(lambda: editor.nvim.exec_lua("return _G.placed"), what="a placement")
    row = next(i for i, line in enumerate(editor.output()) if line == LINE)
    assert placed[-1]["row"] == row + 1 and placed[-1]["src"] == str(path)
    assert [m for m in previews(editor) if m[3].get("virt_lines")] == []  # no half blocks


def test_image_nvim_without_its_setup_falls_back_to_blocks_with_one_message(
    make_kitty: Callable[..., TuiEditor], kernel: Kernel, tmp_path: Path
) -> None:
    editor = make_kitty(IMAGE_NVIM)
    editor.nvim.command("set termguicolors | let g:kernel_image = 'image.nvim'")
    show_png(editor, kernel, tmp_path / "a.png")
    wait_for(lambda: [m for m in previews(editor) if m[3].get("virt_lines")], what="blocks")
    show_png(editor, kernel, tmp_path / "b.png")
    said = [m for m in kernel_messages(editor) if "image.nvim" in m]
    assert said == ["[kernel] image.nvim cannot place images (image.nvim is not setup. Call "
                    "setup() first.): previews are drawn with half blocks"]  # fmt: skip
    assert editor.terminal.graphics() == []


def test_image_nvim_in_kitty_sends_the_private_file_for_the_output_window(
    make_kitty: Callable[..., TuiEditor], kernel: Kernel, tmp_path: Path
) -> None:
    editor = make_kitty(IMAGE_NVIM)
    # Its real setup, with its kitty backend. The pty's cells are 8x16 pixels, so the 64x32
    # picture fills 8x2 of them as it is: a picture it had to scale would go through
    # ImageMagick first, which is not kernel.nvim's to test.
    editor.nvim.exec_lua(
        "local image = require('image') image.setup({backend = 'kitty'}) _G.placed = {}"
        " local from_file = image.from_file"
        " image.from_file = function(path, opts)"
        "  table.insert(_G.placed, {path = path, win = opts.window, buf = opts.buffer})"
        "  return from_file(path, opts) end"
    )
    editor.nvim.command("let g:kernel_image = 'image.nvim'")
    png = show_png(editor, kernel, tmp_path / "a.png")
    sent, path = transmitted(editor)
    assert sent["f"] == "100" and path.read_bytes() == png
    where = shown_where(editor, sent["i"])
    assert (where["w"], where["h"]) == ("64", "32")  # all of it
    placed = wait_for(lambda: editor.nvim.exec_lua("return _G.placed"), what="a placement")
    assert Path(placed[-1]["path"]) == path and private(path) == (0o600, 0o700)
    window = editor.nvim.exec_lua("return vim.fn.win_findbuf(vim.fn.bufnr('^kernel://'))[1]")
    assert placed[-1]["win"] == window
    assert [m for m in kernel_messages(editor) if "image.nvim" in m] == []


# Section: :checkhealth kernel on images


def checkhealth_images(editor: Editor) -> list[str]:
    """The lines of the Images section of `:checkhealth kernel`."""
    editor.nvim.command("checkhealth kernel")
    lines = list(editor.nvim.current.buffer[:])
    start = next(i for i, line in enumerate(lines) if line.startswith("Images"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("Status"))
    return [line.strip() for line in lines[start + 1 : end] if line.strip().startswith("-")]


def test_checkhealth_without_a_terminal_says_auto_draws_half_blocks(make_editor: Any) -> None:
    from importlib.metadata import version

    needs(SNACKS)
    needs(IMAGE_NVIM)
    editor = make_editor(["--cmd", f"set rtp+={SNACKS},{IMAGE_NVIM}"])
    editor.nvim.command("set termguicolors")
    assert checkhealth_images(editor)[1:] == [
        "- snacks.nvim: installed; no terminal shows this Neovim, so it shows no images here",
        "- image.nvim: installed, not loaded: g:kernel_image = 'auto' uses it once it is set up",
        f"- half blocks: drawn by Pillow {version('Pillow')}, shown with 'termguicolors'",
        "- g:kernel_image = 'auto' uses half blocks here",
    ]
    editor.nvim.command("set notermguicolors | let g:kernel_image = 'blocks'")
    lines = checkhealth_images(editor)
    assert "- half blocks: not drawn: they need 'termguicolors'" in lines
    assert "- g:kernel_image = 'auto' uses only each image's line here" in lines
    warned = [line for line in lines if "WARNING" in line]
    assert len(warned) == 1 and "g:kernel_image = 'blocks' cannot show images here" in warned[0]


def test_checkhealth_in_kitty_says_what_snacks_and_image_nvim_find(
    make_kitty: Callable[..., TuiEditor],
) -> None:
    editor = make_kitty(SNACKS, IMAGE_NVIM)
    editor.nvim.exec_lua("require('image')")
    lines = checkhealth_images(editor)
    assert lines[0] == "- g:kernel_image = 'auto': images are shown by snacks.nvim or image.nvim"
    assert "- snacks.nvim: installed; it says the terminal (kitty) shows images" in lines
    assert "- image.nvim: loaded, but not set up: call require('image').setup()" in lines
    assert "- g:kernel_image = 'auto' uses snacks.nvim here" in lines
    editor.nvim.exec_lua("require('image').setup({backend = 'kitty'})")
    editor.nvim.command("let g:kernel_image = 'image.nvim'")
    lines = checkhealth_images(editor)
    assert "- image.nvim: set up, in a terminal" in lines
    assert not any("WARNING" in line for line in lines), lines
