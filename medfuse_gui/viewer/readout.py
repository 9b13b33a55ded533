"""The data probe: what lies under the mouse (or the crosshair) in every source, in physical units. Qt-free.

Values come from the source volumes at the world point, never from display pixels (``io.readout``: nearest voxel,
the stored value, SUV where the series has a valid factor), as Slicer's and FSLeyes' probes do. The functional value is
read from the functional file at the same world point when the pair is aligned by world coordinates; when it was
registered or placed without geometry, the world points of the two files do not correspond, so the value is read on the
anatomical grid after resampling and labelled so. The fused value is that of the fused slice on screen (it exists only
on the displayed plane), in RGB and in the fused luminance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import colour
from ..io.readout import Readout, read_value


@dataclass(frozen=True)
class Probe:
    position: str                    # 'RAS (...) mm · LPS (...) mm · view voxel (...)'
    anatomical: str | None
    functional: str | None
    fused: str | None
    anatomical_readout: Readout | None = None
    functional_readout: Readout | None = None

    def rows(self) -> list[tuple[str, str]]:
        """(label, text) rows of the read-out panel."""
        rows = [("Position", self.position)]
        for label, text in (("Anatomical", self.anatomical), ("Functional", self.functional), ("Fused", self.fused)):
            if text is not None:
                rows.append((label, text))
        return rows

    def status_text(self) -> str:
        """One line for the status bar."""
        parts = [self.position]
        for label, text in (("anat", self.anatomical), ("func", self.functional), ("fused", self.fused)):
            if text is not None:
                parts.append(f"{label} {text}")
        return " | ".join(parts)


def _source_text(readout: Readout, resampled: bool = False) -> str:
    text = readout.value_text()
    if readout.inside:
        text += f" at file voxel ({', '.join(str(v) for v in (readout.file_index or readout.index))})"
        if readout.suv is None and readout.suv_reason and readout.quantity:
            text += " (no SUV: see the study panel)"
    return text + (" (resampled on the anatomical grid)" if resampled else "")


def probe(model, voxel) -> Probe | None:
    """The read-out at a voxel position (i, j, k) of the grid volume; None when nothing is open."""
    grid = model.grid
    if grid is None:
        return None
    voxel = np.asarray(voxel, dtype=float)
    world = (np.asarray(grid.affine, dtype=float) @ np.append(voxel, 1.0))[:3]
    anatomical = read_value(model.anatomical, world) if model.anatomical is not None else None
    base = anatomical or read_value(grid, world)
    functional, functional_text = None, None
    if model.pair is not None:
        if model.pair.alignment == "world":
            functional = read_value(model.pair.functional_source, world)
            functional_text = _source_text(functional)
        else:
            functional = read_value(model.pair.functional, world)
            functional_text = _source_text(functional, resampled=True)
    elif model.functional is not None and model.anatomical is None:
        functional = read_value(model.functional, world)
        functional_text = _source_text(functional)
    # two indices are shown: the displayed grid's here, each file's own (its stored voxel order) on its line
    return Probe(position=base.position_text("view voxel"),
                 anatomical=_source_text(anatomical) if anatomical is not None else None,
                 functional=functional_text, fused=_fused_text(model, voxel),
                 anatomical_readout=anatomical, functional_readout=functional)


def _fused_text(model, voxel) -> str | None:
    fused = model.current_fused()
    geometry = model.plane_geometry()
    if fused is None or geometry is None:
        return None
    if geometry.slice_index(voxel) != model.slice_index:
        return None
    pixel = geometry.pixel_at(*geometry.voxel_to_view(voxel))
    if pixel is None:
        return None
    row, col = pixel
    r, g, b = (int(v) for v in colour.to_uint8(fused.fused_rgb[row, col]))   # this pixel only: runs on every hover
    return f"RGB ({r}, {g}, {b}), luminance {float(fused.fused_luma[row, col]) * 255:.1f} / 255"
