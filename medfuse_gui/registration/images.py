"""Volumes as SimpleITK images: the geometry (origin, spacing, direction in ITK's LPS) comes from the RAS affine."""

from __future__ import annotations

import numpy as np

from ..io.errors import GeometryError
from ..io.volume import Volume
from .transform import LPS_TO_RAS, registration_frame


def gray_pixels(volume: Volume) -> np.ndarray:
    """(Z, Y, X) float32 intensities: an RGB image (a Harvard SPECT/PET map) registers on its luminance."""
    if volume.is_rgb:
        from ..colour import luminance

        return np.ascontiguousarray(luminance(volume.pixels), dtype=np.float32)
    pixels = np.asarray(volume.pixels, dtype=np.float32)
    return np.ascontiguousarray(np.nan_to_num(pixels, nan=0.0, posinf=0.0, neginf=0.0))


def _geometry(linear: np.ndarray, origin: np.ndarray) -> tuple[tuple, tuple, tuple]:
    """(origin, spacing, direction) of an image whose voxel index v sits at ``linear @ v + origin``."""
    spacing = np.sqrt((linear ** 2).sum(axis=0))
    if np.any(spacing <= 0) or not (np.all(np.isfinite(linear)) and np.all(np.isfinite(origin))):
        raise GeometryError("the image geometry is degenerate (a zero or invalid voxel size)")
    direction = linear / spacing
    if abs(np.linalg.det(direction)) < 1e-6:
        raise GeometryError("the image axes are degenerate (two voxel axes point the same way)")
    return tuple(float(v) for v in origin), tuple(float(v) for v in spacing), tuple(float(v) for v in direction.ravel())


def volume_image(volume: Volume, placement_ras: np.ndarray | None = None):
    """A 3-D SimpleITK image of ``volume`` in ITK's LPS physical space (``placement_ras`` overrides its affine)."""
    import SimpleITK as sitk

    affine = volume.affine if placement_ras is None else placement_ras
    image = sitk.GetImageFromArray(gray_pixels(volume))  # array (k, j, i) -> image index (i, j, k), as the affine
    lps = LPS_TO_RAS @ affine
    origin, spacing, direction = _geometry(lps[:3, :3], lps[:3, 3])
    image.SetOrigin(origin)
    image.SetSpacing(spacing)
    image.SetDirection(direction)
    return image


def plane_images(anatomical: Volume, functional: Volume, placement_ras: np.ndarray):
    """The 2-D fixed and moving images in the anatomical pixel frame (see :func:`registration_frame`).

    The functional's pixels are placed by ``placement_ras`` (its world affine, or the fitted placement of an image
    without geometry) expressed in that frame; it must lie in the anatomical image's plane.
    """
    import SimpleITK as sitk

    frame = registration_frame(anatomical, 2)
    fixed = sitk.GetImageFromArray(gray_pixels(anatomical)[0])
    zooms = np.sqrt((anatomical.affine[:3, :2] ** 2).sum(axis=0))
    fixed.SetSpacing(tuple(float(v) for v in zooms))
    in_frame = np.linalg.inv(frame) @ placement_ras  # functional voxel -> anatomical pixel frame (third: normal)
    if not np.allclose(in_frame[2, :2], 0, atol=1e-6 * max(1.0, float(np.abs(in_frame[:3, :2]).max()))):
        raise GeometryError("the two 2-D images are not parallel: register them as volumes, or reslice first")
    moving = sitk.GetImageFromArray(gray_pixels(functional)[0])
    # A parallel slice at another depth is registered as if in the plane (2-D registration cannot move it along
    # the normal).
    origin, spacing, direction = _geometry(in_frame[:2, :2], in_frame[:2, 3])
    moving.SetOrigin(origin)
    moving.SetSpacing(spacing)
    moving.SetDirection(direction)
    return fixed, moving


THIN_FIELD_MM = 60.0  # a slab: less than this along one axis (a brain is ~140 mm in every direction)


def thin_field_caution(anatomical: Volume, functional: Volume) -> str:
    """A warning when either volume is a slab: rotations out of its plane are then poorly constrained. Measured on
    nibabel's 3-slice, 24 mm BOLD slab: registered after known motions, it ended farther from the truth than it
    started for 3 of 6 motions (docs/registration.md, "Thin functional slabs")."""
    for which, volume in (("functional", functional), ("anatomical", anatomical)):
        spacing = np.sqrt((np.asarray(volume.affine, dtype=float)[:3, :3] ** 2).sum(axis=0))
        extent = np.asarray(volume.grid_shape[::-1], dtype=float) * spacing   # (i, j, k) voxels x mm
        axis = int(np.argmin(extent))
        if extent[axis] < THIN_FIELD_MM:
            return (f"the {which} covers only {extent[axis]:.0f} mm ({volume.grid_shape[::-1][axis]} voxels) along "
                    "one axis: rotations out of that plane are poorly constrained; check the result")
    return ""
