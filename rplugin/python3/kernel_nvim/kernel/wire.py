"""Jupyter messages on the wire: build, sign, check and parse them.

The host links to the kernel without importing jupyter_client: its package imports the asyncio
client, kernel manager and provisioning on the way, and that import alone cost 90-160 ms of the
first :KernelConnect (measured with ``python -X importtime``). A message is small enough to do
by hand, the way the messaging spec lays it out:

    [b"<IDS|MSG>", signature, header, parent_header, metadata, content, *buffers]

where signature is the hex HMAC of the four JSON parts, keyed with the connection file's key
under its ``signature_scheme``. A message whose signature is missing, wrong or seen before is
refused, as jupyter_client's Session refuses it.

``deserialize`` is the one boundary between what a kernel sends and the rest of the plugin, so
everything that must hold of a message holds after it, whatever the transport:

- it raises nothing but :class:`InvalidMessage`, whose ``reason`` says which kind of drop it is;
- the header has ``msg_id`` and ``msg_type`` as str (and ``session``, when present); the
  parent_header is a dict whose ``msg_id``, ``msg_type`` and ``session`` are str when present.
  A message with a malformed parent is refused whole rather than delivered without its parent:
  without it, it could not be routed, and an orphan ``status`` would look like a kernel start;
- nothing is nested deeper than MAX_DEPTH, no number is infinite or NaN (they could not be sent
  back in a reply's parent header), and no str holds a lone surrogate: a JSON ``\\ud800`` escape
  is the only way one can get in (bytes are decoded with 'replace'), and Neovim's msgpack cannot
  encode one, so each becomes U+FFFD here.

Pure Python: no zmq, no pynvim.
"""

from __future__ import annotations

import collections
import enum
import hmac
import itertools
import json
import math
import os
import re
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

PROTOCOL_VERSION = "5.4"
DELIMITER = b"<IDS|MSG>"
MAX_DEPTH = 100  # lists and objects inside one part: far beyond any real message
MAX_INT_DIGITS = 4300  # Python 3.11's own limit; older ones would parse a huge int in O(n^2)

Message = dict[str, Any]


class DropReason(enum.Enum):
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "wrongly signed"
    REPLAYED = "replayed"
    MALFORMED = "malformed"


class InvalidMessage(ValueError):
    """A message that must be dropped: unsigned, wrongly signed, replayed or malformed."""

    def __init__(self, reason: DropReason, why: str) -> None:
        super().__init__(why)
        self.reason = reason


def _malformed(why: str) -> InvalidMessage:
    return InvalidMessage(DropReason.MALFORMED, why)


class Session:
    """One client's identity on the wire and the key that signs its messages."""

    REPLAY_MEMORY = 65536  # signatures remembered to refuse a message sent twice

    def __init__(
        self, key: bytes, signature_scheme: str = "hmac-sha256", username: str = "kernel.nvim"
    ) -> None:
        self.session = uuid.uuid4().hex
        self.bsession = self.session.encode("ascii")
        self.username = username
        self._key = key
        # The connection file's loader has checked the scheme is hmac-<a hashlib digest>.
        self._digest = signature_scheme.removeprefix("hmac-") if key else None
        # next() on a count is atomic: the editor's thread and the I/O thread both make ids.
        self._counter = itertools.count(1)
        self._seen: set[bytes] = set()
        self._seen_order: collections.deque[bytes] = collections.deque()

    def __repr__(self) -> str:  # never show the key
        return f"Session({self.session!r})"

    def msg(self, msg_type: str, content: Message, parent: Message | None = None) -> Message:
        header = {
            "msg_id": f"{self.session}_{os.getpid()}_{next(self._counter)}",
            "msg_type": msg_type,
            "session": self.session,
            "username": self.username,
            "date": datetime.now(timezone.utc).isoformat(),
            "version": PROTOCOL_VERSION,
        }
        return {
            "header": header,
            "msg_id": header["msg_id"],
            "msg_type": msg_type,
            "parent_header": (parent or {}).get("header", {}),
            "metadata": {},
            "content": content,
            "buffers": [],
        }

    def serialize(self, msg: Message) -> list[bytes]:
        parts = [
            _pack(msg["header"]),
            _pack(msg["parent_header"]),
            _pack(msg["metadata"]),
            _pack(msg["content"]),
        ]
        return [DELIMITER, self._sign(parts), *parts, *msg.get("buffers", [])]

    def deserialize(self, frames: list[bytes]) -> Message:
        """The message in ``frames`` (routing identities first), or InvalidMessage."""
        try:
            start = frames.index(DELIMITER) + 1
        except ValueError:
            raise _malformed("no <IDS|MSG> delimiter") from None
        if len(frames) - start < 5:
            raise _malformed("too few frames")
        signature, *parts = frames[start : start + 5]
        self._check(signature, parts)
        return parse_parts(parts, frames[start + 5 :])

    def _sign(self, parts: list[bytes]) -> bytes:
        if self._digest is None:
            return b""
        mac = hmac.new(self._key, digestmod=self._digest)
        for part in parts:
            mac.update(part)
        return mac.hexdigest().encode("ascii")

    def _check(self, signature: bytes, parts: list[bytes]) -> None:
        if self._digest is None:  # key "": the user opted in to unsigned messages
            return
        if not signature:
            raise InvalidMessage(DropReason.UNSIGNED, "unsigned message")
        if not hmac.compare_digest(signature, self._sign(parts)):
            raise InvalidMessage(DropReason.BAD_SIGNATURE, "invalid signature")
        if signature in self._seen:
            raise InvalidMessage(DropReason.REPLAYED, "replayed message")
        self._seen.add(signature)
        self._seen_order.append(signature)
        if len(self._seen_order) > self.REPLAY_MEMORY:
            self._seen.discard(self._seen_order.popleft())


