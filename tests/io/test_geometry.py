"""World geometry: a PET hot spot placed at a known world coordinate on a grid with another orientation, spacing and
origin lands within one anatomical voxel of that coordinate after resampling."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from medfuse_gui import io, pipeline
from medfuse_gui.io.errors import GeometryError

from .dicom_helpers import write_series

TARGET_WORLD = np.array([-23.0, 17.0, 31.0])  # RAS mm


def _anatomical_ras(tmp_path):
    affine = np.array([[1.0, 0, 0, -80.0], [0, 1.2, 0, -90.0], [0, 0, 1.5, -60.0], [0, 0, 0, 1]])  # RAS, 1x1.2x1.5 mm
    data = np.random.default_rng(0).integers(20, 200, (160, 150, 100)).astype(np.int16)
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "t1.nii.gz")
    return io.load(tmp_path / "t1.nii.gz")


def _pet_las_with_blob(tmp_path, world=TARGET_WORLD, sigma_mm=4.0):
    """3 mm LAS grid, origin unrelated to the anatomical one, Gaussian blob centred on ``world``."""
    affine = np.array([[-3.0, 0, 0, 95.0], [0, 3.0, 0, -110.0], [0, 0, 3.0, -72.0], [0, 0, 0, 1]])
    shape = (64, 72, 56)
    ijk = np.indices(shape).reshape(3, -1)
    xyz = (affine[:3, :3] @ ijk + affine[:3, 3:4]).T
    blob = np.exp(-np.sum((xyz - world) ** 2, axis=1) / (2 * sigma_mm ** 2)).reshape(shape)
    nib.save(nib.Nifti1Image((1000 * blob).astype(np.float32), affine), tmp_path / "pet.nii.gz")
    return io.load(tmp_path / "pet.nii.gz")


def _peak_world(volume: io.Volume, pixels: np.ndarray) -> np.ndarray:
    """Intensity-weighted centre of the top voxels, in world mm."""
    k, j, i = np.nonzero(pixels > 0.5 * pixels.max())
    weights = pixels[k, j, i]
    centre = np.array([np.average(i, weights=weights), np.average(j, weights=weights), np.average(k, weights=weights)])
    return (volume.affine @ np.append(centre, 1.0))[:3]


def test_blob_lands_within_one_anatomical_voxel(tmp_path):
    anatomical = _anatomical_ras(tmp_path)
    pet = _pet_las_with_blob(tmp_path)
    pair = pipeline.make_pair(anatomical, pet)
    assert pair.alignment == "world" and pair.warnings == []
    assert pair.functional.grid_shape == anatomical.grid_shape
    error = np.abs(_peak_world(anatomical, pair.functional.pixels) - TARGET_WORLD)
    assert np.all(error <= np.array(anatomical.spacing)[::-1]), error  # spacing is (slice,row,col); error (x,y,z)


def test_blob_in_a_dicom_series_lands_on_a_nifti_anatomy(tmp_path):
    """LPS DICOM series (head-first axial) against the RAS NIfTI anatomy: the LPS->RAS flip must be right."""
    anatomical = _anatomical_ras(tmp_path)
    spacing = (4.0, 2.5, 2.5)
    origin_lps = np.array([-120.0, -110.0, -50.0])
    shape = (30, 96, 96)
    k, j, i = np.indices(shape)
    lps = origin_lps + np.stack([i * spacing[2], j * spacing[1], k * spacing[0]], axis=-1)
    target_lps = TARGET_WORLD * [-1, -1, 1]
    blob = np.exp(-np.sum((lps - target_lps) ** 2, axis=-1) / (2 * 5.0 ** 2))
    write_series(tmp_path / "pet", (4000 * blob).astype(np.uint16), spacing=spacing, origin=origin_lps,
                 modality="PT", row_dir=(1, 0, 0), col_dir=(0, 1, 0))
    pet = io.load(tmp_path / "pet")
    pair = pipeline.make_pair(anatomical, pet)
    error = np.abs(_peak_world(anatomical, pair.functional.pixels) - TARGET_WORLD)
    assert np.all(error <= np.array(anatomical.spacing)[::-1]), error


def test_no_overlap_is_an_error_not_a_silent_blank(tmp_path):
    anatomical = _anatomical_ras(tmp_path)
    far = np.array([[3.0, 0, 0, 900.0], [0, 3.0, 0, 900.0], [0, 0, 3.0, 900.0], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(np.ones((10, 10, 10), np.float32), far), tmp_path / "far.nii.gz")
    with pytest.raises(GeometryError, match="do not overlap"):
        pipeline.make_pair(anatomical, io.load(tmp_path / "far.nii.gz"))


def test_partial_overlap_and_frames_of_reference_warn(tmp_path):
    write_series(tmp_path / "a", np.ones((6, 32, 32), np.uint16), spacing=(4.0, 4.0, 4.0), origin=(0, 0, 0))
    write_series(tmp_path / "b", np.ones((6, 32, 32), np.uint16), spacing=(4.0, 4.0, 4.0), origin=(100, 0, 0),
                 modality="PT")
    pair = pipeline.make_pair(io.load(tmp_path / "a"), io.load(tmp_path / "b"))
    text = " ".join(pair.warnings)
    assert "Frames of Reference" in text and "covered" in text


def test_missing_geometry_falls_back_to_centred_scaled_slices_and_says_so(tmp_path):
    import cv2

    small = np.zeros((64, 64), np.uint8)
    small[28:36, 28:36] = 255  # a square in the centre
    cv2.imwrite(str(tmp_path / "pet.png"), small)
    cv2.imwrite(str(tmp_path / "mri.png"), np.full((256, 256), 90, np.uint8))
    pair = pipeline.make_pair(io.load(tmp_path / "mri.png"), io.load(tmp_path / "pet.png"))
    assert pair.alignment == "fitted" and "centred and scaled" in pair.warnings[0]
    rows, cols = np.nonzero(pair.functional.pixels[0] > 128)
    assert abs(rows.mean() - 127.5) < 1.5 and abs(cols.mean() - 127.5) < 1.5
    assert 28 <= rows.max() - rows.min() + 1 <= 36  # 8 px scaled by 4


def test_coronal_and_sagittal_planes_keep_proportions(tmp_path):
    affine = np.diag([1.0, 1.0, 3.0, 1.0])
    data = np.zeros((40, 50, 20), np.float32)
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "thick.nii.gz")
    volume = io.load(tmp_path / "thick.nii.gz")
    assert pipeline.plane(volume, "axial", 5).shape == (50, 40)
    assert pipeline.plane(volume, "coronal", 5).shape == (60, 40)   # 20 slices x 3 mm -> 60 rows of 1 mm
    assert pipeline.plane(volume, "sagittal", 5).shape == (60, 50)
    assert pipeline.n_planes(volume, "coronal") == 50
