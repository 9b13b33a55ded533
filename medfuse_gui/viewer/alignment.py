"""The alignment the user asked for: the registration transform (None = the world alignment of the two files), its
undo history, manual nudges, and the check mode that shows how well the images agree. Qt-free.

Changing the transform emits ``model.events.alignment``; the registration service (registration_service.py) then
puts the functional on the anatomical grid through it (once) and shows the re-made pair. Changing the check mode
emits ``model.events.check``. New sources (other files) forget the transform and its history.
"""

from __future__ import annotations

import numpy as np

from ..io.errors import MedFuseError

CHECK_MODES = ("off", "checkerboard", "edges")
UNDO_DEPTH = 100


class AlignmentState:
    def __init__(self, model) -> None:
        self.model = model
        self.transform = None            # registration.Transform, or None: the world alignment
        self.history: list = []          # earlier transforms (None included), the last one is what Undo returns to
        self.check_mode = "off"
        self._sources: tuple = (None, None)
        model.events.sources.connect(lambda event: self._on_sources())

    # --- the transform ------------------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self.history)

    @property
    def is_world(self) -> bool:
        return self.transform is None

    def set_transform(self, transform, undoable: bool = True) -> bool:
        """Ask for ``transform`` (None: back to world); the previous one goes on the undo history."""
        if transform is self.transform:
            return False
        if undoable:
            self.history = (self.history + [self.transform])[-UNDO_DEPTH:]
        self.transform = transform
        self.model.events.alignment.emit(transform)
        return True

    def undo(self) -> bool:
        """Back to the transform before the last change (registration, nudge, reset). False when there is none."""
        if not self.history:
            return False
        previous = self.history.pop()
        self.transform = previous
        self.model.events.alignment.emit(previous)
        return True

    def reset(self) -> bool:
        """Back to the world alignment (undoable)."""
        return self.set_transform(None)

    def nudge(self, translation_mm=(0.0, 0.0, 0.0), rotation_deg=(0.0, 0.0, 0.0)) -> bool:
        """Move the functional image on screen by ``translation_mm`` (RAS world mm) and ``rotation_deg`` (about the
        R, A, S axes through the crosshair). A 2-D pair accepts in-plane moves only (rotation about S)."""
        model = self.model
        grid = model.grid
        if model.pair is None or grid is None:
            return False
        translation = np.asarray(translation_mm, dtype=float).reshape(3)
        rotation = np.asarray(rotation_deg, dtype=float).reshape(3)
        if not (np.any(translation) or np.any(rotation)):
            return False
        two_d = grid.n_slices == 1
        if two_d and (translation[2] or rotation[0] or rotation[1]):
            raise MedFuseError("a 2-D image can only be moved in its plane: shift right/left and anterior/posterior, "
                               "rotate about the axis perpendicular to it")
        base = self.transform if self.transform is not None else self._identity(two_d)
        moved = base.nudged(translation, rotation, centre_ras=model.cursor_world,
                            anatomical=grid if two_d else None)
        return self.set_transform(moved)

    def nudge_on_screen(self, right_mm: float = 0.0, down_mm: float = 0.0, through_mm: float = 0.0,
                        counterclockwise_deg: float = 0.0) -> bool:
        """A nudge in the directions of the view on screen (the nudge keys): right/down in the plane, through it
        towards higher slice numbers, and a rotation about the view's normal that turns the image counter-clockwise
        as displayed (radiological or neurological)."""
        axes = screen_axes(self.model)
        if axes is None:
            return False
        right, down, through = axes
        translation = right_mm * right + down_mm * down + through_mm * through
        rotation = np.zeros(3)
        if counterclockwise_deg:
            axis = int(np.argmax(np.abs(through)))   # the RAS axis closest to the view normal
            normal = np.eye(3)[axis]
            # a right-handed turn about +normal moves "right" towards normal x right; on screen that must be "up"
            sign = 1.0 if np.dot(np.cross(normal, right), -down) > 0 else -1.0
            rotation[axis] = sign * counterclockwise_deg
        return self.nudge(translation, rotation)

    def _identity(self, two_d: bool):
        """The world alignment as a transform, centred on the anatomical grid (the centre ITK files then carry)."""
        from ..registration import LPS_TO_RAS, Transform

        grid = self.model.grid
        z, y, x = grid.grid_shape
        if two_d:
            zooms = np.sqrt((grid.affine[:3, :2] ** 2).sum(axis=0))
            return Transform.identity(2, center=np.array([(x - 1) / 2.0, (y - 1) / 2.0]) * zooms)
        centre = grid.affine @ np.array([(x - 1) / 2.0, (y - 1) / 2.0, (z - 1) / 2.0, 1.0])
        return Transform.identity(3, center=(LPS_TO_RAS @ centre)[:3])

    # --- check mode ---------------------------------------------------------------------------------------------
    def set_check_mode(self, mode: str) -> None:
        if mode not in CHECK_MODES:
            raise ValueError(f"unknown check mode {mode!r}")
        if mode != self.check_mode:
            self.check_mode = mode
            self.model.events.check.emit(mode)

    # --- new sources --------------------------------------------------------------------------------------------
    def _on_sources(self) -> None:
        model = self.model
        sources = (model.anatomical, model.functional)
        if sources[0] is self._sources[0] and sources[1] is self._sources[1]:
            return   # the same files re-aligned
        self._sources = sources
        self.history = []
        if self.transform is not None:
            self.transform = None
            model.events.alignment.emit(None)


def screen_axes(model) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """RAS unit vectors of the current view's screen-right, screen-down and next-slice directions (None: nothing
    open). Views show voxel columns left to right (mirrored in neurological display) and rows top to bottom;
    coronal and sagittal planes put superior (higher k) at the top (pipeline.plane)."""
    grid = model.grid
    if grid is None:
        return None
    axes = grid.affine[:3, :3] / np.linalg.norm(grid.affine[:3, :3], axis=0)   # i, j, k voxel axes in RAS
    i, j, k = axes.T
    right, down, through = {"axial": (i, j, k), "coronal": (i, -k, j), "sagittal": (j, -k, i)}[model.orientation]
    if not model.radiological:
        right = -right
    return right, down, through
