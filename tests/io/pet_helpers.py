"""A small PET DICOM series written with pydicom, with the PET Series/Isotope header fields that SUV needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from tests.io.dicom_helpers import write_series

F18_HALF_LIFE_S = 6586.2


def write_pet_series(folder: Path, stored: np.ndarray | None = None, *, slope: float = 2.5, weight_kg=72.5,
                     dose_bq=370e6, half_life_s=F18_HALF_LIFE_S, start_time="083000", start_datetime=None,
                     series_date="20240102", series_time="093000", acquisition_times=None,
                     decay_correction="START", units="BQML", corrected=("ATTN", "DECY")) -> list[Path]:
    """``stored`` (slices, rows, cols) stored integers; pixel values in Bq/mL are ``stored * slope``.

    A header value given as None is left out of the files.
    """
    if stored is None:
        stored = (np.arange(4 * 6 * 5, dtype=np.uint16).reshape(4, 6, 5) * 37 + 100)
    paths = write_series(folder, stored, modality="PT", slope=slope, spacing=(3.0, 2.0, 2.0), description="PET AC")
    for path in paths:
        ds = pydicom.dcmread(path)
        slice_index = int(round((float(ds.ImagePositionPatient[2]) - (-50.0)) / 3.0))
        ds.SeriesDate, ds.SeriesTime = series_date, series_time
        ds.AcquisitionDate = series_date
        ds.AcquisitionTime = acquisition_times[slice_index] if acquisition_times else series_time
        if weight_kg is not None:
            ds.PatientWeight = f"{weight_kg:g}"
        if units is not None:
            ds.Units = units
        if decay_correction is not None:
            ds.DecayCorrection = decay_correction
        if corrected:
            ds.CorrectedImage = list(corrected)
        info = Dataset()
        info.Radiopharmaceutical = "Fluorodeoxyglucose"
        if dose_bq is not None:
            info.RadionuclideTotalDose = f"{dose_bq:g}"
        if half_life_s is not None:
            info.RadionuclideHalfLife = f"{half_life_s:g}"
        if start_time is not None:
            info.RadiopharmaceuticalStartTime = start_time
        if start_datetime is not None:
            info.RadiopharmaceuticalStartDateTime = start_datetime
        ds.RadiopharmaceuticalInformationSequence = [info]
        ds.save_as(path, enforce_file_format=True)
    return paths
