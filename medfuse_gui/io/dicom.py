"""DICOM: one file (single- or multi-frame) or a series in a folder, with patient geometry.

Geometry follows DICOM PS3.3 C.7.6.2: ImageOrientationPatient gives the row direction (increasing column index) and
the column direction (increasing row index), PixelSpacing is (between rows, between columns). Slices of a series are
ordered by ImagePositionPatient projected on the slice normal, never by file name or InstanceNumber. World coordinates
are converted from DICOM's LPS to RAS+ so that DICOM and NIfTI share one world.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut

from .errors import LoadError, MixedSeriesError
from .suv import suv_factor
from .units import dicom_unit
from .volume import Volume

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_IMAGE_TYPE_TOLERANCE_MM = 1e-3


def is_dicom_file(path: Path) -> bool:
    """True when the file has the DICM preamble (or a .dcm suffix and parses)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(128)
            if handle.read(4) == b"DICM":
                return True
    except OSError:
        return False
    return path.suffix.lower() in (".dcm", ".dicom")


def _read(path: Path, stop_before_pixels: bool = False) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels, force=path.suffix.lower() == ".dcm")
    except InvalidDicomError as exc:
        raise LoadError(path, "not a DICOM file") from exc
    except (OSError, ValueError, EOFError, AttributeError, TypeError, KeyError) as exc:
        raise LoadError(path, f"unreadable DICOM ({exc.__class__.__name__}: {exc})") from exc


