"""What `:KernelStart` can start, in the order its picker offers it.

The project's environment first of all (see ``environments``: the first that has ipykernel, and
before it the project's own when that one lacks it, with the command that installs it), then
the kernelspecs, the ones of the buffer's language first. Gathering them runs pythons and
imports jupyter_client (in ``managed``): it is done in a thread of its own, never the editor's.
Pure Python with no Neovim dependency.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from jupyter_core.paths import jupyter_path

from . import environments
from .environments import Environment

log = logging.getLogger(__name__)

# A buffer's 'filetype' -> the language a kernelspec names, where they differ.
LANGUAGES = {"sh": "bash", "zsh": "bash", "cpp": "c++", "rmd": "r", "quarto": "python",
             "javascriptreact": "javascript", "typescriptreact": "typescript"}  # fmt: skip


@dataclass(frozen=True)
class Spec:
    """A kernelspec as jupyter_client reads it (kernel.json and where it was found)."""

    name: str
    display_name: str
    language: str
    argv: tuple[str, ...]
    interrupt_mode: str = "signal"
    env: dict[str, str] = field(default_factory=dict)
    resource_dir: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    """One line of the picker: a kernelspec, or ipykernel in an environment of the project."""

    text: str  # what the picker shows
    label: str  # what messages call it: python3, python 3.12.1 (.venv of myproj)
    spec: Spec | None = None
    env: Environment | None = None
    problem: str = ""  # why it cannot start: said when it is chosen


def menu(specs: list[Spec], envs: list[Environment], filetype: str) -> list[Choice]:
    """The picker's lines, given the kernelspecs and the probed environments."""
    language = LANGUAGES.get(filetype, filetype).lower()
    ours = sorted((s for s in specs if s.language.lower() == language and language),
                  key=lambda s: s.name)  # fmt: skip
    others = sorted((s for s in specs if s not in ours), key=lambda s: s.name)
    first = [environment_choice(e) for e in project_environments(envs)]
    spec_choices = [spec_choice(s) for s in [*ours, *others]]
    if language in ("python", ""):
        return first + spec_choices
    return spec_choices[: len(ours)] + first + spec_choices[len(ours) :]


def project_environments(envs: list[Environment]) -> list[Environment]:
    """The first environment with ipykernel, and the project's own first if it lacks it."""
    shown: list[Environment] = []
    for i, env in enumerate(envs):
        if env.has_ipykernel:
            return [*shown, env]
        if i == 0:
            shown.append(env)
    return shown


def environment_choice(env: Environment) -> Choice:
    if env.has_ipykernel:
        return Choice(env.label, env.label, env=env)
    if env.problem:
        why = f"{env.where}: {_tilde(env.python)} {env.problem}"
        return Choice(f"{env.label}: cannot run its python ({env.problem})", env.label,
                      env=env, problem=why)  # fmt: skip
    install = env.install_command
    return Choice(
        f"{env.label}: no ipykernel; install it with: {install}", env.label, env=env,
        problem=f"{env.where} has no ipykernel: run {install}, then :KernelStart again",
    )  # fmt: skip


def spec_choice(spec: Spec) -> Choice:
    named = spec.display_name == spec.name
    text = spec.name if named else f"{spec.display_name} ({spec.name})"
    return Choice(text, spec.name, spec=spec)


def gather(file: str, cwd: str, filetype: str) -> list[Choice]:
    """Probe the environments and read the kernelspecs, at once; slow: off the main thread."""
    from . import managed  # jupyter_client: only there

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="kernel.nvim probe") as pool:
        envs = pool.map(environments.probe, environments.candidates(file, cwd))
        specs = managed.find_kernelspecs()
        return menu(specs, list(envs), filetype)


def gather_aside(file: str, cwd: str, filetype: str, then: Callable[[list[Choice], str], None]
                 ) -> None:  # fmt: skip
    """``gather`` in a thread of its own; ``then(choices, problem)`` is called from it."""

    def run() -> None:
        try:
            found, problem = gather(file, cwd, filetype), ""
        except ImportError:
            from .managed import MISSING_JUPYTER_CLIENT

            found, problem = [], MISSING_JUPYTER_CLIENT
        except Exception as e:  # never a traceback: one line, and the log
            log.exception("kernel.nvim: cannot list the kernels to start")
            found, problem = [], f"cannot list the kernels to start ({type(e).__name__})"
        then(found, problem)

    threading.Thread(target=run, name="kernel.nvim kernels", daemon=True).start()


def spec_names() -> list[str]:
    """Kernelspec names for `:KernelStart <Tab>`, fast: the directories, without jupyter_client.
    Like jupyter_client, a python3 of the host's own ipykernel when none is installed."""
    names: set[str] = set()
    for directory in jupyter_path("kernels"):
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        names.update(e.lower() for e in entries
                     if os.path.isfile(os.path.join(directory, e, "kernel.json")))  # fmt: skip
    if "python3" not in names and importlib.util.find_spec("ipykernel") is not None:
        names.add("python3")
    return sorted(names)


def _tilde(path: str) -> str:
    home = os.path.expanduser("~").rstrip(os.sep)
    return "~" + path[len(home) :] if path.startswith(home + os.sep) else path


_HOST_PYTHONS = {"python", "python3", "python{}.{}".format(*sys.version_info[:2])}


def health_report(file: str, cwd: str) -> dict[str, Any]:
    """For `:checkhealth kernel`: the environments of ``file``'s project and the kernelspecs,
    each with whether its python has ipykernel. Slow: it runs each python once."""
    envs = environments.candidates(file, cwd)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="kernel.nvim probe") as pool:
        probed = list(pool.map(environments.probe, envs))
    report: dict[str, Any] = {"environments": [_env_report(e) for e in probed]}
    try:
        from . import managed

        specs = managed.find_kernelspecs()
    except ImportError:
        report["kernelspecs_error"] = "jupyter_client is missing: it lists them"
        return report
    report["kernelspecs"] = [_spec_report(s) for s in specs]
    return report


def _env_report(env: Environment) -> dict[str, Any]:
    return {"label": env.label, "ipykernel": env.has_ipykernel, "problem": env.problem,
            "install": env.install_command}  # fmt: skip


def _spec_report(spec: Spec) -> dict[str, Any]:
    found: dict[str, Any] = {"name": spec.name, "display_name": spec.display_name,
                             "language": spec.language}  # fmt: skip
    runs_ipykernel = any("ipykernel" in a for a in spec.argv[1:])
    python = shutil.which(spec.argv[0]) or spec.argv[0]
    if spec.argv[0] in _HOST_PYTHONS:
        python = sys.executable  # as jupyter_client runs it: with the host's own python
    if runs_ipykernel:
        env = environments.probe(Environment(python, "kernelspec", os.path.dirname(python), ""))
        found.update(python=_tilde(python), ipykernel=env.has_ipykernel, problem=env.problem,
                     install=env.install_command)  # fmt: skip
    return found
