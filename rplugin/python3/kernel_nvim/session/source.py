"""What every kernel source answers: a kernel reached through its connection file
(``kernel.sources.existing``), one we started (``kernel.sources.managed``), and those to come.

Commands ask the source what they may do; they never ask which kind of source it is. A source
that may not do something raises a KernelError that says why, in one line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..kernel.channel import Channel, EventSink
    from ..kernel.zmq_channel import Timing

Done = Callable[[str], None]  # called, from the source's own thread, with "" or why it failed


class Named(Protocol):
    """What a session needs to know of where its kernel came from."""

    @property
    def name(self) -> str: ...
    @property
    def short_name(self) -> str: ...
    @property
    def buffer_name(self) -> str: ...
    @property
    def kernel_name(self) -> str: ...  # the kernelspec it was started from, "" if not known

    def greeting(self, details: str) -> str:
        """The message once the kernel answers: Connected to kernel-6759.json (python 3.12)."""
        ...

    def interrupt(self, channel: Channel) -> str:
        """Interrupt the code the kernel runs: the msg_id of an interrupt_request sent on
        ``channel``, or "" when the kernel was sent a signal instead."""
        ...


class KernelSource(Named, Protocol):
    owned: bool  # we started it: Neovim's exit stops it (unless g:kernel_keep_started)
    can_restart: bool
    can_shutdown: bool

    @property
    def key(self) -> str:
        """What makes two sources the same kernel."""
        ...

    def warnings(self) -> list[str]: ...

    def open(self, on_events: EventSink, timing: Timing | None = None) -> Channel:
        """A channel to the kernel, not started yet."""
        ...

    def restart(self, now: bool, done: Done) -> None:
        """Restart it (``now``: without asking it to stop first), or raise why not."""
        ...

    def shutdown(self, channel: Channel, force: bool, done: Done) -> None:
        """Shut it down (``force``: even one we did not start), or raise why not."""
        ...

    def release(self, keep: bool) -> threading.Event:
        """Neovim exits: stop it if we own it, unless ``keep``; set when done."""
        ...
