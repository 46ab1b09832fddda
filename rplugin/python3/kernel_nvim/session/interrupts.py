"""What to say when an interrupt's grace is over, if anything. Pure Python."""

from __future__ import annotations

from ..kernel.channel import EventKind

ENDS = frozenset({EventKind.INTERRUPT_ANSWERED, EventKind.INTERRUPT_SIGNALLED,
                  EventKind.INTERRUPT_UNANSWERED})  # fmt: skip


def word(kind: EventKind, interrupted: set[str], running: set[str], short: str) -> str | None:
    """``interrupted``: what ran when the interrupt was sent; ``running``: what runs now."""
    if kind is EventKind.INTERRUPT_UNANSWERED:
        why = "no process here is proven to be it, so none was sent SIGINT"
        return f"{short} did not answer the interrupt request: {why}"
    if kind is EventKind.INTERRUPT_ANSWERED and interrupted & running:
        # xeus-python acknowledges every interrupt_request and stops nothing (and SIGINT ends
        # its process): code that goes on after the grace is worth a word.
        return (f"{short} answered the interrupt request, but the code still runs: the kernel "
                "may ignore interrupts")  # fmt: skip
    return None
