"""The bridge writes to the editor through pynvim: a fake Neovim records what it was sent."""

from __future__ import annotations

from typing import Any

from kernel_nvim.editor.bridge import UNCONFIRMED, UNCONFIRMED_BYTES, Bridge, Part
from kernel_nvim.output.document import Edit


class Recorder:
    """What a Neovim that applies nothing was sent: (text bytes, sent as a request)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []

    def exec_lua(self, code: str, update: dict[str, Any], async_: bool = False) -> None:
        self.calls.append((len(update.get("edit", {}).get("text", "")), not async_))

    def async_call(self, fn: Any) -> None:
        fn()


def bridge_sending(edits: list[Edit]) -> Recorder:
    nvim = Recorder()
    pending = list(edits)

    def compose() -> list[Part]:
        return [Part({"name": "kernel://fake"}, pending.pop(0))] if pending else []

    bridge = Bridge(nvim, lambda tag, event: None, compose)
    for _ in edits:
        bridge.update()
    return nvim


def unconfirmed_runs(calls: list[tuple[int, bool]]) -> list[tuple[int, int]]:
    """(updates, text bytes) written between requests: each run ends in a request, but the
    last may not."""
    runs, count, size = [], 0, 0
    for length, request in calls:
        count, size = count + 1, size + length
        if request:
            runs.append((count, size))
            count = size = 0
    return runs + [(count, size)] if count else runs


def test_small_updates_wait_for_the_editor_every_16th() -> None:
    calls = bridge_sending([Edit(0, i, ["x"], []) for i in range(64)]).calls
    assert unconfirmed_runs(calls) == [(UNCONFIRMED, UNCONFIRMED)] * 4


def test_large_updates_wait_for_the_editor_once_256_kib_went_unconfirmed() -> None:
    # While Neovim ran a long Lua loop, 15 updates of a flood, 5 MB, waited in the host.
    line = "x" * 1_000
    edits = [Edit(0, i * 100, [line] * 100, []) for i in range(40)]
    runs = unconfirmed_runs(bridge_sending(edits).calls)
    update = 100 * (len(line) + 1)
    assert max(size for _, size in runs) < UNCONFIRMED_BYTES + update
    assert sum(count for count, _ in runs) == len(edits)
