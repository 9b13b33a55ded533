"""One tolerant, typed path for every DICOM header value the loaders read.

pydicom converts a value when it is first accessed, so a malformed DS/IS raises there ("could not convert string to
float"). Every read goes through :class:`HeaderReader`: a bad value either falls back with a warning that names the
tag (geometry, rescale, window), or, where no fallback is honest (image dimensions), raises a LoadError naming the
file, the tag and the value.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .errors import LoadError


def _raw_text(ds: Any, keyword: str) -> str:
    """The value as stored, for messages, without converting it (and without raising)."""
    try:
        item = ds.get_item(keyword)
    except Exception:  # noqa: BLE001 - a message helper must not fail
        return "?"
    value = getattr(item, "value", item)
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    text = str(value).strip().replace("\0", "")
    return text if len(text) <= 40 else text[:37] + "..."


class HeaderReader:
    """Reads values of one pydicom data set (or a functional-group item) for one file; collects warnings."""

    def __init__(self, ds: Any, path: str | Path, warnings: list[str] | None = None):
        self.ds = ds
        self.path = Path(path)
        self.warnings = warnings if warnings is not None else []

    def child(self, ds: Any) -> "HeaderReader":
        """A reader for a nested item (functional groups) that reports into the same warnings."""
        return HeaderReader(ds, self.path, self.warnings)

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def has(self, keyword: str) -> bool:
        try:
            return keyword in self.ds
        except Exception:  # noqa: BLE001
            return False

    def value(self, keyword: str) -> Any:
        """The converted value, or None when absent or not convertible (with a warning)."""
        if not self.has(keyword):
            return None
        try:
            return self.ds.get(keyword)
        except Exception:  # noqa: BLE001 - pydicom raises ValueError/TypeError/... per VR
            self.warn(f"{keyword} {_raw_text(self.ds, keyword)!r} is malformed: ignored")
            return None

    def numbers(self, keyword: str, count: int, *, positive: bool = False) -> list[float] | None:
        """Exactly ``count`` finite numbers (all > 0 when ``positive``), or None with a warning naming the tag."""
        raw = self.value(keyword)
        if raw is None or raw == "":
            return None
        items = list(raw) if isinstance(raw, (list, tuple)) or hasattr(raw, "__len__") and not isinstance(
            raw, (str, bytes)) else [raw]
        try:
            values = [float(v) for v in items]
        except (TypeError, ValueError):
            values = None
        if values is None or len(values) != count or not all(math.isfinite(v) for v in values) or (
                positive and not all(v > 0 for v in values)):
            need = f"{count} {'positive ' if positive else ''}number{'s' if count > 1 else ''}"
            self.warn(f"{keyword} {_raw_text(self.ds, keyword)!r} is not {need}: ignored")
            return None
        return values

    def number(self, keyword: str, default: float | None = None, *, positive: bool = False,
               nonzero: bool = False) -> float | None:
        """One finite number, or ``default`` (with a warning naming the tag when the value was present but bad).
        A multi-valued element gives its first value (WindowCenter may list several windows)."""
        raw = self.value(keyword)
        if raw is None or raw == "":
            return default
        first = raw[0] if hasattr(raw, "__len__") and not isinstance(raw, (str, bytes)) and len(raw) else raw
        try:
            value = float(first)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or (positive and value <= 0) or (nonzero and value == 0):
            fallback = "" if default is None else f", {default:g} used"
            self.warn(f"{keyword} {_raw_text(self.ds, keyword)!r} is not a usable number{fallback}")
            return default
        return value

    def integer(self, keyword: str, default: int, *, minimum: int = 0) -> int:
        """An integer >= minimum, or ``default`` with a warning naming the tag."""
        value = self.number(keyword, None)
        if value is None:
            return default
        if value != int(value) or value < minimum:
            self.warn(f"{keyword} {_raw_text(self.ds, keyword)!r} is not an integer >= {minimum}, {default} used")
            return default
        return int(value)

    def dimension(self, keyword: str, default: int | None = None, *, what: str = "the image") -> int:
        """An image dimension (Rows, Columns, NumberOfFrames, SamplesPerPixel, BitsAllocated): a positive integer,
        else a LoadError naming the file, the tag and the value (no fallback is honest for a pixel layout)."""
        if not self.has(keyword) and default is not None:
            return default
        raw = self.value(keyword)
        if raw is None or raw == "":
            if default is not None:
                return default
            raise LoadError(self.path, f"{what} has no {keyword}")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or value != int(value) or value < 1:
            raise LoadError(self.path, f"{keyword} {_raw_text(self.ds, keyword)!r} is not a positive integer")
        return int(value)

    def text(self, keyword: str, default: str = "") -> str:
        value = self.value(keyword)
        if value is None:
            return default
        try:
            return str(value).strip()
        except Exception:  # noqa: BLE001
            return default
