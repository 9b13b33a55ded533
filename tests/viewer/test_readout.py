"""The data probe reads the source volumes at the world point: CT in HU from pydicom's own pixel data, PET in Bq/mL and
SUV from a series written with known dose, weight and times, the fused value from the slice on screen."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medfuse_gui.viewer.readout import probe

from .conftest import Viewer, demo_paths


def test_ct_value_under_the_probe_is_hounsfield_from_the_file(viewer):
    path = get_testdata_file("CT_small.dcm")
    viewer.service.open_source("anatomical", path)
    viewer.run()
    model = viewer.model
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    row, col = 40, 70
    # the file voxel (col, row) as a world point, then as a voxel of the displayed grid
    lps = (np.asarray(ds.ImagePositionPatient, float) + col * float(ds.PixelSpacing[1]) * np.asarray(
        ds.ImageOrientationPatient[:3], float) + row * float(ds.PixelSpacing[0]) * np.asarray(
        ds.ImageOrientationPatient[3:], float))
    ras = lps * np.array([-1.0, -1.0, 1.0])
    grid_voxel = np.linalg.solve(model.grid.affine, np.append(ras, 1.0))[:3]
    result = probe(model, grid_voxel)
    assert result.anatomical_readout.value == pytest.approx(hu[row, col])
    assert result.anatomical.startswith(f"{hu[row, col]:.0f} HU") and f"({col}, {row}, 0)" in result.anatomical
    assert "LPS (" in result.position and "RAS (" in result.position
    assert f"{lps[0]:.1f}" in result.position


def test_pet_value_in_bq_per_ml_and_suv(tmp_path):
    from tests.io.pet_helpers import F18_HALF_LIFE_S, write_pet_series

    viewer = Viewer()
    folder = tmp_path / "pet"
    write_pet_series(folder, weight_kg=72.5, dose_bq=370e6)   # injected 08:30, series 09:30, DecayCorrection START
    # SUVbw = C [Bq/mL] * weight [g] / (dose decayed from injection to the series start) -- by hand
    expected_factor = 72_500 / (370e6 * 2 ** (-3600 / F18_HALF_LIFE_S))
    viewer.service.open_source("functional", folder)
    viewer.run()
    model = viewer.model
    result = probe(model, (3.0, 2.0, 1.0))
    readout = result.functional_readout
    assert readout.unit == "Bq/mL" and readout.suv == pytest.approx(readout.value * expected_factor, rel=1e-3)
    assert "SUV" in result.functional


def test_fused_value_is_the_pixel_on_screen(demo_viewer):
    model = demo_viewer.model
    fused = model.current_fused()
    result = probe(model, (100.0, 80.0, 0.0))
    r, g, b = fused.fused_rgb_uint8()[80, 100]
    assert result.fused.startswith(f"RGB ({r}, {g}, {b})")
    assert result.anatomical.startswith(f"{int(model.anatomical.pixels[0, 80, 100])}")
    assert "no world geometry" in result.position   # a PNG has no world: the probe says pixels, not mm
    assert result.status_text().count("|") == 3


def test_nothing_open_is_no_probe(viewer):
    assert probe(viewer.model, (0, 0, 0)) is None
    assert demo_paths()
