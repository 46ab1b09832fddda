"""Calls the host makes later, from one thread that sleeps until the soonest is due.

A thread per delayed call (``threading.Timer``) costs a thread's start each time; the bridge
holds a flush for a few milliseconds on most executions, so all of them share this one. What
is called runs in that thread: it only hands work to the host's main thread (``async_call``)
or takes a lock, never waits on anything.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Later:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # same time: in the order asked
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def call(self, seconds: float, func: Callable[[], None]) -> None:
        """Call ``func`` in ``seconds`` (in this object's thread). Safe from any thread."""
        with self._wake:
            heapq.heappush(self._due, (self.clock() + seconds, next(self._order), func))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kernel.nvim later",
                                                daemon=True)  # fmt: skip
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > self.clock():
                    self._wake.wait(self._due[0][0] - self.clock() if self._due else None)
                _, _, func = heapq.heappop(self._due)
            try:
                func()
            except Exception:  # one failed call must not stop the others
                log.exception("kernel.nvim: a delayed call failed")
