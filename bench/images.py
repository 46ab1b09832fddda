"""Images in the bench: a 4 MB PNG (noise, which does not compress) displayed by the kernel.

Its `[image/png WxH]` line is timed beside a bare client's receipt of the same display_data,
and beside the line of an 8x8 PNG shown the same way: the difference between the two lines is
what the image's size adds before its line appears (the preview is drawn after, in the host's
worker thread, and must not delay it). The worker's part, decoding the PNG and
drawing its half blocks, is timed alone, in this process, with the host's own code. Used by
run.py; the same alternation of floor and plugin.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from harness import REPO, BareClient, Editor

sys.path.insert(0, str(REPO / "rplugin" / "python3"))
from kernel_nvim.media import blocks  # noqa: E402  (the host's code, timed alone)

SIDE = 1160  # 1160 x 1160 RGB noise: a PNG of about 4 MB
LINE, SMALL_LINE = f"[image/png {SIDE}x{SIDE}]", "[image/png 8x8]"
SETUP = (
    "import io, os\n"
    "from PIL import Image as _Picture\n"
    "from IPython.display import Image, display\n"
    f"_noise = _Picture.frombytes('RGB', ({SIDE}, {SIDE}), os.urandom({SIDE * SIDE * 3}))\n"
    "_buffer = io.BytesIO(); _noise.save(_buffer, 'PNG'); _bench_png = _buffer.getvalue()\n"
    "_buffer = io.BytesIO(); _noise.resize((8, 8)).save(_buffer, 'PNG')\n"
    "_bench_small = _buffer.getvalue()\n"
)
SHOW, SHOW_SMALL = "display(Image(data=_bench_png))", "display(Image(data=_bench_small))"

Alternate = Callable[[Callable[[], Any], Callable[[], Any]], None]
Summary = Callable[[list[float]], dict[str, float]]


def floor_seconds(bare: BareClient) -> float:
    """A bare client's time from execute_request to the display_data of the PNG."""
    bare.drain()
    start = time.perf_counter()
    msg_id = bare.client.execute(SHOW)
    bare.until(msg_id, lambda m: m["msg_type"] == "display_data")
    elapsed = time.perf_counter() - start
    bare.until(msg_id, lambda m: m["msg_type"] == "status"
               and m["content"]["execution_state"] == "idle")  # fmt: skip
    return elapsed


def plugin_seconds(ed: Editor, show: str = SHOW, line: str = LINE) -> float:
    ticket = ed.arm(line, timeout=120)
    start = time.perf_counter()
    ed.nvim.exec_lua("require('kernel.rpc').notify('send', ..., {})", show, async_=True)
    ed.wait("bench_line", ticket)
    elapsed = time.perf_counter() - start
    ed.wait_idle()
    return elapsed


def decode_seconds(png: bytes, rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        blocks.draw(png, 20, 80)
        seconds.append(time.perf_counter() - start)
    return seconds


def noise_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (SIDE, SIDE), os.urandom(SIDE * SIDE * 3)).save(out, "PNG")
    return out.getvalue()


def images(
    ed: Editor, bare: BareClient, alternate: Alternate, summary: Summary, rounds: int
) -> dict[str, Any]:
    """The line of a 4 MB PNG (plugin and floor), with half-block previews on; the worker's
    decode and drawing of such a PNG."""
    bare.execute(SETUP)
    ed.nvim.command("set termguicolors | let g:kernel_image = 'blocks'")
    plugin: list[float] = []
    small: list[float] = []
    floor: list[float] = []

    def both() -> None:
        small.append(plugin_seconds(ed, SHOW_SMALL, SMALL_LINE))
        plugin.append(plugin_seconds(ed))

    alternate(lambda: floor.append(floor_seconds(bare)), both)
    png = noise_png()
    return {"plugin": summary([s * 1000 for s in plugin]),
            "small": summary([s * 1000 for s in small]),
            "floor": summary([s * 1000 for s in floor]),
            "decode": summary([s * 1000 for s in decode_seconds(png, max(5, rounds))]),
            "png_mb": len(png) / 1e6}  # fmt: skip
