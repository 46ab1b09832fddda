"""Jupyter messages in a Jupyter Server's kernel websocket: the two forms a server speaks.

``v1.kernel.websocket.jupyter.org`` (the subprotocol of jupyter_server 2): one binary frame per
message, the same four JSON parts a kernel's zmq frames hold, and its buffers, behind a table of
offsets::

    n (8 bytes, little endian), n offsets (8 bytes each), channel, header, parent_header,
    metadata, content, buffers...

where offset i is where part i starts and the last one is where the frame ends. The legacy form
(servers that do not offer the subprotocol, such as older Kernel Gateways): a text frame with the
message as one JSON object and its ``channel``; a message with buffers comes as a binary frame
(4-byte big-endian count and offsets, the JSON, then the buffers).

The server signs and checks the kernel's messages itself: on the websocket they carry no
signature; the server's token and TLS are what make it ours. What is read goes through the same
checks as a zmq message (``wire.parse_parts``), and raises only InvalidMessage. Pure Python.
"""

from __future__ import annotations

import struct
from typing import Any

from .wire import DropReason, InvalidMessage, Message, pack, parse_object, parse_parts, unpack

V1 = "v1.kernel.websocket.jupyter.org"
CHANNELS = ("shell", "iopub", "stdin", "control")


def encode(msg: Message, channel: str, protocol: str) -> tuple[bytes, bool]:
    """The frame's payload for ``msg`` on ``channel``, and whether it is a binary frame."""
    parts = [pack(msg["header"]), pack(msg["parent_header"]), pack(msg["metadata"]),
             pack(msg["content"])]  # fmt: skip
    if protocol == V1:
        return _v1(channel.encode("utf-8"), [*parts, *msg.get("buffers", [])]), True
    body = {"header": msg["header"], "parent_header": msg["parent_header"],
            "metadata": msg["metadata"], "content": msg["content"], "channel": channel}  # fmt: skip
    return pack(body), False


def decode(payload: bytes | str, binary: bool, protocol: str) -> tuple[str, Message]:
    """The channel and message of one frame; InvalidMessage for anything else."""
    if protocol == V1:
        if not binary or isinstance(payload, str):
            raise _bad("a text frame in the v1 protocol")
        channel, parts = _parts_v1(payload)
        if len(parts) < 4:
            raise _bad("too few parts")
        return _channel(channel), parse_parts(parts[:4], parts[4:])
    data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else payload
    buffers: list[bytes] = []
    if binary:
        data, buffers = _legacy_binary(data)
    value: Any = unpack(data)
    channel = value.pop("channel", "") if isinstance(value, dict) else ""
    return _channel(channel if isinstance(channel, str) else ""), parse_object(value, buffers)


def _v1(channel: bytes, parts: list[bytes]) -> bytes:
    offsets = [8 * (1 + 1 + len(parts) + 1)]
    offsets.append(offsets[-1] + len(channel))
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    head = struct.pack(f"<{len(offsets) + 1}Q", len(offsets), *offsets)
    return b"".join([head, channel, *parts])


def _parts_v1(data: bytes) -> tuple[str, list[bytes]]:
    if len(data) < 8:
        raise _bad("a frame shorter than its offset count")
    (count,) = struct.unpack_from("<Q", data)
    if not 2 <= count <= 1 + 64 or len(data) < 8 * (1 + count):
        raise _bad("a bad offset table")
    offsets = struct.unpack_from(f"<{count}Q", data, 8)
    if offsets[0] != 8 * (1 + count) or list(offsets) != sorted(offsets) or offsets[-1] > len(data):
        raise _bad("offsets out of order or out of the frame")
    pieces = [data[a:b] for a, b in zip(offsets, offsets[1:])]
    try:
        channel = pieces[0].decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("a channel name that is not text") from None
    return channel, pieces[1:]


def _legacy_binary(data: bytes) -> tuple[bytes, list[bytes]]:
    if len(data) < 8:
        raise _bad("a binary frame too short")
    (count,) = struct.unpack_from("!I", data)
    if not 1 <= count <= 64 or len(data) < 4 * (1 + count):
        raise _bad("a bad offset table")
    offsets = [*struct.unpack_from(f"!{count}I", data, 4), len(data)]
    if list(offsets) != sorted(offsets) or offsets[0] < 4 * (1 + count):
        raise _bad("offsets out of order or out of the frame")
    pieces = [data[a:b] for a, b in zip(offsets, offsets[1:])]
    return pieces[0], pieces[1:]


def _channel(name: str) -> str:
    if name not in CHANNELS:
        raise _bad("no such channel")
    return name


def _bad(why: str) -> InvalidMessage:
    return InvalidMessage(DropReason.MALFORMED, why)
