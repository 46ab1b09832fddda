"""Text with highlight groups: what every renderer makes and the document stores."""

from __future__ import annotations

import re
from collections.abc import Iterable

Groups = tuple[str, ...]
"""Highlight group names applied to a piece of text (may be empty)."""

Segment = tuple[str, Groups]
"""A piece of text (may contain newlines) and its groups."""


def sanitize(text: str) -> str:
    """``text`` with U+FFFD for each code point that UTF-8 cannot encode (lone surrogates)."""
    # isascii is O(1) in CPython; encode is one C pass: both far cheaper than the substitution.
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def merge(segments: Iterable[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for text, groups in segments:
        if not text:
            continue
        if merged and merged[-1][1] == groups:
            merged[-1] = (merged[-1][0] + text, groups)
        else:
            merged.append((text, groups))
    return merged


# Surrogates are the only code points a str can hold that UTF-8 cannot encode.
_SURROGATE = re.compile("[\ud800-\udfff]")
