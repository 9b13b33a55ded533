"""Header summary of sources written and read back: identity, grid, orientation, unit, SUV; view titles."""

from __future__ import annotations

import cv2
import numpy as np
import pydicom

from medfuse_gui import io
from medfuse_gui.io.headers import dicom_date, header_summary, person_name, view_title
from tests.io.dicom_helpers import write_series
from tests.io.pet_helpers import write_pet_series


def test_mr_series_summary_lists_what_the_file_says_in_order(tmp_path):
    paths = write_series(tmp_path, np.full((3, 4, 5), 9, np.uint16), spacing=(2.5, 0.8, 0.9),
                         description="T1 MPRAGE")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.PatientBirthDate, ds.StudyDate, ds.StudyDescription = "19700131", "20240305", "Brain"
        ds.Manufacturer, ds.ManufacturerModelName = "SIEMENS", "Prisma"
        ds.save_as(path, enforce_file_format=True)
    volume = io.load(tmp_path)
    summary = header_summary(volume)
    rows = dict(summary.rows())
    assert summary.title == view_title(volume) == "MR — T1 MPRAGE"
    assert [label for label, _ in summary.rows()][:8] == [
        "Patient name", "Patient ID", "Birth date", "Study date", "Study description", "Modality",
        "Series description", "Manufacturer"]
    assert rows["Patient name"] == "Test, Phantom" and rows["Patient ID"] == "MF0001"
    assert rows["Birth date"] == "1970-01-31" and rows["Study date"] == "2024-03-05"
    assert rows["Manufacturer"] == "SIEMENS Prisma"
    assert rows["Grid"] == "5 × 4 × 3" and rows["Spacing"] == "0.9 × 0.8 × 2.5 mm"
    assert rows["Orientation"] == "LPS" and rows["Unit"] == "a.u. (signal)"
    assert rows["Frame of reference"] == str(pydicom.dcmread(paths[0]).FrameOfReferenceUID)
    assert "SUV" not in rows
    data = summary.as_dict()
    assert data["grid"] == [5, 4, 3] and data["spacing"] == [0.9, 0.8, 2.5] and data["study_description"] == "Brain"


def test_pet_summary_shows_the_suv_factor_and_its_inputs(tmp_path):
    write_pet_series(tmp_path)
    summary = header_summary(io.load(tmp_path))
    rows = dict(summary.rows())
    assert rows["SUV"].startswith("SUVbw = Bq/mL x 72.5 kg")
    assert rows["  Patient weight"] == "72.5 kg" and rows["  Injected dose"] == "370.00 MBq"
    data = summary.as_dict()
    assert data["suv"]["factor"] > 0 and "suv_patient_weight" not in data


def test_pet_without_dose_shows_the_reason(tmp_path):
    write_pet_series(tmp_path, dose_bq=None)
    summary = header_summary(io.load(tmp_path))
    assert dict(summary.rows())["SUV"].startswith("none: no injected dose")
    assert summary.as_dict()["suv"] == {"available": False, "reason": io.load(tmp_path).suv.reason}


def test_png_has_no_identity_and_says_it_has_no_geometry(tmp_path):
    folder = tmp_path / "mr"
    folder.mkdir()
    cv2.imwrite(str(folder / "brain.png"), np.zeros((6, 7), np.uint8))
    volume = io.load(folder / "brain.png")
    rows = dict(header_summary(volume).rows())
    assert view_title(volume) == "MR — brain.png"
    assert rows["Patient name"] == "—" and rows["Orientation"] == "— (no world geometry)"
    assert rows["Spacing"].endswith("px (no geometry)") and rows["Grid"] == "7 × 6 × 1"
    assert header_summary(volume).as_dict()["patient_id"] is None


def test_dicom_text_formatting():
    assert dicom_date("20040119") == "2004-01-19" and dicom_date("") is None and dicom_date("2004") == "2004"
    assert person_name("Doe^Jane^Q") == "Doe, Jane Q" and person_name("Anonymous") == "Anonymous"
    assert person_name("Yamada^Tarou=山田^太郎") == "Yamada, Tarou"
