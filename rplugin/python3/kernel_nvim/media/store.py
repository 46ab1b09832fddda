"""A private temp dir for the files the system viewer and image plugins read.

Outputs can hold what the user would not share (a plot of private data), and a temp dir is
shared by every user of the machine: the dir is 0700, its files 0600, made only when the first
file is needed, and removed when the host exits (Neovim's VimLeavePre removes it too, in case
the host is killed). A file is named after a hash of its bytes, so showing the same image again
writes nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import tempfile
import threading

PREFIX = "kernel-nvim-"  # lua/kernel/media.lua removes only dirs named so


class Store:
    def __init__(self, parent: str | None = None) -> None:
        self._parent = parent  # None: the system's temp dir ($TMPDIR)
        self._dir = ""
        self._lock = threading.Lock()
        self._registered = False

    @property
    def dir(self) -> str:
        """The dir, "" until the first file."""
        return self._dir

    def write(self, data: bytes, suffix: str) -> str:
        """The path of a file of ``data`` (its name ends in ``suffix``, e.g. ".png")."""
        name = hashlib.sha256(data).hexdigest()[:24] + suffix
        path = os.path.join(self._ensure(), name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        except FileExistsError:
            return path  # the same bytes, written before
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(path)  # never a truncated file under the name of whole bytes
            raise
        return path

    def remove(self) -> None:
        with self._lock:
            path, self._dir = self._dir, ""
        if path:
            shutil.rmtree(path, ignore_errors=True)

    def _ensure(self) -> str:
        with self._lock:
            if not self._dir or not os.path.isdir(self._dir):
                # mkdtemp makes it 0700 and with a name no one else can have taken.
                self._dir = tempfile.mkdtemp(prefix=PREFIX, dir=self._parent)
                if not self._registered:
                    self._registered = True
                    atexit.register(self.remove)
            return self._dir


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
