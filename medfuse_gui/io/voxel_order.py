"""Undo the display reorientation on export: a fused volume lives on the display grid (col->L, row->P, slice->S, see
``geometry.reorient_for_display``); written to NIfTI it must overlay the anatomical *file* voxel for voxel, so it is
put back in that file's own voxel order with that file's affine (FSLeyes and nibabel compare affines and shapes)."""

from __future__ import annotations

import numpy as np
from nibabel import orientations as ornt



def to_source_order(pixels: np.ndarray, display_affine: np.ndarray, meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """(pixels in the source file's voxel order, the source affine) for (Z,Y,X[,C]) ``pixels`` on the display grid;
    unchanged when the volume was not reoriented for display."""
    source = meta.get("file_affine")   # set by the loaders: the file's own (col, row, slice) -> RAS affine
    if source is None or not meta.get("reoriented_from"):
        return pixels, display_affine
    source = np.asarray(source, dtype=float)
    transform = ornt.ornt_transform(ornt.io_orientation(display_affine), ornt.io_orientation(source))
    ijk = np.moveaxis(pixels, (0, 1, 2), (2, 1, 0))   # (k,j,i[,c]) -> (i,j,k[,c])
    moved = ornt.apply_orientation(ijk, transform)
    affine = display_affine @ ornt.inv_ornt_aff(transform, ijk.shape[:3])
    if not np.allclose(affine, source, atol=1e-4):   # a permutation and flips only: anything else is a bug
        raise AssertionError("display reorientation is not a pure axis permutation")
    return np.ascontiguousarray(np.moveaxis(moved, (0, 1, 2), (2, 1, 0))), source
