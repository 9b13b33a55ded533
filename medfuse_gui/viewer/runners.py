"""Job runners for the compute service: the rules every runner follows, and a queue drained by hand (Qt-free tests,
scripts). The application's runner (gui/runner.py) follows the same rules with worker threads.

Rules: a job is ``fn(progress, cancelled)``; submitting a droppable job of a (lane, kind) supersedes the older ones
(a queued one is dropped before it starts, a running one sees ``cancelled()`` turn true); ``cancel(lane, kind)`` stops
every job of that kind, droppable or not. Exactly one of on_result / on_error / on_cancel is called per job.
"""

from __future__ import annotations

import itertools
import logging
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from ..io.errors import MedFuseError
from ..pipeline import Cancelled

log = logging.getLogger(__name__)
_tokens = itertools.count(1)


def new_token() -> int:
    return next(_tokens)


def describe_exception(exc: BaseException) -> str:
    """One line a user can act on; never a Python type name or traceback (those go to the log)."""
    if isinstance(exc, MedFuseError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory — close other programs, use a smaller volume, or fuse on the CPU"
    text = str(exc)
    if "out of memory" in text.lower():
        return "the GPU ran out of memory — choose the CPU device or a smaller image"
    return "an unexpected internal error (details in the log; please report it)"


@dataclass
class JobRecord:
    token: int
    lane: str
    kind: str
    fn: Callable
    on_result: Callable[[Any], None]
    on_error: Callable[[str], None] | None
    on_progress: Callable[[int, int], None] | None
    on_cancel: Callable[[], None] | None
    droppable: bool


class StaleTracker:
    """Which jobs the user has moved past (shared by every runner)."""

    def __init__(self) -> None:
        self._superseded: dict[tuple[str, str], int] = {}
        self._cancelled: dict[tuple[str, str], int] = {}

    def submitted(self, job: JobRecord) -> None:
        if job.droppable:
            self._superseded[(job.lane, job.kind)] = job.token

    def cancel(self, lane: str, kind: str) -> None:
        self._cancelled[(lane, kind)] = new_token()

    def is_stale(self, job: JobRecord) -> bool:
        key = (job.lane, job.kind)
        return ((job.droppable and job.token < self._superseded.get(key, 0))
                or job.token < self._cancelled.get(key, 0))


def run_job(job: JobRecord, stale: Callable[[], bool], progress: Callable[[int, int], None]) -> tuple[str, Any]:
    """Run one job: ("result", value) | ("error", message) | ("cancel", None). Never raises."""
    if stale():
        return "cancel", None
    try:
        value = job.fn(progress, stale)
    except Cancelled:
        return "cancel", None
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the user as a message, never kill a thread
        if not isinstance(exc, (MedFuseError, MemoryError)):
            log.error("job %s failed:\n%s", job.kind, traceback.format_exc())
        return "error", describe_exception(exc)
    return ("cancel", None) if stale() else ("result", value)


def deliver(job: JobRecord, outcome: str, value: Any) -> None:
    if outcome == "result":
        job.on_result(value)
    elif outcome == "error":
        if job.on_error is not None:
            job.on_error(value)
    elif job.on_cancel is not None:
        job.on_cancel()


class QueueRunner:
    """Jobs wait in a FIFO until ``run_pending`` runs them in the caller's thread (deterministic tests)."""

    def __init__(self) -> None:
        self.queue: list[JobRecord] = []
        self.stale = StaleTracker()
        self.ran: list[str] = []   # kinds of the jobs that really ran, in order

    def submit(self, lane, kind, fn, *, on_result, on_error=None, on_progress=None, on_cancel=None,
               droppable=True) -> int:
        job = JobRecord(new_token(), lane, kind, fn, on_result, on_error, on_progress, on_cancel, droppable)
        self.stale.submitted(job)
        self.queue.append(job)
        return job.token

    def cancel(self, lane: str, kind: str) -> None:
        self.stale.cancel(lane, kind)

    def run_pending(self, limit: int = 10_000) -> int:
        """Run queued jobs (and those they queue) until none is left; returns how many ran."""
        count = 0
        while self.queue and count < limit:
            job = self.queue.pop(0)
            progress = job.on_progress or (lambda done, total: None)
            outcome, value = run_job(job, lambda job=job: self.stale.is_stale(job), progress)
            if outcome != "cancel" or not self.stale.is_stale(job):
                self.ran.append(job.kind)
            deliver(job, outcome, value)
            count += 1
        return count
