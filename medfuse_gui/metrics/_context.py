"""Input checks, regions, and the per-call cache that lets metrics share gradients, filtered maps and histograms."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from ..io.errors import MedFuseError

Rect = tuple[int, int, int, int]  # (row0, col0, row1, col1), half-open

class MetricInputError(MedFuseError, ValueError):
    """Images, a region or a metric name the metrics cannot take: a one-line reason (a ValueError for callers)."""


MIN_REGION = 2       # a box must be at least 2x2 pixels
MIN_IMAGE = 8        # whole images must be at least 8x8 pixels


def _as_image(name: str, array: Any) -> np.ndarray:
    a = np.asarray(array)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise MetricInputError(f"{name}: expected a numeric 2-D array, got dtype {a.dtype}")
    if a.ndim != 2:
        hint = " (pass the luminance of a colour image, e.g. medfuse_gui.colour.luminance(rgb) * 255)" \
            if a.ndim == 3 and a.shape[-1] in (3, 4) else ""
        raise MetricInputError(f"{name}: expected a 2-D array, got shape {a.shape}{hint}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        raise MetricInputError(f"{name}: contains NaN or infinite values")
    return a


def check_images(anatomical: Any, functional: Any, fused: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and convert to float64 on the 0..255 scale. Raises ValueError with a one-line reason."""
    a = _as_image("anatomical", anatomical)
    b = _as_image("functional", functional)
    f = _as_image("fused", fused)
    if not (a.shape == b.shape == f.shape):
        raise MetricInputError(f"shape mismatch: anatomical {a.shape}, functional {b.shape}, fused {f.shape} "
                         "(resample to one grid first)")
    if min(a.shape) < MIN_IMAGE:
        raise MetricInputError(f"image too small ({a.shape[1]}x{a.shape[0]}); metrics need at least {MIN_IMAGE}x{MIN_IMAGE}")
    for name, x in (("anatomical", a), ("functional", b), ("fused", f)):
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.0 or hi > 256.0:
            raise MetricInputError(f"{name}: values {lo:g}..{hi:g} are outside the 0..255 scale metrics expect "
                             "(window 16-bit data to 8 bits first)")
    if max(float(x.max()) for x in (a, b, f)) <= 1.0 and any(np.any(x != np.round(x)) for x in (a, b, f)):
        raise MetricInputError("all three images lie in [0, 1]: metrics expect the 0..255 scale (multiply by 255)")
    return a, b, f


def check_region(region: Sequence[int] | None, shape: tuple[int, int]) -> Rect:
    """Normalise a region to a half-open (row0, col0, row1, col1) inside the image; None is the whole image."""
    rows, cols = shape
    if region is None:
        return (0, 0, rows, cols)
    try:
        values = [v for v in region]
    except TypeError:
        raise MetricInputError(f"region must be (row0, col0, row1, col1) or None, got {region!r}") from None
    if len(values) != 4:
        raise MetricInputError(f"region must be (row0, col0, row1, col1) or None, got {region!r}")
    rect = []
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not float(v).is_integer():
            raise MetricInputError(f"region coordinates must be integers, got {region!r}")
        rect.append(int(v))
    r0, c0, r1, c1 = rect
    if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
        raise MetricInputError(f"region {tuple(rect)} is not inside the {rows}x{cols} image (rows x cols, half-open)")
    if r1 - r0 < MIN_REGION or c1 - c0 < MIN_REGION:
        raise MetricInputError(f"region {tuple(rect)} is smaller than {MIN_REGION}x{MIN_REGION} pixels")
    return (r0, c0, r1, c1)


def centre_range(start: int, stop: int, offset: float, stride: int, n: int) -> slice:
    """Indices i in [0, n) of a map whose centre offset + stride*i lies in [start, stop)."""
    lo = max(0, math.ceil((start - offset) / stride))
    hi = min(n, math.ceil((stop - offset) / stride))
    return slice(lo, max(lo, hi))


def map_window(values: np.ndarray, rect: Rect, offset: tuple[float, float] = (0.0, 0.0), stride: int = 1
               ) -> np.ndarray:
    """The part of a map (value at index (i, j) centred on pixel offset + stride*(i, j)) whose centres lie in rect."""
    rs = centre_range(rect[0], rect[2], offset[0], stride, values.shape[0])
    cs = centre_range(rect[1], rect[3], offset[1], stride, values.shape[1])
    return values[rs, cs]


class Context:
    """The three images of one call and a cache of shared intermediate results.

    ``get(key, builder)`` computes ``builder()`` once per key. Whole-image maps are keyed without a region; crop-based
    quantities include the rect in their key."""

    def __init__(self, a: np.ndarray, b: np.ndarray, f: np.ndarray):
        self.images = {"A": a, "B": b, "F": f}
        self.shape: tuple[int, int] = a.shape  # type: ignore[assignment]
        self.full: Rect = (0, 0, a.shape[0], a.shape[1])
        self._cache: dict[Any, Any] = {}

    def get(self, key: Any, builder: Callable[[], Any]) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = builder()
            return value

    def crop(self, name: str, rect: Rect) -> np.ndarray:
        r0, c0, r1, c1 = rect
        return self.images[name][r0:r1, c0:c1]
