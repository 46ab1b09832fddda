"""A Neovim with its real terminal UI, in a pty whose other end answers as kitty does.

`nvim` runs as a user starts it in a terminal (no --headless, no --embed): its TUI draws into
the pty, and the server it starts listens on a socket that pynvim drives. `KittyPty` is the
terminal's side: it keeps every byte written to it and answers, as kitty would, the queries
that Neovim and the image plugins make (the terminal's name and version, the graphics protocol,
the keyboard protocol, the background colour), so that what they detect is detected for real.
Only the screen is missing: tests read what reached it from `output()` and `graphics()`.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pynvim

from .editor import Editor
from .sandbox import EDITOR_ARGS, WaitTimeout, nvim_bin, wait_for

# What kitty sets in the environment of what runs in it (the same in every test).
KITTY_ENV = {"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1", "COLORTERM": "truecolor"}
KITTY_VERSION = "0.39.1"
# A graphics command: `ESC _G keys ; payload ESC \`.
GRAPHICS = re.compile(rb"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\")
# What is asked of the terminal: its name and version (XTVERSION), its attributes (DA1), the
# kitty keyboard protocol's flags, the background colour (OSC 11), and any graphics command
# (a=q asks whether the protocol works).
_QUERIES = re.compile(
    rb"(?P<xtversion>\x1b\[>0?q)"
    rb"|(?P<da1>\x1b\[0?c)"
    rb"|(?P<keyboard>\x1b\[\?u)"
    rb"|(?P<background>\x1b\]11;\?(?:\x07|\x1b\\))"
    rb"|\x1b_G(?P<graphics>[^;\x1b]*)(?:;[^\x1b]*)?\x1b\\"
)
_LONGEST_QUERY = 4096  # bytes of unanswered output looked at again after each read


def _answer(query: re.Match[bytes]) -> bytes:
    """What kitty replies to one query."""
    if query.group("xtversion") is not None:
        return f"\x1bP>|kitty({KITTY_VERSION})\x1b\\".encode()
    if query.group("da1") is not None:
        return b"\x1b[?62;c"
    if query.group("keyboard") is not None:
        return b"\x1b[?0u"
    if query.group("background") is not None:
        return b"\x1b]11;rgb:0000/0000/0000\x1b\\"
    keys = dict(k.split(b"=", 1) for k in query.group("graphics").split(b",") if b"=" in k)
    if keys.get(b"a") != b"q":
        return b""  # kitty answers other commands too, unless told not to (q=2): none need it
    return b"\x1b_Gi=" + keys.get(b"i", b"0") + b";OK\x1b\\"


class KittyPty:
    """A pty of `rows` x `columns` cells of `cell` (width, height) pixels; a thread reads what
    the program writes to it, keeps it, and writes back kitty's answers to what it asks."""

    def __init__(self, rows: int = 40, columns: int = 120, cell: tuple[int, int] = (8, 16)) -> None:
        self.master, self.slave = pty.openpty()
        size = struct.pack("HHHH", rows, columns, columns * cell[0], rows * cell[1])
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, size)
        self._seen = bytearray()
        self._answered = 0  # the output before this was looked at for queries
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="kitty pty", daemon=True)
        self._reader.start()

    def output(self) -> bytes:
        """Every byte the program wrote to the terminal so far."""
        with self._lock:
            return bytes(self._seen)

    def graphics(self) -> list[dict[str, str]]:
        """The graphics commands written so far, each as its keys, with the payload as 'data'."""
        found = []
        for match in GRAPHICS.finditer(self.output()):
            keys = dict(k.split(b"=", 1) for k in match.group(1).split(b",") if b"=" in k)
            command = {k.decode(): v.decode() for k, v in keys.items()}
            command["data"] = (match.group(2) or b"").decode()
            found.append(command)
        return found

    def wait_graphics(
        self, matches: Callable[[dict[str, str]], bool], what: str, timeout: float = 15.0
    ) -> list[dict[str, str]]:
        """Until a graphics command that `matches` was written: all those that do, then."""
        try:
            return wait_for(lambda: [c for c in self.graphics() if matches(c)], timeout, what)
        except WaitTimeout as e:
            raise WaitTimeout(f"{e}; the terminal's last bytes: {self.output()[-400:]!r}") from None

    def close(self) -> None:
        """Once the program is gone: its end closed, the reader's read fails (EIO) and it ends."""
        os.close(self.slave)
        self._reader.join(10)
        os.close(self.master)

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: nothing holds the pty's other end open any more
                return
            if not data:
                return
            with self._lock:
                self._seen += data
                replies = self._replies()
            if replies:
                os.write(self.master, replies)

    def _replies(self) -> bytes:
        """The replies to the queries completed by the last read (under the lock)."""
        replies = b""
        end = self._answered
        for query in _QUERIES.finditer(self._seen, self._answered):
            replies += _answer(query)
            end = query.end()
        self._answered = max(end, len(self._seen) - _LONGEST_QUERY)
        return replies


class TuiEditor(Editor):
    """`nvim --listen SOCKET` in a kitty pty, driven through pynvim on that socket."""

    def __init__(
        self,
        socket: Path,
        env: dict[str, str],
        extra_args: Sequence[str] = (),
    ) -> None:
        self.terminal = KittyPty()
        argv = [nvim_bin(), "--listen", str(socket), *EDITOR_ARGS, *extra_args]
        tty, env = self.terminal.slave, {**env, **KITTY_ENV}
        self.process = subprocess.Popen(argv, stdin=tty, stdout=tty, stderr=tty, env=env,
                                        start_new_session=True)  # fmt: skip
        super().__init__(wait_for(lambda: _attach(socket), what="the server listening"))
        wait_for(lambda: self.nvim.api.list_uis(), what="the TUI attached")

    def close(self) -> None:
        super().close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.terminal.close()


def _attach(socket: Path) -> pynvim.Nvim | None:
    """pynvim on `socket`, or None while nothing listens there (the file is made before the
    server listens on it)."""
    try:
        return pynvim.attach("socket", path=str(socket))
    except (FileNotFoundError, ConnectionRefusedError):
        return None
