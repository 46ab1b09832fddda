"""The highlight groups and the xterm palette, defined once in lua/kernel/highlights.lua, as a
real Neovim sees them: defaults a colour scheme can override, back after :colorscheme.
"""

from __future__ import annotations

import re
from typing import Any

import pynvim
import pytest


def xterm(nvim: pynvim.Nvim, n: int) -> str:
    return str(nvim.exec_lua("return require('kernel.highlights').xterm(...)", n))


def hl(nvim: pynvim.Nvim, group: str) -> dict[str, Any]:
    found: dict[str, Any] = nvim.api.get_hl(0, {"name": group})
    return found


def define(nvim: pynvim.Nvim, group: str) -> None:
    nvim.exec_lua("require('kernel.highlights').define(...)", group)


@pytest.mark.parametrize(
    ("n", "rgb"),
    [
        (0, "#000000"),
        (9, "#ff0000"),
        (15, "#ffffff"),
        (16, "#000000"),
        (21, "#0000ff"),
        (28, "#008700"),
        (196, "#ff0000"),
        (208, "#ff8700"),
        (231, "#ffffff"),
        (232, "#080808"),
        (244, "#808080"),
        (255, "#eeeeee"),
    ],
)
def test_palette_follows_xterm(bare_nvim: pynvim.Nvim, n: int, rgb: str) -> None:
    assert xterm(bare_nvim, n) == rgb


def test_palette_has_a_hex_colour_for_each_of_256_entries(bare_nvim: pynvim.Nvim) -> None:
    colours = bare_nvim.exec_lua(
        "local h = require('kernel.highlights') local t = {}"
        " for n = 0, 256 do t[#t + 1] = h.xterm(n) end return t"
    )
    assert len(colours) == 256  # entry 256 is nil, which ends the list
    assert all(re.fullmatch("#[0-9a-f]{6}", c) for c in colours)


def test_fixed_groups_are_defined_when_the_plugin_loads(bare_nvim: pynvim.Nvim) -> None:
    assert hl(bare_nvim, "KernelIn") == {"link": "Title", "default": True}
    assert hl(bare_nvim, "KernelAnsiBold")["bold"] is True
    red = hl(bare_nvim, "KernelAnsiRed")
    assert (red["fg"], red["ctermfg"]) == (0xCD0000, 1)
    assert hl(bare_nvim, "KernelAnsiBgBrightWhite")["bg"] == 0xFFFFFF


def test_256_colour_and_rgb_groups_are_made_on_first_use(bare_nvim: pynvim.Nvim) -> None:
    assert hl(bare_nvim, "KernelAnsi256_208") == {}
    for group in ("KernelAnsi256_208", "KernelAnsiBg256_232", "KernelAnsiRGB_12ab34"):
        define(bare_nvim, group)
    fg = hl(bare_nvim, "KernelAnsi256_208")
    assert (fg["fg"], fg["ctermfg"]) == (0xFF8700, 208)
    bg = hl(bare_nvim, "KernelAnsiBg256_232")
    assert (bg["bg"], bg["ctermbg"]) == (0x080808, 232)
    assert hl(bare_nvim, "KernelAnsiRGB_12ab34")["fg"] == 0x12AB34


def test_other_names_are_not_made(bare_nvim: pynvim.Nvim) -> None:
    for group in ("KernelAnsi256_300", "KernelAnsiRGB_12", "KernelSomething_1"):
        define(bare_nvim, group)
        assert hl(bare_nvim, group) == {}


def test_groups_come_back_after_a_colorscheme(bare_nvim: pynvim.Nvim) -> None:
    define(bare_nvim, "KernelAnsi256_208")
    bare_nvim.command("colorscheme default")
    assert hl(bare_nvim, "KernelIn") == {"link": "Title", "default": True}
    assert hl(bare_nvim, "KernelAnsiRed")["fg"] == 0xCD0000
    assert hl(bare_nvim, "KernelAnsi256_208")["fg"] == 0xFF8700


def test_a_users_highlight_wins_over_the_defaults(bare_nvim: pynvim.Nvim) -> None:
    bare_nvim.command("highlight KernelIn guifg=#123456")
    bare_nvim.command("highlight KernelAnsi256_208 guifg=#ff8800")
    define(bare_nvim, "KernelAnsi256_208")
    bare_nvim.exec_lua("require('kernel.highlights').apply()")
    assert hl(bare_nvim, "KernelIn")["fg"] == 0x123456
    assert hl(bare_nvim, "KernelAnsi256_208")["fg"] == 0xFF8800


def test_a_colour_schemes_terminal_colours_give_the_16_colours(bare_nvim: pynvim.Nvim) -> None:
    bare_nvim.vars["terminal_color_1"] = "#aa0000"
    bare_nvim.vars["terminal_color_2"] = "not a colour"
    bare_nvim.command("colorscheme default")
    assert hl(bare_nvim, "KernelAnsiRed")["fg"] == 0xAA0000
    assert hl(bare_nvim, "KernelAnsiGreen")["fg"] == 0x00CD00
