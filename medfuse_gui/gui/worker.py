"""The compute service's runner in worker QThreads, napari-style: one QObject worker per lane, moved to its own thread,
emitting started / progressed / finished; results are delivered to their callbacks in the GUI thread.

PySide6 trap (docs/performance.md): a plain function connected to ``QThread.started`` runs in the GUI thread. Here the
worker is a QObject moved with ``moveToThread`` and its entry point is a decorated ``@Slot`` reached through a queued
signal, which runs in the worker thread (a test checks ``threading.get_ident()``).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..viewer.runners import JobRecord, StaleTracker, deliver, new_token, run_job

LANES = ("fusion", "aux", "export", "register", "preload")


class LaneWorker(QObject):
    started = Signal(object)                  # JobRecord
    progressed = Signal(object, int, int)     # JobRecord, done, total
    finished = Signal(object, str, object)    # JobRecord, "result" | "error" | "cancel", value

    def __init__(self, stale: StaleTracker, lock: threading.Lock) -> None:
        super().__init__()
        self._stale, self._lock = stale, lock

    def is_stale(self, job: JobRecord) -> bool:
        with self._lock:
            stale = self._stale.is_stale(job)
        return stale or QThread.currentThread().isInterruptionRequested()

    @Slot(object)
    def run(self, job: JobRecord) -> None:
        if not self.is_stale(job):
            self.started.emit(job)
        outcome, value = run_job(job, lambda: self.is_stale(job), lambda d, t: self.progressed.emit(job, d, t))
        self.finished.emit(job, outcome, value)


class _Dispatcher(QObject):
    request = Signal(object)


class QtRunner(QObject):
    """``submit`` from the GUI thread; callbacks run in the GUI thread when the job ends."""

    def __init__(self, lanes: tuple[str, ...] = LANES, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self.stale = StaleTracker()
        self.threads: dict[str, QThread] = {}
        self.workers: dict[str, LaneWorker] = {}
        self._dispatchers: dict[str, _Dispatcher] = {}
        self.running: dict[int, JobRecord] = {}
        for lane in lanes:
            thread = QThread()
            thread.setObjectName(f"medfuse-{lane}")
            worker = LaneWorker(self.stale, self._lock)
            worker.moveToThread(thread)
            dispatcher = _Dispatcher()
            dispatcher.request.connect(worker.run)      # queued: the worker lives in another thread
            worker.finished.connect(self._on_finished)  # queued back to the GUI thread
            worker.progressed.connect(self._on_progress)
            thread.start()
            self.threads[lane], self.workers[lane], self._dispatchers[lane] = thread, worker, dispatcher

    def submit(self, lane, kind, fn, *, on_result, on_error=None, on_progress=None, on_cancel=None,
               droppable=True) -> int:
        job = JobRecord(new_token(), lane, kind, fn, on_result, on_error, on_progress, on_cancel, droppable)
        with self._lock:
            self.stale.submitted(job)
        self.running[job.token] = job
        self._dispatchers[lane].request.emit(job)
        return job.token

    def cancel(self, lane: str, kind: str) -> None:
        with self._lock:
            self.stale.cancel(lane, kind)

    def busy(self, lane: str | None = None) -> bool:
        return any(lane is None or job.lane == lane for job in self.running.values())

    def _on_progress(self, job: JobRecord, done: int, total: int) -> None:
        if job.on_progress is not None and job.token in self.running:
            job.on_progress(done, total)

    def _on_finished(self, job: JobRecord, outcome: str, value) -> None:
        if self.running.pop(job.token, None) is not None:
            deliver(job, outcome, value)

    def stop(self, wait_ms: int = 1500) -> bool:
        """Ask every lane to stop; True when all threads ended within ``wait_ms`` (a torch call in progress cannot be
        interrupted: the caller may then leave without waiting for it)."""
        for thread in self.threads.values():
            thread.requestInterruption()
            thread.quit()
        ended = all(thread.wait(wait_ms) for thread in self.threads.values())
        self.running.clear()
        return ended
