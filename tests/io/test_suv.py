"""Body-weight SUV of PET series written with pydicom and read back: the number equals the formula by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pydicom
import pytest

from medfuse_gui import io
from medfuse_gui.io import suv as suvmod
from medfuse_gui.io.readout import read_value, voxel_world
from tests.io.pet_helpers import F18_HALF_LIFE_S, write_pet_series

VOXEL = (3, 4, 2)   # (col, row, slice) of the loaded volume


def _stored_at(folder, voxel):
    """Stored integer at (col, row, slice), slices ordered by position (as the loader orders them)."""
    files = sorted(folder.iterdir(), key=lambda p: float(pydicom.dcmread(p).ImagePositionPatient[2]))
    ds = pydicom.dcmread(files[voxel[2]])
    return float(ds.pixel_array[voxel[1], voxel[0]]) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


def test_start_decay_correction_gives_the_hand_computed_suv(tmp_path):
    write_pet_series(tmp_path, start_time="083000", series_time="093000")
    volume = io.load(tmp_path, reorient=False)
    assert volume.unit == "Bq/mL" and volume.quantity == "activity concentration"
    concentration = _stored_at(tmp_path, VOXEL)
    # QIBA: decayed dose = dose * 2^(-(scan - injection) / T½), scan = SeriesTime; SUV = C * weight[g] / decayed dose
    expected = concentration * 72.5 * 1000 / (370e6 * 2 ** (-3600 / F18_HALF_LIFE_S))
    reading = read_value(volume, voxel_world(volume, VOXEL))
    assert reading.inside and reading.index == VOXEL
    assert reading.value == pytest.approx(concentration, rel=1e-6)
    assert reading.suv == pytest.approx(expected, rel=1e-3)
    factor = volume.suv_factor
    assert factor.decay_time_s == pytest.approx(3600) and factor.scan_time_source == "SeriesDate/SeriesTime"
    assert factor.injection_time == dt.datetime(2024, 1, 2, 8, 30)
    assert "72.5 kg" in factor.describe()


def test_admin_decay_correction_uses_the_injected_dose(tmp_path):
    write_pet_series(tmp_path, decay_correction="ADMIN")
    volume = io.load(tmp_path)
    concentration = _stored_at(tmp_path, VOXEL)
    expected = concentration * 72.5 * 1000 / 370e6
    # the display reorientation moves voxels; the world point still finds the same file voxel
    raw = io.load(tmp_path, reorient=False)
    reading = read_value(volume, voxel_world(raw, VOXEL))
    assert reading.file_index == VOXEL
    assert reading.suv == pytest.approx(expected, rel=1e-3)
    assert volume.suv_factor.decay_correction == "ADMIN"


def test_series_without_weight_is_refused_and_the_readout_stays_in_bq_per_ml(tmp_path):
    write_pet_series(tmp_path, weight_kg=None)
    volume = io.load(tmp_path)
    assert volume.suv_factor is None
    assert "weight" in volume.suv.reason
    reading = read_value(volume, voxel_world(volume, (1, 1, 1)))
    assert reading.suv is None and reading.suv_reason == volume.suv.reason
    assert reading.unit == "Bq/mL" and reading.value_text().endswith("Bq/mL")
    with pytest.raises(suvmod.SUVError, match="weight"):
        suvmod.require_suv_factor([pydicom.dcmread(p) for p in tmp_path.iterdir()])


@pytest.mark.parametrize("changes, reason", [
    ({"series_time": "081500", "start_time": "083000"}, "before the injection"),
    ({"dose_bq": 0}, "injected dose"),
    ({"dose_bq": 370}, "implausible injected dose"),
    ({"units": "CNTS"}, "not BQML"),
    ({"decay_correction": "NONE"}, "DecayCorrection NONE"),
    ({"half_life_s": None}, "half-life"),
    ({"corrected": ("DECY",)}, "attenuation"),
    ({"series_date": "20240103", "start_datetime": "20240101083000"}, "implausible injection-to-scan"),
])
def test_implausible_or_missing_inputs_give_a_reason_not_a_number(tmp_path, changes, reason):
    write_pet_series(tmp_path, **changes)
    result = io.load(tmp_path).suv
    assert not result.available
    assert reason in result.reason


def test_a_series_time_later_than_the_acquisitions_falls_back_to_the_earliest_acquisition(tmp_path):
    # QIBA: a post-processed series may carry a rewritten SeriesTime; the earliest AcquisitionTime is the scan start
    write_pet_series(tmp_path, series_time="120000", acquisition_times=["094500", "093000", "093500", "094000"])
    factor = io.load(tmp_path).suv_factor
    assert factor.scan_time == dt.datetime(2024, 1, 2, 9, 30)
    assert factor.scan_time_source.startswith("earliest AcquisitionDate/AcquisitionTime")
    assert factor.factor == pytest.approx(72500 / (370e6 * 2 ** (-3600 / F18_HALF_LIFE_S)), rel=1e-9)


def test_start_datetime_wins_and_a_scan_after_midnight_takes_the_day_before(tmp_path):
    write_pet_series(tmp_path / "dt", start_time="235000", start_datetime="20240101233000",
                     series_date="20240102", series_time="003000")
    assert io.load(tmp_path / "dt").suv_factor.decay_time_s == pytest.approx(3600)
    write_pet_series(tmp_path / "tm", start_time="233000", series_date="20240102", series_time="003000")
    factor = io.load(tmp_path / "tm").suv_factor
    assert factor.decay_time_s == pytest.approx(3600) and "midnight" in factor.notes[-1]


def test_suv_survives_display_reorientation_and_resampling_onto_an_mr_grid(tmp_path):
    from medfuse_gui.pipeline import make_pair
    from tests.io.dicom_helpers import write_series

    write_pet_series(tmp_path / "pet")
    write_series(tmp_path / "mr", np.full((6, 12, 10), 300, np.uint16), spacing=(1.5, 1.0, 1.0))
    pet, mr = io.load(tmp_path / "pet"), io.load(tmp_path / "mr")
    pair = make_pair(mr, pet)
    assert pair.functional.suv is pet.suv and pair.functional.unit == "Bq/mL"
    assert mr.unit == "a.u." and mr.suv is None


def test_factor_from_inputs_matches_the_formula_and_converts_windows_both_ways():
    injection, scan = dt.datetime(2024, 5, 1, 10, 0), dt.datetime(2024, 5, 1, 11, 5, 30)
    factor = suvmod.suv_factor_from_inputs(weight_kg=80, dose_bq=250e6, decay_correction="START",
                                           half_life_s=F18_HALF_LIFE_S, injection_time=injection, scan_time=scan)
    elapsed = 3930.0
    assert factor.factor == pytest.approx(80000 / (250e6 * 0.5 ** (elapsed / F18_HALF_LIFE_S)), rel=1e-12)
    window_bqml = factor.from_suv(np.array([0.0, 5.0]))
    np.testing.assert_allclose(factor.to_suv(window_bqml), [0.0, 5.0])
    labels = dict(factor.inputs())
    assert labels["Patient weight"] == "80 kg" and labels["Injected dose"] == "250.00 MBq"


def test_windows_and_colour_bars_read_in_suv_only_with_a_valid_factor(tmp_path):
    write_pet_series(tmp_path / "ok", decay_correction="ADMIN")
    write_pet_series(tmp_path / "noweight", weight_kg=None)
    pet, refused = io.load(tmp_path / "ok"), io.load(tmp_path / "noweight")
    assert suvmod.display_scale(pet) == (pytest.approx(72500 / 370e6), "SUV")
    assert suvmod.display_scale(refused) == (1.0, "Bq/mL")
    presets = dict(suvmod.suv_window_presets(pet))
    np.testing.assert_allclose(presets["SUV 0-5"], (0.0, 5.0 * 370e6 / 72500))
    assert suvmod.suv_window_presets(refused) == []
