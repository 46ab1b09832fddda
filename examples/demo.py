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

# %% Live output: a counter redrawn in place, not a pile of lines
import time

from IPython.display import clear_output

for i in range(20):
    clear_output(wait=True)
    print("counter", i)
    time.sleep(0.05)

# %% A display updated by its handle, where it stands
import time

from IPython.display import display

handle = display("step 0", display_id=True)
for step in range(1, 6):
    time.sleep(0.2)
    handle.update(f"step {step}")

# %% Progress bars: nested ones stay a fixed set of lines
import time

from tqdm import tqdm

for _epoch in tqdm(range(3), desc="epochs"):
    for _batch in tqdm(range(20), desc="batches", leave=False):
        time.sleep(0.01)

# %% A DataFrame reads like its text repr; <CR> or :KernelOpen on it opens its HTML
import pandas as pd

pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 0.25, 0.125]})

# %% Markdown, and a plot: its image under its line (or <CR> opens it)
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

display(Markdown("# A heading\nSome *markdown* text."))
plt.plot([1, 3, 2])
plt.show()
