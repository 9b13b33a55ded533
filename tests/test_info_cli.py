"""``medfuse info`` on pydicom's CT_small.dcm, nibabel's anatomical.nii and a written PET series: text and --json."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medfuse_gui.cli import main
from tests.io.pet_helpers import F18_HALF_LIFE_S, write_pet_series

CT_SMALL = get_testdata_file("CT_small.dcm")
ANATOMICAL = nib.__path__[0] + "/tests/data/anatomical.nii"


def _run(capsys, *argv):
    code = main(["info", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _ct_world(col: int, row: int) -> tuple[np.ndarray, float]:
    """RAS point of a CT_small voxel centre and its HU, from pydicom directly."""
    ds = pydicom.dcmread(CT_SMALL)
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    lps = (np.array([float(v) for v in ds.ImagePositionPatient]) + col * float(ds.PixelSpacing[1]) * iop[:3]
           + row * float(ds.PixelSpacing[0]) * iop[3:])
    hu = float(ds.pixel_array[row, col]) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return lps * np.array([-1.0, -1.0, 1.0]), hu


def test_ct_small_header_as_text(capsys):
    code, out, err = _run(capsys, CT_SMALL)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "CT — CT_small.dcm"
    rows = {line[:22].strip(): line[22:].strip() for line in lines[1:]}
    assert rows["Patient name"] == "CompressedSamples, CT1"
    assert rows["Patient ID"] == "1CT1"
    assert rows["Study date"] == "2004-01-19"
    assert rows["Manufacturer"].startswith("GE MEDICAL SYSTEMS")
    assert rows["Grid"] == "128 × 128 × 1"
    assert rows["Spacing"].startswith("0.6615 × 0.6615")
    assert rows["Unit"] == "HU (attenuation)"
    assert rows["Orientation"] == "LPS"


def test_ct_small_value_at_a_point_in_hu(capsys):
    world, hu = _ct_world(41, 70)
    code, out, _ = _run(capsys, CT_SMALL, "--at", *world, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["header"]["modality"] == "CT" and doc["header"]["unit"] == "HU"
    assert doc["at"]["index"] == [41, 70, 0] and doc["at"]["value"] == hu and doc["at"]["unit"] == "HU"
    code, out, _ = _run(capsys, CT_SMALL, "--at", *world)
    assert f"value                    {hu:.0f} HU" in out and "LPS (" in out


def test_nifti_header_and_value(capsys):
    image = nib.load(ANATOMICAL)
    ijk = (12, 30, 9)
    world = (image.affine @ np.array([*ijk, 1.0]))[:3]
    code, out, _ = _run(capsys, ANATOMICAL, "--at", *world, "--json")
    assert code == 0
    doc = json.loads(out)
    x, y, z = image.shape
    assert doc["header"]["grid"] == [x, y, z] and doc["header"]["orientation"] == "LPS"
    assert doc["header"]["spacing"] == [float(v) for v in image.header.get_zooms()]
    assert doc["at"]["file_index"] == list(ijk)
    assert doc["at"]["value"] == pytest.approx(float(np.asanyarray(image.dataobj)[ijk]))
    code, out, _ = _run(capsys, ANATOMICAL)
    assert "Orientation         LPS (stored LAS)" in out and "Unit                a.u. (signal)" in out


def test_pet_series_reads_suv_with_its_inputs(tmp_path, capsys):
    write_pet_series(tmp_path, weight_kg=68, dose_bq=300e6, start_time="101500", series_time="111500")
    # voxel (0, 0, 0): the first stored value (100) times slope 2.5, at the origin of the series
    origin_lps = np.array([-100.0, -120.0, -50.0])
    world = origin_lps * np.array([-1.0, -1.0, 1.0])
    code, out, _ = _run(capsys, tmp_path, "--at", *world, "--json")
    doc = json.loads(out)
    expected = 250.0 * 68000 / (300e6 * 2 ** (-3600 / F18_HALF_LIFE_S))
    assert doc["at"]["value"] == pytest.approx(250.0) and doc["at"]["suv"] == pytest.approx(expected, rel=1e-3)
    assert doc["at"]["suv_factor"]["weight_kg"] == 68 and doc["at"]["suv_factor"]["decay_time_s"] == 3600
    assert doc["header"]["suv"]["available"] is True
    code, out, _ = _run(capsys, tmp_path, "--at", *world)
    assert f"= SUV {expected:.2f}" in out and "Patient weight" in out and "68 kg" in out


def test_pet_without_weight_says_why_there_is_no_suv(tmp_path, capsys):
    write_pet_series(tmp_path, weight_kg=None)
    code, out, _ = _run(capsys, tmp_path, "--at", 100, 120, -50)
    assert code == 0
    assert "SUV                 none: no patient weight" in out
    assert "Bq/mL" in out and "= SUV" not in out


def test_errors_are_one_line_and_non_zero(tmp_path, capsys):
    code, out, err = _run(capsys, CT_SMALL, "--at", 0, 0, 500)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "outside CT_small.dcm" in err
    code, _, err = _run(capsys, tmp_path / "missing.nii")
    assert code == 1 and err.strip().startswith("medfuse info: cannot open") and "Traceback" not in err


def test_png_has_no_world_so_the_point_is_read_as_pixels(capsys):
    import cv2

    path = Path(__file__).resolve().parents[1] / "resources" / "demo" / "spect-mri" / "SPECT" / "11017.png"

    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    code, out, _ = _run(capsys, path, "--at", 100, 120, 0)
    assert code == 0 and "no world geometry, read as (col, row, slice) pixels" in out
    assert "RGB ({}, {}, {})".format(*rgb[120, 100]) in out and "Orientation         — (no world geometry)" in out
