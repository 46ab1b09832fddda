"""A display's or result's bundle shown as text: the form the preference picks, as readable text.

text/plain is parsed for ANSI colours; markdown and LaTeX are shown as their source, JSON
pretty-printed, each with the filetype that highlights it (:attr:`Rich.syntax`); HTML is reduced
to text (:mod:`.html`); an image is one line, ``[image/png 640x480]``, that the editor places
the image under. What else the bundle holds is told by the item's :class:`Rich`, not by lines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import ansi
from ..rich import Image, Rich
from ..segments import Groups, Segment, merge, sanitize
from . import image_info, mime

__all__ = ["render_bundle", "render_display", "render_result"]

_OUT: Groups = ("KernelOut",)
_INFO: Groups = ("KernelInfo",)
# Bigger HTML is not reduced, as it would hold up the output for more than a second (html.parser
# and the layout read about 1 MB a second): the next form stands in, often a real text/plain.
MAX_HTML = 1_000_000
SYNTAX = {"text/markdown": "markdown", "text/latex": "tex"}


def render_bundle(
    data: Mapping[str, Any],
    metadata: Mapping[str, Any],
    preference: tuple[str, ...] = (),
    count: int | None = None,
    result: bool = False,
) -> tuple[list[Segment], Rich]:
    """A display_data (or, with ``result``, an execute_result with its ``Out[n]:``): the text of
    the form that ``preference`` picks from the bundle, and what else the bundle holds."""
    metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
    plain = _string(data.get(mime.PLAIN))
    placeholder = plain is not None and mime.is_placeholder(plain)
    decoded: dict[str, Image | None] = {}
    body, shown, syntax = _choose(data, metadata, preference or mime.DEFAULT_PREFERENCE,
                                  placeholder, decoded)  # fmt: skip
    rich = Rich(dict(data), metadata, shown, syntax=syntax)
    rich.richer = mime.richest_first(
        _name(m) for m in data if m != shown and not (m == mime.PLAIN and placeholder)
    )
    rich.image = _first_image(data, metadata, preference or mime.DEFAULT_PREFERENCE, decoded)
    if not result:
        return (merge(_end_line(body)) if body else []), rich
    prompt: list[Segment] = [(f"Out[{' ' if count is None else count}]: ", _OUT)]
    # Like IPython, a form of several lines starts on a line of its own so that its columns line
    # up; one with a syntax does too, so that it parses as written (a heading starts a line).
    if syntax or "\n" in "".join(text for text, _ in body).rstrip("\n"):
        prompt.append(("\n", ()))
        rich.lead = 1
    return merge(_end_line([*prompt, *body])), rich


def render_display(data: Mapping[str, Any]) -> list[Segment]:
    """A bundle's text as :func:`render_bundle` shows it, by the default preference."""
    return render_bundle(data, {})[0]


def render_result(count: int | None, data: Mapping[str, Any]) -> list[Segment]:
    """An execute_result's ``Out[n]:`` and text, by the default preference."""
    return render_bundle(data, {}, (), count, result=True)[0]


def _choose(
    data: Mapping[str, Any],
    metadata: dict[str, Any],
    preference: tuple[str, ...],
    placeholder: bool,
    decoded: dict[str, Image | None],
) -> tuple[list[Segment], str, str]:
    """The segments shown, the mimetype they show ("" for none) and their syntax."""
    for mimetype in mime.candidates(data, preference, placeholder):
        value = data[mimetype]
        if mime.is_image(mimetype):
            image = _decode(mimetype, value, metadata, decoded)
            return [(image_info.describe(_name(mimetype), image), _INFO)], mimetype, ""
        form = _form(mimetype, value)
        if form is not None:
            return form[0], mimetype, form[1]
    others = [_name(m) for m in data if m != mime.PLAIN]
    if others:  # nothing that can be shown: say what came, in one line
        return [(f"[{', '.join(others)}]", _INFO)], "", ""
    plain = _string(data.get(mime.PLAIN))
    if plain is None:
        return [], "", ""
    return _plain(plain), mime.PLAIN, ""


def _form(mimetype: str, value: Any) -> tuple[list[Segment], str] | None:
    """The text of a text form and its syntax; None when it shows nothing."""
    if mime.is_json(mimetype):
        text = _json(value)
        return ([(text, ())], "json") if text else None
    string = _string(value)
    if string is None:
        return None
    if mimetype == mime.PLAIN:
        segments = _plain(string)
        return (segments, "") if segments else None
    if mimetype == "text/html":
        if len(string) > MAX_HTML:
            return None
        from . import html  # html.parser and the table layout: loaded with the first HTML

        segments = html.to_text(sanitize(string))
        return (segments, "") if segments else None
    text = _source(string)
    return ([(text, ())], SYNTAX.get(mimetype, "")) if text else None


def _first_image(
    data: Mapping[str, Any],
    metadata: dict[str, Any],
    preference: tuple[str, ...],
    decoded: dict[str, Image | None],
) -> Image | None:
    for mimetype in mime.images(data, preference):
        image = _decode(mimetype, data[mimetype], metadata, decoded)
        if image is not None:
            return image
    return None


def _decode(
    mimetype: str, value: Any, metadata: dict[str, Any], decoded: dict[str, Image | None]
) -> Image | None:
    if mimetype not in decoded:
        decoded[mimetype] = image_info.decode(mimetype, value, metadata)
    return decoded[mimetype]


def _plain(text: str) -> list[Segment]:
    segments, _ = ansi.parse(sanitize(text))
    return segments


def _source(text: str) -> str:
    """Markdown or LaTeX source, shown as it is: no escapes, no blank lines around it."""
    text = ansi.strip(sanitize(text)).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(line.rstrip() for line in lines)


def _json(value: Any) -> str:
    """JSON pretty-printed; it comes as the value itself (a string only from other kernels)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return _source(value)
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return ""
    return sanitize(text)


def _string(value: Any) -> str | None:
    # On the wire a text form is a string; the list form is nbformat's, seen when replaying files.
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return None


def _name(mimetype: Any) -> str:
    """A mimetype fit to show on one line, whatever the kernel sent as one."""
    return " ".join(ansi.strip(sanitize(str(mimetype))).split())


def _end_line(segments: list[Segment]) -> list[Segment]:
    if segments and segments[-1][0].endswith("\n"):
        return segments
    return [*segments, ("\n", ())]
