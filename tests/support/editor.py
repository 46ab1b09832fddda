"""A headless Neovim with kernel.nvim, driven through pynvim, and the reads and waits on it that
tests and the bench share."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence

import pynvim

from .kernels import ConnectionFile
from .sandbox import EDITOR_ARGS, WaitTimeout, nvim_bin, wait_for

_OUTPUT_LINES = (
    "for _, b in ipairs(vim.api.nvim_list_bufs()) do"
    "  if vim.api.nvim_buf_get_name(b):match('^kernel://') then"
    "    return vim.api.nvim_buf_get_lines(b, 0, -1, false) end end return {}"
)

# Every cell through screenstring(): what the user sees, a prompt such as inputlist()'s too.
_SCREEN = (
    "local rows = {} for r = 1, vim.o.lines do local cells = {}"
    "  for c = 1, vim.o.columns do cells[#cells + 1] = vim.fn.screenstring(r, c) end"
    "  rows[#rows + 1] = (table.concat(cells):gsub('%s+$', '')) end return rows"
)


class Editor:
    """A headless Neovim with kernel.nvim, and the waits tests need."""

    def __init__(self, nvim: pynvim.Nvim) -> None:
        self.nvim = nvim

    def status(self) -> str:
        return str(self.nvim.call("KernelStatus"))

    def messages(self) -> str:
        return str(self.nvim.exec_lua("return vim.fn.execute('messages')"))

    def wait_message(self, text: str, timeout: float = 15.0) -> str:
        with self._showing("messages", self.messages):
            return wait_for(lambda: _containing(self.messages(), text), timeout, repr(text))

    def screen(self) -> list[str]:
        """The lines of the screen as drawn, trailing blanks cut; also while Neovim waits in a
        prompt (the builtin vim.ui.select's inputlist(): mode "c", it still answers)."""
        return list(self.nvim.exec_lua(_SCREEN))

    def wait_screen(self, text: str, timeout: float = 15.0) -> list[str]:
        """Until a line of the screen contains `text`; the screen's lines."""

        def showing() -> list[str]:
            lines = self.screen()
            return lines if any(text in line for line in lines) else []

        with self._showing("screen", lambda: "\n".join(self.screen())):
            return wait_for(showing, timeout, f"{text!r} on the screen")

    def output(self) -> list[str]:
        """The lines of the output buffer ([] when there is none)."""
        return list(self.nvim.exec_lua(_OUTPUT_LINES))

    def output_text(self) -> str:
        return "\n".join(self.output())

    def wait_output(self, text: str, timeout: float = 15.0) -> str:
        what = f"{text!r} in output"
        with self._showing("output", self.output_text):
            return wait_for(lambda: _containing(self.output_text(), text), timeout, what)

    def wait_state(self, state: str, timeout: float = 15.0) -> None:
        """Until the status ends with `state` (idle, busy, restarted, ...)."""
        with self._showing("status", self.status):
            wait_for(lambda: self.status().endswith(f" {state}"), timeout, f"status {state}")

    def run(self, code: str, timeout: float = 15.0) -> None:
        """`:KernelExec {code}` (one line), until it has run: its header has its count, and the
        kernel is idle after it. (The status is idle before the kernel takes the code, too.)"""
        self.nvim.command(f"KernelExec {code}")
        header = re.compile(rf"^In \[\d+\]: {re.escape(code)}$")
        with self._showing("output", self.output_text):
            wait_for(lambda: any(map(header.match, self.output())), timeout, f"{code!r} run")
        self.wait_state("idle", timeout)

    def wait_prompt(self, timeout: float = 15.0) -> None:
        """Until Neovim asks on its command line, as it does for the kernel's input()."""
        what = "the input prompt"
        wait_for(lambda: self.nvim.api.get_mode()["mode"] == "c", timeout, what)

    def connect(self, kernel: ConnectionFile) -> None:
        self.nvim.command(f"KernelConnect {kernel.fragment}")
        want = f"{kernel.path.stem} idle"
        wait_for(lambda: self.status() == want, 30, f"connected to {kernel.path.name}")

    def set_lines(self, lines: list[str], filetype: str = "python") -> None:
        self.nvim.command(f"setlocal filetype={filetype}")
        self.nvim.current.buffer[:] = lines

    def feed(self, keys: str) -> None:
        """Type keys as a user would."""
        self.nvim.input(keys)

    def responsive(self) -> float:
        """Seconds one RPC round trip takes."""
        start = time.monotonic()
        self.nvim.api.get_mode()
        return time.monotonic() - start

    @contextlib.contextmanager
    def _showing(self, name: str, read: Callable[[], str]) -> Iterator[None]:
        """A wait that times out says what there was instead (its end, when long)."""
        try:
            yield
        except WaitTimeout as e:
            raise WaitTimeout(f"{e}; the {name}: {read()[-600:]!r}") from None

    def pid(self) -> int:
        return int(self.nvim.call("getpid"))

    def close(self) -> None:
        """Quit Neovim; again (a test closed it, then its fixture) does nothing."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        try:
            self.nvim.command("qa!", async_=True)
            self.nvim.close()
        except (OSError, EOFError):  # the editor is already gone
            pass


def start_nvim(
    env: dict[str, str], extra_args: Sequence[str] = (), base_args: Sequence[str] = EDITOR_ARGS
) -> pynvim.Nvim:
    """`nvim --embed --headless` with `base_args` (kernel.nvim's editor args), then `extra_args`,
    in the environment `env`."""
    argv = [nvim_bin(), "--embed", "--headless", *base_args, *extra_args]
    with _environ(env):
        return pynvim.attach("child", argv=argv)


def start_editor(env: dict[str, str], extra_args: Sequence[str] = ()) -> Editor:
    return Editor(start_nvim(env, extra_args))


def _containing(whole: str, part: str) -> str:
    """`whole` when it contains `part`, else '' (false, for wait_for)."""
    return whole if part in whole else ""


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """pynvim has no env parameter: it starts the child, at once, with this process's."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
