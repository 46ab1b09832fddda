"""Where a kernel comes from, and what we may do to it."""
