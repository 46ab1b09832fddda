"""What the output buffer's folds (lua/kernel/blocks.lua) cost a flood: 100,000 lines printed
while the output window is open, with the folds kept in step, without them, and with a
'foldexpr' reading the execution marks instead (the design not taken).

Run with `.venv/bin/python bench/folds.py [rounds]`. Each round runs the three variants, in
turn, in the same editor and kernel, so that drift in the machine's load hits them alike. Two
figures per variant: the time from the send to the last line shown, and the editor's own time
spent applying the host's updates (output.lua's update(), where the folds are kept).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import BenchSandbox, Editor, start_kernel

LINES = 100_000

# Wraps output.lua's update() to add up the editor's time in it; sets up a variant.
SETUP = """
local output, blocks = require('kernel.output'), require('kernel.blocks')
local update, refold = output.update, blocks.refold
_G.kernel_folds_bench = { ns = 0 }
output.update = function(u)
  local t = vim.uv.hrtime()
  update(u)
  _G.kernel_folds_bench.ns = _G.kernel_folds_bench.ns + vim.uv.hrtime() - t
end
local ns = output.blocks
package.loaded.kernel_folds_expr = { level = function(lnum)
  local at = { lnum - 1, 0 }
  return #vim.api.nvim_buf_get_extmarks(0, ns, at, at, { limit = 1 }) > 0 and '>1' or 1
end }
function _G.kernel_folds_bench.variant(name)
  blocks.refold = name == 'folds' and refold or function() end
  local win = require('kernel.window').find()
  vim.api.nvim_win_call(win, function()
    vim.opt_local.foldexpr = "v:lua.require'kernel_folds_expr'.level(v:lnum)"
    vim.opt_local.foldlevel = 99
    vim.opt_local.foldmethod = 'manual'
    vim.cmd('normal! zE')
    vim.opt_local.foldmethod = name == 'foldexpr' and 'expr' or 'manual'
  end)
end
function _G.kernel_folds_bench.take()
  local ms = _G.kernel_folds_bench.ns / 1e6
  _G.kernel_folds_bench.ns = 0
  return ms
end
"""
VARIANTS = ("folds", "none", "foldexpr")


def flood(ed: Editor) -> float:
    ticket = ed.arm(str(LINES - 1), False, timeout=120)
    start = time.perf_counter()
    ed.send(f"for i in range({LINES}): print(i)")
    ed.wait("bench_line", ticket)
    seconds = time.perf_counter() - start
    ed.wait_idle()
    return seconds * 1000


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = BenchSandbox(Path(tmp))
        sandbox.register_plugin()
        kernel = start_kernel(sandbox.runtime, sandbox.home)
        ed = Editor(sandbox)
        try:
            ed.connect(kernel)
            flood(ed)  # opens the output window, warms the host
            ed.nvim.exec_lua(SETUP)
            wall: dict[str, list[float]] = {v: [] for v in VARIANTS}
            editor: dict[str, list[float]] = {v: [] for v in VARIANTS}
            for _ in range(rounds):
                for variant in VARIANTS:
                    ed.nvim.exec_lua("_G.kernel_folds_bench.variant(...)", variant)
                    ed.nvim.command("KernelClear")
                    ed.nvim.exec_lua("_G.kernel_folds_bench.take()")
                    wall[variant].append(flood(ed))
                    editor[variant].append(ed.nvim.exec_lua("return _G.kernel_folds_bench.take()"))
            print(f"{LINES:,} lines printed, {rounds} rounds; medians in ms")
            print(f"{'variant':10} {'send to last line':>18} {'editor in update()':>19}")
            for variant in VARIANTS:
                print(f"{variant:10} {statistics.median(wall[variant]):18.0f} "
                      f"{statistics.median(editor[variant]):19.1f}")  # fmt: skip
        finally:
            ed.close()
            kernel.kill()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
