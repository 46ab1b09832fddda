"""What the host does with rich outputs beyond their text: images drawn or written for an image
plugin, outputs opened with :KernelOpen. The slow part runs in the media worker's thread; this
decides what to ask of it, and takes its answers back on the main thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from ..editor.protocol import OpenPayload
from ..output.document import Item
from ..session.kernel_session import ERROR, WARN, KernelSession
from ..session.options import Options
from .worker import Done, Job, Worker

DRAWN = ("image/png", "image/jpeg", "image/gif")  # what Pillow draws previews of


class Gallery:
    def __init__(self, options: Callable[[], Options], post: Callable[[object, Done], None]):
        self._options = options
        self._post = post
        self._worker: Worker | None = None  # made with the first image
        self._waiting: list[Job] = []  # started once the lines they are for are written
        self._opened = 0  # scratch buffers opened: their names' numbers
        self._said_pillow = False

    def open(self, session: KernelSession, row: int, shown_by: KernelSession) -> bool:
        """Open the richest form of the output on line ``row`` (1-based); False if it has none.
        The answer is shown with ``shown_by``'s (the active session's) answers."""
        from . import forms

        item = session.doc.item_at(row - 1)
        form = forms.richest(item.rich) if item is not None and item.rich is not None else None
        if item is None or form is None:
            return False
        rich = item.rich
        assert rich is not None
        if isinstance(form, forms.TextForm):
            self._opened += 1
            name = f"kernel-open://{self._opened}.{form.filetype}"
            _show(shown_by, {"name": name, "text": form.text, "filetype": form.filetype})
        elif rich.file and rich.image is not None and form.mimetype == rich.image.mimetype:
            _show(shown_by, {"file": rich.file})
        else:
            self._worker_().submit(Job(shown_by, item, rich, write=form, open=True))
        return True

    def draw(self, session: KernelSession) -> None:
        """New images of ``session``: their previews drawn, or files written for a plugin."""
        for item in session.doc.take_images():
            job = self._job(session, item)
            if job is not None:
                self._waiting.append(job)

    def flushed(self) -> None:
        # Only now: a decode in the worker's thread, started before the flush's update, would
        # hold the GIL at times while the main thread writes the image's line.
        jobs, self._waiting = self._waiting, []
        for job in jobs:
            self._worker_().submit(job)

    def done(self, session: KernelSession, done: Done) -> None:
        job = done.job
        # Said once, and only when nothing else draws images: an image plugin may draw them.
        if done.no_pillow and not self._said_pillow and self._options().image == "blocks":
            self._said_pillow = True
            session.say(f"image previews need Pillow in the python3 host: {sys.executable} -m "
                        "pip install Pillow (or let g:kernel_image = 'none')", WARN)  # fmt: skip
        if done.problem:
            session.say(done.problem, ERROR if job.open else WARN)
        if job.open:
            if done.file:
                _show(session, {"file": done.file})
                if job.write is not None and job.write.image is job.rich.image:
                    job.rich.file = done.file  # the next open need not wait for the worker
            return
        if job.item.rich is job.rich and (done.file or done.preview):  # not replaced since
            job.rich.file = done.file or job.rich.file
            job.rich.preview = done.preview or job.rich.preview
            session.doc.touch(job.item)

    def _job(self, session: KernelSession, item: Item) -> Job | None:
        from . import forms  # loaded with the first image, as the worker and its store are

        rich, options = item.rich, self._options()
        image = rich.image if rich is not None else None
        if rich is None or image is None or options.image == "none":
            return None
        write = size = None
        if options.image in ("file", "both") and image.mimetype in forms.SUFFIXES:
            write = forms.image_form(image)
        if options.image in ("blocks", "both") and image.mimetype in DRAWN:
            size = (options.image_rows, options.image_columns)
        if write is None and size is None:
            return None
        return Job(session, item, rich, preview=size, write=write)

    def _worker_(self) -> Worker:
        if self._worker is None:
            from .store import Store

            self._worker = Worker(Store(), self._post)
        return self._worker


NOTHING_TO_OPEN = (
    "nothing to open on this line: :KernelOpen opens images, HTML, JSON, markdown and LaTeX outputs"
)


def _show(session: KernelSession, payload: OpenPayload) -> None:
    session.shows["open"] = payload
