"""Checks the end-to-end tests share: what the user reads in `:messages`, and nothing more."""

from __future__ import annotations

from collections.abc import Callable

from .editor import Editor
from .sandbox import wait_for


def kernel_lines(editor: Editor) -> list[str]:
    """The `[kernel] ...` lines of `:messages`."""
    return [line for line in editor.messages().splitlines() if "[kernel]" in line]


def settle(editor: Editor) -> None:
    """Wait until the host has handled every command sent before: a request queues behind them."""
    editor.nvim.call("KernelRpcSync", "complete_connection", {}, "")


def assert_no_traceback(editor: Editor) -> None:
    messages = editor.messages()
    assert "Traceback" not in messages
    assert "Error detected while processing" not in messages


def expect_one_message(
    editor: Editor,
    action: Callable[[], None],
    text: str,
    timeout: float = 15.0,
    host: bool = True,
) -> str:
    """Do `action`; return the one `[kernel]` line it added, which must contain `text`.
    With `host`, first wait for the host to handle everything, so a second line would show."""
    before = len(kernel_lines(editor))

    def added() -> list[str]:
        return kernel_lines(editor)[before:]

    action()
    wait_for(lambda: any(text in line for line in added()), timeout, repr(text))
    if host:
        settle(editor)
    assert len(added()) == 1, added()
    assert_no_traceback(editor)
    assert editor.responsive() < 1.0
    return added()[0]
