"""An image of a bundle is decoded and its size read from its own header, made here by Pillow
(and matplotlib for SVG); bad data is None, never an exception."""

from __future__ import annotations

import base64
import io
import random

import pytest
from PIL import Image as PILImage

from kernel_nvim.output.render.image_info import HEAD_DIGITS, decode, describe


def encoded(fmt: str, width: int, height: int) -> str:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), "red").save(buffer, fmt)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    ("mimetype", "fmt"),
    [("image/png", "PNG"), ("image/gif", "GIF"), ("image/jpeg", "JPEG"),
     ("image/webp", "WEBP"), ("image/bmp", "BMP")],
)  # fmt: skip
def test_the_size_is_read_from_the_images_header(mimetype: str, fmt: str) -> None:
    image = decode(mimetype, encoded(fmt, 37, 21), {})
    assert image is not None
    assert (image.mimetype, image.width, image.height) == (mimetype, 37, 21)
    assert describe(mimetype, image) == f"[{mimetype} 37x21]"


def test_a_large_image_is_decoded_only_as_far_as_its_header() -> None:
    buffer = io.BytesIO()
    PILImage.effect_noise((1200, 900), 60).convert("RGB").save(buffer, "PNG")
    text = base64.b64encode(buffer.getvalue()).decode()
    assert len(text) > HEAD_DIGITS
    image = decode("image/png", text, {})
    assert image is not None and (image.width, image.height) == (1200, 900)
    # The media worker decodes the rest, off the main thread (media/worker.py image_bytes).
    assert image.data == b"" and image.encoded == text


def test_a_large_jpeg_with_a_long_header_says_its_size() -> None:
    buffer = io.BytesIO()
    exif = PILImage.Exif()
    exif[0x010E] = "x" * 60_000  # ImageDescription: 60 KB before the frame's size
    PILImage.effect_noise((640, 480), 60).convert("RGB").save(buffer, "JPEG", exif=exif)
    image = decode("image/jpeg", base64.b64encode(buffer.getvalue()).decode(), {})
    assert image is not None and (image.width, image.height) == (640, 480)


def test_a_small_image_is_decoded_whole() -> None:
    image = decode("image/gif", encoded("GIF", 3, 2), {})
    assert image is not None and image.data.startswith(b"GIF8") and image.encoded == ""


def test_a_lossless_webp_says_its_size_too() -> None:
    buffer = io.BytesIO()
    PILImage.new("RGB", (300, 7)).save(buffer, "WEBP", lossless=True)
    image = decode("image/webp", base64.b64encode(buffer.getvalue()).decode(), {})
    assert image is not None and (image.width, image.height) == (300, 7)


def test_base64_split_in_lines_and_lists_is_decoded() -> None:
    data = encoded("PNG", 5, 6)
    lines = [data[i : i + 20] + "\n" for i in range(0, len(data), 20)]
    image = decode("image/png", lines, {})
    assert image is not None and (image.width, image.height) == (5, 6)


def test_an_svg_is_its_utf8_text_sized_from_width_and_height() -> None:
    svg = ('<?xml version="1.0"?>\n<!-- é --><svg xmlns="http://www.w3.org/2000/svg" '
           'width="120" height="80px"></svg>')  # fmt: skip
    image = decode("image/svg+xml", svg, {})
    assert image is not None and image.data == svg.encode()
    assert (image.width, image.height) == (120, 80)


def test_an_svg_from_matplotlib_is_sized_in_pixels() -> None:
    from matplotlib.figure import Figure  # no pyplot: no backend is chosen for the tests

    buffer = io.StringIO()
    Figure(figsize=(6.4, 4.8)).savefig(buffer, format="svg")
    image = decode("image/svg+xml", buffer.getvalue(), {})
    # 460.8pt x 345.6pt, at 96 pixels an inch
    assert image is not None and (image.width, image.height) == (614, 461)


@pytest.mark.parametrize(
    ("attributes", "size"),
    [('viewBox="0 0 300 150"', (300, 150)),
     ('width="100%" viewBox="0,0,300,150"', (300, 150)),
     ('width="600" viewBox="0 0 300 150"', (600, 300)),
     ('height="1in" viewBox="0 0 200 100"', (192, 96)),
     ('width="2em"', (None, None)),
     ('viewBox="0 0 0 10"', (None, None))],
)  # fmt: skip
def test_an_svg_without_width_or_height_is_sized_by_its_view_box(
    attributes: str, size: tuple[int | None, int | None]
) -> None:
    image = decode("image/svg+xml", f"<svg {attributes}/>", {})
    assert image is not None and (image.width, image.height) == size


def test_the_metadata_tells_what_the_header_cannot() -> None:
    metadata = {"image/svg+xml": {"width": 320.4, "height": 240}}
    image = decode("image/svg+xml", "<svg/>", metadata)
    assert image is not None and (image.width, image.height) == (320, 240)
    assert describe("image/svg+xml", image) == "[image/svg+xml 320x240]"


def test_the_header_wins_over_the_metadata() -> None:
    image = decode("image/png", encoded("PNG", 64, 48), {"image/png": {"width": 32}})
    assert image is not None and (image.width, image.height) == (64, 48)


def test_an_image_of_unknown_size_is_described_without_one() -> None:
    image = decode("image/png", base64.b64encode(b"not a png").decode(), {"image/png": True})
    assert image is not None and (image.width, image.height) == (None, None)
    assert describe("image/png", image) == "[image/png]"


@pytest.mark.parametrize("value", ["@@@", "abc", "", "   ", 42, None, ["a", 1], "é",
                                   "@" * (HEAD_DIGITS + 4)])  # fmt: skip
def test_bad_data_cannot_be_decoded(value: object) -> None:
    assert decode("image/png", value, {}) is None
    assert describe("image/png", None) == "[image/png: cannot decode]"


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "JPEG", "WEBP", "BMP"])
def test_a_header_cut_short_or_garbled_is_no_error(fmt: str) -> None:
    data = base64.b64decode(encoded(fmt, 9, 9))
    rng = random.Random(fmt)
    for cut in range(0, 40):
        decode("image/x", base64.b64encode(data[:cut]).decode(), {})
    for _ in range(200):
        garbled = bytearray(data[:64])
        garbled[rng.randrange(len(garbled))] = rng.randrange(256)
        decode("image/x", base64.b64encode(bytes(garbled)).decode(), {})
