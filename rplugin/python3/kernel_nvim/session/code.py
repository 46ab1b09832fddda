"""The code a session sends, and what it says of the kernel: pure text handling."""

from __future__ import annotations

import textwrap
from typing import Any

from . import fields

Message = dict[str, Any]


def execute_content(code: str) -> Message:
    """An execute_request's content: the code as the user sent it, stdin allowed."""
    return {"code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": True, "stop_on_error": True}  # fmt: skip


def tidy(code: str) -> str:
    """Dedent, so that an indented selection runs, and drop blank lines at either end."""
    lines = code.replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return textwrap.dedent("\n".join(lines))


def describe(info: Message, language: dict[str, Any]) -> str:
    """What a kernel_info_reply says the kernel is: python 3.12.1, ipython 9.0.2."""
    parts = [
        f"{fields.text(language.get('name')) or '?'} {fields.text(language.get('version'))}".strip()
    ]
    implementation = fields.text(info.get("implementation"))
    if implementation:
        parts.append(f"{implementation} {fields.text(info.get('implementation_version'))}".strip())
    return ", ".join(parts)
