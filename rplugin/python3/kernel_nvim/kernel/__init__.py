"""The only code that touches sockets or processes: the wire, channels, kernel sources."""
