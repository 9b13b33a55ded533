"""Background work in QThreads, napari-style: a QObject worker moved to its own thread, with started / progressed /
returned / errored / finished signals.

Each job has a ``kind`` ("fuse", "metrics", "load", ...) and a generation number. Submitting a newer job of a kind
supersedes the older ones: a queued stale job is dropped before it starts and a running one sees ``cancelled()``
become true at its next check, so the GUI never shows a result the user has already moved past.

PySide6 trap (docs/performance.md): a plain function connected to ``QThread.started`` runs in the GUI thread. Here the
worker is a QObject moved with ``moveToThread`` and its entry point is a decorated ``@Slot`` reached through a queued
signal, which runs in the worker thread (a test checks ``threading.get_ident()``).
"""

from __future__ import annotations

import itertools
import logging
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..io.errors import MedFuseError
from ..pipeline import Cancelled

log = logging.getLogger(__name__)

JobFunction = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]
_job_ids = itertools.count(1)


@dataclass
class Job:
    kind: str
    fn: JobFunction
    generation: int = 0            # assigned by WorkerThread.submit
    payload: Any = None            # whatever the GUI needs to route the result (slice, method, box...)
    droppable: bool = True         # a newer job of the same kind makes this one pointless
    id: int = field(default_factory=lambda: next(_job_ids))


def describe_exception(exc: BaseException) -> str:
    """One line a user can act on."""
    if isinstance(exc, MedFuseError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory — close other programs, use a smaller volume, or fuse on the CPU"
    text = str(exc)
    if "CUDA out of memory" in text or "OutOfMemoryError" in exc.__class__.__name__:
        return "the GPU ran out of memory — choose the CPU device or a smaller image"
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


class TaskWorker(QObject):
    started = Signal(object)                 # Job
    progressed = Signal(object, int, int)    # Job, done, total
    returned = Signal(object, object)        # Job, result
    errored = Signal(object, str)            # Job, one-line message
    cancelled = Signal(object)               # Job (dropped before start, or stopped at a check)
    finished = Signal(object)                # Job, after returned/errored/cancelled

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._latest: dict[str, int] = {}

    # Called from the GUI thread.
    def supersede(self, kind: str, generation: int) -> None:
        with self._lock:
            self._latest[kind] = max(generation, self._latest.get(kind, 0))

    def cancel_kind(self, kind: str, generation: int) -> None:
        """Make every job of ``kind`` older than ``generation`` stale (queued ones are dropped, running ones stop at
        their next check)."""
        self.supersede(kind, generation)

    def is_stale(self, job: Job) -> bool:
        with self._lock:
            return job.droppable and job.generation < self._latest.get(job.kind, 0)

    @Slot(object)
    def run(self, job: Job) -> None:
        if self.is_stale(job):
            self.cancelled.emit(job)
            self.finished.emit(job)
            return
        self.started.emit(job)
        try:
            result = job.fn(lambda done, total: self.progressed.emit(job, done, total),
                            lambda: self.is_stale(job) or QThread.currentThread().isInterruptionRequested())
        except Cancelled:
            self.cancelled.emit(job)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user, never kill the thread
            if not isinstance(exc, (MedFuseError, MemoryError)):
                log.error("job %s failed:\n%s", job.kind, traceback.format_exc())
            self.errored.emit(job, describe_exception(exc))
        else:
            if self.is_stale(job):
                self.cancelled.emit(job)
            else:
                self.returned.emit(job, result)
        self.finished.emit(job)


class _Dispatcher(QObject):
    request = Signal(object)


class WorkerThread:
    """A QThread with one TaskWorker; ``submit`` queues a job (FIFO) from the GUI thread."""

    def __init__(self, name: str) -> None:
        self._generations = itertools.count(1)
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker = TaskWorker()
        self.worker.moveToThread(self.thread)
        self._dispatcher = _Dispatcher()
        self._dispatcher.request.connect(self.worker.run)  # queued: the worker lives in another thread
        self.thread.start()

    def submit(self, job: Job) -> Job:
        job.generation = next(self._generations)
        if job.droppable:
            self.worker.supersede(job.kind, job.generation)
        self._dispatcher.request.emit(job)
        return job

    def cancel(self, kind: str) -> None:
        self.worker.cancel_kind(kind, next(self._generations))

    def stop(self, wait_ms: int = 10000) -> None:
        self.thread.requestInterruption()
        self.thread.quit()
        self.thread.wait(wait_ms)
