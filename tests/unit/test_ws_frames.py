"""The websocket forms of a message, against jupyter_server's own encoders and decoders."""

from __future__ import annotations

import json

import pytest

from kernel_nvim.kernel import ws_frames
from kernel_nvim.kernel.wire import InvalidMessage, Session

base = pytest.importorskip("jupyter_server.services.kernels.connection.base")


def _msg(**content: object) -> dict:
    return Session(b"").msg("execute_request", {"code": "print(1)", **content})


def test_v1_frame_is_what_the_server_reads() -> None:
    msg = _msg()
    payload, binary = ws_frames.encode(msg, "shell", ws_frames.V1)
    assert binary
    channel, parts = base.deserialize_msg_from_ws_v1(payload)
    assert channel == "shell"
    assert json.loads(parts[0]) == msg["header"]
    assert json.loads(parts[3]) == msg["content"]


def test_v1_frame_of_the_server_is_read_with_its_buffers() -> None:
    msg = _msg()
    parts = [json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata",
                                                   "content")]  # fmt: skip
    payload = base.serialize_msg_to_ws_v1([*parts, b"\x00\x01buffer"], "iopub")
    channel, got = ws_frames.decode(payload, True, ws_frames.V1)
    assert channel == "iopub"
    assert got["msg_id"] == msg["msg_id"] and got["content"]["code"] == "print(1)"
    assert got["buffers"] == [b"\x00\x01buffer"]


def test_json_frames_both_ways() -> None:
    msg = _msg()
    payload, binary = ws_frames.encode(msg, "stdin", "")
    assert not binary
    sent = json.loads(payload)
    assert sent["channel"] == "stdin" and sent["header"] == msg["header"]
    reply = {**sent, "channel": "iopub"}
    channel, got = ws_frames.decode(json.dumps(reply), False, "")
    assert channel == "iopub" and got["msg_type"] == "execute_request"


def test_legacy_binary_frame_with_buffers() -> None:
    msg = {**_msg(), "channel": "iopub", "buffers": [b"abc", b"defg"]}
    msg.pop("msg_id"), msg.pop("msg_type")
    payload = base.serialize_binary_message(msg)
    channel, got = ws_frames.decode(payload, True, "")
    assert channel == "iopub" and got["buffers"] == [b"abc", b"defg"]


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x01" + b"\x00" * 7, b"\xff" * 8 + b"\x00" * 64, b"\x03" + b"\x00" * 100,
     "text in v1"],
)  # fmt: skip
def test_bad_v1_frames_are_invalid_messages(payload: bytes | str) -> None:
    with pytest.raises(InvalidMessage):
        ws_frames.decode(payload, isinstance(payload, bytes), ws_frames.V1)


@pytest.mark.parametrize("text", ["[]", "{}", '{"channel": "nowhere"}', "not json", '"x"',
                                  '{"channel": "iopub", "header": {}}'])  # fmt: skip
def test_bad_json_frames_are_invalid_messages(text: str) -> None:
    with pytest.raises(InvalidMessage):
        ws_frames.decode(text, False, "")


def test_a_wrong_channel_in_v1_is_refused() -> None:
    msg = _msg()
    payload, _ = ws_frames.encode(msg, "shell", ws_frames.V1)
    bad = payload.replace(b"shell", b"shelx", 1)
    with pytest.raises(InvalidMessage):
        ws_frames.decode(bad, True, ws_frames.V1)
