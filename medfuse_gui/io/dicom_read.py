"""Reading one DICOM file safely: the input guard, a bounded inflate of deflated data sets, a clear word on what a
file is when it is not an image, the declared pixel size checked before decoding, and decoding to modality values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from .errors import LoadError
from .guard import check_declared_size, check_inflated_size, check_regular_file, max_pixel_bytes
from .headerparse import HeaderReader

DEFLATED = "1.2.840.10008.1.2.1.99"
# Headers and non-pixel elements on top of the pixel limit that an inflated data set may hold.
_INFLATE_HEADROOM = 64 * 1024 ** 2
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def has_dicm_prefix(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def _check_deflated(path: Path) -> None:
    """A deflated data set is inflated whole by pydicom: bound it first, inflating chunk by chunk into nothing."""
    from pydicom.filereader import _read_file_meta_info, read_preamble

    try:
        with open(path, "rb") as handle:
            read_preamble(handle, False)
            meta = _read_file_meta_info(handle)
            if str(meta.get("TransferSyntaxUID", "")) != DEFLATED:
                return
            check_inflated_size(path, handle, max_pixel_bytes() + _INFLATE_HEADROOM)
    except LoadError:
        raise
    except Exception:  # noqa: BLE001 - a broken meta group: the full read below says what is wrong
        return


def read_dataset(path: Path, stop_before_pixels: bool = False) -> pydicom.Dataset:
    """Parse a DICOM file (pixels not decoded). Raises a LoadError that says what the file is when it is not DICOM."""
    check_regular_file(path)
    prefix = has_dicm_prefix(path)
    if prefix:
        _check_deflated(path)
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=stop_before_pixels, force=not prefix)
    except InvalidDicomError:
        raise LoadError(path, "not a DICOM file (no DICM prefix and no valid data set)") from None
    except MemoryError:
        raise LoadError(path, "the data set does not fit in memory (a corrupt length?)") from None
    except Exception as exc:  # noqa: BLE001 - pydicom raises OSError/ValueError/EOFError/struct.error/... on damage
        reason = "truncated or corrupt" if prefix else "no DICM prefix and no valid data set"
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror.lower()
        raise LoadError(path, f"{'an unreadable DICOM file' if prefix else 'not a DICOM file'} ({reason})") from None
    if not prefix and not _looks_like_dicom(ds):
        raise LoadError(path, "not a DICOM file (no DICM prefix and no valid data set)")
    return ds


def _looks_like_dicom(ds: pydicom.Dataset) -> bool:
    """A prefix-less file (old ACR-NEMA style) read with force=True counts as DICOM only with identifying elements."""
    try:
        keys = {elem.keyword for elem in ds.iterall() if elem.keyword}
    except Exception:  # noqa: BLE001 - garbage parsed as elements
        return False
    return bool(keys & {"SOPClassUID", "Modality", "StudyInstanceUID", "SeriesInstanceUID"}) or (
        {"Rows", "Columns"} <= keys and bool(keys & set(_PIXEL_KEYWORDS)))


def describe_object(ds: pydicom.Dataset) -> str:
    """'a DICOM Basic Text SR object' - what a non-image DICOM file is, for messages."""
    sop = str(ds.get("SOPClassUID", "") or getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", "") or "")
    name = getattr(pydicom.uid.UID(sop), "name", "") if sop else ""
    if name and name != sop:
        return f"a DICOM {name.removesuffix(' Storage')} object"
    modality = str(ds.get("Modality", "") or "").strip()
    return f"a DICOM {modality} object" if modality else "a DICOM object of unknown class"


def declared_pixel_bytes(reader: HeaderReader) -> int:
    """Check the pixel layout the header declares against the limit, before anything is decoded."""
    ds = reader.ds
    float_keyword = next((k for k in _PIXEL_KEYWORDS[1:] if reader.has(k)), None)
    rows = reader.dimension("Rows")
    columns = reader.dimension("Columns")
    frames = reader.dimension("NumberOfFrames", 1)
    samples = reader.dimension("SamplesPerPixel", 1)
    bits = 32 if float_keyword == "FloatPixelData" else 64 if float_keyword else reader.dimension("BitsAllocated", 16)
    if samples not in (1, 3, 4):
        raise LoadError(reader.path, f"SamplesPerPixel {samples} is not 1 or 3")
    if bits not in (1, 8, 16, 32, 64):
        raise LoadError(reader.path, f"BitsAllocated {bits} is not 1, 8, 16, 32 or 64")
    del ds
    return check_declared_size(reader.path, "the DICOM header",
                               {"Rows": rows, "Columns": columns, "NumberOfFrames": frames, "SamplesPerPixel": samples},
                               max(bits, 8) / 8)


def _decode(ds: pydicom.Dataset, path: Path) -> np.ndarray:
    try:
        return ds.pixel_array
    except MemoryError:
        raise LoadError(path, "the pixel data do not fit in memory") from None
    except Exception:  # noqa: BLE001 - pydicom raises RuntimeError/NotImplementedError/ValueError per codec
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", None) or str(syntax or "unknown")
        raise LoadError(path, f"the pixel data could not be decoded (transfer syntax {name}; truncated, corrupt or "
                              "not matching the header)") from None


def decode_pixels(ds: pydicom.Dataset, path: Path, reader: HeaderReader) -> np.ndarray:
    """Decoded pixels in modality units: (frames, rows, cols) float32 or (frames, rows, cols, 3) uint8 RGB."""
    if not any(reader.has(k) for k in _PIXEL_KEYWORDS):
        raise LoadError(path, f"{describe_object(ds)}, which holds no image pixels")
    declared_pixel_bytes(reader)
    arr = _decode(ds, path)
    photometric = reader.text("PhotometricInterpretation", "MONOCHROME2").upper()
    frames = reader.dimension("NumberOfFrames", 1)
    samples = reader.dimension("SamplesPerPixel", 1)
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        try:
            arr = apply_color_lut(arr, ds)
        except Exception:  # noqa: BLE001
            raise LoadError(path, "the palette colour lookup table is missing or malformed") from None
        if arr.dtype != np.uint8:
            arr = (arr.astype(np.float32) / 257.0).round().astype(np.uint8)
        samples = 3
    if samples >= 3 and arr.ndim >= 3 and arr.shape[-1] >= 3:  # pydicom >= 3 returns YBR_* as RGB already
        if frames == 1 or arr.ndim == 3:
            arr = arr.reshape((-1,) + arr.shape[-3:])
        arr = arr[..., :3]
        if arr.dtype != np.uint8:
            peak = float(np.nanmax(arr)) if arr.size else 1.0
            scaled = np.nan_to_num(arr.astype(np.float32) * np.float32(255.0 / max(peak, 1.0)))
            arr = np.clip(scaled, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(arr)
    if arr.ndim == 2:
        arr = arr[None]
    values = _modality_values(arr, ds, path, reader)
    if photometric == "MONOCHROME1":  # 0 means white: invert so that bright is high signal, as everywhere else
        finite = np.isfinite(values)
        if finite.any():
            values = np.float32(np.max(values, where=finite, initial=-np.inf) + np.min(
                values, where=finite, initial=np.inf)) - values
    return np.ascontiguousarray(values)


def _modality_values(arr: np.ndarray, ds: pydicom.Dataset, path: Path, reader: HeaderReader) -> np.ndarray:
    """Stored values -> modality values in float32 (RescaleSlope/Intercept, a Modality LUT, DoseGridScaling)."""
    if reader.has("ModalityLUTSequence"):
        from pydicom.pixels import apply_modality_lut

        try:
            return apply_modality_lut(arr, ds).astype(np.float32, copy=False)
        except Exception:  # noqa: BLE001
            reader.warn("ModalityLUTSequence is malformed: stored values used")
            return arr.astype(np.float32, copy=False)
    values = arr.astype(np.float32)  # a copy: the data set's cached array stays as decoded
    slope = reader.number("RescaleSlope", 1.0, nonzero=True)
    intercept = reader.number("RescaleIntercept", 0.0)
    if reader.has("DoseGridScaling"):  # RT dose stores Gy per stored unit here, not in RescaleSlope
        slope *= reader.number("DoseGridScaling", 1.0, nonzero=True)
    if slope != 1.0:
        values *= np.float32(slope)
    if intercept != 0.0:
        values += np.float32(intercept)
    return values
