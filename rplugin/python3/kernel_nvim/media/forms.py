"""What :KernelOpen (and <CR>, gx) opens of an output: its richest form that Neovim cannot show
in place. Images and HTML go to the system's viewer and browser, from a file; JSON, markdown
and LaTeX to a scratch buffer, where their filetype highlights them. Pure: the worker writes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Union

from ..output.rich import Image, Rich

SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
            "image/svg+xml": ".svg"}  # fmt: skip
# Forms read in a buffer, in the order they are preferred, with their filetype.
TEXTS = (("application/json", "json"), ("text/markdown", "markdown"), ("text/latex", "tex"))


@dataclass(frozen=True)
class FileForm:
    """Bytes to write to a file of this suffix, then open with vim.ui.open."""

    mimetype: str
    data: bytes
    suffix: str
    image: Image | None = None  # or the bytes of this image, decoded by the worker


@dataclass(frozen=True)
class TextForm:
    """Text to show in a scratch buffer of this filetype."""

    mimetype: str
    text: str
    filetype: str


Form = Union[FileForm, TextForm]


def richest(rich: Rich) -> Form | None:
    """The form to open, or None when the output has nothing beyond its text."""
    image = rich.image
    if image is not None and image.mimetype in SUFFIXES:
        return image_form(image)
    bundle = rich.bundle
    if "text/html" in bundle:
        return FileForm("text/html", _page(_text(bundle["text/html"])).encode(), ".html")
    for mimetype, filetype in TEXTS:
        if mimetype in bundle:
            return TextForm(mimetype, _readable(bundle[mimetype], filetype), filetype)
    vendor = next((m for m in bundle if isinstance(m, str) and m.endswith("+json")), None)
    if vendor is not None:  # application/vnd.plotly.v1+json and the like
        return TextForm(vendor, _readable(bundle[vendor], "json"), "json")
    return None


def image_form(image: Image) -> FileForm:
    return FileForm(image.mimetype, b"", SUFFIXES[image.mimetype], image)


def _text(value: Any) -> str:
    # On the wire a string; the list form is nbformat's.
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _readable(value: Any, filetype: str) -> str:
    if filetype == "json" and not isinstance(value, str):
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return _text(value)


def _page(html: str) -> str:
    """A fragment (what displays send) made a page the browser reads as UTF-8."""
    if _DOCUMENT.match(html):
        return html
    return f'<!DOCTYPE html>\n<meta charset="utf-8">\n{html}'


_DOCUMENT = re.compile(r"\s*(<!doctype|<html)", re.IGNORECASE)
