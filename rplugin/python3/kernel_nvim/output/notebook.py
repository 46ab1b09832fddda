"""A session's output as a Jupyter notebook (nbformat 4.5), for :KernelSave: a plain dict, which
the host validates and writes (media/notebook.py).

One code cell per execution the output still holds, in the order shown: its code, its count and
its outputs as Jupyter keeps them. Displays and results keep their whole bundle and metadata
(an updated display its latest), errors their raw traceback, ANSI and all; stream text is what
the output shows of it, after ``\\r`` and cursor moves, split into stdout and stderr as the
highlights tell them. Notices (``[kernel restarted]``) and pages are not outputs and stay out.

Strings are split into lines as nbformat writes them, so a saved notebook diffs as one saved by
Jupyter does; the bundles themselves are never changed, nor their data (an image's base64) copied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .blocks import Block, Cell, Item
from .lines import Span
from .render import STDERR_GROUP

NBFORMAT, NBFORMAT_MINOR = 4, 5
Json = dict[str, Any]


def build(blocks: Sequence[Block], kernel_info: Mapping[str, Any], kernel_name: str = "") -> Json:
    """The notebook of ``blocks``; ``kernel_info`` is the kernel's kernel_info_reply content,
    ``kernel_name`` the kernelspec it was started from, when its source knows."""
    language_info = _language_info(kernel_info.get("language_info"))
    metadata = {"kernelspec": kernelspec(kernel_name, kernel_info, language_info["name"]),
                "language_info": language_info}  # fmt: skip
    cells = [_cell(block, block.cell) for block in blocks if block.cell is not None]
    return {"cells": cells, "metadata": metadata, "nbformat": NBFORMAT,
            "nbformat_minor": NBFORMAT_MINOR}  # fmt: skip


def kernelspec(kernel_name: str, kernel_info: Mapping[str, Any], language: str) -> dict[str, str]:
    """The kernelspec Jupyter looks for when it opens the notebook.

    kernel_info does not name it: the source's name is used (Jupyter writes it in the connection
    files of kernels it starts), else ``python3``, ipykernel's, for Python, else the language.
    """
    ipython = kernel_info.get("implementation") == "ipython"
    name = kernel_name or ("python3" if ipython or language == "python" else language.lower())
    if not name:
        name = "python3"
    display = "Python 3 (ipykernel)" if name == "python3" and ipython else name
    return {"display_name": display, "name": name}


def _cell(block: Block, cell: Cell) -> Json:
    count = cell.count if cell.count is not None and cell.count >= 0 else None
    return {
        "cell_type": "code",
        "execution_count": count,
        "id": cell.id,
        "metadata": {"kernel_nvim": {"other_client": True}} if cell.other else {},
        "outputs": _merged(_outputs(block, count)),
        "source": _split(cell.code),
    }


def _outputs(block: Block, count: int | None) -> Iterator[Json]:
    at = 0
    for item in block.items:
        if item.stream:
            end = at + item.lines
            # Still being written, the cursor in its last line: that line has no end yet.
            open_end = item is block.items[-1] and block.row == end - 1 and end == len(block)
            yield from _streams(block.texts[at:end], block.spans[at:end], open_end)
        elif item.saved is not None:
            output = _output(item, count)
            if output is not None:
                yield output
        at += item.lines


def _output(item: Item, count: int | None) -> Json | None:
    saved = item.saved
    assert saved is not None
    if saved.output_type == "error":
        return {"output_type": "error", "ename": saved.ename, "evalue": saved.evalue,
                "traceback": list(saved.traceback)}  # fmt: skip
    rich = item.rich
    if rich is None:
        return None
    output: Json = {"output_type": saved.output_type, "data": _bundle(rich.bundle),
                    "metadata": rich.metadata}  # fmt: skip
    if saved.output_type == "execute_result":
        output["execution_count"] = count
    return output


def _streams(texts: list[str], spans: list[tuple[Span, ...]], open_end: bool) -> Iterator[Json]:
    """The lines of one stream item as stdout and stderr outputs, a run of lines each.

    A line of stderr text carries the stderr highlight; an empty line carries none, whichever
    stream made it, so it goes with the lines before it (with those after, at the start).
    """
    names = [_stream_name(s) if t else "" for t, s in zip(texts, spans)]
    known = next((n for n in names if n), "stdout")
    start = 0
    for i, name in enumerate(names):
        name = name or known
        if name != known:
            yield _stream(known, texts[start:i])
            start = i
        known = name
    if start < len(texts):
        yield _stream(known, texts[start:], open_end)


def _stream_name(spans: tuple[Span, ...]) -> str:
    return "stderr" if any(span[2] == STDERR_GROUP for span in spans) else "stdout"


def _stream(name: str, lines: list[str], open_end: bool = False) -> Json:
    text = [f"{line}\n" for line in lines]
    if open_end:
        text[-1:] = [lines[-1]] if lines[-1] else []
    return {"output_type": "stream", "name": name, "text": text}


def _merged(outputs: Iterator[Json]) -> list[Json]:
    """Stream outputs of one stream that follow each other made one, as Jupyter shows them
    (two stream items are apart only by what a notebook does not keep, a notice)."""
    merged: list[Json] = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (last is not None and output["output_type"] == last["output_type"] == "stream"
                and output["name"] == last["name"]):  # fmt: skip
            last["text"] = last["text"] + output["text"]
        else:
            merged.append(output)
    return merged


def _bundle(bundle: Mapping[str, Any]) -> Json:
    """A bundle as nbformat keeps it: text forms split into lines, JSON forms as they are. A
    text form that is not text (only a broken kernel sends one) is left out, as nbformat's schema
    would refuse the notebook."""
    data: Json = {}
    for mimetype, value in bundle.items():
        if _is_json(mimetype):
            data[mimetype] = value
        elif isinstance(value, str):
            data[mimetype] = _split(value) if _splits(mimetype) else value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            data[mimetype] = value  # already nbformat's form
    return data


def _language_info(value: Any) -> Json:
    """The kernel's language_info, less the fields whose type nbformat's schema would refuse."""
    info: Json = dict(value) if isinstance(value, Mapping) else {}
    for key in ("name", "file_extension", "mimetype", "pygments_lexer"):
        if key in info and not isinstance(info[key], str):
            del info[key]
    if "codemirror_mode" in info and not isinstance(info["codemirror_mode"], (str, dict)):
        del info["codemirror_mode"]
    info.setdefault("name", "")
    return info


def _split(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _splits(mimetype: str) -> bool:
    # What nbformat.write splits (nbformat/v4/rwbase.py): images stay one base64 string.
    return mimetype.startswith("text/") or mimetype in ("application/javascript", "image/svg+xml")