def parse_parts(parts: list[bytes], buffers: list[bytes]) -> Message:
    """The message of its four JSON parts (header, parent_header, metadata, content), which a
    transport has authenticated (a signature here, a server's websocket), or InvalidMessage."""
    try:
        header, parent, metadata, content = (_unpack(p) for p in parts)
    except InvalidMessage:
        raise
    except Exception:  # the promise is "only InvalidMessage", whatever a message holds
        raise _malformed("a part cannot be parsed") from None
    return parse_object({"header": header, "parent_header": parent, "metadata": metadata,
                         "content": content}, buffers)  # fmt: skip


def parse_object(value: Any, buffers: list[bytes]) -> Message:
    """The message of a JSON object parsed with :func:`unpack` (a websocket's JSON form)."""
    if not isinstance(value, dict):
        raise _malformed("message is not an object")
    header: Any = value.get("header")
    content, metadata = value.get("content"), value.get("metadata")
    _check_header(header)
    parent = _checked_parent(value.get("parent_header"))
    if not isinstance(content, dict):
        raise _malformed("content is not an object")
    return {
        "header": header,
        "msg_id": header["msg_id"],
        "msg_type": header["msg_type"],
        "parent_header": parent,
        "metadata": metadata if isinstance(metadata, dict) else {},
        "content": content,
        "buffers": buffers,
    }


def pack(obj: Any) -> bytes:
    """JSON bytes as every part on the wire is written."""
    return _pack(obj)


def unpack(data: bytes) -> Any:
    """JSON bytes as every part is read: InvalidMessage for anything a kernel should not send."""
    return _unpack(data)


def _check_header(header: Any) -> None:
    if not isinstance(header, dict):
        raise _malformed("header is not an object")
    if not isinstance(header.get("msg_id"), str) or not isinstance(header.get("msg_type"), str):
        raise _malformed("header without a text msg_id and msg_type")
    if not isinstance(header.get("session", ""), str):
        raise _malformed("header session is not text")


def _checked_parent(parent: Any) -> Message:
    if parent is None:
        return {}
    if not isinstance(parent, dict):
        raise _malformed("parent header is not an object")
    if any(not isinstance(parent.get(k, ""), str) for k in ("msg_id", "msg_type", "session")):
        raise _malformed("parent header field is not text")
    return parent


def _pack(obj: Any) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, default=str)
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate: let JSON escape it
        return json.dumps(obj, ensure_ascii=True, allow_nan=False, default=str).encode("ascii")


def _unpack(data: bytes) -> Any:
    try:
        value = _DECODER.decode(data.decode("utf-8", "replace"))  # bad bytes become U+FFFD
    except (ValueError, RecursionError):  # json nests by recursion: 100,000 "[" overflow it
        raise _malformed("a part is not JSON") from None
    # Both checks look at the raw bytes first (C speed), and walk the message only when it
    # could be nested too deep or could hold a lone surrogate (only a \ud8.. escape can).
    if isinstance(value, (dict, list)):
        if data.count(b"[") + data.count(b"{") > MAX_DEPTH:
            _check_depth(value)
        if b"\\u" in data and _SURROGATE_ESCAPE.search(data):
            _replace_surrogates(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise ValueError("number out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise ValueError("number too long")
    return int(text)


_SURROGATE = re.compile("[\ud800-\udfff]")
# Python 3.11 refuses ints of over 4300 digits by itself; older ones need the hook.
_INT_HOOK = {} if hasattr(sys, "get_int_max_str_digits") else {"parse_int": _bounded_int}
_DECODER = json.JSONDecoder(
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
    **_INT_HOOK,  # type: ignore[arg-type]
)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _children(node: dict[str, Any] | list[Any]) -> Iterator[tuple[Any, Any]]:
    return iter(node.items()) if isinstance(node, dict) else enumerate(node)


def _check_depth(root: dict[str, Any] | list[Any]) -> None:
    """InvalidMessage if ``root`` is nested deeper than MAX_DEPTH. Iterative: the structure may
    be nested as deep as json's own recursion allowed."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _malformed("nested too deep")
        for _, value in _children(node):
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1))


def _replace_surrogates(root: dict[str, Any] | list[Any]) -> None:
    """Replace every lone surrogate in the keys and strings of ``root`` by U+FFFD, in place."""
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict) and not all(key.isascii() for key in node):
            cleaned = {_clean(key): value for key, value in node.items()}
            node.clear()
            node.update(cleaned)
        for index, value in _children(node):
            if isinstance(value, str):
                if not value.isascii():
                    node[index] = _clean(value)
            elif isinstance(value, (dict, list)):
                stack.append(value)


def _clean(text: str) -> str:
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)
