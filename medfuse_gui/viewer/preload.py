"""Network preloading in the viewer (Qt-free), issue 18.

After the window paints, the "preload" lane imports torch, chooses the device, then builds every available network
(verified weights) and runs one warm-up forward pass at the open slice's size (256² before one is open), at low
priority — the selected network first, the others after it, one network per job so the order follows
the user's choice. The fusion lane takes a warmed fuser when it first needs
that network, so switching to a network costs its inference only. A classic method never waits: the fusion lane
does not import torch for it, and torch's import happens in this lane.

``MEDFUSE_PRELOAD=0`` turns the networks' preload off (torch is still imported here).

A network that fails to load here is not reported (nothing was asked for); the fusion lane then builds it itself
when the user selects it, and reports the failure then.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable

from .events import EmitterGroup

log = logging.getLogger(__name__)
LANE = "preload"


def fusion_threads() -> int:
    """torch threads for the viewer's fusion work: every core but one (the GUI thread's), or MEDFUSE_TORCH_THREADS."""
    return int(os.environ.get("MEDFUSE_TORCH_THREADS", "0")) or max(1, (os.cpu_count() or 2) - 1)


def _lower_priority(niceness: int = 10) -> None:
    """Lower the calling thread's scheduling priority (Linux: ``setpriority`` on a thread id is per thread). Not
    the main thread's: there it would slow the whole program (a runner that runs jobs inline, as in tests)."""
    import threading

    if threading.current_thread() is threading.main_thread():
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError, PermissionError):
        pass


class NetworkPreloader:
    def __init__(self, model, runner, build: Callable[[str], Any]) -> None:
        self.model, self.runner, self.build = model, runner, build
        self.events = EmitterGroup("loaded", "finished")   # loaded: a network's name; finished: the names loaded
        self.queue: list[str] = []
        self.ready: dict[str, Any] = {}        # name -> warmed fuser, until the fusion lane takes it
        self.loaded: list[str] = []
        model.events.method.connect(lambda event: self._prefer(model.method))

    def start(self) -> None:
        """Import torch and pick the device (the model's device label), then preload the networks."""
        def init(progress, cancelled):
            try:
                import torch  # noqa: F401  (the ~1 s import, here rather than in the fusion lane)

                from ..fusion.runtime import device_label, select_device
            except ImportError:
                return "CPU (PyTorch not installed: networks unavailable)", False
            # Sets the default for threads that first use torch after this (the export lane); the fusion lane sets
            # its own (torch's count is per thread once a thread has used it).
            torch.set_num_threads(fusion_threads())
            return device_label(select_device()), True

        def ready(result):
            label, has_torch = result
            self.model.set_device(label)
            if has_torch:
                self._begin()
            else:
                self._finish()

        def failed(message):
            self.model.set_device(f"unavailable ({message})")
            self._finish()

        self.runner.submit(LANE, "init", init, on_result=ready, on_error=failed, droppable=False)

    def take(self, name: str):
        """The warmed fuser of ``name`` (once), or None when it is not (yet) preloaded. Called in the fusion lane."""
        return self.ready.pop(name, None)

    def warm_shape(self) -> tuple[int, int]:
        """The slice size to warm the networks at: the open pair's, else 256 x 256 (the demo's, Harvard's)."""
        pair = self.model.pair
        if pair is not None:
            return tuple(int(v) for v in pair.anatomical.shape2d)
        return (256, 256)

    def _begin(self) -> None:
        from ..fusion import list_models

        if os.environ.get("MEDFUSE_PRELOAD", "1") == "0":
            self._finish()
            return
        self.queue = list(list_models(kind="network", available_only=True))
        self._prefer(self.model.method)
        self._next()

    def _prefer(self, name: str) -> None:
        if name in self.queue:
            self.queue.remove(name)
            self.queue.insert(0, name)

    def _next(self) -> None:
        if not self.queue:
            self._finish()
            return
        name = self.queue.pop(0)

        shape = self.warm_shape()

        def load(progress, cancelled):
            from ..fusion.runtime import warm

            _lower_priority()   # the user's own fusions, in the fusion lane, come first
            return warm(self.build(name), shape)

        def loaded(fuser):
            self.ready[name] = fuser
            self.loaded.append(name)
            self.events.loaded.emit(name)
            self._next()

        def failed(message):
            log.warning("preloading %s failed: %s", name, message)
            self._next()

        self.runner.submit(LANE, "preload", load, on_result=loaded, on_error=failed, on_cancel=self._next,
                           droppable=False)

    def _finish(self) -> None:
        self.events.finished.emit(tuple(self.loaded))
