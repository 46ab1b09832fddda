"""The code sent to a kernel: tidied as a selection needs, and the request that runs it."""

from __future__ import annotations

import textwrap
from typing import Any


def execute_content(code: str) -> dict[str, Any]:
    """The content of an execute_request that runs ``code`` as a user's cell."""
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
