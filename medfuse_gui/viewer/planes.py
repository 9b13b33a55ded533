"""Where a displayed plane's pixels are in the volume: display (view) coordinates <-> voxel indices.

``pipeline.plane`` builds the displayed planes: axial planes are stored slices; coronal and sagittal planes are
flipped so that superior is up and stretched along the slice axis when slices are thicker than the in-plane pixels.
This module inverts exactly that, so a point under the mouse maps to the voxel it shows and a crosshair world point
maps to a slice and an in-plane position in every orientation.

View coordinates are pyqtgraph's image coordinates: pixel (row r, col c) covers x in [c, c+1), y in [r, r+1), so its
centre is (c + 0.5, r + 0.5). Voxel indices (i, j, k) = (col, row, slice) of the volume, integers at voxel centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ORIENTATIONS = ("axial", "coronal", "sagittal")
# which voxel axis (0=i, 1=j, 2=k) is the slice axis of each orientation
SLICE_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}


def stretched_rows(n_slices: int, slice_spacing: float, pixel_spacing: float) -> int:
    """Rows of a coronal/sagittal plane after the stretch that keeps anatomy in proportion (as pipeline.plane)."""
    ratio = slice_spacing / pixel_spacing
    if abs(ratio - 1.0) <= 0.01:
        return n_slices
    return max(1, int(round(n_slices * ratio)))


@dataclass(frozen=True)
class PlaneGeometry:
    orientation: str
    grid_shape: tuple[int, int, int]          # (Z, Y, X) of the volume
    spacing: tuple[float, float, float]       # (slice, row, col) mm

    @classmethod
    def of(cls, volume, orientation: str) -> "PlaneGeometry":
        if orientation not in ORIENTATIONS:
            raise ValueError(f"unknown orientation {orientation!r}")
        return cls(orientation, tuple(int(v) for v in volume.grid_shape), tuple(float(s) for s in volume.spacing))

    @property
    def n_slices(self) -> int:
        z, y, x = self.grid_shape
        return {"axial": z, "coronal": y, "sagittal": x}[self.orientation]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the displayed plane."""
        z, y, x = self.grid_shape
        if self.orientation == "axial":
            return y, x
        if self.orientation == "coronal":
            return stretched_rows(z, self.spacing[0], self.spacing[2]), x
        return stretched_rows(z, self.spacing[0], self.spacing[1]), y

    @property
    def pixel_mm(self) -> tuple[float, float]:
        """(row, col) size of one displayed pixel in mm (for scale bars)."""
        z = self.grid_shape[0]
        rows = self.shape[0]
        if self.orientation == "axial":
            return self.spacing[1], self.spacing[2]
        col_mm = self.spacing[2] if self.orientation == "coronal" else self.spacing[1]
        return self.spacing[0] * z / rows, col_mm

    def slice_index(self, voxel) -> int:
        """The slice of this orientation through a voxel position (rounded, clipped to the volume)."""
        value = float(voxel[SLICE_AXIS[self.orientation]])
        return int(np.clip(np.floor(value + 0.5), 0, self.n_slices - 1))

    def _row_scale(self) -> float:
        return self.grid_shape[0] / self.shape[0]   # source slices per displayed row

    def view_to_voxel(self, x: float, y: float, index: float) -> np.ndarray:
        """(i, j, k) of the view point (x, y) on slice ``index``."""
        if self.orientation == "axial":
            return np.array([x - 0.5, y - 0.5, float(index)])
        z = self.grid_shape[0]
        k = (z - 1) - (y * self._row_scale() - 0.5)
        if self.orientation == "coronal":
            return np.array([x - 0.5, float(index), k])
        return np.array([float(index), x - 0.5, k])

    def voxel_to_view(self, voxel) -> tuple[float, float]:
        """View point (x, y) where the voxel position lies in this orientation's plane."""
        i, j, k = (float(v) for v in voxel)
        if self.orientation == "axial":
            return i + 0.5, j + 0.5
        z = self.grid_shape[0]
        y = ((z - 1 - k) + 0.5) / self._row_scale()
        return (i + 0.5 if self.orientation == "coronal" else j + 0.5), y

    def pixel_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of the displayed pixel under a view point, or None outside the plane."""
        rows, cols = self.shape
        row, col = int(np.floor(y)), int(np.floor(x))
        if 0 <= row < rows and 0 <= col < cols:
            return row, col
        return None


def centre_voxel(grid_shape: tuple[int, int, int]) -> np.ndarray:
    """(i, j, k) of the middle voxel, as the viewers open a volume (integer indices, n // 2)."""
    z, y, x = grid_shape
    return np.array([x // 2, y // 2, z // 2], dtype=float)


def clip_voxel(voxel, grid_shape: tuple[int, int, int]) -> np.ndarray:
    z, y, x = grid_shape
    return np.clip(np.asarray(voxel, dtype=float), 0, np.array([x - 1, y - 1, z - 1], dtype=float))
