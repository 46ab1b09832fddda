"""Every kernel whose connection file we can find, with what is cheap and true about it: for the
picker of :KernelConnect, :KernelList and the order of <Tab>.

Whether a kernel runs is told without speaking the protocol (kernel_info would cost a round trip
signed with each file's key). A local kernel looks alive when something listens on every port of
its file: one read of the machine's socket tables answers that for all files at once. A kernel on
another host, or any kernel where there is no /proc, gets a TCP connect to its heartbeat port:
all of them in parallel, within one short deadline. The processes of the live local kernels are
found in one walk of /proc (see ``local_process``): their pid, working directory, start time,
and from their argv the language. Nothing kept or shown here is read from the key, and the argv
is only matched against names of kernels, never shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from ...errors import KernelError
from . import local_process
from .connection_file import ConnectionInfo, load_connection_file, looks_alive
from .existing import list_connection_files, search_dirs

PROBE_TIMEOUT = 0.2  # seconds for all the connects together, however many files need one
TAB_PROBE_TIMEOUT = 0.1  # the same for a <Tab>, which the editor waits for
_MAX_PROBES = 16  # threads at once


@dataclass(frozen=True)
class Found:
    """A connection file and its kernel, as far as the file and the process table tell."""

    path: str
    key: str  # the file's real path: what tells two names of one file apart
    mtime: float
    alive: bool
    local: bool = False
    language: str = ""  # from the process's argv, else the file's kernelspec name, else ""
    pid: int = 0  # 0: not known (a remote kernel, no /proc, or not running)
    cwd: str = ""
    started: float = 0.0  # the process's start, else the file's mtime: seconds since the epoch


def survey(
    dirs: list[str] | None = None,
    extra: Sequence[str] = (),
    processes: bool = True,
    timeout: float = PROBE_TIMEOUT,
) -> list[Found]:
    """The connection files in ``dirs`` (the search dirs by default), newest first, then the
    ``extra`` paths not among them; a file that no longer exists is left out. With
    ``processes``, the live local ones get their process's details."""
    files: list[tuple[str, str, float, ConnectionInfo | None]] = []
    for path, real in _unique([*list_connection_files(search_dirs() if dirs is None else dirs),
                               *extra]):  # fmt: skip
        read = _read(path)
        if read is not None:
            files.append((path, real, *read))
    listeners = local_process.Listeners()
    verdicts: list[bool | None] = [_table_says(conn, listeners) for *_, conn in files]
    _probe([(i, conn) for i, (*_, conn) in enumerate(files)
            if conn is not None and verdicts[i] is None], verdicts, timeout)  # fmt: skip
    found = [
        Found(path, real, mtime, bool(alive), conn is not None and conn.is_local,
              _spec_language(conn), started=mtime)
        for (path, real, mtime, conn), alive in zip(files, verdicts)
    ]  # fmt: skip
    if processes:
        found = _with_processes(found, [conn for *_, conn in files], listeners)
    return found


def live_paths(dirs: list[str] | None = None, timeout: float = TAB_PROBE_TIMEOUT) -> set[str]:
    """The paths of the files whose kernels look alive: cheap enough for a <Tab>."""
    return {f.path for f in survey(dirs, processes=False, timeout=timeout) if f.alive}


def language_of(argv: Sequence[str]) -> str:
    """The language of a kernel process by its argv, or "" when no known kernel is named:
    ``python -m ipykernel_launcher`` is python, ``python -m bash_kernel`` is bash. The
    connection file's own argument (``*.json``) is skipped: its dirs could be named anything."""
    for arg in argv:
        if arg.endswith(".json"):
            continue
        for token in _TOKEN_SPLIT.split(arg):
            language = _LANGUAGES.get(token.lower())
            if language:
                return language
    return ""


