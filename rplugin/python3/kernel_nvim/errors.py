"""The one exception type whose message reaches the user."""


class KernelError(Exception):
    """A problem the user can act on, reported once as ``[kernel] <message>``."""
