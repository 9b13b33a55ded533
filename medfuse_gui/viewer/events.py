"""Events of the viewer model, in the spirit of napari's ``EmitterGroup``: every change of the model emits a named
event; listeners (the Qt widgets, the compute service, tests) connect callbacks. Qt-free and synchronous: a callback
runs inside the ``emit`` call, in the thread that changed the model (always the GUI thread in the application)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    type: str
    value: Any = None


Callback = Callable[[Event], None]


class EventEmitter:
    """One kind of event. ``connect`` returns the callback so it can be used as a decorator."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callback] = []
        self._blocked = 0

    def connect(self, callback: Callback) -> Callback:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback | None = None) -> None:
        if callback is None:
            self._callbacks.clear()
        elif callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, value: Any = None) -> None:
        if self._blocked:
            return
        event = Event(self.name, value)
        for callback in list(self._callbacks):
            callback(event)

    @contextlib.contextmanager
    def blocked(self) -> Iterator[None]:
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1


class EmitterGroup:
    """Named emitters as attributes (``model.events.slice.connect(...)``) plus ``any`` that fires after each."""

    def __init__(self, *names: str) -> None:
        self._names = tuple(names)
        for name in names:
            setattr(self, name, EventEmitter(name))
        self.any = EventEmitter("any")
        for name in names:
            getattr(self, name).connect(self.any.emit)

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def __getitem__(self, name: str) -> EventEmitter:
        if name not in self._names:
            raise KeyError(name)
        return getattr(self, name)