# A word of the argv that names a kernel -> its language. "python" or "node" alone names none:
# they run kernels of several languages.
_LANGUAGES = {
    "ipykernel_launcher": "python", "ipykernel": "python", "ipython": "python",
    "xpython": "python", "bash_kernel": "bash", "xcpp": "c++", "xcpp11": "c++",
    "xcpp14": "c++", "xcpp17": "c++", "xcpp20": "c++", "irkernel": "R", "xr": "R",
    "ijulia": "julia", "julia": "julia", "evcxr_jupyter": "rust", "gophernotes": "go",
    "iruby": "ruby", "ijavascript": "javascript", "ijskernel": "javascript",
    "tslab": "typescript", "deno": "typescript", "almond": "scala", "xlua": "lua",
    "ielixir": "elixir", "iocaml": "ocaml", "ihaskell": "haskell", "sas_kernel": "sas",
    "stata_kernel": "stata", "octave_kernel": "octave", "matlab_kernel": "matlab",
}  # fmt: skip
_TOKEN_SPLIT = re.compile(r"[^\w+-]+")
# jupyter_client's rule for kernelspec names; a name that could be a key is not shown.
_SPEC_NAME = re.compile(r"[a-z0-9._-]{1,40}", re.IGNORECASE)
_KEY_LIKE = re.compile(r"[0-9a-f-]{32,}", re.IGNORECASE)


def _unique(paths: list[str]) -> list[tuple[str, str]]:
    """(path, real path) of each file once, in order: realpath is the costly part of a <Tab>
    (0.1 ms a file), so it is taken once a file."""
    seen: set[str] = set()
    unique = []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            unique.append((os.path.abspath(path), real))
    return unique


def _read(path: str) -> tuple[float, ConnectionInfo | None] | None:
    """The file's mtime, and its contents when it is a connection file at all; None when there
    is no such file (any more: its kernel just shut down)."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    try:
        return mtime, load_connection_file(path, allow_unsigned=True)
    except KernelError:
        return mtime, None


def _table_says(conn: ConnectionInfo | None, listeners: local_process.Listeners) -> bool | None:
    """Alive or not by the socket tables; None when they cannot tell (remote, no /proc)."""
    if conn is None:
        return False
    if not conn.is_local:
        return None
    info = conn.info
    return listeners.serve(info["transport"], info["ip"], conn.ports.values())


def _probe(
    todo: list[tuple[int, ConnectionInfo]], verdicts: list[bool | None], timeout: float
) -> None:
    """One connect per file, all at once; one that has not answered by the deadline is dead."""
    if not todo:
        return
    pool = ThreadPoolExecutor(max_workers=min(_MAX_PROBES, len(todo)),
                              thread_name_prefix="kernel.nvim probe")  # fmt: skip
    futures = {pool.submit(looks_alive, conn, timeout): i for i, conn in todo}
    done, _ = wait(futures, timeout=timeout + 0.05)
    pool.shutdown(wait=False, cancel_futures=True)  # one running ends by its own timeout
    for future, i in futures.items():
        verdicts[i] = future in done and future.result()


def _spec_language(conn: ConnectionInfo | None) -> str:
    if conn is None:
        return ""
    name = conn.info.get("kernel_name")
    if not isinstance(name, str) or not _SPEC_NAME.fullmatch(name) or _KEY_LIKE.search(name):
        return ""
    return "" if name == conn.info["key"] else name


def _with_processes(
    found: list[Found], conns: list[ConnectionInfo | None], listeners: local_process.Listeners
) -> list[Found]:
    live = [(i, conn) for i, conn in enumerate(conns)
            if conn is not None and found[i].alive and found[i].local]  # fmt: skip
    if not live:
        return found
    kernels = [(c.info["transport"], c.info["ip"], c.ports.values()) for _, c in live]
    found = list(found)
    for (i, _), proc in zip(live, local_process.find_kernel_processes(kernels, listeners)):
        if proc is None:
            continue
        about = local_process.details(proc)
        found[i] = replace(found[i], pid=proc.pid, cwd=about.cwd,
                           language=language_of(about.argv) or found[i].language,
                           started=about.started or found[i].started)  # fmt: skip
    return found
