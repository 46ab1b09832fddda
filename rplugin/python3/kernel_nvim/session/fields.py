"""A kernel, or anything that can write to its ports, can send any JSON: each field is read
with its type checked where it is used, and a wrong type counts as absent."""

from __future__ import annotations

from typing import Any


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parent_id(msg: dict[str, Any]) -> str:
    """The msg_id of the request a message is about ("" if none)."""
    return text(mapping(msg.get("parent_header")).get("msg_id"))


def describe(info: dict[str, Any], language: dict[str, Any]) -> str:
    """What a kernel_info_reply says the kernel is: python 3.12.1, ipython 9.0.2."""
    parts = [f"{text(language.get('name')) or '?'} {text(language.get('version'))}".strip()]
    implementation = text(info.get("implementation"))
    if implementation:
        parts.append(f"{implementation} {text(info.get('implementation_version'))}".strip())
    return ", ".join(parts)
