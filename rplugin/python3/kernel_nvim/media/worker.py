"""The media worker: one thread of the host that writes files and draws previews, so that the
main thread (and through it the editor) never waits on a decode or a big write.

Jobs come from the main thread; each result goes back through ``post`` (the editor bridge's,
which hands it to the main thread in its next flush, as it does a channel's events). The line
naming an image is written before any of this starts; the preview follows when it is drawn.
A preview of an item replaced meanwhile (a display updated by its id, frame after frame) is
not drawn: only the newest of an item's jobs is.
"""

from __future__ import annotations

import base64
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the worker is made with the first image: what it needs is loaded then
    from ..output.document import Item
    from ..output.rich import Image, Preview, Rich
    from .forms import FileForm
    from .store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    owner: object  # whose job it is (a session): handed back with the result
    item: Item  # the output it is for
    rich: Rich  # what the item showed when the job was made
    preview: tuple[int, int] | None = None  # (rows, columns): draw the image in at most that
    write: FileForm | None = None  # write this to a private file
    open: bool = False  # then open that file (:KernelOpen)


@dataclass(frozen=True)
class Done:
    job: Job
    file: str = ""  # the file written, if one was asked for
    preview: Preview = ()
    problem: str = ""  # why a file or preview is missing, said to the user once
    no_pillow: bool = False  # Pillow is not installed: no previews at all


class Worker:
    def __init__(self, store: Store, post: Callable[[object, Done], None]) -> None:
        self.store = store
        self._post = post
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._newest: dict[int, Job] = {}  # id(item) -> its newest preview job
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> None:
        """From the main thread; the thread starts with the first job."""
        if job.preview is not None:
            with self._lock:
                self._newest[id(job.item)] = job
        self._jobs.put(job)
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="kernel-media", daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                done = self._run(job)
            except Exception:  # a bug: the job is dropped alone, the thread goes on
                log.exception("kernel.nvim: media job failed")
                continue
            if done is not None:
                self._post(job.owner, done)

    def _run(self, job: Job) -> Done | None:
        file, problem = "", ""
        if job.write is not None:
            try:
                form = job.write
                data = form.data if form.image is None else image_bytes(form.image)
                file = self.store.write(data, form.suffix)
            except ValueError:
                problem = f"the {job.write.mimetype} cannot be decoded (bad base64)"
            except OSError as e:
                problem = f"cannot write a private temp file: {e.strerror or type(e).__name__}"
        if job.preview is None or not self._newest_of_its_item(job):
            return Done(job, file, problem=problem) if job.write is not None else None
        return self._draw(job, file, problem)

    def _draw(self, job: Job, file: str, problem: str) -> Done:
        from . import blocks

        image = job.rich.image
        assert image is not None and job.preview is not None
        try:
            preview = blocks.draw(image_bytes(image), *job.preview)
        except ImportError:
            return Done(job, file, problem=problem, no_pillow=True)
        except blocks.TooLarge as e:
            return Done(job, file, problem=f"no preview: the {image.mimetype} {e}")
        except Exception as e:  # whatever a broken image makes Pillow raise
            why = f"no preview: the {image.mimetype} cannot be decoded ({type(e).__name__})"
            return Done(job, file, problem=why)
        return Done(job, file, preview, problem)

    def _newest_of_its_item(self, job: Job) -> bool:
        with self._lock:
            newest = self._newest.get(id(job.item)) is job
            if newest:
                del self._newest[id(job.item)]
            return newest


def image_bytes(image: Image) -> bytes:
    """The image's bytes, decoded from base64 here, in the worker, when they came so."""
    return image.data or base64.b64decode(image.encoded)
