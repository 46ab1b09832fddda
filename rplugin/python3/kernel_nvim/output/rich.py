"""What an output holds beyond its text: the bundle it came from, the forms not shown, images.

A display or result is shown as text in the output buffer; a :class:`Rich` rides along with its
item so that the editor can mark it (richer forms exist), place an image under it, highlight it
as markdown or json, and open its richest form outside Neovim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# An image drawn with half blocks, as Neovim's virt_lines take it: rows of (text, highlight
# groups) chunks. Made by the host's media worker (media/blocks.py), off the main thread.
Chunk = tuple[str, tuple[str, ...]]
Preview = tuple[tuple[Chunk, ...], ...]


@dataclass(frozen=True)
class Image:
    """An image of a bundle, decoded from base64 (or, for SVG, its UTF-8 text)."""

    mimetype: str
    data: bytes
    width: int | None = None  # pixels, when the header (or the bundle's metadata) says
    height: int | None = None
    # Or, with ``data`` empty, the base64 text as it came: decoding 4 MB takes the main thread
    # 30 ms, so the media worker does it (media/worker.py image_bytes), when it needs the bytes.
    encoded: str = ""


@dataclass
class Rich:
    """The bundle of one display or result, and how it is shown."""

    bundle: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    shown: str = ""  # the mimetype whose text is in the buffer ("" when none is)
    richer: tuple[str, ...] = ()  # other forms, richest first, that :KernelOpen can open
    syntax: str = ""  # the filetype whose highlighting suits the text (markdown, json, tex)
    image: Image | None = None  # the bundle's image, if any: placed under the item's line
    lead: int = 0  # the item's lines before the shown form's text: a result's Out[n]: line
    # Filled in later by the media worker (media/worker.py), then the item is sent again.
    file: str = ""  # the image written to a private temp file, to place or open
    preview: Preview = ()  # the image drawn with half blocks, at most g:kernel_image_rows rows

    @property
    def marked(self) -> bool:
        """Whether the editor needs to know of this item beyond its lines."""
        return bool(self.richer or self.syntax or self.image)
