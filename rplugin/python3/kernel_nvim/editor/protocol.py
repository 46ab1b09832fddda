"""Every update the host sends to the editor, as types: the one place its keys are written down.

The host calls ``require('kernel.output').update(u)`` with one :class:`Update` per flush; every
key is optional and means "this changed". ``lua/kernel/output.lua`` mirrors these keys in its
header comment; a key added here is added there in the same change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from ..output.document import Edit, Mark
    from ..output.rich import Rich

# (row relative to the edit's start, start byte, end byte, highlight group)
Highlight = tuple[int, int, int, str]


class _EditBase(TypedDict):
    trim: int  # delete this many lines at the top first
    start: int  # then replace every line from this one (0-based) ...
    replace: bool  # ... unless false: an edit that only trims
    highlights: list[Highlight]


class _MarkBase(TypedDict):
    row: int  # relative to the edit's start, like highlights
    rows: int  # how many lines it covers


class ImagePayload(TypedDict, total=False):
    """An output's image, placed under the output's last line by lua/kernel/media.lua."""

    mimetype: str
    width: int  # pixels, 0 when unknown
    height: int
    file: str  # its private temp file, once written: snacks.nvim and image.nvim place it
    preview: list[list[tuple[str, list[str]]]]  # once drawn: half-block rows of virt_lines
    # chunks (text, highlight groups)


class MarkPayload(_MarkBase, total=False):
    """Kept beside the lines as an extmark: an execution's start, or an output with a bundle."""

    block: bool  # an execution starts here: its ``In [n]:`` line (]], [[, folds)
    richer: list[str]  # forms of the bundle not shown, richest first (:KernelOpen opens them)
    syntax: str  # highlight these lines as this filetype (markdown, json, tex)
    lead: int  # the first rows are not the form's text (a result's Out[n]: line): no syntax
    image: ImagePayload


class EditPayload(_EditBase, total=False):
    text: str  # the new lines joined by "\n" (lines never hold a newline); absent: no lines
    marks: list[MarkPayload]  # for rows from ``start`` on; absent: none


class StatePayload(TypedDict):
    """What ``g:kernel_state`` holds; statuslines and maps read it, never the text."""

    state: str  # a session.state.KernelState value: disconnected, connecting, idle, busy, ...
    name: str  # the kernel's short name (kernel-6759, kernel-f13fc968), "" when disconnected
    buffer: str  # the output buffer of the linked kernel (kernel://kernel-6759.json), or ""
    busy: str  # "" | "ours" (code sent from here runs) | "other" (only other clients' code)
    text: str  # what KernelStatus() returns: "kernel-6759 busy (other)", "disconnected"


class Ask(TypedDict):
    """The kernel waits in input() or getpass(): ask the user, answer with input_reply."""

    id: str
    prompt: str
    password: bool


class Where(TypedDict):
    """Where the cursor was when the user asked: an answer is shown only if it is still there."""

    win: int
    line: int
    col: int


class FloatPayload(EditPayload):
    where: Where


class CompletePayload(TypedDict):
    start: int  # byte column where the completed text starts
    items: list[dict[str, str | int]]  # complete-items
    where: Where


class HistoryPayload(TypedDict):
    name: str  # kernel-history://<kernel>
    entries: list[tuple[int, str]]  # (line number, source)
    language: str  # the filetype to set


class QuickfixItem(TypedDict, total=False):
    bufnr: int
    filename: str
    lnum: int
    text: str


class QuickfixPayload(TypedDict):
    items: list[QuickfixItem]
    open: bool


class OpenPayload(TypedDict, total=False):
    """:KernelOpen: a file for vim.ui.open, or text for a scratch buffer in a split."""

    file: str  # a private temp file (an image, an HTML page)
    name: str  # the scratch buffer's name (kernel-open://3.json) ...
    text: str  # ... its lines, joined by "\n" ...
    filetype: str  # ... and its filetype (json, markdown, tex)


class _PickLine(TypedDict):
    target: str  # the kernel's connection file or URL: chosen, it is :KernelConnect's argument
    label: str  # the line shown (kernel_list.items): name, language, pid, cwd, age, flags


class PickItem(_PickLine, total=False):
    command: str  # "start": chosen, the target is :KernelStart's argument instead


class PickPayload(TypedDict):
    """:KernelConnect without a name, :KernelList: vim.ui.select() over the kernels."""

    prompt: str
    items: list[PickItem]


class InlinePayload(TypedDict):
    """A result or an error, one line, at the end of the code that made it (g:kernel_inline)."""

    buffer: int  # the source buffer the code was sent from
    anchor: int  # the extmark (namespace kernel_inline) kernel#send() put on its last code line
    text: str  # the result's first line of text/plain, or ``ename: evalue``
    error: bool


class StartMenuPayload(TypedDict):
    """:KernelStart's picker (vim.ui.select): the answer is the line's index, 1-based."""

    prompt: str
    items: list[str]


class Update(TypedDict, total=False):
    name: str  # the output buffer (kernel://...) that `edit`, `show` and `focus` are about
    edit: EditPayload
    show: bool  # open a window on `name` in this tab if none shows an output buffer
    focus: bool  # and go to it
    linked: str  # the output buffer of the kernel linked now: output windows switch to it
    state: StatePayload
    messages: list[tuple[str, int]]  # ("[kernel] ...", vim.log.levels value)
    asks: list[Ask]
    float: FloatPayload
    complete: CompletePayload
    history: HistoryPayload
    quickfix: QuickfixPayload
    jump: QuickfixItem
    open: OpenPayload
    inline: list[InlinePayload]  # in the order the kernel sent them
    pick: PickPayload
    start_menu: StartMenuPayload


def edit_payload(edit: Edit) -> EditPayload:
    """An edit as output.lua takes it. Lines never hold a newline, so joining them is lossless,
    and one string costs pynvim and Neovim a fraction of a list of strings (1.4 ms of host CPU
    for 2,000 lines as a list, 0.04 ms joined)."""
    payload: EditPayload = {"trim": edit.trim, "start": edit.start, "replace": edit.replace,
                            "highlights": edit.highlights}  # fmt: skip
    if edit.lines:
        payload["text"] = "\n".join(edit.lines)
    if edit.marks:
        payload["marks"] = [mark_payload(mark) for mark in edit.marks]
    return payload


def mark_payload(mark: Mark) -> MarkPayload:
    payload: MarkPayload = {"row": mark.row, "rows": mark.rows}
    rich = mark.rich
    if rich is None:
        payload["block"] = True
        return payload
    if rich.richer:
        payload["richer"] = list(rich.richer)
    if rich.syntax:
        payload["syntax"] = rich.syntax
    if rich.lead:
        payload["lead"] = rich.lead
    if rich.image is not None:
        payload["image"] = image_payload(rich)
    return payload


def image_payload(rich: Rich) -> ImagePayload:
    """Never the image's bytes: the editor reads its file, or draws its preview."""
    image = rich.image
    assert image is not None
    payload: ImagePayload = {"mimetype": image.mimetype, "width": image.width or 0,
                             "height": image.height or 0}  # fmt: skip
    if rich.file:
        payload["file"] = rich.file
    if rich.preview:
        payload["preview"] = [[(text, list(groups)) for text, groups in row]
                              for row in rich.preview]  # fmt: skip
    return payload
