"""Find, read and vet the connection files of Jupyter kernels that are already running: where
kernels write them, which one a user means by an empty, partial or full name, whether the file is
well formed and safe to use, whether its kernel still seems to be alive, and which local process
serves it so a kernel that ignores interrupt_request can still be sent SIGINT. Pure Python with no
Neovim dependency; every problem the user can act on is raised as a one-line KernelError that never
contains the connection key.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import ipaddress
import json
import os
import re
import socket
import stat
from dataclasses import dataclass, field
from typing import Any

from jupyter_core.paths import jupyter_runtime_dir

from .errors import KernelError


@dataclass(frozen=True)
class ConnectionInfo:
    """A validated connection file; ``info`` holds the key, so it is kept out of the repr."""

    path: str
    info: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def short_name(self) -> str:
        name = self.name
        return name[: -len(".json")] if name.endswith(".json") else name

    @property
    def is_local(self) -> bool:
        if self.info.get("transport") == "ipc":
            return True
        return _is_local_ip(str(self.info.get("ip", "")))


def search_dirs() -> list[str]:
    """Directories where kernels write connection files, runtime dir first; only existing ones."""
    profiles = os.path.join(os.path.expanduser("~"), ".ipython", "profile_*", "security")
    candidates = [jupyter_runtime_dir(), *sorted(glob.glob(profiles))]
    return _unique_real([d for d in candidates if os.path.isdir(d)])


def list_connection_files(dirs: list[str] | None = None) -> list[str]:
    """Absolute paths of ``kernel-*.json`` files in ``dirs``, newest modification time first."""
    found: list[tuple[float, str]] = []
    for path in _unique_real(_glob_kernel_files(_dirs_or_default(dirs))):
        mtime = _mtime(path)
        if mtime is not None:
            found.append((mtime, path))
    # sorted() is stable, so files with equal mtimes keep the search order of their dirs.
    return [path for _, path in sorted(found, key=lambda item: -item[0])]


def resolve_connection_file(target: str, cwd: str, dirs: list[str] | None = None) -> str:
    """The connection file a user means by ``target``: empty, a path, or a name fragment."""
    target = target.strip()
    dirs = _dirs_or_default(dirs)
    if not target:
        return _newest_connection_file(dirs)
    path = _as_path(target, cwd)
    if path is not None:
        return path
    return _match_fragment(target, dirs)


def load_connection_file(path: str, allow_unsigned: bool = False) -> ConnectionInfo:
    """Read and validate a connection file, filling jupyter_client's defaults."""
    name = os.path.basename(path)
    info = {**_DEFAULTS, **_read_json_object(path)}
    _check_required(name, info)
    _check_types(name, info)
    if not info["key"] and not allow_unsigned:
        raise KernelError(
            f"{name} has an empty key, so its messages would be unsigned; "
            "set g:kernel_allow_unsigned = 1 to connect anyway"
        )
    return ConnectionInfo(os.path.abspath(path), info)


def security_warnings(conn: ConnectionInfo) -> list[str]:
    """One-line warnings about a connection that works but may expose the kernel."""
    warnings: list[str] = []
    mode = _permission_bits(conn.path)
    if mode is not None and mode & 0o044:
        warnings.append(f"{conn.name} is readable by other users (mode {mode:04o})")
    tcp = conn.info.get("transport") == "tcp"
    if tcp and not conn.is_local and not conn.info.get("curve_publickey"):
        warnings.append(f"traffic to {conn.info.get('ip')} is not encrypted")
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
    except (OSError, LookupError, ValueError, TypeError, OverflowError):
        return False


def kernel_pid(conn: ConnectionInfo) -> int | None:
    """Pid of the local process serving ``conn``, for SIGINT when interrupt_request is ignored."""
    if not conn.is_local:
        return None
    try:
        return _pid_from_cmdlines(conn.path) or _pid_from_name(conn.name)
    except (OSError, ValueError):
        return None


def completion_candidates(arglead: str, dirs: list[str] | None = None) -> list[str]:
    """Basenames for ``:KernelConnect <Tab>``: prefix matches, then substrings; newest first."""
    names = [os.path.basename(p) for p in list_connection_files(dirs)]
    prefixes = (arglead, "kernel-" + arglead)
    leading = [n for n in names if n.startswith(prefixes)]
    inner = [n for n in names if arglead in n and n not in leading]
    return leading + inner


