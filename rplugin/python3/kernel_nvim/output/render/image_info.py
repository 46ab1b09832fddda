"""An image of a bundle decoded, and its size read from its own header, never trusting it.

A kernel sends images base64-encoded (SVG as text). The size comes from the first bytes of the
file: PNG's IHDR, GIF's screen descriptor, JPEG's start-of-frame, WebP's and BMP's headers, an
SVG root's width, height and viewBox; where they cannot tell, from the bundle's metadata
(``{"image/png": {"width": 320}}``). Bad data yields None: the caller says it cannot decode.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import re
import struct
from typing import Any, Optional

from ..rich import Image

__all__ = ["decode", "describe"]

Size = tuple[Optional[int], Optional[int]]


def decode(mimetype: str, value: Any, metadata: dict[str, Any]) -> Image | None:
    """The image in ``value`` (the bundle's entry for ``mimetype``), or None if it holds none.

    A large image keeps its base64 text (``Image.encoded``), decoded only as far as its header:
    decoding 4 MB would hold the host's main thread for 30 ms, so the media worker does it.
    """
    # A list of lines is nbformat's form, seen when replaying a notebook's outputs.
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        value = "".join(value)
    text = value
    if not isinstance(text, str) or not text.strip():
        return None
    if mimetype == "image/svg+xml":
        head: bytes | None = text.encode("utf-8", "replace")
    else:
        head = _head(text)
    if not head:
        return None
    # SVG is its text; a small image is decoded whole, a large one left to the media worker.
    whole = mimetype == "image/svg+xml" or len(text) <= HEAD_DIGITS
    data, encoded = (head, "") if whole else (b"", text)
    width, height = _size(mimetype, head)
    if width is None or height is None:
        width, height = _from_metadata(metadata.get(mimetype), width, height)
    return Image(mimetype, data, width, height, encoded=encoded)


# Base64 digits decoded to read an image's size: 192 KiB, enough for a JPEG's EXIF before its
# size (a PNG's is in its first 24 bytes), and 0.2 ms of the main thread.
HEAD_DIGITS = 262_144


def _head(text: str) -> bytes | None:
    """The image's bytes (its first ones, if it is large); None when they are not base64."""
    try:
        if len(text) <= HEAD_DIGITS:
            return base64.b64decode(text)  # characters outside base64, like newlines, skipped
        digits = "".join(text[:HEAD_DIGITS].split())
        return base64.b64decode(digits[: len(digits) // 4 * 4], validate=True)
    except (binascii.Error, ValueError):
        return None


def describe(mimetype: str, image: Image | None) -> str:
    """The line that stands for an image: ``[image/png 640x480]``."""
    if image is None:
        return f"[{mimetype}: cannot decode]"
    if image.width and image.height:
        return f"[{mimetype} {image.width}x{image.height}]"
    return f"[{mimetype}]"


def _size(mimetype: str, data: bytes) -> Size:
    try:
        for reader in _READERS:
            size = reader(data)
            if size is not None:
                return size
    except struct.error:  # a header cut short
        pass
    if mimetype == "image/svg+xml" or data.lstrip()[:1] == b"<":
        return _svg_size(data)
    return None, None


def _png(data: bytes) -> Size | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return _positive(width), _positive(height)


def _gif(data: bytes) -> Size | None:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return _positive(width), _positive(height)


# Start-of-frame markers: C0 to CF but C4 (Huffman tables), C8 (reserved) and CC (arithmetic).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset((0x01, *range(0xD0, 0xDA)))  # markers without a length


def _jpeg(data: bytes) -> Size | None:
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None, None  # lost: not at a marker
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return _positive(width), _positive(height)
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + length
    return None, None


def _webp(data: bytes) -> Size | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return _positive(width & 0x3FFF), _positive(height & 0x3FFF)
    if chunk == b"VP8L":
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None, None


def _bmp(data: bytes) -> Size | None:
    if data[:2] != b"BM" or len(data) < 26:
        return None
    width, height = struct.unpack("<ii", data[18:26])
    return _positive(abs(width)), _positive(abs(height))


_READERS = (_png, _gif, _jpeg, _webp, _bmp)

# An SVG length: a number and a unit; per CSS, a pixel is 1/96 inch.
_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(px|pt|pc|in|cm|mm|q)?\s*")
_PER_UNIT = {"px": 1.0, "pt": 96 / 72, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 9.6 / 2.54,
             "q": 2.4 / 2.54}  # fmt: skip


def _svg_size(data: bytes) -> Size:
    root = _svg_root_type()()
    # The root tag is near the start: past the XML declaration, a doctype, comments. A
    # declaration past repair stops html.parser with an AssertionError.
    with contextlib.suppress(AssertionError, ValueError):
        root.feed(data[:65536].decode("utf-8", "replace"))
    if root.attrs is None:
        return None, None
    width, height = _length(root.attrs.get("width")), _length(root.attrs.get("height"))
    box = _view_box(root.attrs.get("viewbox", ""))
    if box is not None:
        box_width, box_height = box
        if width is None and height is None:
            width, height = box_width, box_height
        elif width is None and height is not None:
            width = height * box_width / box_height
        elif height is None and width is not None:
            height = width * box_height / box_width
    return _rounded(width), _rounded(height)


@functools.cache
def _svg_root_type() -> Any:
    from html.parser import HTMLParser  # loaded with the first SVG

    class SvgRoot(HTMLParser):
        """The attributes of the first ``<svg>`` tag (html.parser lowercases their names)."""

        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.attrs: dict[str, str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "svg" and self.attrs is None:
                self.attrs = {name: value or "" for name, value in attrs}

    return SvgRoot


def _length(value: str | None) -> float | None:
    match = _LENGTH.fullmatch(value or "")
    if match is None:
        return None  # absent, a percentage, em or ex: no size of its own
    number = float(match.group(1)) * _PER_UNIT[(match.group(2) or "px").lower()]
    return number if number > 0 else None


def _view_box(value: str) -> tuple[float, float] | None:
    parts = value.replace(",", " ").split()
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) != 4 or numbers[2] <= 0 or numbers[3] <= 0:
        return None
    return numbers[2], numbers[3]


def _from_metadata(entry: Any, width: int | None, height: int | None) -> Size:
    if isinstance(entry, dict):
        width = width or _dimension(entry.get("width"))
        height = height or _dimension(entry.get("height"))
    return width, height


def _dimension(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return _rounded(float(value))


def _rounded(value: float | None) -> int | None:
    if value is None or not value < 1e9:  # not NaN or infinite
        return None
    return _positive(round(value))


def _positive(value: int) -> int | None:
    return value if value > 0 else None
