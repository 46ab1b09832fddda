"""An image drawn with Unicode half blocks: each cell is ``▀``, its upper half in the text colour
and its lower half in the background colour, so one row of cells shows two rows of pixels.

A terminal cell is about twice as tall as wide, so half-block pixels are about square and the
image keeps its proportions. Colours are snapped, with Floyd-Steinberg dithering, to the 240
colours of xterm's 256-colour palette beyond the 16 system ones: the preview looks right with
'termguicolors' and in a 256-colour terminal alike, and it needs at most 480 highlight groups
(``KernelAnsi256_N``, ``KernelAnsiBg256_N``, made by lua/kernel/highlights.lua) however many
images there are; Neovim allows 20,000 in all.

Pillow is optional: it is imported here, when the first preview is drawn, and only the host
needs it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from ..output.rich import Chunk, Preview

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

MAX_PIXELS = 64_000_000  # larger images are not previewed: decoding one takes seconds and GBs
UPPER, LOWER = "\u2580", "\u2584"  # ▀ ▄
OPAQUE = 128  # alpha from which a pixel is drawn; below, the window's background shows
_AVERAGED = ("RGB", "RGBA", "L", "LA")  # modes resized as they are; a palette's indices are not


class TooLarge(ValueError):
    pass


def fit(width: int, height: int, rows: int, columns: int) -> tuple[int, int]:
    """The size in half-block pixels of an image of ``width`` x ``height``, shrunk (never
    enlarged), proportions kept, to at most ``columns`` wide and ``rows`` rows of cells."""
    scale = min(1.0, columns / max(1, width), 2 * rows / max(1, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def draw(data: bytes, rows: int, columns: int) -> Preview:
    """The half-block rows of the image in ``data`` (PNG, JPEG, GIF: its first frame).
    Raises ImportError without Pillow, TooLarge, and what Pillow raises for a broken image."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > MAX_PIXELS:
            raise TooLarge(f"{image.width}x{image.height} is too large to preview")
        image.draft("RGB", fit(image.width, image.height, rows, columns))  # JPEG: decoded small
        source = image if image.mode in _AVERAGED else image.convert("RGBA")
        size = fit(source.width, source.height, rows, columns)
        # reducing_gap: shrink by whole factors first, 10x faster than a box filter alone.
        small = source.resize(size, Image.Resampling.BOX, reducing_gap=3.0)
    return _cells(small.convert("RGBA"))


def _cells(rgba: PILImage) -> Preview:
    from PIL import Image

    width, height = rgba.size
    indexed = rgba.convert("RGB").quantize(palette=_palette(), dither=Image.Dither.FLOYDSTEINBERG)
    colours = indexed.tobytes()
    alpha = rgba.getchannel("A").tobytes()
    drawn: list[tuple[Chunk, ...]] = []
    for top in range(0, height, 2):
        bottom = top + 1
        cells = []
        for x in range(width):
            upper = colours[top * width + x] if alpha[top * width + x] >= OPAQUE else None
            lower = None
            if bottom < height and alpha[bottom * width + x] >= OPAQUE:
                lower = colours[bottom * width + x]
            cells.append(_cell(upper, lower))
        drawn.append(_merge(cells))
    return tuple(drawn)


def _cell(upper: int | None, lower: int | None) -> Chunk:
    if upper is None:
        return (" ", ()) if lower is None else (LOWER, (_FG[lower],))
    return (UPPER, (_FG[upper],) if lower is None else (_FG[upper], _BG[lower]))


def _merge(cells: list[Chunk]) -> tuple[Chunk, ...]:
    """Runs of cells drawn alike in one chunk: fewer chunks for Neovim to lay out."""
    merged: list[Chunk] = []
    for text, groups in cells:
        if merged and merged[-1][1] == groups:
            merged[-1] = (merged[-1][0] + text, groups)
        else:
            merged.append((text, groups))
    return tuple(merged)


def _xterm() -> list[tuple[int, tuple[int, int, int]]]:
    """Colours 16 to 255 of xterm's palette, with their numbers: a 6x6x6 cube, then 24 greys."""
    levels = (0, 95, 135, 175, 215, 255)
    cube = [(16 + i, (levels[i // 36], levels[i // 6 % 6], levels[i % 6])) for i in range(216)]
    greys = [(232 + i, (8 + 10 * i, 8 + 10 * i, 8 + 10 * i)) for i in range(24)]
    return cube + greys


_COLOURS = _xterm()
# Pillow's palettes hold 256 entries: the 16 left over repeat black, which they then draw.
_NUMBERS = [n for n, _ in _COLOURS] + [16] * (256 - len(_COLOURS))
_FG = [f"KernelAnsi256_{n}" for n in _NUMBERS]
_BG = [f"KernelAnsiBg256_{n}" for n in _NUMBERS]
_PALETTE: list[PILImage] = []


def _palette() -> PILImage:
    if not _PALETTE:
        from PIL import Image

        palette = Image.new("P", (1, 1))
        flat = [c for _, rgb in _COLOURS for c in rgb]
        palette.putpalette(flat + [0, 0, 0] * (256 - len(_COLOURS)))
        _PALETTE.append(palette)
    return _PALETTE[0]
