"""Read and vet one connection file: well formed, safe to use, its kernel seemingly alive.

Every problem the user can act on is raised as a one-line KernelError, and no error or warning
here ever quotes a value read from the file: in a mangled file any of them could be the key.
Pure Python with no Neovim dependency.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import socket
import stat
from dataclasses import dataclass, field
from typing import Any

from ...errors import KernelError


@dataclass(frozen=True)
class ConnectionInfo:
    """A validated connection file; ``info`` holds the key, so it is kept out of the repr."""

    path: str
    info: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def is_local(self) -> bool:
        if self.info.get("transport") == "ipc":
            return True
        return _is_local_ip(str(self.info.get("ip", "")))

    @property
    def ports(self) -> dict[str, int]:
        return {channel: int(self.info[f"{channel}_port"]) for channel in CHANNELS}


CHANNELS = ("shell", "iopub", "stdin", "control", "hb")


def load_connection_file(path: str, allow_unsigned: bool = False) -> ConnectionInfo:
    """Read and validate a connection file, filling jupyter_client's defaults."""
    return parse_connection_info(path, _read_bytes(path), allow_unsigned)


def parse_connection_info(path: str, raw: bytes, allow_unsigned: bool = False) -> ConnectionInfo:
    """Validate ``raw``, the text of the connection file at ``path`` read into memory (from
    another host: ``ssh``), with the checks of a local file; no error quotes a value of it."""
    name = os.path.basename(path)
    info = {**_DEFAULTS, **_json_object(name, raw)}
    _check_required(name, info)
    _check_types(name, info)
    _check_curve(name, info)
    if info["transport"] == "ipc" and not os.path.isabs(info["ip"]):
        # Relative to the kernel's working directory, which we cannot know: Jupyter puts the
        # sockets beside the connection file, so that is where they are looked for.
        info["ip"] = os.path.join(os.path.dirname(os.path.abspath(path)), info["ip"])
    if not info["key"] and not allow_unsigned:
        raise KernelError(
            f"{name} has an empty key, so its messages would be unsigned; "
            "set g:kernel_allow_unsigned = 1 to connect anyway"
        )
    return ConnectionInfo(os.path.abspath(path), info)


def security_warnings(conn: ConnectionInfo) -> list[str]:
    """One-line warnings about a connection that works but may expose the kernel."""
    warnings = [*_file_warnings(conn.path), *_directory_warnings(conn.path)]
    tcp = conn.info.get("transport") == "tcp"
    if tcp and not conn.is_local and not conn.info.get("curve_publickey"):
        warnings.append(f"{conn.name} names another host: the traffic to it is not encrypted")
    return warnings


def looks_alive(conn: ConnectionInfo, timeout: float = 0.2) -> bool:
    """Guess cheaply whether the kernel still listens, without speaking the Jupyter protocol."""
    try:
        ip, port = str(conn.info["ip"]), int(conn.info["hb_port"])
        if conn.info.get("transport") == "ipc":
            return os.path.exists(f"{ip}-{port}")
        with socket.create_connection((_dialable(ip), port), timeout=timeout):
            return True
    # A guess must never break the caller: malformed info or odd addresses just mean "no".
    except (OSError, LookupError, ValueError, TypeError, OverflowError, UnicodeError):
        return False


