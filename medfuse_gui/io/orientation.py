"""Which patient direction each on-screen edge of a view faces, and RAS <-> LPS world points. Qt-free.

The views show ``pipeline.plane`` arrays with row 0 at the top and column 0 at the left (``viewer.planes`` inverts
the same mapping): axial planes are stored slices (screen right = +i, screen down = +j); coronal (screen right = +i)
and sagittal (screen right = +j) planes are flipped so that screen down = -k. A neurological display mirrors the
view horizontally. The letter of an edge is the patient direction that the screen direction points to through the
volume's affine (RAS+ world: +x toward the patient's right, +y anterior, +z superior), so a left-right flipped file
gets flipped labels. An oblique plane shows the dominant direction; a second letter is added when the next component is at least
:data:`OBLIQUE_SECOND_LETTER` of the first (like ITK-SNAP's and Slicer's oblique labels "RA").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# world axis (RAS+) -> (letter of the positive direction, letter of the negative direction)
AXIS_LETTERS = (("R", "L"), ("A", "P"), ("S", "I"))
OBLIQUE_SECOND_LETTER = 0.5   # tan(~27°): a plane tilted less than that reads as the main direction alone

# screen right and screen down as voxel (i, j, k) directions, per orientation (see pipeline.plane)
_SCREEN_AXES = {
    "axial": ((1, 0, 0), (0, 1, 0)),
    "coronal": ((1, 0, 0), (0, 0, -1)),
    "sagittal": ((0, 1, 0), (0, 0, -1)),
}

_LPS = np.diag([-1.0, -1.0, 1.0])


def ras_to_lps(point) -> np.ndarray:
    """World point RAS+ (NIfTI, MedFuse internal) -> LPS (DICOM patient coordinates): x and y change sign."""
    return _LPS @ np.asarray(point, dtype=float)


def lps_to_ras(point) -> np.ndarray:
    return _LPS @ np.asarray(point, dtype=float)


@dataclass(frozen=True)
class EdgeLabels:
    left: str
    right: str
    top: str
    bottom: str

    def as_dict(self) -> dict[str, str]:
        return {"left": self.left, "right": self.right, "top": self.top, "bottom": self.bottom}


def direction_letters(world_direction) -> str:
    """'R', 'PI', ... for a world (RAS+) direction vector."""
    vector = np.asarray(world_direction, dtype=float)
    magnitude = np.abs(vector)
    order = np.argsort(-magnitude, kind="stable")
    letters = ""
    for rank, axis in enumerate(order[:2]):
        if rank == 1 and magnitude[axis] < OBLIQUE_SECOND_LETTER * magnitude[order[0]]:
            break
        positive, negative = AXIS_LETTERS[axis]
        letters += positive if vector[axis] > 0 else negative
    return letters


def edge_labels(volume, orientation: str, radiological: bool = True) -> EdgeLabels | None:
    """Patient-direction letters at the left, right, top and bottom edges of a view of ``volume``.

    None for an image without world geometry (a PNG): there is nothing to derive the letters from.
    ``radiological`` False means the neurological display, mirrored horizontally.
    """
    if orientation not in _SCREEN_AXES:
        raise ValueError(f"unknown orientation {orientation!r}")
    if not getattr(volume, "geometry_known", False):
        return None
    rotation = np.asarray(volume.affine, dtype=float)[:3, :3]
    right_voxel, down_voxel = (np.asarray(v, dtype=float) for v in _SCREEN_AXES[orientation])
    if not radiological:
        right_voxel = -right_voxel
    right, down = rotation @ right_voxel, rotation @ down_voxel
    return EdgeLabels(left=direction_letters(-right), right=direction_letters(right),
                      top=direction_letters(-down), bottom=direction_letters(down))


def axis_codes(volume) -> str | None:
    """nibabel's orientation code of the voxel axes (i, j, k), e.g. 'LPS' after display reorientation; None
    without geometry."""
    if not getattr(volume, "geometry_known", False):
        return None
    from nibabel.orientations import aff2axcodes

    return "".join(aff2axcodes(np.asarray(volume.affine, dtype=float)))
