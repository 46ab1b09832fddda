"""wire.Session against jupyter_client's Session: the two must understand each other exactly."""

from __future__ import annotations

import pytest
from jupyter_client.session import Session as JupyterSession

from kernel_nvim.kernel.wire import DELIMITER, MAX_DEPTH, DropReason, InvalidMessage, Session

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


# What a signed message may hold: nothing in it raises anything but InvalidMessage.


def signed(parts: dict[str, bytes], key: bytes = KEY) -> list[bytes]:
    """Frames signed with the real key, around raw JSON parts a kernel could have written."""
    raw = {
        "header": b'{"msg_id": "m1", "msg_type": "stream", "session": "s1"}',
        "parent": b"{}",
        "metadata": b"{}",
        "content": b'{"name": "stdout", "text": "x"}',
        **parts,
    }
    body = [raw["header"], raw["parent"], raw["metadata"], raw["content"]]
    return [DELIMITER, theirs(key=key).sign(body), *body]


def refused(frames: list[bytes]) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as excinfo:
        ours().deserialize(frames)
    return excinfo.value


def test_content_nested_a_hundred_thousand_lists_deep_is_refused_as_malformed() -> None:
    deep = b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert refused(signed({"content": deep})).reason is DropReason.MALFORMED


def test_content_nested_deeper_than_the_limit_is_refused_but_not_below_it() -> None:
    def nested(depth: int) -> bytes:  # the content object itself is the first level
        return b'{"data": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"

    assert ours().deserialize(signed({"content": nested(MAX_DEPTH)}))
    assert refused(signed({"content": nested(MAX_DEPTH + 1)})).reason is DropReason.MALFORMED


@pytest.mark.parametrize(
    "number", [b"1e400", b"-1e400", b"NaN", b"Infinity", b"-Infinity", b"1" * 5000]
)
def test_numbers_that_cannot_be_sent_back_are_refused(number: bytes) -> None:
    content = b'{"execution_count": ' + number + b"}"
    assert refused(signed({"content": content})).reason is DropReason.MALFORMED


@pytest.mark.parametrize(
    ("part", "raw"),
    [
        ("header", b'{"msg_id": ["a"], "msg_type": "stream"}'),
        ("header", b'{"msg_id": "m1", "msg_type": 7}'),
        ("header", b'{"msg_type": "stream"}'),
        ("header", b'{"msg_id": "m1", "msg_type": "stream", "session": {}}'),
        ("parent", b'{"msg_id": ["unhashable"]}'),
        ("parent", b'{"msg_id": "p1", "session": 1}'),
        ("parent", b'{"msg_id": "p1", "msg_type": null}'),
        ("parent", b'["not", "an", "object"]'),
        ("content", b'"text"'),
    ],
)
def test_header_fields_of_the_wrong_type_make_the_message_malformed(part: str, raw: bytes) -> None:
    assert refused(signed({part: raw})).reason is DropReason.MALFORMED


def test_a_null_parent_header_means_no_parent() -> None:
    assert ours().deserialize(signed({"parent": b"null"}))["parent_header"] == {}


def test_lone_surrogates_become_replacement_characters_in_every_part() -> None:
    msg = ours().deserialize(
        signed(
            {
                "header": b'{"msg_id": "m\\udc80", "msg_type": "input_request", "session": "s"}',
                "parent": b'{"msg_id": "p\\uD800", "session": "s"}',
                "metadata": b'{"k\\udfff": ["\\ud800"]}',
                "content": b'{"prompt": "name\\ud800? ", "x": {"\\udc00": ["a", "\\udbff"]}}',
            }
        )
    )
    assert msg["msg_id"] == "m\ufffd"
    assert msg["parent_header"]["msg_id"] == "p\ufffd"
    assert msg["metadata"] == {"k\ufffd": ["\ufffd"]}
    assert msg["content"] == {"prompt": "name\ufffd? ", "x": {"\ufffd": ["a", "\ufffd"]}}


def test_surrogate_pairs_stay_the_character_they_encode() -> None:
    content = b'{"text": "\\ud83d\\ude00 and \\u00e9"}'
    assert ours().deserialize(signed({"content": content}))["content"]["text"] == "😀 and é"


def test_no_str_of_a_parsed_message_can_fail_to_encode_as_utf8() -> None:
    content = b'{"a": "\\ud800\\ud800", "b": ["\\udfff\\ud83d"], "\\udabc": {"c": "\\udc00x"}}'
    msg = ours().deserialize(signed({"content": content}))

    def strings(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for k, v in value.items() for s in (k, *strings(v))]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return []

    for text in strings(msg["content"]):
        text.encode("utf-8")  # raises on a lone surrogate


def test_each_kind_of_refusal_says_its_reason() -> None:
    good = frames_from(theirs(), "stream", {"text": "x"})
    mine = ours()
    mine.deserialize(good)
    assert refused(frames_from(theirs(key=b""), "stream", {})).reason is DropReason.UNSIGNED
    bad_key = frames_from(theirs(key=b"other"), "stream", {})
    assert refused(bad_key).reason is DropReason.BAD_SIGNATURE
    with pytest.raises(InvalidMessage) as excinfo:
        mine.deserialize(good)
    assert excinfo.value.reason is DropReason.REPLAYED
