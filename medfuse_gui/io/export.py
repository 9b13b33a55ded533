"""Exports of fused volumes: NIfTI (anatomical affine), DICOM Secondary Capture series, PNG stack.

The fused volume always lives on the anatomical grid, so its geometry is the anatomical volume's.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path

import numpy as np

from .. import __version__
from .errors import MedFuseError, WriteError
from .volume import Volume
from .voxel_order import to_source_order
from .atomic import atomic_folder, exists
from .writers import check_target, encode_png, refuse_overwriting_inputs, write_nifti, write_png

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])

FORMATS = ("png", "png-stack", "nifti", "dicom")


def format_for(path: str | Path, explicit: str | None = None) -> str:
    """Output format from an explicit choice or the name: .png, .nii/.nii.gz, .dcm or a folder (DICOM series)."""
    if explicit:
        if explicit not in FORMATS:
            raise MedFuseError(f"unknown format {explicit!r}; choose one of {', '.join(FORMATS)}")
        return explicit
    name = str(path).lower()
    if name.endswith(".png"):
        return "png"
    if name.endswith(".nii") or name.endswith(".nii.gz"):
        return "nifti"
    if name.endswith(".dcm") or name.endswith("/") or Path(path).is_dir() or not Path(path).suffix:
        return "dicom"
    raise MedFuseError(f"cannot tell the output format from {Path(path).name}: use .png, .nii, .nii.gz, .dcm or a "
                       f"folder, or --format")


def export_volume(path: str | Path, rgb: np.ndarray, reference: Volume, method: str, fmt: str | None = None,
                  force: bool = False, registration=None) -> list[Path]:
    """Write a fused (Z, H, W, 3) uint8 volume on ``reference``'s grid. Returns the files written.

    ``registration``: the Transform the functional was resampled through (its description goes into the NIfTI
    description and the DICOM DerivationDescription), or None (world coordinates)."""
    fmt = format_for(path, fmt)
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (Z,H,W,3) uint8, got {rgb.shape} {rgb.dtype}")
    if rgb.shape[:3] != reference.grid_shape:
        raise MedFuseError(f"fused volume {rgb.shape[:3]} is not on the anatomical grid {reference.grid_shape}")
    if fmt == "nifti":
        description = f"MedFuse {method}" + (f"; {registration.describe_short()}" if registration else "")
        pixels, affine = to_source_order(rgb, reference.affine, reference.meta)   # voxel for voxel with the file
        return [write_nifti(path, pixels, affine, force=force, description=description)]
    if fmt == "png":
        if rgb.shape[0] != 1:
            raise MedFuseError("a single .png holds one slice: choose a slice, or the png-stack/nifti/dicom formats")
        return [write_png(path, rgb[0], force=force)]
    folder = _folder_of(path)
    if fmt == "png-stack":
        return write_png_stack(folder, rgb, force)
    return write_dicom_series(folder, rgb, reference, method, force, registration)


_EXPORT_FILE = re.compile(r"^(IM\d{5}\.dcm|slice_\d{4,}\.png)$")


def check_folder_target(folder: Path, force: bool) -> None:
    """A folder export replaces the folder as a whole: allowed for a new or empty folder, or with ``force`` for an
    earlier export (only files named as MedFuse names them), never for a folder holding anything else."""
    if not exists(folder):
        return
    if not folder.is_dir():
        raise WriteError(folder, "a file of that name exists")
    try:
        names = [entry.name for entry in os.scandir(folder)]
    except OSError as exc:
        raise WriteError(folder, (exc.strerror or "cannot be read").lower()) from None
    if not names:
        return
    if not force:
        raise WriteError(folder, "the folder exists and is not empty (use --force to replace an earlier export)")
    foreign = [name for name in names if not _EXPORT_FILE.match(name)]
    if foreign:
        raise WriteError(folder, f"the folder holds other files than an earlier MedFuse export ({foreign[0]}"
                                 f"{', ...' if len(foreign) > 1 else ''}): choose a new or empty folder")


def write_png_stack(folder: Path, rgb: np.ndarray, force: bool = False) -> list[Path]:
    check_folder_target(folder, force)
    digits = max(4, len(str(rgb.shape[0])))
    names = [f"slice_{k:0{digits}d}.png" for k in range(rgb.shape[0])]
    with atomic_folder(folder, replace=True) as tmp:   # the folder's rename is the atomic step: plain files inside
        for k, name in enumerate(names):
            (tmp / name).write_bytes(encode_png(rgb[k], folder / name))
    return [folder / name for name in names]


def _dicom_geometry(affine: np.ndarray) -> tuple[list[float], list[float], np.ndarray]:
    """(ImageOrientationPatient, PixelSpacing [row, col], LPS affine) from a (col,row,slice)->RAS affine."""
    lps = RAS_TO_LPS @ affine
    col_step, row_step = lps[:3, 0], lps[:3, 1]
    col_spacing, row_spacing = float(np.linalg.norm(col_step)), float(np.linalg.norm(row_step))
    orientation = [*(col_step / col_spacing), *(row_step / row_spacing)]
    return [round(float(v), 6) for v in orientation], [row_spacing, col_spacing], lps


def write_dicom_series(folder: Path, rgb: np.ndarray, reference: Volume, method: str, force: bool = False,
                       registration=None) -> list[Path]:
    """One RGB Secondary Capture image per slice: new series and instance UIDs, the anatomical series' patient and
    study, ImagePositionPatient/ImageOrientationPatient/PixelSpacing from the anatomical grid, and a
    DerivationDescription naming the fusion method."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    check_folder_target(folder, force)
    meta = reference.meta
    now = _dt.datetime.now()
    series_uid = generate_uid()
    study_uid = meta.get("StudyInstanceUID") or generate_uid()
    frame_of_reference = reference.frame_of_reference or generate_uid()
    orientation, spacing, lps = _dicom_geometry(reference.affine)
    thickness = float(np.linalg.norm(lps[:3, 2]))
    derivation = f"Fused by MedFuse {__version__} with {method} from the anatomical and functional series"
    if registration is not None:
        derivation += f"; {registration.describe()}"
    derivation = derivation[:1024]
    names = [f"IM{k + 1:05d}.dcm" for k in range(rgb.shape[0])]

    def write_one(tmp: Path, k: int) -> None:
        file_meta = FileMetaDataset()
        file_meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
        file_meta.MediaStorageSOPInstanceUID = generate_uid()
        file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(tmp), {}, file_meta=file_meta, preamble=b"\0" * 128)
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.SOPClassUID, ds.SOPInstanceUID = SECONDARY_CAPTURE, file_meta.MediaStorageSOPInstanceUID
        ds.PatientName = meta.get("PatientName", "Anonymous")
        ds.PatientID = meta.get("PatientID", "MEDFUSE")
        ds.PatientBirthDate = meta.get("PatientBirthDate", "")
        ds.PatientSex = meta.get("PatientSex", "")
        ds.StudyInstanceUID = study_uid
        ds.StudyDate = meta.get("StudyDate", now.strftime("%Y%m%d"))
        ds.StudyTime = meta.get("StudyTime", now.strftime("%H%M%S"))
        ds.StudyID = meta.get("StudyID", "")
        ds.AccessionNumber = meta.get("AccessionNumber", "")
        ds.ReferringPhysicianName = meta.get("ReferringPhysicianName", "")
        ds.StudyDescription = meta.get("StudyDescription", "")
        ds.Modality = "OT"
        ds.Laterality = ""  # type 2C in General Series: present, empty (not a paired body part)
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = 9000 + int(now.strftime("%M%S")) % 1000
        ds.SeriesDescription = f"MedFuse {method}"[:64]
        ds.SeriesDate, ds.SeriesTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
        ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
        ds.ConversionType = "WSD"  # workstation
        ds.Manufacturer = "MedFuse"
        ds.SoftwareVersions = __version__
        ds.ImageType = ["DERIVED", "SECONDARY"]
        ds.DerivationDescription = derivation
        ds.BurnedInAnnotation = "NO"
        ds.InstanceNumber = k + 1
        ds.PatientOrientation = ""
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PositionReferenceIndicator = ""
        position = lps @ np.array([0.0, 0.0, float(k), 1.0])
        ds.ImagePositionPatient = [round(float(v), 4) for v in position[:3]]
        ds.ImageOrientationPatient = orientation
        ds.PixelSpacing = [round(spacing[0], 6), round(spacing[1], 6)]
        ds.SliceThickness = round(thickness, 4)
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.Rows, ds.Columns = rgb.shape[1], rgb.shape[2]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = np.ascontiguousarray(rgb[k]).tobytes()
        try:
            ds.save_as(tmp, enforce_file_format=True)
        except OSError as exc:
            raise WriteError(folder, (exc.strerror or "cannot be written").lower()) from exc

    with atomic_folder(folder, replace=True) as tmp:
        for k, name in enumerate(names):
            write_one(tmp / name, k)
    return [folder / name for name in names]


def check_output_free(path: str | Path, fmt: str, force: bool, inputs=()) -> None:
    """Fail before long work when the output exists and may not be overwritten, or is one of the ``inputs``."""
    folder = fmt not in ("png", "nifti")
    refuse_overwriting_inputs(_folder_of(path) if folder else path, inputs, inside_ok=not folder)
    if fmt in ("png", "nifti"):
        check_target(path, force)
    else:
        check_folder_target(_folder_of(path), force)


def _folder_of(path: str | Path) -> Path:
    return Path(str(path).removesuffix(".dcm").rstrip("/"))