# jupyter_client fills these in when a connection file omits them.
_DEFAULTS: dict[str, Any] = {"transport": "tcp", "signature_scheme": "hmac-sha256"}
_PORT_KEYS = tuple(f"{channel}_port" for channel in CHANNELS)
_STRING_KEYS = ("ip", "key", "transport", "signature_scheme")
_OPTIONAL_STRING_KEYS = ("curve_publickey", "curve_secretkey")
_REQUIRED_KEYS = _PORT_KEYS + _STRING_KEYS
# shake_* digests need a length, so hmac cannot use them even though hashlib has them.
_HMAC_DIGESTS = frozenset(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake_"))
_LOCAL_NAMES = frozenset({"localhost", "0.0.0.0"})
_Z85_KEY = re.compile(r"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}")
_BY_OTHERS = 0o066  # read or write, by the group or the world


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        name = os.path.basename(path)
        raise KernelError(f"cannot read {name}: {e.strerror or type(e).__name__}") from None


def _json_object(name: str, raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise KernelError(f"{name} is not a connection file: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        # Only the line number: the parser's message could quote the text around the key.
        raise KernelError(
            f"{name} is not a connection file: not valid JSON (line {e.lineno})"
        ) from None
    except RecursionError:
        raise KernelError(f"{name} is not a connection file: nested too deep") from None
    if not isinstance(data, dict):
        raise KernelError(f"{name} is not a connection file: not a JSON object")
    return data


def _check_required(name: str, info: dict[str, Any]) -> None:
    missing = [k for k in _REQUIRED_KEYS if k not in info]
    if missing:
        raise KernelError(f"{name} is not a connection file: missing {', '.join(missing)}")


def _check_types(name: str, info: dict[str, Any]) -> None:
    # Offending values are never quoted: in a mangled file one of them could be the key.
    bad_ports = [k for k in _PORT_KEYS if not _is_port(info[k])]
    if bad_ports:
        raise KernelError(f"{name} is not a connection file: bad {', '.join(bad_ports)}")
    texts = [*_STRING_KEYS, *(k for k in _OPTIONAL_STRING_KEYS if info.get(k) is not None)]
    not_strings = [k for k in texts if not isinstance(info[k], str)]
    if not_strings:
        raise KernelError(f"{name} is not a connection file: {', '.join(not_strings)} not text")
    # A JSON "\udc80" escape is a str Python cannot encode: the key would fail at the first
    # signature, with the key itself in the exception.
    not_utf8 = [k for k in texts if not _encodes(info[k])]
    if not_utf8:
        raise KernelError(
            f"{name} is not a connection file: {', '.join(not_utf8)} not valid Unicode"
        )
    if info["transport"] not in ("tcp", "ipc"):
        raise KernelError(f"{name} has an unsupported transport (expected tcp or ipc)")
    if not _is_hmac_scheme(info["signature_scheme"]):
        raise KernelError(
            f"{name} has an unsupported signature_scheme (expected hmac-<hash>, e.g. hmac-sha256)"
        )


def _check_curve(name: str, info: dict[str, Any]) -> None:
    """CurveZMQ keys (jupyter_client 8.9+): Z85 text of 40 characters, never quoted either."""
    public, secret = info.get("curve_publickey"), info.get("curve_secretkey")
    if secret and not public:
        raise KernelError(f"{name} has a curve_secretkey but no curve_publickey")
    bad = [k for k, v in (("curve_publickey", public), ("curve_secretkey", secret))
           if v and not _Z85_KEY.fullmatch(v)]  # fmt: skip
    if bad:
        raise KernelError(
            f"{name} is not a connection file: bad {', '.join(bad)} (expected 40 Z85 characters)"
        )


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_port(value: Any) -> bool:
    # bool is an int subclass, but "shell_port": true is not a port.
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def _is_hmac_scheme(scheme: str) -> bool:
    prefix, _, digest = scheme.partition("-")
    return prefix == "hmac" and digest in _HMAC_DIGESTS


def _is_local_ip(ip: str) -> bool:
    if ip.lower() in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False  # a host name: resolving it could block, so treat it as remote
    return address.is_loopback or address.is_unspecified


def _dialable(ip: str) -> str:
    # A kernel bound to every interface is reached through loopback.
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(ip, ip)


def _file_warnings(path: str) -> list[str]:
    if os.name == "nt":
        return []  # POSIX modes say nothing about who can read or write a file on Windows
    name = os.path.basename(path)
    warnings = []
    if os.path.islink(path):
        # Whoever can change the link can point it at a kernel of theirs.
        warnings.append(f"{name} is a symbolic link to {os.path.realpath(path)}")
    try:
        st = os.stat(path)
    except OSError:
        return warnings
    mode = stat.S_IMODE(st.st_mode)
    others = _who(mode & 0o044, mode & 0o022)
    if others:
        warnings.append(f"{name} is {others} by other users (mode {mode:04o})")
    if st.st_uid != os.getuid():
        warnings.append(f"{name} belongs to another user")
    return warnings


def _directory_warnings(path: str) -> list[str]:
    """Warnings about the directories of the file (and of its target, for a link).

    Whoever can write a directory can replace the file in it with one for a kernel of theirs,
    and whoever can read it sees which kernels run. A sticky directory (/tmp) is safe to write:
    others cannot replace or remove a file of ours there.
    """
    if os.name == "nt":
        return []
    warnings = []
    dirs = dict.fromkeys([os.path.dirname(os.path.abspath(path)),
                          os.path.dirname(os.path.realpath(path))])  # fmt: skip
    for directory in dirs:
        try:
            mode = stat.S_IMODE(os.stat(directory).st_mode)
        except OSError:
            continue
        if mode & 0o022 and not mode & stat.S_ISVTX:
            warnings.append(f"{directory} is writable by other users (mode {mode:04o})")
    return warnings


def _who(readable: int, writable: int) -> str:
    if readable and writable:
        return "readable and writable"
    return "readable" if readable else "writable" if writable else ""
