"""Real parts shared by the tests and bench/: one way to start each of them.

- ``sandbox``: the HOME, XDG dirs and 0700 Jupyter runtime dir everything runs in, the plugin
  registered through a manifest of their own, and ``wait_for``.
- ``kernels``: a real ipykernel started from its own connection file.
- ``editor``: ``nvim --embed --headless`` with kernel.nvim, and the reads and waits tests need.
- ``checks``: assertions the end-to-end tests share (one ``[kernel]`` line, no traceback).
- ``fake_kernel``: a kernel of our own on real zmq, to send what a real kernel cannot.

Nothing is imported here, so a unit test can use ``support.fake_kernel`` without pynvim.
"""
