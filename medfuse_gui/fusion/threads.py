"""How many CPU threads torch may use for a fusion, chosen from the load other processes put on the machine — an
opt-in policy (``MEDFUSE_ADAPT_THREADS=1``), off by default since 2026-12-06.

Why it exists: with other processes keeping the cores busy, torch's default (one OpenMP thread per core, libgomp
spinning while it waits) made the thin convolution networks 12-17x slower than idle on 2 cores. Why it is off: the
launcher's ``OMP_WAIT_POLICY=PASSIVE`` (medfuse_gui/_launch.py) removed that collapse by itself, and then keeping
every thread was faster than dropping to the free cores under every load measured (`medfuse bench busy`, 2 cores,
1 / 2 / 4 spinning processes: e.g. busy/idle with 2 spinners 1.88-2.22 with all threads, 2.37-2.65 adapted; with 4,
~3.0 — the fair share — against 4-5: docs/performance.md, "A busy machine"). A thread the kernel deschedules is
waited for, but a process with more threads also gets a larger share of the CPU.

The load is measured without waiting: the CPU time all cores spent busy (``/proc/stat``) minus this process's own CPU
time, over the interval since the previous decision. Before each network call (and between the batches of a volume)
``POLICY.apply()`` re-decides when at least ``MIN_INTERVAL_S`` has passed, so the count follows the load.

The ceiling is what torch was set to by whoever runs the fusion (torch's default: one per core; the viewer's fusion
lane: cores - 1; ``medfuse bench --threads``): the policy only ever lowers it.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

MIN_INTERVAL_S = 0.25       # shorter intervals are dominated by the kernel's 10 ms accounting ticks
FIRST_SAMPLE_S = 0.05       # the first decision of a process, when no earlier sample exists


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, e.g. under taskset or a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                      # not Linux
        return max(1, os.cpu_count() or 1)


def system_busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy since boot (Linux ``/proc/stat``), None where unavailable."""
    try:
        with open("/proc/stat") as handle:
            fields = handle.readline().split()
        ticks = [int(v) for v in fields[1:9]]   # user nice system idle iowait irq softirq steal
    except (OSError, ValueError):
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class LoadSample:
    wall: float
    system_busy: float
    own_cpu: float


def take_sample() -> LoadSample | None:
    busy = system_busy_seconds()
    if busy is None:
        return None
    return LoadSample(time.monotonic(), busy, time.process_time())


def others_busy_cores(before: LoadSample, after: LoadSample) -> float:
    """Cores kept busy by other processes between two samples (this process's own threads subtracted)."""
    elapsed = after.wall - before.wall
    if elapsed <= 0:
        return 0.0
    others = (after.system_busy - before.system_busy) - (after.own_cpu - before.own_cpu)
    return max(0.0, others / elapsed)


def threads_for(others_busy: float, cores: int, ceiling: int) -> int:
    """One thread per core the other processes leave free, at least 1, at most ``ceiling``."""
    free = cores - int(others_busy + 0.5)
    return max(1, min(ceiling, free))


class ThreadPolicy:
    """Process-wide: sets ``torch.set_num_threads`` to what the current load leaves free (see the module doc)."""

    def __init__(self, min_interval: float = MIN_INTERVAL_S):
        self.min_interval = min_interval
        self.enabled = os.environ.get("MEDFUSE_ADAPT_THREADS", "0") == "1"
        self.cores = usable_cores()
        self.ceiling: int | None = None
        self.applied: int | None = None
        self.others_busy: float | None = None
        self._sample: LoadSample | None = None
        self._lock = threading.Lock()

    def prime(self) -> None:
        """Start a measurement interval now (e.g. while weights load), so the first decision needs no wait."""
        with self._lock:
            if self._sample is None:
                self._sample = take_sample()

    def apply(self) -> int:
        """Re-decide torch's thread count if the last decision is old enough; returns the count in force."""
        import torch

        with self._lock:
            current = torch.get_num_threads()
            if self.ceiling is None or (self.applied is not None and current != self.applied):
                self.ceiling = current          # someone chose a count explicitly: never exceed it
                self.applied = current
            if not self.enabled:
                return current
            now = take_sample()
            if now is None:
                return current
            if self._sample is None:
                self._sample = now
                time.sleep(FIRST_SAMPLE_S)
                now = take_sample()
            if now.wall - self._sample.wall < self.min_interval and self.others_busy is not None:
                return current
            self.others_busy = others_busy_cores(self._sample, now)
            self._sample = now
            chosen = threads_for(self.others_busy, self.cores, self.ceiling)
            if chosen != current:
                torch.set_num_threads(chosen)
            self.applied = chosen
            return chosen


POLICY = ThreadPolicy()


_POOLS: dict[str, tuple[int, int, ThreadPoolExecutor]] = {}   # name -> (process id, workers, pool)
_POOLS_LOCK = threading.Lock()


def worker_pool(name: str, workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of at least ``workers`` threads named ``name`` (calls from several lanes queue rather than
    oversubscribe the cores). Made again in a forked child, which inherits the executor but not its threads."""
    with _POOLS_LOCK:
        pid, size, pool = _POOLS.get(name, (0, 0, None))
        if pool is None or pid != os.getpid() or size < workers:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
            _POOLS[name] = (os.getpid(), workers, pool)
        return pool


_BLAS_LOCK = threading.Lock()
_BLAS = None


@contextmanager
def blas_threads(limit: int):
    """NumPy's BLAS and LAPACK (OpenBLAS in the wheels) limited to ``limit`` threads inside the block. The libraries
    are found once (threadpoolctl scans the loaded shared objects); the limit is process-wide while it holds."""
    global _BLAS
    with _BLAS_LOCK:
        if _BLAS is None:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController().select(user_api="blas")
    with _BLAS.limit(limits=limit):
        yield
