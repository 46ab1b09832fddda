"""Which form of a bundle is shown: the user's preference, and text/plain only when it says more
than the object's name.

IPython puts a text/plain in every bundle; for objects that only display richly it is a
placeholder (``<IPython.core.display.HTML object>``, ``<Figure size 640x480 with 1 Axes>``,
``<pandas.io.formats.style.Styler at 0x7f...>``) that says nothing the richer form does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# What is shown of a bundle, first found first (g:kernel_mime_preference). text/plain leads:
# the output buffer is text, and a real repr (a DataFrame's, a number's) reads best there.
# The forms after it are tried when it is a placeholder: those whose text is readable as it is
# (markdown, LaTeX source) before HTML reduced to text, then JSON, then an image's line.
DEFAULT_PREFERENCE = (
    "text/plain",
    "text/markdown",
    "text/html",
    "text/latex",
    "application/json",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/svg+xml",
)

PLAIN = "text/plain"
TEXT_FORMS = frozenset((PLAIN, "text/markdown", "text/html", "text/latex", "application/json"))

# Richest first, for :KernelOpen: what a browser or an image viewer shows best. Forms not named
# here come after these, in the bundle's order; text/plain comes last.
_RICHNESS = (
    "text/html",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/markdown",
    "text/latex",
    "application/json",
)

_PLACEHOLDER = re.compile(
    r"""
      <[A-Za-z_][\w.]*\ object(?:\ at\ 0x[0-9a-fA-F]+)?>   # object.__repr__; IPython.display's
    | <[A-Za-z_][\w.]*\ at\ 0x[0-9a-fA-F]+>               # the same by IPython's pretty printer
    | <Figure\ size\ [\d.]+x[\d.]+\ with\ \d+\ Axes>      # a matplotlib figure
    """,
    re.VERBOSE,
)


def is_placeholder(text: str) -> bool:
    """Whether ``text`` only names the object (its class, its address, a figure's size)."""
    return _PLACEHOLDER.fullmatch(text.strip()) is not None


def is_image(mimetype: str) -> bool:
    return mimetype.startswith("image/")


def is_json(mimetype: str) -> bool:
    """application/json, and the JSON-based forms (``application/vnd.vegalite.v5+json``)."""
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def showable(mimetype: str) -> bool:
    return mimetype in TEXT_FORMS or is_image(mimetype) or is_json(mimetype)


def candidates(mimetypes: Iterable[str], preference: Iterable[str], placeholder: bool) -> list[str]:
    """The forms to try, in order: those of ``preference`` that the bundle has and that can be
    shown, then text/plain if the preference left it out. A ``placeholder`` text/plain is left
    out: it is shown only when the bundle has nothing else at all (the caller's last resort)."""
    present = set(mimetypes)
    order = [m for m in dict.fromkeys(preference) if m in present and showable(m)]
    if PLAIN in present and PLAIN not in order:
        order.append(PLAIN)
    if placeholder:
        order = [m for m in order if m != PLAIN]
    return order


def richest_first(mimetypes: Iterable[str]) -> tuple[str, ...]:
    """``mimetypes`` ordered for :KernelOpen: the richest first, text/plain last."""
    ranked = list(dict.fromkeys(mimetypes))

    def rank(item: tuple[int, str]) -> tuple[int, int]:
        position, mimetype = item
        if mimetype == PLAIN:
            return len(_RICHNESS) + 1, position
        if mimetype in _RICHNESS:
            return _RICHNESS.index(mimetype), position
        return len(_RICHNESS), position

    return tuple(m for _, m in sorted(enumerate(ranked), key=rank))


def images(mimetypes: Iterable[str], preference: Iterable[str]) -> list[str]:
    """The bundle's image forms, those the preference names first, in its order."""
    present = [m for m in mimetypes if is_image(m)]
    preferred = [m for m in dict.fromkeys(preference) if m in present]
    return preferred + [m for m in present if m not in preferred]
