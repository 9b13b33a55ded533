"""DICOM loading: pydicom's real test files, and series written here with shuffled names and known geometry."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medfuse_gui import io
from medfuse_gui.io.errors import LoadError, MixedSeriesError

from .dicom_helpers import write_series


def test_ct_small_applies_rescale_and_reads_geometry():
    path = get_testdata_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    volume = io.load(path)
    assert volume.modality == "CT" and volume.pixels.shape == (1, 128, 128)
    expected = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(volume.pixels[0], expected)
    assert volume.geometry_known
    # (col,row,slice) -> RAS: the first voxel sits at ImagePositionPatient with x and y negated (LPS -> RAS).
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    np.testing.assert_allclose(volume.affine[:3, 3], ipp * [-1, -1, 1])
    assert volume.spacing[1:] == pytest.approx([float(v) for v in ds.PixelSpacing])
    assert "WindowCenter" not in ds  # so the window comes from the data: 0.5-99.5th percentiles
    low, high = np.percentile(expected, [0.5, 99.5])
    assert volume.window == pytest.approx((low, high), rel=0.02)


def test_window_tags_become_the_default_window(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.WindowCenter, ds.WindowWidth = "40", "80"
    ds.save_as(tmp_path / "ct_windowed.dcm")
    assert io.load(tmp_path / "ct_windowed.dcm").window == (0.0, 80.0)


def test_monochrome1_is_inverted(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    original = io.load(get_testdata_file("MR_small.dcm")).pixels[0]
    ds.PhotometricInterpretation = "MONOCHROME1"
    path = tmp_path / "mono1.dcm"
    ds.save_as(path)
    inverted = io.load(path).pixels[0]
    np.testing.assert_allclose(inverted, original.max() + original.min() - original)


def test_multiframe_rt_dose_has_frames_in_order():
    volume = io.load(get_testdata_file("rtdose.dcm"))
    ds = pydicom.dcmread(get_testdata_file("rtdose.dcm"))
    assert volume.pixels.shape == (15, 10, 10)
    offsets = [float(v) for v in ds.GridFrameOffsetVector]
    assert volume.geometry_known
    assert volume.spacing[0] == pytest.approx(abs(offsets[1] - offsets[0]))
    scaled = ds.pixel_array * float(ds.DoseGridScaling)
    order = np.argsort(offsets) if offsets[1] > offsets[0] else np.arange(15)
    np.testing.assert_allclose(volume.pixels, scaled[order], rtol=1e-6)


def test_rgb_multiframe_sc():
    volume = io.load(get_testdata_file("SC_rgb_rle_2frame.dcm"))
    assert volume.is_rgb and volume.pixels.shape == (2, 100, 100, 3) and volume.pixels.dtype == np.uint8


def test_series_sorted_by_position_not_by_name(tmp_path):
    rng = np.random.default_rng(3)
    stored = rng.integers(0, 1000, size=(7, 24, 20)).astype(np.uint16)
    stored[:, 0, 0] = np.arange(7) * 100  # slice fingerprints
    write_series(tmp_path / "series", stored, spacing=(3.0, 0.9, 0.8), origin=(10.0, -20.0, 30.0),
                 slope=2.0, intercept=-5.0)
    volume = io.load(tmp_path / "series")
    assert volume.pixels.shape == (7, 24, 20)
    np.testing.assert_allclose(volume.pixels, stored * 2.0 - 5.0)
    assert volume.spacing == pytest.approx((3.0, 0.9, 0.8))
    # voxel (0,0,k) lies at origin + k * 3 mm along the normal (z), converted LPS -> RAS.
    for k in (0, 6):
        world = volume.affine @ [0, 0, k, 1]
        np.testing.assert_allclose(world[:3], [-10.0, 20.0, 30.0 + 3.0 * k], atol=1e-6)
    assert volume.meta["PatientID"] == "MF0001"


def test_series_descending_positions_are_reoriented_for_display(tmp_path):
    """A series acquired head-to-feet (normal pointing inferior) still displays with slice index increasing superior."""
    stored = np.zeros((5, 8, 8), np.uint16)
    stored[:, 0, 0] = np.arange(5) * 10
    write_series(tmp_path / "s", stored, spacing=(2.0, 1.0, 1.0), row_dir=(1, 0, 0), col_dir=(0, -1, 0))
    volume = io.load(tmp_path / "s")
    z = [(volume.affine @ [0, 0, k, 1])[2] for k in range(5)]
    assert np.all(np.diff(z) > 0)
    assert "".join(__import__("nibabel").aff2axcodes(volume.affine)) == "LPS"


def test_two_series_in_one_folder_are_rejected_clearly(tmp_path):
    write_series(tmp_path / "mixed", np.zeros((3, 8, 8), np.uint16), description="T1", seed=1)
    for path in write_series(tmp_path / "other", np.zeros((2, 8, 8), np.uint16), description="FLAIR", seed=2):
        shutil.move(path, tmp_path / "mixed" / f"x{path.name}")
    with pytest.raises(MixedSeriesError, match="2 series"):
        io.load(tmp_path / "mixed")


def test_duplicate_positions_rejected(tmp_path):
    paths = write_series(tmp_path / "dup", np.zeros((3, 8, 8), np.uint16))
    ds = pydicom.dcmread(paths[0])
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(tmp_path / "dup" / "copy.dcm")
    with pytest.raises(MixedSeriesError, match="share one position"):
        io.load(tmp_path / "dup")


def test_folder_without_dicom_and_corrupt_file(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("nothing")
    with pytest.raises(LoadError, match="no DICOM images"):
        io.load(tmp_path / "empty")
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00garbage")
    with pytest.raises(LoadError, match="bad.dcm"):
        io.load(bad)


def test_undecodable_transfer_syntax_names_it():
    with pytest.raises(LoadError, match="transfer syntax"):
        io.load(get_testdata_file("JPEG-lossy.dcm"))
