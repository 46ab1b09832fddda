"""Opening a server's kernel websocket, and what it said when it would not carry the kernel's
messages, in one line that quotes no token (the URL shown is the server's, without its query)."""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING, Any

from . import ws_frames
from .channel import EventKind

if TYPE_CHECKING:
    from .ws_channel import WsEndpoint


def dial(endpoint: WsEndpoint) -> tuple[Any, tuple[EventKind, str] | None]:
    """The websocket (websocket-client's), open; else None, and how the link ends and why."""
    import ssl

    import websocket

    sslopt: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED}
    if endpoint.ca_file:
        sslopt["ca_certs"] = endpoint.ca_file
    options: dict[str, Any] = dict(header=dict(endpoint.headers), sslopt=sslopt, timeout=10,
                   skip_utf8_validation=True, enable_multithread=False)  # fmt: skip
    try:
        try:
            return websocket.create_connection(endpoint.url, subprotocols=[ws_frames.V1],
                                               **options), None  # fmt: skip
        except websocket.WebSocketBadStatusException:
            raise
        except websocket.WebSocketException:
            # A server that offers no subprotocol: websocket-client refuses its answer
            # ("Invalid WebSocket Header"); ask again without one, for the JSON form.
            return websocket.create_connection(endpoint.url, **options), None
    except websocket.WebSocketBadStatusException as e:
        return None, refused(e.status_code, endpoint.shown)
    except ssl.SSLCertVerificationError as e:
        return None, (EventKind.FAILED, untrusted(endpoint.shown, e))
    except (OSError, websocket.WebSocketException) as e:
        return None, (EventKind.FAILED, f"cannot reach {endpoint.shown}: {why(e)}")


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


def ack_at_once(ws: Any) -> None:
    """ACK what comes next at once (again after each read: Linux falls back to delayed ACKs).
    Jupyter Server keeps Nagle on: without, each frame waits 40 ms for the ACK of the last."""
    with contextlib.suppress(OSError, AttributeError):
        ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