# jupyter_client fills these in when a connection file omits them.
_DEFAULTS: dict[str, Any] = {"transport": "tcp", "signature_scheme": "hmac-sha256"}
_PORT_KEYS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
_STRING_KEYS = ("ip", "key", "transport", "signature_scheme")
_REQUIRED_KEYS = _PORT_KEYS + _STRING_KEYS
# shake_* digests need a length, so hmac cannot use them even though hashlib has them.
_HMAC_DIGESTS = frozenset(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake_"))
_LOCAL_NAMES = frozenset({"localhost", "0.0.0.0"})
_PID_NAME = re.compile(r"kernel-([0-9]+)\.json")


def _dirs_or_default(dirs: list[str] | None) -> list[str]:
    return search_dirs() if dirs is None else dirs


def _unique_real(paths: list[str]) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            unique.append(os.path.abspath(path))
    return unique


def _glob_kernel_files(dirs: list[str]) -> list[str]:
    # glob.escape: a runtime dir containing '[' must not turn into a pattern.
    return [
        p for d in dirs for p in sorted(glob.glob(os.path.join(glob.escape(d), "kernel-*.json")))
    ]


def _mtime(path: str) -> float | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # deleted between glob and stat: a kernel just shut down
    return st.st_mtime if stat.S_ISREG(st.st_mode) else None


def _newest_connection_file(dirs: list[str]) -> str:
    files = list_connection_files(dirs)
    if not files:
        raise KernelError(
            f"no connection file found in {_describe_dirs(dirs)}; "
            "start a kernel (e.g. ipython kernel) first"
        )
    # Files of SIGKILLed kernels stay behind, so the newest file may well be a dead one.
    return next((path for path in files if _file_looks_alive(path)), files[0])


def _file_looks_alive(path: str) -> bool:
    try:
        conn = load_connection_file(path, allow_unsigned=True)
    except KernelError:
        return False
    return looks_alive(conn)


def _as_path(target: str, cwd: str) -> str | None:
    path = os.path.abspath(os.path.join(cwd, os.path.expanduser(target)))
    if os.path.isfile(path):
        return path
    separators = [os.sep, os.altsep] if os.altsep else [os.sep]
    if target.startswith("~") or any(sep in target for sep in separators):
        if os.path.isdir(path):
            raise KernelError(f"{target} is a directory, not a connection file")
        raise KernelError(f"no such file: {target}")
    return None


def _match_fragment(fragment: str, dirs: list[str]) -> str:
    exact = _exact_match(fragment, dirs)
    if exact is not None:
        return exact
    matches = [p for p in list_connection_files(dirs) if fragment in os.path.basename(p)]
    if not matches:
        raise KernelError(f"no connection file matches '{fragment}' in {_describe_dirs(dirs)}")
    if len(matches) > 1:
        names = ", ".join(os.path.basename(p) for p in matches)
        raise KernelError(f"'{fragment}' matches {len(matches)} connection files: {names}")
    return matches[0]


def _exact_match(fragment: str, dirs: list[str]) -> str | None:
    for directory in dirs:
        for name in (f"kernel-{fragment}.json", fragment):
            path = os.path.join(directory, name)
            if fnmatch.fnmatchcase(name, "kernel-*.json") and os.path.isfile(path):
                return os.path.abspath(path)
    return None


def _describe_dirs(dirs: list[str]) -> str:
    shown = dirs or [jupyter_runtime_dir()]
    return ", ".join(_tilde(d) for d in shown)


def _tilde(path: str) -> str:
    home = os.path.expanduser("~")
    if path == home or path.startswith(home.rstrip(os.sep) + os.sep):
        return "~" + path[len(home.rstrip(os.sep)) :]
    return path


def _read_json_object(path: str) -> dict[str, Any]:
    name = os.path.basename(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise KernelError(f"cannot read {name}: {e.strerror or type(e).__name__}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise KernelError(f"{name} is not a connection file: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        # Only the line number: the parser's message could quote the text around the key.
        raise KernelError(
            f"{name} is not a connection file: not valid JSON (line {e.lineno})"
        ) from None
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
    not_strings = [k for k in _STRING_KEYS if not isinstance(info[k], str)]
    if not_strings:
        raise KernelError(f"{name} is not a connection file: {', '.join(not_strings)} not text")
    if info["transport"] not in ("tcp", "ipc"):
        raise KernelError(f"{name} has an unsupported transport (expected tcp or ipc)")
    if not _is_hmac_scheme(info["signature_scheme"]):
        raise KernelError(
            f"{name} has an unsupported signature_scheme (expected hmac-<hash>, e.g. hmac-sha256)"
        )


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


def _permission_bits(path: str) -> int | None:
    if os.name == "nt":
        return None  # POSIX mode bits say nothing about who can read a file on Windows
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _pid_from_cmdlines(path: str) -> int | None:
    if not os.path.isdir("/proc"):
        return None
    name = os.path.basename(path)
    matches = [pid for pid, argv in _process_argvs() if _serves(argv, path, name)]
    # A wrapper (sh -c, conda run) and the kernel it starts both match; the child came later.
    return max(matches, default=None)


def _process_argvs() -> list[tuple[int, list[str]]]:
    found: list[tuple[int, list[str]]] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                raw = f.read()
        except OSError:
            continue  # the process exited while we looked, or is not ours to read
        found.append((int(entry), [os.fsdecode(a) for a in raw.split(b"\0") if a]))
    return found


def _serves(argv: list[str], path: str, name: str) -> bool:
    # Clients such as `jupyter console --existing kernel-1.json` name the file but serve nothing.
    if any(arg.startswith("--existing") for arg in argv):
        return False
    return any(arg in (path, name) or arg.endswith("/" + name) for arg in argv)


def _pid_from_name(name: str) -> int | None:
    # `ipython kernel` names its file after its own pid.
    match = _PID_NAME.fullmatch(name)
    if match is None:
        return None
    pid = int(match.group(1))
    if pid <= 0 or pid == os.getpid():
        return None  # os.kill(0, ...) would address our whole process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # exists, but belongs to another user
    return pid
