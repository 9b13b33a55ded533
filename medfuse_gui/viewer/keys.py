"""The exact parameters a result was computed from. A view shows a result only when its key equals the one the model
gives for what is on screen now, so a stale image, title, number or chart bar cannot be shown."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Generic, Hashable, TypeVar

Window = tuple[float, float]
Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class FusionKey:
    pair_id: int                 # which pair (and alignment) of sources: a new pair or transform is a new id
    method: str
    orientation: str
    index: int                   # slice of that orientation
    anat_window: Window
    func_window: Window | None   # None for RGB functional images (no window applies)
    colormap: str | None         # None for RGB functional images

    def with_method(self, method: str) -> "FusionKey":
        return replace(self, method=method)


@dataclass(frozen=True)
class MetricsKey:
    fusion: FusionKey
    region: Rect | None          # None: the whole image
    preset: str

    def with_method(self, method: str) -> "MetricsKey":
        return replace(self, fusion=self.fusion.with_method(method))


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """A small least-recently-used map (fused slices cost ~1 MB each: the bound keeps memory flat)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
