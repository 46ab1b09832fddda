"""Talking to another host through the system's ssh client: what to run there, and what its
answers and complaints mean.

Every call runs ``ssh -o BatchMode=yes``: a host that wants a password fails at once with one
line, instead of a prompt nobody can answer inside Neovim's host. Remote commands reuse the
user's ControlMaster if their config has one. The remote login shell is given one string,
``sh -c SCRIPT sh ARGS...``, each word quoted; the scripts hold no quote, backslash or ``!`` so
that fish and csh read them as sh does. A connection file is read into memory (``cat``), never
written here, and no message quotes a value of it.
"""

from __future__ import annotations

import posixpath
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from ...errors import KernelError
from .targets import SshTarget

CONNECT_TIMEOUT = 10  # seconds ssh may take to reach the host (ConnectTimeout)
RUN_TIMEOUT = 30.0  # seconds a remote command may take in all
MOST_BYTES = 1 << 20  # a connection file is a few hundred bytes: more is not one

# The connection files there, as existing.search_dirs() finds them here: the Jupyter runtime dir
# (first line: "d DIR"), macOS's, and the IPython profiles' security dirs; "f MTIME LIVE PATH"
# each. LIVE: 1 when something listens there at the file's tcp hb_port, 0 when nothing does
# (a kernel that died and left its file), ? when that cannot be told (no /proc/net/tcp, ipc).
LIST_SCRIPT = """j=${JUPYTER_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/jupyter}
r=${JUPYTER_RUNTIME_DIR:-$j/runtime}
live() {
  [ -r /proc/net/tcp ] || { echo "?"; return; }
  grep -q "transport.: *.ipc" "$1" && { echo "?"; return; }
  p=$(grep -o "hb_port.: *[0-9]*" "$1" | tr -cd 0-9)
  [ -n "$p" ] || { echo "?"; return; }
  x=$(printf %04X "$p")
  grep -q ":$x [0-9A-F]*:[0-9A-F]* 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null && echo 1 || echo 0
}
echo "h $HOME"
echo "d $r"
for d in "$r" "$HOME/Library/Jupyter/runtime" "$HOME"/.ipython/profile_*/security; do
  for f in "$d"/kernel-*.json; do
    [ -f "$f" ] || continue
    m=$(stat -c %Y "$f" 2>/dev/null || stat -f %m "$f" 2>/dev/null) || continue
    echo "f $m $(live "$f") $f"
  done
done"""
# $1 a path there, absolute or from the home dir: its absolute path on the first line, then it.
READ_SCRIPT = """case $1 in /*) p=$1 ;; *) p=$HOME/$1 ;; esac
[ -f "$p" ] || { echo "no such file: $1" >&2; exit 3; }
echo "$p"
exec cat -- "$p"
"""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    mtime: float
    alive: bool | None = None  # something listens at its ports there; None: cannot be told

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


@dataclass(frozen=True)
class Listing:
    """The connection files on a host, newest first, and where they were looked for."""

    home: str
    runtime_dir: str
    files: tuple[RemoteFile, ...]

    def shown(self, path: str) -> str:
        """A path there for a message: ~/... under the home dir."""
        home = self.home.rstrip("/")
        if home and path.startswith(home + "/"):
            return "~" + path[len(home) :]
        return path


def ssh_argv(command: Sequence[str], target: SshTarget, *options: str) -> list[str]:
    """``command`` (g:kernel_ssh_command) with BatchMode, the port, and the destination last."""
    argv = [*command, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}", *options]
    if target.port:
        argv += ["-p", str(target.port)]
    return [*argv, "--", target.destination]  # "--": a host named -oProxyCommand=... is a host


def remote_argv(command: Sequence[str], target: SshTarget, script: str, *args: str) -> list[str]:
    """Run ``script`` with ``args`` there, in sh whatever the login shell; no forwarding of the
    user's config (LocalForward lines) and no terminal."""
    line = " ".join(shlex.quote(word) for word in ("sh", "-c", script, "sh", *args))
    return [*ssh_argv(command, target, "-T", "-o", "ClearAllForwardings=yes"), line]


def run(command: Sequence[str], target: SshTarget, script: str, *args: str) -> bytes:
    """What the script printed there; a KernelError of one line when ssh or it failed."""
    argv = remote_argv(command, target, script, *args)
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=RUN_TIMEOUT)  # fmt: skip
    except FileNotFoundError:
        raise KernelError(
            f"cannot run {command[0]}: not found (see g:kernel_ssh_command)"
        ) from None
    except subprocess.TimeoutExpired:
        raise KernelError(f"ssh to {target.host} did not answer within {RUN_TIMEOUT:g} s") from None
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode == 255:  # ssh's own failure; the script's are its other codes
        raise KernelError(problem(stderr, target.host))
    if done.returncode != 0:
        raise KernelError(f"on {target.host}: {last_line(stderr)}")
    return done.stdout


