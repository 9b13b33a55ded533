"""Write small but complete DICOM MR/PET series with pydicom, so series tests run on files with real geometry."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, PositronEmissionTomographyImageStorage, generate_uid


def write_series(folder: Path, volume: np.ndarray, *, spacing=(2.0, 1.0, 1.0), origin=(-100.0, -120.0, -50.0),
                 row_dir=(1.0, 0.0, 0.0), col_dir=(0.0, 1.0, 0.0), modality="MR", series_uid=None,
                 frame_of_reference=None, slope=1.0, intercept=0.0, shuffle=True, seed=0,
                 photometric="MONOCHROME2", description="test series") -> list[Path]:
    """``volume`` is (slices, rows, cols) of stored integer values; positions advance along row_dir x col_dir.

    File names are random (shuffled) so a loader that sorts by name gets the order wrong.
    """
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    frame_of_reference = frame_of_reference or generate_uid()
    study_uid = generate_uid()
    row_dir, col_dir = np.asarray(row_dir, float), np.asarray(col_dir, float)
    normal = np.cross(row_dir, col_dir)
    sop_class = MRImageStorage if modality == "MR" else PositronEmissionTomographyImageStorage
    names = [f"IMG{n:05d}.dcm" for n in range(len(volume))]
    if shuffle:
        random.Random(seed).shuffle(names)
    paths = []
    for index, plane in enumerate(volume):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = folder / names[index]
        ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
        ds.PatientName, ds.PatientID = "Test^Phantom", "MF0001"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.FrameOfReferenceUID = frame_of_reference
        ds.Modality, ds.SeriesDescription, ds.SeriesNumber = modality, description, 1
        ds.InstanceNumber = len(volume) - index  # deliberately reversed: never trust InstanceNumber for order
        position = np.asarray(origin, float) + normal * spacing[0] * index
        ds.ImagePositionPatient = [f"{v:.4f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in (*row_dir, *col_dir)]
        ds.PixelSpacing = [f"{spacing[1]:.4f}", f"{spacing[2]:.4f}"]
        ds.SliceThickness = f"{spacing[0]:.4f}"
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1 if plane.dtype == np.int16 else 0
        ds.RescaleSlope, ds.RescaleIntercept = f"{slope:g}", f"{intercept:g}"
        ds.PixelData = np.ascontiguousarray(plane.astype(np.int16 if ds.PixelRepresentation else np.uint16)).tobytes()
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def read(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path)
