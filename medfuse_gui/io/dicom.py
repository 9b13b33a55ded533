"""DICOM: one file (single- or multi-frame) or a series in a folder, with patient geometry.

Geometry follows DICOM PS3.3 C.7.6.2: ImageOrientationPatient gives the row direction (increasing column index) and
the column direction (increasing row index), PixelSpacing is (between rows, between columns). Slices of a series are
ordered by ImagePositionPatient projected on the slice normal, never by file name or InstanceNumber. World coordinates
are converted from DICOM's LPS to RAS+ so that DICOM and NIfTI share one world.

Every header value is read through ``headerparse.HeaderReader`` (malformed values fall back with a warning naming the
tag) and every file through ``dicom_read.read_dataset`` (the input guard). See docs/input-safety.md.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom

from .dicom_read import decode_pixels, declared_pixel_bytes, describe_object, has_dicm_prefix, read_dataset
from .errors import LoadError, MixedSeriesError
from .finite import add_warning
from .guard import check_declared_size, check_path, is_regular_file
from .headerparse import HeaderReader
from .suv import suv_factor
from .units import dicom_unit
from .volume import Volume

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_IMAGE_TYPE_TOLERANCE_MM = 1e-3
_MAX_SERIES_FILES = 100_000  # a folder walk stops here: a series folder, not a disk


def is_dicom_file(path: Path) -> bool:
    """True for a regular file with the DICM preamble, or with a .dcm/.dicom suffix (checked further on reading)."""
    if not is_regular_file(path):
        return False
    return has_dicm_prefix(path) or path.suffix.lower() in (".dcm", ".dicom")


def _window(reader: HeaderReader) -> tuple[float, float] | None:
    if not (reader.has("WindowCenter") and reader.has("WindowWidth")):
        return None
    centre = reader.number("WindowCenter")
    width = reader.number("WindowWidth", positive=True)
    if centre is None or width is None or width <= 1:
        return None
    return (centre - width / 2.0, centre + width / 2.0)


def _orientation(reader: HeaderReader) -> tuple[np.ndarray, np.ndarray] | None:
    iop = reader.numbers("ImageOrientationPatient", 6)
    if iop is None:
        return None
    row_dir, col_dir = np.array(iop[:3]), np.array(iop[3:])
    if not (np.isclose(np.linalg.norm(row_dir), 1, atol=1e-2) and np.isclose(np.linalg.norm(col_dir), 1, atol=1e-2)):
        reader.warn(f"ImageOrientationPatient {iop} is not two unit vectors: geometry ignored")
        return None
    row_dir, col_dir = row_dir / np.linalg.norm(row_dir), col_dir / np.linalg.norm(col_dir)
    if abs(float(row_dir @ col_dir)) > 1e-2:
        reader.warn(f"ImageOrientationPatient {iop}: row and column directions are not perpendicular, geometry ignored")
        return None
    return row_dir, col_dir


def _pixel_spacing(reader: HeaderReader) -> tuple[float, float] | None:
    keyword = "PixelSpacing" if reader.has("PixelSpacing") else "ImagerPixelSpacing"
    spacing = reader.numbers(keyword, 2, positive=True)
    return None if spacing is None else (spacing[0], spacing[1])


def _slice_step(reader: HeaderReader) -> float:
    """SpacingBetweenSlices, else SliceThickness, else 0 (unknown)."""
    return reader.number("SpacingBetweenSlices", None, positive=True) or reader.number(
        "SliceThickness", None, positive=True) or 0.0


def _affine(position: np.ndarray, row_dir: np.ndarray, col_dir: np.ndarray, row_spacing: float, col_spacing: float,
            slice_step: np.ndarray) -> np.ndarray:
    """Voxel (col, row, slice) -> RAS+ mm."""
    lps = np.eye(4)
    lps[:3, 0] = row_dir * col_spacing
    lps[:3, 1] = col_dir * row_spacing
    lps[:3, 2] = slice_step
    lps[:3, 3] = position
    return LPS_TO_RAS @ lps


def _common_meta(reader: HeaderReader) -> dict:
    keep = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate", "StudyTime",
            "StudyID", "StudyDescription", "AccessionNumber", "ReferringPhysicianName", "SeriesInstanceUID",
            "SeriesDescription", "SeriesNumber", "Modality", "FrameOfReferenceUID", "Units", "Manufacturer",
            "ManufacturerModelName", "BodyPartExamined", "PatientWeight", "DecayCorrection")
    meta = {"format": "dicom"}
    for key in keep:
        if reader.has(key):
            meta[key] = reader.text(key)
    return meta


def _multiframe_geometry(reader: HeaderReader, frames: int):
    """Positions/orientation of an enhanced multi-frame object or an NM/RT-dose-style multi-frame file."""
    ds = reader.ds
    positions, orientation, spacing = None, None, None
    shared = reader.value("SharedFunctionalGroupsSequence")
    per_frame = reader.value("PerFrameFunctionalGroupsSequence")

    def item(group, keyword):
        try:
            return reader.child(group[keyword].value[0]) if keyword in group else None
        except Exception:  # noqa: BLE001 - an empty or malformed sequence
            return None

    if shared:
        if (plane := item(shared[0], "PlaneOrientationSequence")) is not None:
            orientation = _orientation(plane)
        if (measures := item(shared[0], "PixelMeasuresSequence")) is not None:
            spacing = _pixel_spacing(measures)
    if per_frame and len(per_frame) == frames:
        found = [item(f, "PlanePositionSequence") for f in per_frame]
        points = [None if f is None else f.numbers("ImagePositionPatient", 3) for f in found]
        positions = None if any(p is None for p in points) else np.array(points)
        if orientation is None and (plane := item(per_frame[0], "PlaneOrientationSequence")) is not None:
            orientation = _orientation(plane)
        if spacing is None and (measures := item(per_frame[0], "PixelMeasuresSequence")) is not None:
            spacing = _pixel_spacing(measures)
    if orientation is None:
        orientation = _orientation(reader)
    if spacing is None:
        spacing = _pixel_spacing(reader)
    origin = reader.numbers("ImagePositionPatient", 3)
    if positions is None and origin is not None and orientation is not None:
        normal = np.cross(*orientation)
        offsets = reader.numbers("GridFrameOffsetVector", frames) if "GridFrameOffsetVector" in ds else None
        if offsets is not None:  # RT dose
            positions = np.array(origin) + np.outer(offsets, normal)
        elif (step := _slice_step(reader)) > 0:
            positions = np.array(origin) + np.outer(np.arange(frames) * step, normal)
    return positions, orientation, spacing


def load_dicom_file(path: str | Path) -> Volume:
    path = Path(path)
    ds = read_dataset(path)
    reader = HeaderReader(ds, path)
    pixels = decode_pixels(ds, path, reader)
    frames = pixels.shape[0]
    meta = _common_meta(reader)
    if frames > 1:
        positions, orientation, spacing = _multiframe_geometry(reader, frames)
    else:
        orientation, spacing = _orientation(reader), _pixel_spacing(reader)
        ipp = reader.numbers("ImagePositionPatient", 3)
        positions = None if ipp is None else np.array([ipp])
    return _assemble(path, pixels, reader, positions, orientation, spacing, meta, _series_suv([ds]))


def _series_suv(datasets: list[pydicom.Dataset]):
    """SUV factor (or why none) of a PET series, or of a SPECT series in Bq/mL; None for other modalities."""
    first = HeaderReader(datasets[0], "")
    modality = first.text("Modality").upper()
    if modality == "PT" or (modality == "NM" and first.text("Units").upper() == "BQML"):
        try:
            return suv_factor(datasets)
        except Exception:  # noqa: BLE001 - SUV is optional information: a malformed header means none
            return None
    return None


def _assemble(path: Path, pixels: np.ndarray, reader: HeaderReader, positions, orientation, spacing, meta,
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
                add_warning(meta, f"uneven slice spacing ({gaps.min():.2f}-{gaps.max():.2f} mm): "
                                  f"resampled with the mean {np.linalg.norm(step):.2f} mm")
        else:
            step = normal * (_slice_step(reader) or 1.0)
        affine = _affine(positions[0], row_dir, col_dir, spacing[0], spacing[1], step)
        voxel = (float(np.linalg.norm(step)), spacing[0], spacing[1])
    else:
        rs, cs = spacing if spacing is not None else (1.0, 1.0)
        thickness = reader.number("SliceThickness", 1.0, positive=True)
        affine = np.diag([cs, rs, thickness, 1.0])
        voxel = (thickness, rs, cs)
        add_warning(meta, "no patient geometry (ImagePositionPatient/ImageOrientationPatient missing or unusable)")
    for text in reader.warnings:
        add_warning(meta, text)
    ds = reader.ds
    return Volume(
        pixels=pixels,
        modality=reader.text("Modality", "OT") or "OT",
        spacing=voxel,
        affine=affine,
        source=str(path),
        geometry_known=known,
        window=_window(reader) if pixels.ndim == 3 else None,
        frame_of_reference=reader.text("FrameOfReferenceUID") or None,
        meta=dict(meta, file_affine=affine.tolist()),
        unit=_unit(ds) if pixels.ndim == 3 else "a.u.",
        suv=suv,
    )


def _unit(ds: pydicom.Dataset) -> str:
    try:
        return dicom_unit(ds)
    except Exception:  # noqa: BLE001 - a malformed Units/RescaleType: the unit is unknown, not an error
        return "a.u."


def _series_files(folder: Path) -> tuple[list[Path], int]:
    """Regular files under ``folder`` (sorted), and how many special files (FIFOs, devices, sockets) were skipped."""
    files, skipped = [], 0
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if is_regular_file(path):
                files.append(path)
            elif not path.is_symlink() or path.exists():
                skipped += 1
            if len(files) > _MAX_SERIES_FILES:
                raise LoadError(folder, f"more than {_MAX_SERIES_FILES} files: open one series folder")
    return sorted(files), skipped


def load_dicom_series(folder: str | Path, series_uid: str | None = None) -> Volume:
    """Read every DICOM image of one series in ``folder`` (recursively) and stack it in patient order."""
    folder = Path(folder)
    check_path(folder)
    files, skipped = _series_files(folder)
    headers: dict[str, list[tuple[Path, pydicom.Dataset]]] = defaultdict(list)
    for file in files:
        if file.name.upper() == "DICOMDIR" or not is_dicom_file(file):
            continue
        try:
            ds = read_dataset(file, stop_before_pixels=True)
        except LoadError:
            continue
        if "Rows" not in ds or "Columns" not in ds:  # structured reports, presentation states, ...
            continue
        headers[HeaderReader(ds, file).text("SeriesInstanceUID", "?") or "?"].append((file, ds))
    if not headers:
        raise LoadError(folder, "no DICOM images in this folder" + (
            f" ({skipped} special file(s) such as pipes or devices skipped)" if skipped else ""))
    if series_uid is not None:
        if series_uid not in headers:
            raise LoadError(folder, f"series {series_uid} not found")
        chosen = series_uid
    elif len(headers) > 1:
        described = "; ".join(
            f"{HeaderReader(items[0][1], '').text('Modality', '?')} "
            f"'{HeaderReader(items[0][1], '').text('SeriesDescription')}' ({len(items)} files)"
            for items in headers.values())
        raise MixedSeriesError(folder, f"the folder holds {len(headers)} series — open one series folder: {described}")
    else:
        chosen = next(iter(headers))
    items = headers[chosen]
    if len(items) == 1:
        return load_dicom_file(items[0][0])
    return _stack_series(folder, items, skipped)


def _stack_series(folder: Path, items: list[tuple[Path, pydicom.Dataset]], skipped: int) -> Volume:
    first = HeaderReader(items[0][1], items[0][0])
    shape = (first.dimension("Rows"), first.dimension("Columns"))
    orientation = _orientation(first)
    for file, ds in items[1:]:
        other_reader = HeaderReader(ds, file)
        other_shape = (other_reader.dimension("Rows"), other_reader.dimension("Columns"))
        if other_shape != shape:
            raise MixedSeriesError(folder, f"{file.name} is {other_shape[1]}x{other_shape[0]}, other slices "
                                           f"{shape[1]}x{shape[0]}")
        other = _orientation(other_reader)
        if (orientation is None) != (other is None) or (
                orientation is not None and not np.allclose(np.concatenate(orientation), np.concatenate(other), atol=1e-4)):
            raise MixedSeriesError(folder, f"{file.name} has another ImageOrientationPatient (mixed or localiser slices)")
        if other_reader.dimension("NumberOfFrames", 1) > 1:
            raise MixedSeriesError(folder, f"{file.name} is multi-frame inside a multi-file series")
    # The whole series against the limit, from the headers, before any slice is decoded.
    per_slice = declared_pixel_bytes(first)
    check_declared_size(folder, "the DICOM series", {"files": len(items)}, per_slice)
    datasets = [read_dataset(file) for file, _ in items]
    readers = [HeaderReader(ds, file, first.warnings) for ds, (file, _) in zip(datasets, items)]
    slices = [decode_pixels(ds, file, reader) for ds, (file, _), reader in zip(datasets, items, readers)]
    if len({s.shape[1:] for s in slices}) > 1 or any(s.shape[0] != 1 for s in slices):
        raise MixedSeriesError(folder, "the slices decode to different pixel layouts (mixed colour and gray?)")
    pixels = np.concatenate(slices, axis=0)
    del slices
    spacing = _pixel_spacing(first)
    points = [reader.numbers("ImagePositionPatient", 3) for reader in readers]
    positions = None if any(p is None for p in points) else np.array(points)
    if positions is None or orientation is None:
        # No geometry: InstanceNumber is the only order left; say so.
        order = np.argsort([reader.integer("InstanceNumber", i) for i, reader in enumerate(readers)], kind="stable")
        pixels = pixels[order]
    meta = _common_meta(first)
    meta["files"] = len(items)
    if skipped:
        add_warning(meta, f"{skipped} special file(s) (pipes, devices, sockets) in the folder skipped")
    first.ds = datasets[0]
    return _assemble(folder, pixels, first, positions, orientation, spacing, meta, _series_suv(datasets))


__all__ = ["is_dicom_file", "load_dicom_file", "load_dicom_series", "describe_object"]