def list_files(command: Sequence[str], target: SshTarget) -> Listing:
    return parse_listing(run(command, target, LIST_SCRIPT).decode("utf-8", "replace"))


def read_file(command: Sequence[str], target: SshTarget, path: str) -> tuple[str, bytes]:
    """The absolute path there of ``path`` (``~/`` is the home dir), and its bytes."""
    path = path[2:] if path.startswith("~/") else path
    out = run(command, target, READ_SCRIPT, path)
    first, _, raw = out.partition(b"\n")
    if len(raw) > MOST_BYTES:
        raise KernelError(f"{posixpath.basename(path)} on {target.host} is not a connection "
                          "file: too large")  # fmt: skip
    return first.decode("utf-8", "replace"), raw


def parse_listing(text: str) -> Listing:
    """LIST_SCRIPT's output: newest first; a file found twice (a link) once."""
    home = runtime = ""
    found: dict[str, RemoteFile] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "h":
            home = rest
        elif kind == "d":
            runtime = rest
        elif kind == "f":
            mtime, _, rest = rest.partition(" ")
            live, _, path = rest.partition(" ")
            if path and mtime.isdigit() and path not in found:
                found[path] = RemoteFile(path, float(mtime), _LIVE.get(live))
    # Running kernels first, then newest first; stable: the dirs' order on a tie.
    files = sorted(found.values(), key=lambda f: (f.alive is False, -f.mtime))
    return Listing(home, runtime, tuple(files))


_LIVE = {"1": True, "0": False}


def running(listing: Listing) -> list[RemoteFile]:
    """The files of kernels that run there, or may (when it cannot be told)."""
    return [f for f in listing.files if f.alive is not False]


def choose(listing: Listing, fragment: str, host: str) -> RemoteFile:
    """The file ``fragment`` names, as a local one is found: ``kernel-{fragment}.json`` or the
    name itself, else the one name containing it."""
    for file in listing.files:
        if file.name in (f"kernel-{fragment}.json", fragment):
            return file
    matches = [f for f in listing.files if fragment in f.name]
    live = [f for f in matches if f.alive is not False]
    matches = live if len(matches) > 1 and live else matches  # a dead kernel's file is no rival
    if not matches:
        raise KernelError(f"no connection file matches '{fragment}' on {host} "
                          f"({where(listing)})")  # fmt: skip
    if len(matches) > 1:
        names = ", ".join(f.name for f in matches)
        raise KernelError(f"'{fragment}' matches {len(matches)} connection files on {host}: "
                          f"{names}")  # fmt: skip
    return matches[0]


def nothing_there(listing: Listing, host: str) -> str:
    if listing.files:
        files = "1 connection file" if len(listing.files) == 1 else (
            f"{len(listing.files)} connection files")  # fmt: skip
        return (f"no running kernel on {host}: nothing listens at the {files} there; start a "
                f"kernel there, or :KernelConnect! to list the files anyway")  # fmt: skip
    return f"no connection file on {host} ({where(listing)}); start a kernel there first"


def where(listing: Listing) -> str:
    runtime = listing.shown(listing.runtime_dir) if listing.runtime_dir else "its runtime dir"
    return f"looked in {runtime} and ~/.ipython/profile_*/security"


def problem(stderr: str, host: str) -> str:
    """ssh's complaint as one line that says what to do."""
    if "Permission denied" in stderr:
        return (
            f"ssh to {host} needs a password or a key it does not have: add your key to "
            "ssh-agent (ssh-add) or set up key login; kernel.nvim runs ssh with "
            "BatchMode=yes"
        )
    if "Could not resolve hostname" in stderr:
        return f"ssh cannot find the host {host}: no such name"
    if "Host key verification failed" in stderr:
        return (
            f"ssh does not know the host key of {host}: ssh {host} once by hand to check "
            "and accept it"
        )
    if "Connection refused" in stderr and "open failed" not in stderr:
        return f"ssh to {host}: connection refused (no ssh server there, or another port)"
    if "timed out" in stderr:
        return f"ssh to {host}: no answer (timed out)"
    return f"ssh to {host}: {last_line(stderr)}"


def last_line(stderr: str) -> str:
    """The last line that says something, cut short."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Warning: Permanently added")]
    last = lines[-1] if lines else "it failed and said nothing"
    return last if len(last) <= 200 else last[:199] + "…"
