"""Process start-up shared by the console scripts and the bundled executables.

glibc's default malloc hands torch's large buffers back to the kernel after every operation; the resulting page
faults slowed CPU inference 1.4-2.6x on this machine kind (docs/performance.md). The thresholds that stop it only
act when set before the process starts, so the entry points re-execute themselves once with them set.
"""

from __future__ import annotations

import os
import sys

TUNED = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}


def malloc_tuned() -> bool:
    return all(os.environ.get(k) == v for k, v in TUNED.items())


def reexec_with_tuned_malloc(module: str, argv: list[str]) -> None:
    """Replace this process with the same program and ``TUNED`` in the environment (Linux only; no-op elsewhere,
    when already tuned, or with MEDFUSE_NO_REEXEC=1). Returns only if it did not re-execute."""
    if not sys.platform.startswith("linux") or malloc_tuned() or os.environ.get("MEDFUSE_NO_REEXEC"):
        return
    env = dict(os.environ, **TUNED)
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: the executable is the program
        command = [sys.executable, *argv]
    else:
        command = [sys.executable, "-m", module, *argv]
    try:
        os.execve(command[0], command, env)
    except OSError:
        return  # run untuned rather than not at all
