"""The Python environments a buffer's project runs in, and whether each can run a kernel.

Looked for in this order: a ``.venv`` or ``venv`` in the buffer's directory or one above it (the
project's own), ``$VIRTUAL_ENV``, ``$CONDA_PREFIX``, then the ``python3`` on ``PATH``. Whether a
python has ipykernel is known only by running it (``probe``): that takes 20-100 ms, so callers
run it off the editor's thread; each answer is kept until the python or its site-packages
change, which ``pip install ipykernel`` does. Pure Python with no Neovim dependency.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass

PROJECT_DIRS = (".venv", "venv")
PROBE_TIMEOUT = 20.0  # seconds: a first run of a conda python can be slow

# Run by the python probed: never imports ipykernel (find_spec only looks), prints one line.
_PROBE = (
    "import importlib.util as u, json, site, sys\n"
    "paths = [p for p in sys.path if p.endswith(('site-packages', 'dist-packages'))]\n"
    "print(json.dumps({'version': '%d.%d.%d' % sys.version_info[:3], 'prefix': sys.prefix,\n"
    "    'ipykernel': u.find_spec('ipykernel') is not None\n"
    "        and u.find_spec('ipykernel_launcher') is not None, 'paths': paths}))\n"
)


@dataclass(frozen=True)
class Environment:
    """A python the project may run in: where it was found, and what running it said."""

    python: str  # the interpreter, as found (a venv's bin/python is a symlink: kept as it is)
    origin: str  # .venv, venv, VIRTUAL_ENV, CONDA_PREFIX or PATH
    root: str  # the environment's directory; for PATH, the python's
    project: str  # the project's directory name, for a .venv/venv found upward; else ""
    version: str = ""  # 3.12.1; "" when the python did not run
    has_ipykernel: bool = False
    problem: str = ""  # why it did not run, when it did not

    @property
    def label(self) -> str:
        """As the picker shows it: python 3.12.1 (.venv of myproj)."""
        python = f"python {self.version}" if self.version else "python"
        return f"{python} ({self.where})"

    @property
    def where(self) -> str:
        if self.project:
            return f"{self.origin} of {self.project}"
        if self.origin == "PATH":
            return f"python3 on PATH, {_tilde(self.python)}"
        return f"${self.origin}, {_tilde(self.root)}"

    @property
    def install_command(self) -> str:
        return f"{_quote(self.python)} -m pip install ipykernel"

    @property
    def kernel_env(self) -> dict[str, str]:
        """What the kernel's environment gets, so that `!pip` in it reaches this environment."""
        if self.origin == "PATH":
            return {}
        bin_dir = os.path.dirname(self.python)
        extra = {"PATH": os.pathsep.join(filter(None, [bin_dir, os.environ.get("PATH")]))}
        extra["CONDA_PREFIX" if self.origin == "CONDA_PREFIX" else "VIRTUAL_ENV"] = self.root
        return extra


def candidates(file: str, cwd: str, environ: Mapping[str, str] | None = None) -> list[Environment]:
    """The environments found for a buffer's ``file`` (or ``cwd`` when it has none), in order,
    not probed yet; one python once, under the first name it was found by."""
    environ = os.environ if environ is None else environ
    found: list[Environment] = []
    start = os.path.dirname(file) if file else cwd
    for directory in _upward(start):
        for name in PROJECT_DIRS:
            python = _python_in(os.path.join(directory, name))
            if python:
                project = os.path.basename(directory) or directory
                found.append(Environment(python, name, os.path.join(directory, name), project))
        if found:
            break  # the nearest project wins
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        root = environ.get(variable, "")
        python = _python_in(root) if root else ""
        if python:
            found.append(Environment(python, variable, root, ""))
    path_python = shutil.which("python3", path=environ.get("PATH"))
    if path_python:
        found.append(Environment(path_python, "PATH", os.path.dirname(path_python), ""))
    return _unique(found)


def probe(env: Environment) -> Environment:
    """``env`` with what its python says of itself; slow (it runs the python): off the main
    thread. Answers are cached until the python or its site-packages change."""
    key = os.path.abspath(env.python)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached.stamps == _stamps(key, cached.paths):
        return _with(env, cached)
    answer = _run_probe(key)
    with _lock:
        _cache[key] = answer
    return _with(env, answer)


@dataclass(frozen=True)
class _Answer:
    version: str
    has_ipykernel: bool
    problem: str
    paths: tuple[str, ...]
    stamps: tuple[float, ...]


_lock = threading.Lock()
_cache: dict[str, _Answer] = {}


def _run_probe(python: str) -> _Answer:
    stamps = _stamps(python, ())
    try:
        done = subprocess.run(
            [python, "-c", _PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL, env=_probe_env(),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return _Answer("", False, f"did not answer within {PROBE_TIMEOUT:g} s", (), stamps)
    except OSError as e:
        return _Answer("", False, f"cannot run it: {e.strerror or type(e).__name__}", (), stamps)
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
        paths = tuple(str(p) for p in report["paths"])
        return _Answer(str(report["version"]), bool(report["ipykernel"]), "", paths,
                       _stamps(python, paths))  # fmt: skip
    except (ValueError, LookupError, TypeError):
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return _Answer("", False, f"it failed: {why[-200:]}", (), stamps)


def _probe_env() -> dict[str, str]:
    # The kernel gets the host's environment: so does the probe, less what would send this
    # python elsewhere than where it is.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONSTARTUP")}


def _stamps(python: str, paths: tuple[str, ...]) -> tuple[float, ...]:
    """What changes when the python is replaced or a package installed or removed."""
    found = []
    for path in (python, *paths):
        try:
            found.append(os.stat(path).st_mtime)
        except OSError:
            found.append(-1.0)
    return tuple(found)


def _with(env: Environment, answer: _Answer) -> Environment:
    return Environment(env.python, env.origin, env.root, env.project, answer.version,
                       answer.has_ipykernel, answer.problem)  # fmt: skip


def _upward(start: str) -> list[str]:
    """``start`` and the directories above it, up to the home directory or the root."""
    home = os.path.expanduser("~")
    directory = os.path.abspath(start or ".")
    found = []
    while True:
        found.append(directory)
        parent = os.path.dirname(directory)
        if directory == home or parent == directory:
            return found
        directory = parent


def _python_in(root: str) -> str:
    for name in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
        path = os.path.join(root, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return ""


def _unique(envs: list[Environment]) -> list[Environment]:
    seen: set[str] = set()
    unique = []
    for env in envs:
        root = env.root if env.origin != "PATH" else os.path.dirname(os.path.dirname(env.python))
        if env.origin == "PATH" and not os.path.isfile(os.path.join(root, "pyvenv.cfg")):
            root = env.python  # not a venv's: the python itself
        key = os.path.realpath(root)
        if key not in seen:
            seen.add(key)
            unique.append(env)
    return unique


def _quote(path: str) -> str:
    return path if all(c.isalnum() or c in "/._-+~" for c in path) else f"'{path}'"


def _tilde(path: str) -> str:
    home = os.path.expanduser("~").rstrip(os.sep)
    if path == home or path.startswith(home + os.sep):
        return "~" + path[len(home) :]
    return path