def _pixels(ds: pydicom.Dataset, path: Path) -> np.ndarray:
    """Decoded pixels in modality units: (frames, rows, cols) float32 or (frames, rows, cols, 3) uint8 RGB."""
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise LoadError(path, f"no image pixels (a {ds.get('Modality', '?')} object of SOP class {ds.get('SOPClassUID', '?')})")
    try:
        arr = ds.pixel_array
    except Exception as exc:  # pydicom raises RuntimeError/NotImplementedError/ValueError per codec
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", str(syntax))
        first = str(exc).strip().splitlines()
        raise LoadError(path, f"pixel data could not be decoded (transfer syntax {name}): {first[-1] if first else exc}") from exc
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    # pydicom >= 3 returns YBR_* colour as RGB already (as_rgb=True by default).
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1))
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
        if arr.dtype != np.uint8:
            arr = (arr.astype(np.float32) / 257.0).round().astype(np.uint8)
        samples = 3
    if samples == 3:
        if frames == 1:
            arr = arr[None]
        if arr.dtype != np.uint8:
            arr = np.clip(arr.astype(np.float32) * (255.0 / max(float(arr.max()), 1.0)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(arr)
    if frames == 1:
        arr = arr[None]
    values = apply_modality_lut(arr, ds).astype(np.float32, copy=False)
    if "DoseGridScaling" in ds:  # RT dose stores Gy per stored unit here, not in RescaleSlope
        values = values * np.float32(float(ds.DoseGridScaling))
    if photometric == "MONOCHROME1":  # 0 means white: invert so that bright is high signal, as everywhere else
        values = float(values.max()) + float(values.min()) - values
    return np.ascontiguousarray(values)


def _window(ds: pydicom.Dataset) -> tuple[float, float] | None:
    centre, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centre is None or width is None:
        return None
    try:
        centre = float(centre[0] if isinstance(centre, pydicom.multival.MultiValue) else centre)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
    except (TypeError, ValueError):
        return None
    if width <= 1:
        return None
    return (centre - width / 2.0, centre + width / 2.0)


def _orientation(ds: pydicom.Dataset) -> tuple[np.ndarray, np.ndarray] | None:
    iop = ds.get("ImageOrientationPatient")
    if iop is None or len(iop) != 6:
        return None
    row_dir = np.array([float(v) for v in iop[:3]])
    col_dir = np.array([float(v) for v in iop[3:]])
    if not (np.isclose(np.linalg.norm(row_dir), 1, atol=1e-2) and np.isclose(np.linalg.norm(col_dir), 1, atol=1e-2)):
        return None
    return row_dir / np.linalg.norm(row_dir), col_dir / np.linalg.norm(col_dir)


def _pixel_spacing(ds: pydicom.Dataset) -> tuple[float, float] | None:
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    if spacing is None or len(spacing) != 2:
        return None
    row_spacing, col_spacing = float(spacing[0]), float(spacing[1])
    if row_spacing <= 0 or col_spacing <= 0:
        return None
    return row_spacing, col_spacing


def _affine(position: np.ndarray, row_dir: np.ndarray, col_dir: np.ndarray, row_spacing: float, col_spacing: float,
            slice_step: np.ndarray) -> np.ndarray:
    """Voxel (col, row, slice) -> RAS+ mm."""
    lps = np.eye(4)
    lps[:3, 0] = row_dir * col_spacing
    lps[:3, 1] = col_dir * row_spacing
    lps[:3, 2] = slice_step
    lps[:3, 3] = position
    return LPS_TO_RAS @ lps


def _common_meta(ds: pydicom.Dataset) -> dict:
    keep = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate", "StudyTime",
            "StudyID", "StudyDescription", "AccessionNumber", "ReferringPhysicianName", "SeriesInstanceUID",
            "SeriesDescription", "SeriesNumber", "Modality", "FrameOfReferenceUID", "Units", "Manufacturer",
            "ManufacturerModelName", "BodyPartExamined", "PatientWeight", "DecayCorrection")
    meta = {"format": "dicom"}
    for key in keep:
        if key in ds:
            meta[key] = str(ds.get(key))
    return meta


def _multiframe_geometry(ds: pydicom.Dataset, frames: int):
    """Positions/orientation of an enhanced multi-frame object or an NM/RT-dose-style multi-frame file."""
    positions, orientation, spacing = None, None, None
    shared = ds.get("SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if shared:
        group = shared[0]
        if "PlaneOrientationSequence" in group:
            orientation = _orientation(group.PlaneOrientationSequence[0])
        if "PixelMeasuresSequence" in group:
            spacing = _pixel_spacing(group.PixelMeasuresSequence[0])
    if per_frame and len(per_frame) == frames:
        try:
            positions = np.array([[float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient] for f in per_frame])
        except (AttributeError, IndexError, KeyError):
            positions = None
        if orientation is None and "PlaneOrientationSequence" in per_frame[0]:
            orientation = _orientation(per_frame[0].PlaneOrientationSequence[0])
        if spacing is None and "PixelMeasuresSequence" in per_frame[0]:
            spacing = _pixel_spacing(per_frame[0].PixelMeasuresSequence[0])
    if orientation is None:
        orientation = _orientation(ds)
    if spacing is None:
        spacing = _pixel_spacing(ds)
    if positions is None and "ImagePositionPatient" in ds and orientation is not None:
        origin = np.array([float(v) for v in ds.ImagePositionPatient])
        normal = np.cross(*orientation)
        offsets = ds.get("GridFrameOffsetVector")  # RT dose
        if offsets is not None and len(offsets) == frames:
            positions = origin + np.outer([float(v) for v in offsets], normal)
        else:
            step = float(ds.get("SpacingBetweenSlices", 0) or ds.get("SliceThickness", 0) or 0)
            if step > 0:
                positions = origin + np.outer(np.arange(frames) * step, normal)
    return positions, orientation, spacing


def load_dicom_file(path: str | Path) -> Volume:
    path = Path(path)
    ds = _read(path)
    pixels = _pixels(ds, path)
    frames = pixels.shape[0]
    meta = _common_meta(ds)
    if frames > 1:
        positions, orientation, spacing = _multiframe_geometry(ds, frames)
    else:
        orientation, spacing = _orientation(ds), _pixel_spacing(ds)
        ipp = ds.get("ImagePositionPatient")
        positions = np.array([[float(v) for v in ipp]]) if ipp is not None and len(ipp) == 3 else None
    return _assemble(path, pixels, ds, positions, orientation, spacing, meta, _series_suv([ds]))


def _series_suv(datasets: list[pydicom.Dataset]):
    """SUV factor (or why none) of a PET series, or of a SPECT series in Bq/mL; None for other modalities."""
    first = datasets[0]
    modality = str(first.get("Modality", "")).upper()
    if modality == "PT" or (modality == "NM" and str(first.get("Units", "")).upper() == "BQML"):
        return suv_factor(datasets)
    return None


def _assemble(path: Path, pixels: np.ndarray, ds: pydicom.Dataset, positions, orientation, spacing, meta,
              suv=None) -> Volume:
    n = pixels.shape[0]
    known = positions is not None and orientation is not None and spacing is not None
    if known:
        row_dir, col_dir = orientation
        normal = np.cross(row_dir, col_dir)
        if n > 1:
            order = np.argsort(positions @ normal, kind="stable")
            if not np.array_equal(order, np.arange(n)):
                pixels, positions = pixels[order], positions[order]
            steps = np.diff(positions, axis=0)
            step = (positions[-1] - positions[0]) / (n - 1)
            gaps = np.linalg.norm(steps, axis=1)
            if np.any(gaps < _IMAGE_TYPE_TOLERANCE_MM):
                raise MixedSeriesError(path, "two slices share one position (duplicate images or several series/echoes)")
            if gaps.max() - gaps.min() > max(0.01 * gaps.mean(), 0.05):
                meta["warning"] = (f"uneven slice spacing ({gaps.min():.2f}-{gaps.max():.2f} mm): "
                                   f"resampled with the mean {np.linalg.norm(step):.2f} mm")
        else:
            thickness = float(ds.get("SpacingBetweenSlices", 0) or ds.get("SliceThickness", 0) or 1.0)
            step = normal * thickness
        affine = _affine(positions[0], row_dir, col_dir, spacing[0], spacing[1], step)
        voxel = (float(np.linalg.norm(step)), spacing[0], spacing[1])
    else:
        rs, cs = spacing if spacing is not None else (1.0, 1.0)
        thickness = float(ds.get("SliceThickness", 0) or 1.0)
        affine = np.diag([cs, rs, thickness, 1.0])
        voxel = (thickness, rs, cs)
        meta["warning"] = "no patient geometry (ImagePositionPatient/ImageOrientationPatient missing)"
    return Volume(
        pixels=pixels,
        modality=str(ds.get("Modality", "OT")),
        spacing=voxel,
        affine=affine,
        source=str(path),
        geometry_known=known,
        window=_window(ds) if pixels.ndim == 3 else None,
        frame_of_reference=str(ds.get("FrameOfReferenceUID")) if "FrameOfReferenceUID" in ds else None,
        meta=dict(meta, file_affine=affine.tolist()),
        unit=dicom_unit(ds) if pixels.ndim == 3 else "a.u.",
        suv=suv,
    )


def load_dicom_series(folder: str | Path, series_uid: str | None = None) -> Volume:
    """Read every DICOM image of one series in ``folder`` (recursively) and stack it in patient order."""
    folder = Path(folder)
    files = [Path(root) / name for root, _, names in os.walk(folder) for name in names]
    headers: dict[str, list[tuple[Path, pydicom.Dataset]]] = defaultdict(list)
    for file in sorted(files):
        if file.name.upper() == "DICOMDIR" or not is_dicom_file(file):
            continue
        try:
            ds = _read(file, stop_before_pixels=True)
        except LoadError:
            continue
        if "Rows" not in ds or "Columns" not in ds:  # structured reports, presentation states, ...
            continue
        headers[str(ds.get("SeriesInstanceUID", "?"))].append((file, ds))
    if not headers:
        raise LoadError(folder, "no DICOM images in this folder")
    if series_uid is not None:
        if series_uid not in headers:
            raise LoadError(folder, f"series {series_uid} not found")
        chosen = series_uid
    elif len(headers) > 1:
        described = "; ".join(
            f"{items[0][1].get('Modality', '?')} '{items[0][1].get('SeriesDescription', '')}' ({len(items)} files)"
            for items in headers.values())
        raise MixedSeriesError(folder, f"the folder holds {len(headers)} series — open one series folder: {described}")
    else:
        chosen = next(iter(headers))
    items = headers[chosen]
    if len(items) == 1:
        return load_dicom_file(items[0][0])
    first = items[0][1]
    shape = (first.Rows, first.Columns)
    orientation = _orientation(first)
    for file, ds in items[1:]:
        if (ds.Rows, ds.Columns) != shape:
            raise MixedSeriesError(folder, f"{file.name} is {ds.Columns}x{ds.Rows}, other slices {shape[1]}x{shape[0]}")
        other = _orientation(ds)
        if (orientation is None) != (other is None) or (
                orientation is not None and not np.allclose(np.concatenate(orientation), np.concatenate(other), atol=1e-4)):
            raise MixedSeriesError(folder, f"{file.name} has another ImageOrientationPatient (mixed or localiser slices)")
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise MixedSeriesError(folder, f"{file.name} is multi-frame inside a multi-file series")
    datasets = [_read(file) for file, _ in items]
    slices = [_pixels(ds, file) for ds, (file, _) in zip(datasets, items)]
    pixels = np.concatenate(slices, axis=0)
    spacing = _pixel_spacing(first)
    try:
        positions = np.array([[float(v) for v in ds.ImagePositionPatient] for ds in datasets])
    except AttributeError:
        positions = None
    if positions is None or orientation is None:
        # No geometry: InstanceNumber is the only order left; say so.
        order = np.argsort([int(ds.get("InstanceNumber", i)) for i, ds in enumerate(datasets)], kind="stable")
        pixels = pixels[order]
    meta = _common_meta(first)
    meta["files"] = len(items)
    return _assemble(folder, pixels, first, positions, orientation, spacing, meta, _series_suv(datasets))
