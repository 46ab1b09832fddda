"""The kernel's input() and getpass(): asked in the editor, answered on the stdin channel."""

from __future__ import annotations

from typing import Any

from ..editor.protocol import Ask
from . import fields

Message = dict[str, Any]


class Stdin:
    def __init__(self) -> None:
        self.waiting: dict[str, Message] = {}  # input_request msg_id -> the request
        self.asks: list[Ask] = []  # for the editor, taken at each update

    def on_request(self, msg: Message) -> None:
        content = msg["content"]
        request_id = str(msg["header"]["msg_id"])
        self.waiting[request_id] = msg
        self.asks.append({"id": request_id, "prompt": fields.text(content.get("prompt")),
                          "password": bool(content.get("password"))})  # fmt: skip

    def answer(self, request_id: str) -> Message | None:
        """The request the user answered, or None if no kernel waits for it any more."""
        return self.waiting.pop(request_id, None)

    def take_all(self) -> list[Message]:
        """Every request still waiting: answered empty when we leave, or the kernel would wait."""
        waiting = list(self.waiting.values())
        self.waiting.clear()
        return waiting
