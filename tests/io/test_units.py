"""Units and values read back from real files: CT in HU, NIfTI units from the header, rasters in a.u."""

from __future__ import annotations

import cv2
import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medfuse_gui import io
from medfuse_gui.io.readout import read_value, voxel_world
from medfuse_gui.io.units import format_value
from tests.io.dicom_helpers import write_series


def test_ct_small_reads_hounsfield_units_at_a_known_voxel():
    path = get_testdata_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array.astype(float) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    volume = io.load(path)
    assert volume.unit == "HU" and volume.quantity == "attenuation"
    row, col = 70, 41
    reading = read_value(volume, voxel_world(volume, (col, row, 0)))
    assert reading.index == (col, row, 0) and reading.inside
    assert reading.value == hu[row, col]
    # the world point is the DICOM patient position in LPS: ImagePositionPatient + col*Δcol*row_dir + row*Δrow*col_dir
    lps = np.array([float(v) for v in ds.ImagePositionPatient]) + col * float(ds.PixelSpacing[1]) * np.array(
        [float(v) for v in ds.ImageOrientationPatient[:3]]) + row * float(ds.PixelSpacing[0]) * np.array(
        [float(v) for v in ds.ImageOrientationPatient[3:]])
    np.testing.assert_allclose(reading.world_lps, lps, atol=1e-6)
    assert reading.value_text() == f"{hu[row, col]:.0f} HU"


def test_a_point_outside_the_volume_has_no_value():
    volume = io.load(get_testdata_file("CT_small.dcm"))
    reading = read_value(volume, voxel_world(volume, (-3, 10, 0)))
    assert not reading.inside and reading.value is None and reading.value_text() == "outside the volume"


def test_mr_series_and_png_are_arbitrary_units(tmp_path):
    write_series(tmp_path / "mr", np.full((3, 4, 5), 7, np.uint16))
    assert io.load(tmp_path / "mr").unit == "a.u."
    png = tmp_path / "slice.png"
    cv2.imwrite(str(png), np.arange(64, dtype=np.uint8).reshape(8, 8))
    image = io.load(png)
    assert (image.unit, image.quantity) == ("a.u.", "signal")
    assert read_value(image, voxel_world(image, (2, 3, 0))).value == 26.0  # row 3, col 2 of arange(64)


@pytest.mark.parametrize("field, text, unit", [
    ("descrip", "PET SUVbw", "g/mL"),
    ("descrip", "activity in Bq/ml", "Bq/mL"),
    ("aux_file", "kBq/cc", "kBq/mL"),
    ("intent_name", "HU", "HU"),
    ("descrip", "FSL5.0 brain extracted", "a.u."),
])
def test_nifti_intensity_unit_comes_from_the_header_text(tmp_path, field, text, unit):
    image = nib.Nifti1Image(np.arange(24, dtype=np.float32).reshape(2, 3, 4), np.eye(4))
    image.header[field] = text.encode()
    path = tmp_path / "v.nii.gz"
    nib.save(image, str(path))
    assert io.load(path).unit == unit


def test_nifti_space_unit_from_xyzt_units(tmp_path):
    image = nib.Nifti1Image(np.ones((3, 3, 3), np.float32), np.eye(4))
    image.header.set_xyzt_units("meter", "sec")
    path = tmp_path / "m.nii"
    nib.save(image, str(path))
    volume = io.load(path)
    assert volume.meta["space_unit"] == "m" and volume.meta["time_unit"] == "s"
    assert "not mm" in volume.meta["warning"]
    image.header.set_xyzt_units("mm")
    nib.save(image, str(path))
    assert io.load(path).meta["space_unit"] == "mm" and "warning" not in io.load(path).meta


def test_nifti_readout_finds_the_file_voxel_after_display_reorientation():
    path = nib.__path__[0] + "/tests/data/anatomical.nii"
    image = nib.load(path)
    data = np.asanyarray(image.dataobj)
    volume = io.load(path)  # LAS on disk, reoriented to LPS for display
    assert volume.meta["reoriented_from"] == "LAS"
    ijk = (10, 20, 12)
    world = image.affine @ np.array([*ijk, 1.0])
    reading = read_value(volume, world[:3])
    assert reading.file_index == ijk and reading.value == pytest.approx(float(data[ijk]))


def test_value_formatting_suits_the_unit():
    assert format_value(-1000.4, "HU") == "-1000 HU"
    assert format_value(19833.0, "Bq/mL") == "19,833.0 Bq/mL"
    assert format_value(0.53219, "a.u.") == "0.5322 a.u."
