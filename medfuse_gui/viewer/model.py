"""The viewer model: everything that is open and shown, with one owner, Qt-free (napari's ``ViewerModel`` idea).

Widgets render from it and write the user's intent back through its setters; every setter emits an event. Results
(fused slices, metrics) carry the key of the parameters they were computed from (``keys.FusionKey``), and the model
hands a result to a view only when that key is the one for what is on screen now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..colour import DEFAULT_COLORMAP
from .alignment import AlignmentState
from .boxes import BOX_NAMES, Box, default_boxes
from .events import EmitterGroup
from .keys import FusionKey, LRUCache, MetricsKey, Window
from .planes import ORIENTATIONS, PlaneGeometry, centre_voxel, clip_voxel

DEFAULT_METRICS_PRESET = "default"   # medfuse_gui.metrics.DEFAULT_PRESET (not imported: the model stays light)
REGIONS = ("whole",) + BOX_NAMES
METRICS_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Message:
    """A line for the status bar. It is shown only while its scope holds: ("method", name) while that method is
    selected, ("pair", id) while that pair is open, ("job", token) while that job runs; () until the next message.
    Level "notice" lines stay beside the messages for as long as their scope holds (the SIMULATED demo notice)."""

    text: str
    level: str = "info"      # info | warning | error | notice
    scope: tuple = ()


@dataclass
class JobState:
    text: str
    done: int = 0
    total: int = 0           # 0: unknown (busy indicator)
    cancellable: bool = False


@dataclass
class PendingPair:
    """A pair that was made but not shown: the two sources disagree on patient, study or frame of reference and the
    user has to choose."""

    anatomical: Any
    functional: Any
    pair: Any
    mismatches: list[str] = field(default_factory=list)


def default_functional_colormap(volume) -> str | None:
    if volume is None or volume.is_rgb:
        return None
    return DEFAULT_COLORMAP if volume.modality in ("PT", "NM") else "gray"


class ViewerModel:
    def __init__(self) -> None:
        self.events = EmitterGroup("sources", "pending", "orientation", "cursor", "method", "anat_window",
                                   "func_window", "colormap", "overlay", "boxes", "preset", "display", "fused",
                                   "metrics", "message", "jobs", "device", "alignment", "check")
        self.anatomical = None          # Volume as loaded (display-reoriented)
        self.functional = None
        self.pair = None                # pipeline.Pair when both are open
        self.pair_id = 0
        self.confirmed = False          # opened together or confirmed by the user: may go to File > Recent
        self.pending: PendingPair | None = None
        self.orientation = "axial"
        self.cursor = np.zeros(3)       # (i, j, k) voxel position on the grid volume: the crosshair
        self.method = "average"
        self.anat_window: Window = (0.0, 1.0)
        self.anat_window_preset: str | None = "Default"   # None: set by hand (drag or spin boxes)
        self.func_window: Window | None = None
        self.colormap: str | None = None
        self.overlay_visible = False
        self.overlay_alpha = 0.5
        self.overlay_threshold = 0.15
        self._boxes: dict[str, dict[str, Box]] = {}
        self.preset = DEFAULT_METRICS_PRESET
        self.radiological = True        # patient right on screen left (the DICOM convention); False: neurological
        self.fused = None               # latest pipeline.FusedSlice handed in (shown only while its key is current)
        self.failures: LRUCache[FusionKey, str] = LRUCache(64)   # fusions that failed, with the user's message
        self.metrics: LRUCache[MetricsKey, dict[str, float]] = LRUCache(METRICS_CACHE_SIZE)
        self.messages: list[Message] = []
        self.jobs: dict[int, JobState] = {}
        self.device: str | None = None
        self.view_kept = False          # the last set_sources kept the view (a re-aligned pair of the same files)
        self.alignment = AlignmentState(self)   # registration transform, undo, check mode (viewer/alignment.py)

    # --- what is open -----------------------------------------------------------------------------------------------
    @property
    def grid(self):
        """The volume whose grid the views show: the anatomical one (the functional is resampled onto it)."""
        if self.pair is not None:
            return self.pair.anatomical
        return self.anatomical if self.anatomical is not None else self.functional

    @property
    def shown_functional(self):
        """The functional volume as displayed: on the anatomical grid when paired, else as loaded."""
        return self.pair.functional if self.pair is not None else self.functional

    @property
    def is_volume(self) -> bool:
        return self.grid is not None and self.grid.n_slices > 1

    def set_sources(self, anatomical, functional, pair=None, confirmed: bool = False, keep_view: bool = False) -> None:
        """Show new sources (one side may be None). Windows follow a changed volume; the slice position, boxes and
        orientation are kept when the grid keeps its shape (``keep_view`` keeps them regardless, for a re-aligned
        pair of the same sources)."""
        old_grid = self.grid
        if anatomical is not self.anatomical and anatomical is not None:
            self.anat_window = tuple(float(v) for v in anatomical.window)
            self.anat_window_preset = "Default"
        if functional is not self.functional:
            self.func_window = None if functional is None or functional.is_rgb else \
                tuple(float(v) for v in functional.window)
            self.colormap = default_functional_colormap(functional)
        self.anatomical, self.functional, self.pair = anatomical, functional, pair
        self.pair_id += 1
        self.view_kept = keep_view
        self.confirmed = confirmed
        self.pending = None
        self.fused = None
        grid = self.grid
        same_shape = old_grid is not None and grid is not None and old_grid.grid_shape == grid.grid_shape
        if not (keep_view or same_shape):
            self._boxes = {}
            self.cursor = centre_voxel(grid.grid_shape) if grid is not None else np.zeros(3)
        if grid is not None and grid.n_slices < 2:
            self.orientation = "axial"
        self.events.sources.emit(self.pair_id)

    def set_pending(self, pending: PendingPair | None) -> None:
        self.pending = pending
        self.events.pending.emit(pending)

    # --- slices and the crosshair -------------------------------------------------------------------------------
    def plane_geometry(self, orientation: str | None = None) -> PlaneGeometry | None:
        grid = self.grid
        return None if grid is None else PlaneGeometry.of(grid, orientation or self.orientation)

    @property
    def slice_index(self) -> int:
        geometry = self.plane_geometry()
        return 0 if geometry is None else geometry.slice_index(self.cursor)

    @property
    def n_slices(self) -> int:
        geometry = self.plane_geometry()
        return 0 if geometry is None else geometry.n_slices

    def set_orientation(self, orientation: str) -> bool:
        """Switch to the slices through the crosshair in another orientation. False when not possible."""
        if orientation not in ORIENTATIONS:
            raise ValueError(f"unknown orientation {orientation!r}")
        if orientation == self.orientation or (orientation != "axial" and not self.is_volume):
            return False
        self.orientation = orientation
        self.events.orientation.emit(orientation)
        return True

    def set_slice(self, index: int) -> bool:
        geometry = self.plane_geometry()
        if geometry is None or not 0 <= index < geometry.n_slices or index == self.slice_index:
            return False
        cursor = self.cursor.copy()
        cursor[{"axial": 2, "coronal": 1, "sagittal": 0}[self.orientation]] = float(index)
        self.cursor = cursor
        self.events.cursor.emit("slice")
        return True

    def step_slice(self, delta: int) -> bool:
        if self.grid is None:
            return False
        return self.set_slice(int(np.clip(self.slice_index + delta, 0, self.n_slices - 1)))

    def set_cursor(self, voxel) -> None:
        """Move the crosshair to a voxel position (i, j, k) of the grid (clipped to it)."""
        if self.grid is None:
            return
        self.cursor = clip_voxel(voxel, self.grid.grid_shape)
        self.events.cursor.emit("point")

    @property
    def cursor_world(self) -> np.ndarray | None:
        """The crosshair in world RAS mm (None without a grid)."""
        if self.grid is None:
            return None
        return (self.grid.affine @ np.append(self.cursor, 1.0))[:3]

    def set_cursor_world(self, ras) -> None:
        if self.grid is None:
            return
        voxel = np.linalg.solve(self.grid.affine, np.append(np.asarray(ras, dtype=float), 1.0))[:3]
        self.set_cursor(voxel)

    # --- method, windows, colormap, overlay -------------------------------------------------------------------------
    def set_method(self, name: str) -> None:
        from ..fusion.registry import list_models

        if name not in list_models():
            # a session or the settings of another install may name a method this one lacks: say so, keep ours
            self.notify(f"The method {name!r} is not part of this MedFuse; showing {self.method} instead.",
                        "warning")
            return
        if name != self.method:
            self.method = name
            self.events.method.emit(name)

    def set_anat_window(self, window: Window, preset: str | None = None) -> None:
        low, high = float(window[0]), float(window[1])
        if not (np.isfinite(low) and np.isfinite(high)):
            return
        if high <= low:
            high = low + max(abs(low) * 1e-6, 1e-3)
        changed = (low, high) != self.anat_window or preset != self.anat_window_preset
        self.anat_window, self.anat_window_preset = (low, high), preset
        if changed:
            self.events.anat_window.emit(self.anat_window)

    def set_func_window(self, window: Window) -> None:
        if self.functional is None or self.functional.is_rgb:
            return
        low, high = float(window[0]), float(window[1])
        if not (np.isfinite(low) and np.isfinite(high)) or high <= low or (low, high) == self.func_window:
            return
        self.func_window = (low, high)
        self.events.func_window.emit(self.func_window)

    def set_colormap(self, name: str) -> None:
        if self.functional is None or self.functional.is_rgb or name == self.colormap:
            return
        self.colormap = name
        self.events.colormap.emit(name)

    def set_overlay(self, visible: bool | None = None, alpha: float | None = None,
                    threshold: float | None = None) -> None:
        if visible is not None:
            self.overlay_visible = bool(visible)
        if alpha is not None:
            self.overlay_alpha = float(np.clip(alpha, 0.0, 1.0))
        if threshold is not None:
            self.overlay_threshold = float(np.clip(threshold, 0.0, 1.0))
        self.events.overlay.emit(None)

    def set_radiological(self, radiological: bool) -> None:
        if bool(radiological) != self.radiological:
            self.radiological = bool(radiological)
            self.events.display.emit(self.radiological)

    # --- boxes ------------------------------------------------------------------------------------------------------
    @property
    def boxes(self) -> dict[str, Box]:
        """The boxes of the current orientation (defaults where the user set none)."""
        return self.boxes_for(self.orientation)

    def boxes_for(self, orientation: str) -> dict[str, Box]:
        geometry = self.plane_geometry(orientation)
        if geometry is None:
            return {}
        rows, cols = geometry.shape
        stored = self._boxes.setdefault(orientation, {})
        defaults = default_boxes(rows, cols)
        for name in BOX_NAMES:
            stored[name] = stored.get(name, defaults[name]).clamped(rows, cols)
        return dict(stored)

    def set_box(self, name: str, box: Box, finished: bool = True, orientation: str | None = None) -> None:
        orientation = orientation or self.orientation
        geometry = self.plane_geometry(orientation)
        if geometry is None or name not in BOX_NAMES:
            return
        box = box.clamped(*geometry.shape)
        stored = self._boxes.setdefault(orientation, {})
        if stored.get(name) == box and not finished:
            return
        stored[name] = box
        self.events.boxes.emit((name, finished))

    def reset_boxes(self) -> None:
        self._boxes.pop(self.orientation, None)
        self.events.boxes.emit((None, True))

    def set_preset(self, preset: str) -> None:
        if preset != self.preset:
            self.preset = preset
            self.events.preset.emit(preset)

    # --- results ----------------------------------------------------------------------------------------------------
    def fusion_key(self, method: str | None = None) -> FusionKey | None:
        """The key of the fused image that belongs on screen now (for ``method``, default the selected one)."""
        if self.pair is None:
            return None
        return FusionKey(self.pair_id, method or self.method, self.orientation, self.slice_index,
                         tuple(self.anat_window), self.func_window, self.colormap)

    def set_fused(self, fused) -> None:
        self.fused = fused
        self.events.fused.emit(fused)

    def set_failed(self, key: FusionKey, message: str) -> None:
        self.failures.put(key, message)
        self.events.fused.emit(None)

    def current_failure(self, method: str | None = None) -> str | None:
        key = self.fusion_key(method)
        return None if key is None else self.failures.get(key)

    def current_fused(self, method: str | None = None):
        """The fused slice on screen, or None while the one for the current parameters is not computed yet."""
        key = self.fusion_key(method)
        if key is not None and self.fused is not None and self.fused.params == key:
            return self.fused
        return None

    def metrics_key(self, region: str, method: str | None = None) -> MetricsKey | None:
        key = self.fusion_key(method)
        if key is None:
            return None
        rect = None if region == "whole" else self.boxes[region].rect()
        return MetricsKey(key, rect, self.preset)

    def add_metrics(self, values: dict[MetricsKey, dict[str, float]]) -> None:
        for key, value in values.items():
            self.metrics.put(key, value)
        self.events.metrics.emit(tuple(values))

    def metrics_for(self, region: str, method: str | None = None) -> dict[str, float] | None:
        key = self.metrics_key(region, method)
        return None if key is None else self.metrics.get(key)

    def missing_metrics(self, method: str | None = None) -> dict[str, MetricsKey]:
        """Regions of the current slice whose metrics (for ``method``) are not computed yet."""
        out = {}
        for region in REGIONS:
            key = self.metrics_key(region, method)
            if key is not None and key not in self.metrics:
                out[region] = key
        return out

    def compared_methods(self, methods: list[str]) -> list[tuple[str, dict[str, float]]]:
        """Whole-image metrics of every method in ``methods`` that were computed under exactly the current
        slice, windows, colormap and conventions (the metrics panel's comparison chart)."""
        out = []
        for method in methods:
            values = self.metrics_for("whole", method)
            if values is not None:
                out.append((method, values))
        return out

    def is_settled(self) -> bool:
        """The fused image and every metric of the current parameters are on screen and no job runs."""
        return (self.pair is not None and self.current_fused() is not None and not self.missing_metrics()
                and not any(not j.cancellable for j in self.jobs.values()))

    # --- messages and jobs --------------------------------------------------------------------------------------
    def notify(self, text: str, level: str = "info", scope: tuple = ()) -> Message:
        message = Message(text, level, tuple(scope))
        self.messages = (self.messages + [message])[-50:]
        self.events.message.emit(message)
        return message

    def message_valid(self, message: Message) -> bool:
        if not message.scope:
            return True
        kind, value = message.scope[0], message.scope[1]
        if kind == "method":
            return self.method == value
        if kind == "pair":
            return self.pair_id == value
        if kind == "job":
            return value in self.jobs
        return False

    def current_message(self) -> Message | None:
        """The latest status line if it still applies (never an older one in its place: it could be stale)."""
        for message in reversed(self.messages):
            if message.level != "notice":
                return message if self.message_valid(message) else None
        return None

    def notices(self) -> list[Message]:
        return [m for m in self.messages if m.level == "notice" and self.message_valid(m)]

    def start_job(self, token: int, text: str, total: int = 0, cancellable: bool = False) -> None:
        self.jobs[token] = JobState(text, 0, total, cancellable)
        self.events.jobs.emit(token)

    def progress_job(self, token: int, done: int, total: int) -> None:
        job = self.jobs.get(token)
        if job is not None:
            job.done, job.total = done, total
            self.events.jobs.emit(token)

    def end_job(self, token: int) -> None:
        if self.jobs.pop(token, None) is not None:
            self.events.jobs.emit(token)

    def set_device(self, label: str) -> None:
        self.device = label
        self.events.device.emit(label)
