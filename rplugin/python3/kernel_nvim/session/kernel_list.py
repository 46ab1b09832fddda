"""The kernels the user may link to, as :KernelConnect's picker and :KernelList show them: which
ones, in which order, each on one line, and what to say when there is none.

Pure: what each kernel is comes from ``kernel.sources.catalog`` (its file, whether it runs, its
process), what this editor knows of it (linked now, started by us, its language as its
kernel_info told) from the app.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..editor.protocol import PickItem
    from ..kernel.sources.catalog import Found
    from .kernel_session import KernelSession

PROMPT = "Connect to kernel:"


@dataclass(frozen=True)
class Known:
    """What this editor knows of a kernel it has a session with (and an output buffer for)."""

    language: str  # as its kernel_info_reply said; "" before it answered
    owned: bool  # its source says we started it
    linked: bool  # linked now
    answered: bool = False  # it was linked once, and answered: its output is in its buffer


@dataclass(frozen=True)
class Choice:
    found: Found
    known: Known | None = None

    @property
    def alive(self) -> bool:
        return self.found.alive


def known(sessions: Mapping[str, KernelSession], active: KernelSession | None) -> dict[str, Known]:
    """What this editor knows of the kernels it has sessions with, by ``source.key`` (a
    connection file's real path). Ownership is the source's to say; no type is asked."""
    return {key: Known(session.language, bool(getattr(session.source, "owned", False)),
                       session is active and session.channel is not None,
                       answered=session.last_heard > 0)
            for key, session in sessions.items()}  # fmt: skip


def session_files(sessions: Iterable[KernelSession]) -> list[str]:
    """The connection files of these sessions, wherever they are: one given by its path
    outside the search dirs is listed too."""
    return sorted(f for s in sessions if (f := getattr(s.source, "connection_file", "")))


def listed(found: Sequence[Found], known: Mapping[str, Known], everything: bool) -> list[Choice]:
    """The live kernels, newest first, and the linked one whatever its state; with
    ``everything`` the others too, after the live ones. ``known`` is by the file's real path."""
    choices = [Choice(f, known.get(f.key)) for f in found]
    shown = [c for c in choices if everything or c.alive or (c.known and c.known.linked)]
    return sorted(shown, key=lambda c: (not c.alive, -c.found.started))


def the_one(choices: Sequence[Choice]) -> Choice | None:
    """The only live kernel among ``choices``, if there is exactly one."""
    live = [c for c in choices if c.alive]
    return live[0] if len(live) == 1 else None


def nothing_to_list(found: Sequence[Found], dirs: str, command: str) -> str:
    """Why there is no picker: no file at all, or no file of a running kernel."""
    if not found:
        return f"no connection file found in {dirs}; start a kernel (e.g. ipython kernel) first"
    files = "1 connection file" if len(found) == 1 else f"{len(found)} connection files"
    return (f"no running kernel: nothing listens at the {files} in {dirs}; start a kernel "
            f"(e.g. ipython kernel), or {command}! to list the files anyway")  # fmt: skip


def items(choices: Sequence[Choice], now: float, home: str | None = None) -> list[PickItem]:
    """One line per kernel, in columns: name, language, pid, working directory, when it
    started, and what it is to us (linked, linked before, ours, not running)."""
    home = os.path.expanduser("~") if home is None else home
    rows = [_columns(c, now, home) for c in choices]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    labels = ["  ".join(cell + " " * (width - _width(cell))
                        for cell, width in zip(row, widths) if width).rstrip()
              for row in rows]  # fmt: skip
    return [{"target": c.found.path, "label": label} for c, label in zip(choices, labels)]


def age(seconds: float) -> str:
    """How long ago: ``40 s ago``, ``5 min ago``, ``3 h ago``, ``2 d ago``."""
    if seconds < 1:
        return "just now"
    for unit, size, up_to in (("s", 1, 60), ("min", 60, 3600), ("h", 3600, 2 * 86400)):
        if seconds < up_to:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds // 86400)} d ago"


def _columns(choice: Choice, now: float, home: str) -> list[str]:
    f, known = choice.found, choice.known
    language = (known.language if known else "") or f.language
    flags = []
    if known is not None and (known.linked or known.answered):
        flags.append("linked" if known.linked else "linked before")
    if known is not None and known.owned:
        flags.append("ours")
    if not f.alive:
        flags.append("not running")
    return [
        _printable(os.path.basename(f.path)),
        _printable(language),
        f"pid {f.pid}" if f.pid else "",
        _printable(_tilde(f.cwd, home)),
        age(now - f.started) if f.started else "",
        ", ".join(flags),
    ]


def _tilde(path: str, home: str) -> str:
    home = home.rstrip(os.sep)
    if home and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


def _printable(text: str) -> str:
    """A name as one line of plain text: a newline or escape in a file name is shown as ?."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _width(text: str) -> int:
    """Screen cells, as Neovim counts them: wide characters take two, combining ones none."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)  # fmt: skip
