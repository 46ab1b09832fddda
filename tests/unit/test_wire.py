"""wire.Session against jupyter_client's Session: the two must understand each other exactly."""

from __future__ import annotations

import pytest
from jupyter_client.session import Session as JupyterSession

from kernel_nvim.kernel.wire import DELIMITER, InvalidMessage, Session

KEY = b"a-secret-key-for-the-tests"


def ours(key: bytes = KEY, scheme: str = "hmac-sha256") -> Session:
    return Session(key=key, signature_scheme=scheme)


def theirs(key: bytes = KEY, scheme: str = "hmac-sha256") -> JupyterSession:
    return JupyterSession(key=key, signature_scheme=scheme)


def frames_from(session: JupyterSession, msg_type: str, content: dict[str, object]) -> list[bytes]:
    msg = session.msg(msg_type, content)
    return [bytes(f) for f in session.serialize(msg)]


@pytest.mark.parametrize("scheme", ["hmac-sha256", "hmac-sha512", "hmac-md5"])
def test_jupyter_client_accepts_our_messages(scheme: str) -> None:
    mine = ours(scheme=scheme)
    msg = mine.msg("execute_request", {"code": "print('é')", "silent": False})
    parsed = theirs(scheme=scheme).deserialize(mine.serialize(msg)[1:])
    assert parsed["msg_type"] == "execute_request"
    assert parsed["content"] == {"code": "print('é')", "silent": False}
    assert parsed["header"]["session"] == mine.session
    assert parsed["header"]["msg_id"] == msg["msg_id"]


@pytest.mark.parametrize("scheme", ["hmac-sha256", "hmac-sha512"])
def test_we_accept_jupyter_client_messages_after_routing_identities(scheme: str) -> None:
    frames = [b"routing-id", *frames_from(theirs(scheme=scheme), "stream", {"text": "hi\n"})]
    msg = ours(scheme=scheme).deserialize(frames)
    assert msg["msg_type"] == "stream"
    assert msg["content"] == {"text": "hi\n"}
    assert msg["buffers"] == []


def test_a_reply_carries_its_parent_header() -> None:
    mine = ours()
    request = mine.msg("kernel_info_request", {})
    reply = mine.msg("kernel_info_reply", {"status": "ok"}, parent=request)
    assert mine.deserialize(mine.serialize(reply))["parent_header"] == request["header"]


def test_an_unsigned_message_is_refused() -> None:
    frames = frames_from(theirs(key=b""), "stream", {"text": "evil"})
    with pytest.raises(InvalidMessage, match="unsigned"):
        ours().deserialize(frames)


def test_a_message_signed_with_another_key_is_refused() -> None:
    frames = frames_from(theirs(key=b"another key"), "stream", {"text": "evil"})
    with pytest.raises(InvalidMessage, match="signature"):
        ours().deserialize(frames)


def test_a_changed_content_is_refused() -> None:
    frames = frames_from(theirs(), "stream", {"text": "good"})
    frames[-1] = frames[-1].replace(b"good", b"evil")
    with pytest.raises(InvalidMessage, match="signature"):
        ours().deserialize(frames)


def test_a_replayed_message_is_refused() -> None:
    frames = frames_from(theirs(), "stream", {"text": "once"})
    mine = ours()
    mine.deserialize(frames)
    with pytest.raises(InvalidMessage, match="replayed"):
        mine.deserialize(frames)


@pytest.mark.parametrize(
    "frames",
    [
        [b"no delimiter"],
        [DELIMITER, b"sig", b"{}"],
        [DELIMITER, b"", b"not json", b"{}", b"{}", b"{}"],
        [DELIMITER, b"", b"[]", b"{}", b"{}", b"{}"],
    ],
)
def test_malformed_frames_are_refused(frames: list[bytes]) -> None:
    with pytest.raises(InvalidMessage):
        ours(key=b"").deserialize(frames)


def test_without_a_key_messages_are_unsigned_both_ways() -> None:
    mine = ours(key=b"")
    frames = mine.serialize(mine.msg("execute_request", {"code": "1"}))
    assert frames[1] == b""
    assert theirs(key=b"").deserialize(frames[1:])["content"] == {"code": "1"}
    assert mine.deserialize(frames_from(theirs(key=b""), "stream", {"text": "x"}))


def test_invalid_utf8_in_output_becomes_replacement_characters() -> None:
    sender = theirs()
    msg = sender.msg("stream", {"name": "stdout", "text": "PLACEHOLDER"})
    frames = [bytes(f) for f in sender.serialize(msg)]
    frames[-1] = frames[-1].replace(b"PLACEHOLDER", b"a\xff\xfeb")
    frames[1] = sender.sign(frames[2:6])  # a kernel that signed bytes that are not UTF-8
    assert ours().deserialize(frames)["content"]["text"] == "a\ufffd\ufffdb"


def test_code_with_a_lone_surrogate_is_still_sent() -> None:
    mine = ours()
    frames = mine.serialize(mine.msg("execute_request", {"code": "x = '\ud800'"}))
    assert theirs().deserialize(frames[1:])["content"]["code"] == "x = '\ud800'"


def test_binary_buffers_follow_the_content() -> None:
    sender = theirs()
    msg = sender.msg("display_data", {"data": {}})
    frames = [bytes(f) for f in sender.serialize(msg)] + [b"\x00\x01"]
    assert ours().deserialize(frames)["buffers"] == [b"\x00\x01"]


def test_message_ids_are_unique_and_the_key_is_never_shown() -> None:
    mine = ours()
    ids = {mine.msg("kernel_info_request", {})["msg_id"] for _ in range(100)}
    assert len(ids) == 100
    assert KEY.decode() not in repr(mine)
