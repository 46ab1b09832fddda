"""Jupyter messages on the wire: build, sign, check and parse them.

The host links to the kernel without importing jupyter_client: its package imports the asyncio
client, kernel manager and provisioning on the way, and that import alone cost 90-160 ms of the
first :KernelConnect (measured with ``python -X importtime``). A message is small enough to do
by hand, the way the messaging spec lays it out:

    [b"<IDS|MSG>", signature, header, parent_header, metadata, content, *buffers]

where signature is the hex HMAC of the four JSON parts, keyed with the connection file's key
under its ``signature_scheme``. A message whose signature is missing, wrong or seen before is
refused, as jupyter_client's Session refuses it. Pure Python: no zmq, no pynvim.
"""

from __future__ import annotations

import collections
import hmac
import json
import os
import uuid
from datetime import datetime, timezone
from typing import Any

PROTOCOL_VERSION = "5.4"
DELIMITER = b"<IDS|MSG>"

Message = dict[str, Any]


class InvalidMessage(ValueError):
    """A message that must be dropped: unsigned, wrongly signed, replayed or malformed."""


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
        # connection.py has checked the scheme is hmac-<a hashlib digest>
        self._digest = signature_scheme.removeprefix("hmac-") if key else None
        self._count = 0
        self._seen: set[bytes] = set()
        self._seen_order: collections.deque[bytes] = collections.deque()

    def __repr__(self) -> str:  # never show the key
        return f"Session({self.session!r})"

    def msg(self, msg_type: str, content: Message, parent: Message | None = None) -> Message:
        header = {
            "msg_id": self._next_id(),
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
            raise InvalidMessage("no <IDS|MSG> delimiter") from None
        if len(frames) - start < 5:
            raise InvalidMessage("too few frames")
        signature, *parts = frames[start : start + 5]
        self._check(signature, parts)
        header, parent, metadata, content = (_unpack(p) for p in parts)
        if not isinstance(header, dict) or not isinstance(content, dict):
            raise InvalidMessage("header or content is not an object")
        return {
            "header": header,
            "msg_id": header.get("msg_id"),
            "msg_type": header.get("msg_type"),
            "parent_header": parent if isinstance(parent, dict) else {},
            "metadata": metadata if isinstance(metadata, dict) else {},
            "content": content,
            "buffers": frames[start + 5 :],
        }

    def _next_id(self) -> str:
        self._count += 1
        return f"{self.session}_{os.getpid()}_{self._count}"

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
            raise InvalidMessage("unsigned message")
        if not hmac.compare_digest(signature, self._sign(parts)):
            raise InvalidMessage("invalid signature")
        if signature in self._seen:
            raise InvalidMessage("replayed message")
        self._seen.add(signature)
        self._seen_order.append(signature)
        if len(self._seen_order) > self.REPLAY_MEMORY:
            self._seen.discard(self._seen_order.popleft())


def _pack(obj: Any) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, default=str)
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate: let JSON escape it
        return json.dumps(obj, ensure_ascii=True, allow_nan=False, default=str).encode("ascii")


def _unpack(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8", "replace"))  # bad bytes in output become U+FFFD
    except ValueError:
        raise InvalidMessage("a part is not JSON") from None
