"""What a server's websocket said when it would not carry a kernel's messages, in one line that
quotes no token (the URL shown is the server's, without its query)."""

from __future__ import annotations

from .channel import EventKind


def refused(status: int, shown: str) -> tuple[EventKind, str]:
    if status == 404:
        return (
            EventKind.GONE,
            f"{shown} no longer has this kernel (shut down, or the server restarted without it)",
        )
    if status in (401, 403):
        return EventKind.FAILED, f"the server refused the token ({status}): check it"
    return EventKind.FAILED, f"{shown} refused the websocket ({status})"


def untrusted(shown: str, error: Exception) -> str:
    reason = getattr(error, "verify_message", "") or "not trusted"
    return (
        f"{shown}'s certificate is not trusted ({reason}): if it is yours, set its CA "
        "bundle as 'ca' in g:kernel_servers"
    )


def why(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    text = " ".join(str(error).split())
    return (text or type(error).__name__)[:120]
