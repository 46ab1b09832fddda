"""Pure: what the editor knows of one kernel. No pynvim, no sockets."""
