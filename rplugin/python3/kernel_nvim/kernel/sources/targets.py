"""What a :KernelConnect target names: a connection file here, a kernel on a host reached over
ssh (``ssh://[user@]host[:port]/[what]`` or scp's ``[user@]host:[what]``), or a Jupyter Server
(``http(s)://...``). Pure: no file is read but to tell a local file from a host's name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class SshTarget:
    """A kernel on another host: ``what`` is "" (choose), a name fragment, or a path there."""

    host: str
    user: str = ""
    port: int = 0
    what: str = ""

    @property
    def destination(self) -> str:
        """What ssh is given: user@host (the port goes as -p)."""
        return f"{self.user}@{self.host}" if self.user else self.host

    @property
    def is_path(self) -> bool:
        return "/" in self.what or self.what.startswith("~")

    @property
    def shown(self) -> str:
        """For messages and the buffer's name: ssh://user@host:port."""
        port = f":{self.port}" if self.port else ""
        return f"ssh://{self.destination}{port}"


_SCP = re.compile(
    r"(?:(?P<user>[\w.+-]+)@)?(?P<host>[A-Za-z0-9_][\w.-]*|\[[0-9A-Fa-f:.]+\]):(?P<what>.*)"
)


def is_server_url(target: str) -> bool:
    return target.strip().lower().startswith(("http://", "https://"))


def ssh_target(target: str, cwd: str) -> SshTarget | None:
    """The host and what on it ``target`` names, or None for a local target. ``host:x`` is a
    host only when no local file of that name exists (as scp decides)."""
    target = target.strip()
    if target.lower().startswith("ssh://"):
        return _from_url(target)
    match = _SCP.fullmatch(target)
    if match is None or "/" in match["host"] or match["what"].startswith("//"):
        return None
    if os.path.exists(os.path.join(cwd, os.path.expanduser(target))):
        return None
    return SshTarget(match["host"].strip("[]"), match["user"] or "", 0, match["what"].strip())


def _from_url(target: str) -> SshTarget:
    from ...errors import KernelError

    parts = urlsplit(target)
    try:
        port = parts.port or 0
    except ValueError:
        raise KernelError(f"not a port number in {target}") from None
    host = parts.hostname or ""
    if not host:
        raise KernelError(f"no host in {target} (ssh://[user@]host[:port]/[kernel])")
    what = unquote(parts.path)
    what = what[1:] if what.startswith("/") else what  # ssh://h//tmp/k.json: an absolute path
    return SshTarget(host, unquote(parts.username or ""), port, what)
