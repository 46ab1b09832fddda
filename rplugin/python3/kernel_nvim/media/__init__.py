"""Images and files of rich output, handled off the host's main thread: a private temp dir
(store), half-block previews drawn with Pillow (blocks), the worker thread that runs both
(worker), and what :KernelOpen opens of an output (forms)."""
