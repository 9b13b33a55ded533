"""NIfTI: written with nibabel, read back with its affine; display reorientation keeps world positions."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from medfuse_gui import io
from medfuse_gui.io.errors import LoadError
from medfuse_gui.io.writers import write_nifti


def _las_image(shape=(20, 24, 16)) -> nib.Nifti1Image:
    data = np.zeros(shape, np.float32)
    data[3, 5, 7] = 100.0  # a marker voxel at a known (i, j, k)
    affine = np.array([[-2.0, 0, 0, 40.0], [0, 2.5, 0, -60.0], [0, 0, 3.0, -20.0], [0, 0, 0, 1]])  # LAS
    image = nib.Nifti1Image(data, affine)
    image.header.set_sform(affine, code=1)
    return image


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_round_trip_keeps_values_and_world_position(tmp_path, suffix):
    image = _las_image()
    path = tmp_path / f"pet{suffix}"
    nib.save(image, path)
    volume = io.load(path)
    assert volume.geometry_known and volume.modality == "PT"
    marker_world = image.affine @ [3, 5, 7, 1]
    # after reorientation to L,P,S the marker is found at the same world position
    k, j, i = np.argwhere(volume.pixels == 100.0)[0]
    np.testing.assert_allclose(volume.affine @ [i, j, k, 1], marker_world)
    assert "".join(nib.aff2axcodes(volume.affine)) == "LPS"
    assert sorted(volume.spacing) == pytest.approx(sorted([2.0, 2.5, 3.0]))
    raw = io.load(path, reorient=False)
    assert raw.pixels[7, 5, 3] == 100.0  # (slice, row, col) = (k, j, i)
    np.testing.assert_allclose(raw.affine, image.affine)


def test_write_nifti_round_trip_rgb_and_gray(tmp_path):
    affine = np.diag([1.5, 1.5, 4.0, 1.0])
    affine[:3, 3] = [-90, -100, -40]
    gray = np.random.default_rng(0).random((4, 6, 5)).astype(np.float32)
    write_nifti(tmp_path / "g.nii.gz", gray, affine)
    back = nib.load(tmp_path / "g.nii.gz")
    np.testing.assert_allclose(back.affine, affine)
    np.testing.assert_allclose(np.transpose(np.asanyarray(back.dataobj), (2, 1, 0)), gray)
    rgb = np.random.default_rng(1).integers(0, 256, (4, 6, 5, 3)).astype(np.uint8)
    write_nifti(tmp_path / "rgb.nii", rgb, affine)
    volume = io.load(tmp_path / "rgb.nii", reorient=False)
    assert volume.is_rgb
    np.testing.assert_array_equal(volume.pixels, rgb)
    with pytest.raises(io.WriteError, match="exists"):
        write_nifti(tmp_path / "rgb.nii", rgb, affine)


def test_nifti_without_geometry_is_flagged(tmp_path):
    image = nib.Nifti1Image(np.ones((4, 4, 3), np.int16), None)  # no affine: sform and qform codes 0
    nib.save(image, tmp_path / "nogeo.nii")
    volume = io.load(tmp_path / "nogeo.nii")
    assert not volume.geometry_known
    assert "no sform/qform" in volume.meta["warning"]


def test_4d_takes_first_volume_and_says_so(tmp_path):
    data = np.stack([np.full((4, 4, 3), t, np.float32) for t in range(3)], axis=-1)
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "bold.nii.gz")
    volume = io.load(tmp_path / "bold.nii.gz")
    assert np.all(volume.pixels == 0) and "4-D" in volume.meta["warning"]


def test_corrupt_nifti(tmp_path):
    (tmp_path / "bad.nii.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(LoadError, match="bad.nii.gz"):
        io.load(tmp_path / "bad.nii.gz")
