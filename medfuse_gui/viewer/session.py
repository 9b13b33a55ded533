"""Sessions: the viewer model written to a small, versioned JSON file and read back (validated, with a clear message
for a bad or newer file). Sources are stored by path; the window's geometry and dock layout are opaque base64 blobs
that only the Qt layer reads."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..io.errors import MedFuseError
from .boxes import BOX_NAMES, Box
from .planes import ORIENTATIONS

FORMAT = "medfuse-session"
VERSION = 2   # 2: "transform" (the registration, viewer/alignment.py) is validated; version 1 files still open
SUFFIX = ".medfuse.json"
MAX_BYTES = 1_000_000


class SessionError(MedFuseError):
    """A session file that cannot be used; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"cannot open the session {Path(path).name}: {reason}")


@dataclass
class Session:
    anatomical: str | None = None
    functional: str | None = None
    method: str = "average"
    orientation: str = "axial"
    cursor_voxel: list[float] | None = None
    crosshair_ras: list[float] | None = None
    anat_window: list[float] | None = None
    anat_window_preset: str | None = None
    func_window: list[float] | None = None
    colormap: str | None = None
    overlay: dict[str, Any] = field(default_factory=lambda: {"visible": False, "alpha": 0.5, "threshold": 0.15})
    boxes: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    preset: str = "default"
    radiological: bool = True
    transform: dict | None = None                          # registration.Transform.to_dict(); None: world
    window: dict[str, str] = field(default_factory=dict)   # Qt geometry/state, base64

    # --- from and to the model ------------------------------------------------------------------------------------
    @classmethod
    def from_model(cls, model, window: dict[str, str] | None = None) -> "Session":
        world = model.cursor_world
        transform = model.alignment.transform
        return cls(
            anatomical=model.anatomical.source if model.anatomical is not None else None,
            functional=model.functional.source if model.functional is not None else None,
            method=model.method, orientation=model.orientation,
            cursor_voxel=[float(v) for v in model.cursor] if model.grid is not None else None,
            crosshair_ras=[float(v) for v in world] if world is not None and model.grid.geometry_known else None,
            anat_window=list(model.anat_window), anat_window_preset=model.anat_window_preset,
            func_window=list(model.func_window) if model.func_window is not None else None,
            colormap=model.colormap,
            overlay={"visible": model.overlay_visible, "alpha": model.overlay_alpha,
                     "threshold": model.overlay_threshold},
            boxes={o: {n: b.as_list() for n, b in boxes.items()} for o, boxes in model._boxes.items() if boxes},
            preset=model.preset, radiological=model.radiological,
            transform=transform.to_dict() if transform is not None else None,
            window=dict(window or {}))

    def apply_view(self, model) -> None:
        """Everything but the sources (already open) onto the model: orientation, crosshair, windows, boxes..."""
        model.set_method(self.method)
        model.set_preset(self.preset)
        model.set_radiological(self.radiological)
        if self.orientation != model.orientation:
            model.set_orientation(self.orientation)
        if self.crosshair_ras is not None and model.grid is not None and model.grid.geometry_known:
            model.set_cursor_world(self.crosshair_ras)
        elif self.cursor_voxel is not None:
            model.set_cursor(self.cursor_voxel)
        if self.anat_window is not None:
            model.set_anat_window(tuple(self.anat_window), self.anat_window_preset)
        if self.func_window is not None:
            model.set_func_window(tuple(self.func_window))
        if self.colormap is not None:
            model.set_colormap(self.colormap)
        model.set_overlay(bool(self.overlay.get("visible", False)), float(self.overlay.get("alpha", 0.5)),
                          float(self.overlay.get("threshold", 0.15)))
        for orientation, boxes in self.boxes.items():
            for name, (x, y, w, h) in boxes.items():
                model.set_box(name, Box(x, y, w, h), finished=True, orientation=orientation)
        if self.transform is not None:
            from ..registration import Transform

            model.alignment.set_transform(Transform.from_dict(self.transform))   # undo returns to world

    # --- files ------------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = {"format": FORMAT, "version": VERSION}
        data.update({k: v for k, v in self.__dict__.items()})
        return data

    def write(self, path: str | Path, force: bool = True) -> Path:
        from ..io.writers import write_bytes_atomic

        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        return write_bytes_atomic(path, text.encode("utf-8"), force=force)

    @classmethod
    def read(cls, path: str | Path) -> "Session":
        path = Path(path)
        try:
            if not path.is_file():
                raise SessionError(path, "no such file")
            if path.stat().st_size > MAX_BYTES:
                raise SessionError(path, f"the file is {path.stat().st_size} bytes, larger than any session")
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise SessionError(path, "the file cannot be read") from exc
        except json.JSONDecodeError as exc:
            raise SessionError(path, f"not a MedFuse session (not JSON: line {exc.lineno})") from exc
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: Any, path: str | Path = "session") -> "Session":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SessionError(path, "not a MedFuse session file")
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise SessionError(path, f"unknown session version {version!r}")
        if version > VERSION:
            raise SessionError(path, f"written by a newer MedFuse (session version {version}; this one reads "
                                     f"up to {VERSION})")
        check = _Checker(path)
        session = cls(
            anatomical=check.optional_str(data, "anatomical"), functional=check.optional_str(data, "functional"),
            method=check.name(data, "method", "average"),
            orientation=check.choice(data, "orientation", ORIENTATIONS, "axial"),
            cursor_voxel=check.numbers(data, "cursor_voxel", 3), crosshair_ras=check.numbers(data, "crosshair_ras", 3),
            anat_window=check.window(data, "anat_window"), anat_window_preset=check.optional_str(data, "anat_window_preset"),
            func_window=check.window(data, "func_window"), colormap=check.optional_str(data, "colormap"),
            overlay=check.overlay(data), boxes=check.boxes(data), preset=check.name(data, "preset", "default"),
            radiological=check.flag(data, "radiological", True), transform=check.transform(data),
            window={k: v for k, v in (check.optional_dict(data, "window") or {}).items() if isinstance(v, str)})
        if session.anatomical is None or session.functional is None:
            raise SessionError(path, "it names no anatomical and functional image")
        return session


