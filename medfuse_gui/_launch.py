"""Process start-up shared by the console scripts and the bundled executables.

Two settings only act when they are in the environment before the process starts, so the entry points re-execute
themselves once with them set (docs/performance.md):

* glibc's default malloc hands torch's large buffers back to the kernel after every operation; the resulting page
  faults slowed CPU inference 1.4-2.6x on this machine kind. ``MALLOC_*_THRESHOLD_`` stop it.
* OpenMP's wait policy: by default an idle OpenMP thread spins for a while before sleeping. With other processes
  keeping the cores busy, spinning threads steal the time slices the working ones need, and thin-convolution
  networks ran 12-17x slower than idle. ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep (torch's libgomp reads it when
  torch loads); a busy machine then costs about its fair share, with torch keeping all its threads
  (medfuse_gui/fusion/threads.py says why the adaptive thread count is off).
* glibc gives each thread its own malloc arena. The preload lane warms a network in its thread's arena, and the
  fusion lane's first slice then page-faulted its own arena up to the network's working set: MMIF-AMIN's first use
  in the window cost 0.1-0.6 s more than its later uses (`medfuse bench gui`, 5 runs); with one arena
  (``MALLOC_ARENA_MAX=1``) -0.07-0.03 s in 3 runs, and no slower in `medfuse bench models`.

A value the user already set is kept (e.g. ``OMP_WAIT_POLICY=ACTIVE`` to compare).
"""

from __future__ import annotations

import os
import sys

TUNED = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000", "MALLOC_ARENA_MAX": "1",
         "OMP_WAIT_POLICY": "PASSIVE"}


def malloc_tuned() -> bool:
    return all(os.environ.get(k) == TUNED[k] for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"))


def launch_environment(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` with every ``TUNED`` variable the user has not set added."""
    return {**TUNED, **environ}


def reexec_with_tuned_malloc(module: str, argv: list[str]) -> None:
    """Replace this process with the same program and ``TUNED`` in the environment (Linux only; no-op elsewhere,
    when every variable is already set, or with MEDFUSE_NO_REEXEC=1). Returns only if it did not re-execute."""
    if not sys.platform.startswith("linux") or os.environ.get("MEDFUSE_NO_REEXEC"):
        return
    if all(k in os.environ for k in TUNED):
        return
    env = launch_environment(dict(os.environ))
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: the executable is the program
        command = [sys.executable, *argv]
    else:
        # -P (3.11+): `-m` would put the current directory first on sys.path, so a folder or file there named like
        # medfuse_gui or one of its dependencies would be imported instead (the entry point itself does not do that)
        command = [sys.executable, *(["-P"] if sys.version_info >= (3, 11) else []), "-m", module, *argv]
    try:
        os.execve(command[0], command, env)
    except OSError:
        return  # run untuned rather than not at all
