"""The user's settings as the host needs them, sent by the editor with every call.

The editor sends them along (``lua/kernel/rpc.lua``) so that the host never asks Neovim for a
variable in the middle of a command: such a call would let pynvim run the next command first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..output.render.mime import DEFAULT_PREFERENCE

DEFAULT_MAX_LINES = 20_000
OUTPUT_OPEN = ("always", "never", "error")
# What the editor wants of an image (lua/kernel/media.lua decides from g:kernel_image): a
# half-block preview drawn, its file written for snacks.nvim or image.nvim, both (while it is
# not known yet whether the plugin can draw), or only its line.
IMAGE = ("blocks", "file", "both", "none")
IMAGE_ROWS = 20  # g:kernel_image_rows
IMAGE_COLUMNS = 80  # the output window's width, sent by the editor
# What is shown of a bundle, first found first: output/render/mime.py says why in this order.
MIME_PREFERENCE = DEFAULT_PREFERENCE
SSH_COMMAND = ("ssh",)  # g:kernel_ssh_command, e.g. ['ssh', '-F', '~/.ssh/work_config']


@dataclass(frozen=True)
class Options:
    max_lines: int = DEFAULT_MAX_LINES  # g:kernel_output_max_lines
    show_other_output: bool = True  # g:kernel_show_other_output
    error_quickfix: bool = False  # g:kernel_error_quickfix
    output_open: str = "always"  # g:kernel_output_open: when a send opens the output window
    allow_unsigned: bool = False  # g:kernel_allow_unsigned
    mime_preference: tuple[str, ...] = MIME_PREFERENCE  # g:kernel_mime_preference
    image: str = "blocks"  # one of IMAGE
    image_rows: int = IMAGE_ROWS
    image_columns: int = IMAGE_COLUMNS
    inline: bool = False  # g:kernel_inline: results and errors at the end of the code sent
    keep_started: bool = False  # g:kernel_keep_started: kernels we started outlive Neovim
    # g:kernel_servers: (URL prefix, token, CA bundle) of each server configured; never shown.
    servers: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)
    ssh_command: tuple[str, ...] = SSH_COMMAND  # g:kernel_ssh_command: how ssh is run

    @classmethod
    def from_editor(cls, values: Any) -> Options:
        """Options from the dict the editor sent; a missing or mistyped value is the default."""
        if not isinstance(values, dict):
            return cls()
        max_lines = values.get("max_lines")
        output_open = values.get("output_open")
        if not isinstance(max_lines, int) or isinstance(max_lines, bool) or max_lines <= 0:
            max_lines = DEFAULT_MAX_LINES
        preference = values.get("mime_preference")
        if not isinstance(preference, list) or not all(isinstance(m, str) for m in preference):
            preference = MIME_PREFERENCE
        return cls(
            max_lines=max_lines,
            show_other_output=values.get("show_other_output", 1) != 0,
            error_quickfix=values.get("error_quickfix", 0) == 1,
            output_open=output_open if output_open in OUTPUT_OPEN else "always",
            allow_unsigned=values.get("allow_unsigned", 0) == 1,
            mime_preference=tuple(preference) or MIME_PREFERENCE,
            image=values["image"] if values.get("image") in IMAGE else "blocks",
            image_rows=_count(values.get("image_rows"), IMAGE_ROWS, 200),
            image_columns=_count(values.get("image_columns"), IMAGE_COLUMNS, 1000),
            inline=values.get("inline", 0) == 1,
            keep_started=values.get("keep_started", 0) == 1,
            servers=_servers(values.get("servers")),
            ssh_command=_words(values.get("ssh_command"), SSH_COMMAND),
        )


def _count(value: Any, default: int, most: int) -> int:
    """A positive int, at most ``most``; anything else is ``default``."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return default
    return min(value, most)


def _servers(value: Any) -> tuple[tuple[str, str, str], ...]:
    """g:kernel_servers: {url: {token = ..., ca = ...}}, longest URL first (the most precise)."""
    if not isinstance(value, dict):
        return ()
    found = []
    for url, entry in value.items():
        entry = entry if isinstance(entry, dict) else {}
        token, ca = entry.get("token", ""), entry.get("ca", "")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            found.append((url, token if isinstance(token, str) else "",
                          ca if isinstance(ca, str) else ""))  # fmt: skip
    return tuple(sorted(found, key=lambda s: -len(s[0])))


def _words(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    """A command as a non-empty list of non-empty strings; anything else is ``default``."""
    if not isinstance(value, list) or not value:
        return default
    if not all(isinstance(word, str) and word for word in value):
        return default
    return tuple(value)