class _Checker:
    """Typed reads of a session's fields; a wrong type or value refuses the file, naming the field."""

    def __init__(self, path) -> None:
        self.path = path

    def fail(self, key: str, value: Any, expected: str):
        shown = repr(value)
        raise SessionError(self.path, f"'{key}' is {shown[:40]}, expected {expected}")

    def name(self, data, key, default):
        value = data.get(key, default)
        return value if isinstance(value, str) and value else self.fail(key, value, "a name")

    def optional_str(self, data, key):
        value = data.get(key)
        return value if value is None or isinstance(value, str) else self.fail(key, value, "text or null")

    def optional_dict(self, data, key):
        value = data.get(key)
        return value if value is None or isinstance(value, dict) else self.fail(key, value, "an object or null")

    def transform(self, data):
        """A registration transform as Transform.to_dict writes it: a 2x2 or 3x3 matrix of finite numbers..."""
        from ..registration import Transform

        value = self.optional_dict(data, "transform")
        if value is None:
            return None
        try:
            transform = Transform.from_dict(value)
        except MedFuseError as exc:
            raise SessionError(self.path, f"'transform' is not a usable registration ({exc})") from exc
        numbers = np.r_[transform.matrix.ravel(), transform.translation, transform.center]
        if not np.all(np.isfinite(numbers)) or abs(np.linalg.det(transform.matrix)) < 1e-6:
            self.fail("transform", value.get("matrix"), "an invertible matrix of finite numbers")
        return transform.to_dict()

    def flag(self, data, key, default):
        value = data.get(key, default)
        return value if isinstance(value, bool) else self.fail(key, value, "true or false")

    def choice(self, data, key, choices, default):
        value = data.get(key, default)
        return value if value in choices else self.fail(key, value, " / ".join(choices))

    def numbers(self, data, key, n):
        value = data.get(key)
        if value is None:
            return None
        if (not isinstance(value, list) or len(value) != n
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                           for v in value)):
            self.fail(key, value, f"{n} finite numbers")
        return [float(v) for v in value]

    def window(self, data, key):
        value = self.numbers(data, key, 2)
        if value is not None and value[1] <= value[0]:
            self.fail(key, value, "[low, high] with high > low")
        return value

    def overlay(self, data):
        value = data.get("overlay", {})
        if not isinstance(value, dict):
            self.fail("overlay", value, "an object")
        visible = value.get("visible", False)
        alpha, threshold = value.get("alpha", 0.5), value.get("threshold", 0.15)
        if not isinstance(visible, bool):
            self.fail("overlay.visible", visible, "true or false")
        for name, number in (("alpha", alpha), ("threshold", threshold)):
            if not isinstance(number, (int, float)) or isinstance(number, bool) or not 0 <= number <= 1:
                self.fail(f"overlay.{name}", number, "a number in 0..1")
        return {"visible": visible, "alpha": float(alpha), "threshold": float(threshold)}

    def boxes(self, data):
        value = data.get("boxes", {})
        if not isinstance(value, dict):
            self.fail("boxes", value, "an object")
        out = {}
        for orientation, boxes in value.items():
            if orientation not in ORIENTATIONS or not isinstance(boxes, dict):
                self.fail(f"boxes.{orientation}", boxes, "boxes of axial/coronal/sagittal")
            out[orientation] = {}
            for name, box in boxes.items():
                if name not in BOX_NAMES:
                    self.fail(f"boxes.{orientation}", name, " / ".join(BOX_NAMES))
                numbers = self.numbers({"box": box}, "box", 4)
                if numbers is None or numbers[2] <= 0 or numbers[3] <= 0:
                    self.fail(f"boxes.{orientation}.{name}", box, "[x, y, width, height] with a positive size")
                out[orientation][name] = numbers
        return out
