"""Images and files of rich output, handled off the host's main thread: a private temp dir
(store), half-block previews drawn with Pillow (blocks), the worker thread that runs both
(worker), and what :KernelOpen opens of an output (forms). Also the one file written where the
user says, :KernelSave's notebook (notebook), on the main thread: it is fast enough."""
