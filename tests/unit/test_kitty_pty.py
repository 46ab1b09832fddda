"""The test terminal of support/tui.py answers as kitty does, with no Neovim behind it: what a
program in the pty writes is kept, and kitty's replies come back to it."""

from __future__ import annotations

import os
import select
import tty
from collections.abc import Iterator

import pytest

from support.tui import KITTY_VERSION, KittyPty


@pytest.fixture
def terminal() -> Iterator[KittyPty]:
    pty = KittyPty()
    tty.setraw(pty.slave)  # as a TUI sets it: no echo of the replies
    yield pty
    pty.close()


def read_reply(fd: int, ends: bytes) -> bytes:
    got = b""
    while not got.endswith(ends):
        ready, _, _ = select.select([fd], [], [], 5)
        assert ready, f"no reply, only {got!r}"
        got += os.read(fd, 1024)
    return got


def test_a_graphics_query_split_across_writes_gets_kittys_ok(terminal: KittyPty) -> None:
    os.write(terminal.slave, b"text \x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA")
    os.write(terminal.slave, b"\x1b\\")
    assert read_reply(terminal.slave, b"\x1b\\") == b"\x1b_Gi=31;OK\x1b\\"
    assert terminal.graphics()[-1]["a"] == "q"


def test_the_terminals_name_is_kitty_and_a_transmission_gets_no_reply(terminal: KittyPty) -> None:
    os.write(terminal.slave, b"\x1b_Ga=T,q=2,t=f,f=100;L3RtcA==\x1b\\\x1b[>q")
    assert read_reply(terminal.slave, b"\x1b\\") == f"\x1bP>|kitty({KITTY_VERSION})\x1b\\".encode()
    assert [c["data"] for c in terminal.graphics()] == ["L3RtcA=="]
