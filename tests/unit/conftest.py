"""Fixtures of the session tests: a session linked to a fake channel, on a fake clock."""

from __future__ import annotations

import pytest
from test_session import Clock, FakeChannel, Source, message

from kernel_nvim.kernel.channel import Event, EventKind
from kernel_nvim.session.kernel_session import KernelSession
from kernel_nvim.session.options import Options


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def session(clock: Clock) -> KernelSession:
    s = KernelSession(Source(), Options(), clock)
    s.link(FakeChannel())
    info = message("kernel_info_reply", {"language_info": {"name": "python"}})
    s.handle(Event(EventKind.READY, "shell", info))
    return s
