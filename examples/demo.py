# kernel.nvim demo: `make demo` opens this file in Neovim, connected to a running kernel.
#
# Cells are separated by `# %%` lines. Default keys (<LocalLeader> is a backslash unless you set
# maplocalleader):
#
#   <LocalLeader>l            send the current line
#   <LocalLeader>s{motion}    send the text of a motion, e.g. \sip for a paragraph; `.` repeats
#   <LocalLeader>s (visual)   send the selection
#   <LocalLeader>c            send the cell under the cursor
#   <LocalLeader>x            send the cell and move to the next one
#   <LocalLeader>i            interrupt the kernel
#
#   :KernelOutput             open the output window
#   :KernelClear              clear the output
#
# Try \x repeatedly from the top to walk through every cell.

# Cells run one at a time, in any order: each imports what it uses, and a bare expression at the
# end of a cell is how its value is shown.
# ruff: noqa: E402, B018

# %% Output and the value of the last expression
print("hello from the kernel")
6 * 7

# %% Many lines of output arrive in order
for i in range(20):
    print(f"line {i:2d}: {'#' * i}")


# %% A multi-line definition, then a call
def fib(n: int) -> int:
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


[fib(n) for n in range(15)]


# %% An error: a coloured traceback with two frames
def divide() -> float:
    return 1 / 0


divide()

# %% A slow cell: the editor stays responsive; \i interrupts it
import time

time.sleep(3)
print("done")

# %% Output on stderr as well as stdout
import sys

print("this goes to stderr", file=sys.stderr)
print("and this to stdout")
