"""The value of a source volume at a world point, in its unit and (PET) in SUV. Qt-free.

Sampling is nearest-neighbour: the voxel whose centre is closest to the point (index = floor(ijk + 0.5)), so the
number is a stored value of the file, not an interpolation, as a clinician reading a lesion expects (Slicer's and
FSLeyes' data probes do the same). The read-out samples the source volume, never a display pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .orientation import ras_to_lps
from .units import format_value
from .volume import Volume


@dataclass(frozen=True)
class Readout:
    world_ras: tuple[float, float, float]
    world_lps: tuple[float, float, float]
    voxel: tuple[float, float, float]        # continuous (i, j, k) = (col, row, slice) of the loaded volume
    index: tuple[int, int, int]              # nearest voxel (col, row, slice) of the loaded volume
    file_index: tuple[int, int, int] | None  # the same voxel in the file's own (col, row, slice) order
    inside: bool
    value: float | tuple[int, int, int] | None   # None outside; an (R, G, B) triple for colour images
    unit: str
    quantity: str
    suv: float | None = None                 # SUVbw when the series has a valid SUV factor
    suv_reason: str | None = None            # why there is no SUV, for PET without one
    geometry_known: bool = True              # False: "world" is the placeholder grid of an image without geometry

    def value_text(self) -> str:
        if not self.inside:
            return "outside the volume"
        if isinstance(self.value, tuple):
            return "RGB ({}, {}, {})".format(*self.value)
        text = format_value(float(self.value), self.unit)
        if self.suv is not None:
            text += f" = SUV {self.suv:.2f}"
        return text

    def position_text(self, voxel_label: str = "voxel") -> str:
        """'RAS (12.0, -30.5, 4.0) mm · LPS (-12.0, 30.5, 4.0) mm · voxel (41, 70, 0)', labelled for DICOM users;
        ``voxel_label`` names which grid the index is of where another index is shown beside it."""
        index = ", ".join(str(v) for v in self.index)
        if not self.geometry_known:
            return f"pixel ({index}) (no world geometry)"
        ras = ", ".join(_mm(v) for v in self.world_ras)
        lps = ", ".join(_mm(v) for v in self.world_lps)
        return f"RAS ({ras}) mm · LPS ({lps}) mm · {voxel_label} ({index})"

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        for key in ("world_ras", "world_lps", "voxel", "index", "file_index", "value"):
            if isinstance(out[key], tuple):
                out[key] = list(out[key])
        return out


def _mm(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _nearest(voxel: np.ndarray) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.floor(voxel + 0.5))


def read_value(volume: Volume, world_ras) -> Readout:
    """Nearest-neighbour value of ``volume`` at the world point ``world_ras`` (RAS+ mm)."""
    ras = np.asarray(world_ras, dtype=float).reshape(3)
    voxel = np.linalg.solve(np.asarray(volume.affine, dtype=float), np.append(ras, 1.0))[:3]
    i, j, k = index = _nearest(voxel)
    z, y, x = volume.grid_shape
    inside = 0 <= i < x and 0 <= j < y and 0 <= k < z
    value = None
    if inside:
        sample = volume.pixels[k, j, i]
        value = tuple(int(c) for c in sample) if volume.is_rgb else float(sample)
    file_index = index
    file_affine = volume.meta.get("file_affine")
    if file_affine is not None and volume.geometry_known:
        file_index = _nearest(np.linalg.solve(np.asarray(file_affine, dtype=float), np.append(ras, 1.0))[:3])
    suv, reason = None, None
    if volume.suv is not None:
        factor = volume.suv_factor
        if factor is None:
            reason = volume.suv.reason
        elif value is not None and not isinstance(value, tuple):
            suv = float(factor.to_suv(value))
    return Readout(world_ras=tuple(float(v) for v in ras), world_lps=tuple(float(v) for v in ras_to_lps(ras)),
                   voxel=tuple(float(v) for v in voxel), index=index, file_index=file_index, inside=inside,
                   value=value, unit=volume.unit, quantity=volume.quantity, suv=suv, suv_reason=reason,
                   geometry_known=volume.geometry_known)


def voxel_world(volume: Volume, index) -> np.ndarray:
    """World RAS+ mm of a voxel centre (col, row, slice)."""
    return (np.asarray(volume.affine, dtype=float) @ np.append(np.asarray(index, dtype=float), 1.0))[:3]
