"""A notebook (output/notebook.py) written to its file, for :KernelSave: checked against
nbformat's schema when the host has nbformat, and written whole or not at all.

A notebook is the user's document, not one of our private temp files: like a file :write makes,
it gets the user's umask, and a file it replaces keeps its mode. It is written to a temp file
beside its name, then renamed to it, so that a reader never sees half of it and a failed write
leaves the old file as it was. The rename replaces whatever has the name, a symbolic link too,
and never follows one: a link planted at the name cannot send the notebook somewhere else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
from typing import Any

from ..errors import KernelError

log = logging.getLogger(__name__)

SUFFIX = ".ipynb"


def target(file: str, cwd: str) -> str:
    """The absolute path :KernelSave {file} writes: ``~`` expanded, relative to the editor's
    cwd, with ``.ipynb`` added to a name that has no extension."""
    if not file.strip():
        raise KernelError("not saved: give :KernelSave a file name, e.g. :KernelSave notes.ipynb")
    path = os.path.abspath(os.path.join(cwd, os.path.expanduser(file)))
    if not os.path.splitext(os.path.basename(path))[1]:
        path += SUFFIX
    return path


def shown(path: str, cwd: str) -> str:
    """``path`` as a message shows it: relative to the cwd when under it, else with ``~``."""
    relative = os.path.relpath(path, cwd) if cwd else path
    if relative != os.pardir and not relative.startswith(os.pardir + os.sep):
        return relative
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if path.startswith(home + os.sep) else path


def write(notebook: dict[str, Any], path: str, overwrite: bool, cwd: str = "") -> bool:
    """Write ``notebook`` to ``path`` (replacing a file there only if ``overwrite``); whether
    nbformat validated it (False: the host has no nbformat)."""
    name = shown(path, cwd)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise KernelError(f"not saved: no directory {shown(directory, cwd)}")
    if os.path.isdir(path):
        raise KernelError(f"not saved: {name} is a directory")
    if not overwrite and os.path.lexists(path):
        raise KernelError(f"not saved: {name} exists (add ! to overwrite)")
    validated = validate(notebook)
    data = encode(notebook)
    try:
        _write_atomic(path, data, overwrite)
    except FileExistsError:  # made between the check and the link
        raise KernelError(f"not saved: {name} exists (add ! to overwrite)") from None
    except OSError as e:
        raise KernelError(f"not saved: cannot write {name} ({e.strerror or e})") from None
    return validated


def validate(notebook: dict[str, Any]) -> bool:
    """Check ``notebook`` against nbformat's schema; False when nbformat is not installed."""
    try:
        import nbformat  # 110 ms to import: only when a notebook is saved
    except ImportError:
        return False
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as e:
        log.warning("kernel.nvim: the notebook to save is not valid: %.2000s", e)
        where = "/".join(str(p) for p in getattr(e, "absolute_path", ())) or "its top"
        raise KernelError(f"not saved: nbformat finds the notebook invalid at {where} (a bug in "
                          "kernel.nvim: please report it)") from None  # fmt: skip
    return True


def encode(notebook: dict[str, Any]) -> bytes:
    """The file's bytes, laid out as nbformat.write lays them out.

    A kernel can send a lone surrogate (``"\\ud800"`` in its JSON), which UTF-8 cannot encode:
    written as that same escape, it reads back as it came.
    """
    text = json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return text.encode("utf-8", "backslashreplace")


def _write_atomic(path: str, data: bytes, overwrite: bool) -> None:
    directory, base = os.path.split(path)
    mode = _mode_of(path) if overwrite else None
    temp, fd = _temp_file(directory, base)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.flush()
            os.fsync(f.fileno())  # as :write does ('fsync'): a crash leaves the old or the new
        if overwrite:
            os.replace(temp, path)
        else:
            _place_new(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _temp_file(directory: str, base: str) -> tuple[str, int]:
    """A new file beside the notebook, made with the umask applied (mode 0666 asked), never
    one that exists or a link's target."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    while True:
        temp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue


def _place_new(temp: str, path: str) -> None:
    """Give the temp file the name ``path`` only if nothing has it: a hard link fails if it
    exists, so no file made meanwhile is overwritten. Where links are not supported, rename."""
    try:
        os.link(temp, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(path):
            raise FileExistsError(path) from None
        os.replace(temp, path)


def _mode_of(path: str) -> int | None:
    """The permission bits of the regular file at ``path`` (not of what a link points to)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None
