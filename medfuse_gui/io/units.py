"""The physical unit and quantity of a volume's voxel values, as the file's header states them. Qt-free.

DICOM: CT pixels after RescaleSlope/Intercept are Hounsfield units (PS3.3 C.8.2.1: the CT Image module's rescale
yields HU); PET/NM pixels after rescale are in the PET Series' Units (0054,1001), said as stored when MedFuse has no
symbol for them; RT dose in its DoseUnits; other modalities in RescaleType when it names one, else arbitrary units.
NIfTI: the intensity unit only when intent_name, descrip or aux_file names a unit MedFuse recognises (the format has
no unit field for intensities); xyzt_units for the spatial and temporal units. Raster images are arbitrary units.
"""

from __future__ import annotations

import re

ARBITRARY = "a.u."

# unit symbol -> quantity measured
QUANTITIES = {
    "HU": "attenuation",
    "Bq/mL": "activity concentration",
    "kBq/mL": "activity concentration",
    "g/mL": "SUVbw (standardized uptake value)",
    "counts": "counts",
    "counts/s": "count rate",
    "Gy": "absorbed dose",
    ARBITRARY: "signal",
}

# DICOM PS3.3 C.8.9.1.1.3 Units (0054,1001) defined terms -> symbol. Terms not listed are shown as stored.
_DICOM_PET_UNITS = {"BQML": "Bq/mL", "CNTS": "counts", "CPS": "counts/s", "GML": "g/mL", "NONE": ARBITRARY}

# Words a NIfTI descrip/intent_name/aux_file may use for its intensity unit, matched as whole tokens.
_NIFTI_UNIT_PATTERNS = (
    (re.compile(r"(?<![a-z])(kbq/ml|kbq/cc|kbq per ml)(?![a-z])", re.I), "kBq/mL"),
    (re.compile(r"(?<![a-z])(bq/ml|bq/cc|bqml|bq per ml)(?![a-z])", re.I), "Bq/mL"),
    (re.compile(r"(?<![a-z])(suvbw|suv|g/ml)(?![a-z])", re.I), "g/mL"),
    (re.compile(r"(?<![a-z])(hu|hounsfield)(?![a-z])", re.I), "HU"),
)

# nibabel's xyzt_units codes (NIfTI-1 header, nifti1.h NIFTI_UNITS_*) are read through header.get_xyzt_units().
_SPACE_UNITS = {"meter": "m", "mm": "mm", "micron": "µm"}
_TIME_UNITS = {"sec": "s", "msec": "ms", "usec": "µs", "hz": "Hz", "ppm": "ppm", "rads": "rad/s"}


def quantity_of(unit: str) -> str:
    """What a unit measures; a unit MedFuse has no name for is 'as stored (UNIT)'."""
    return QUANTITIES.get(unit, f"as stored ({unit})")


def dicom_unit(dataset) -> str:
    """Unit of a DICOM image's pixels after the modality LUT (rescale), from its header."""
    modality = str(dataset.get("Modality", "")).upper()
    if int(dataset.get("SamplesPerPixel", 1) or 1) == 3:
        return ARBITRARY
    if modality == "CT":
        return "HU"
    if modality in ("PT", "NM"):
        stored = str(dataset.get("Units", "") or "").strip().upper()
        if not stored:
            return ARBITRARY
        return _DICOM_PET_UNITS.get(stored, stored)
    if modality == "RTDOSE":
        dose = str(dataset.get("DoseUnits", "") or "").strip().upper()
        return "Gy" if dose == "GY" else (dose or ARBITRARY)
    rescale_type = str(dataset.get("RescaleType", "") or "").strip()
    if rescale_type and rescale_type.upper() != "US":  # US: unspecified
        return "HU" if rescale_type.upper() == "HU" else rescale_type
    return ARBITRARY


def nifti_unit(header) -> str:
    """Intensity unit named by a NIfTI header's intent_name, descrip or aux_file; 'a.u.' when none names one."""
    for field in ("intent_name", "descrip", "aux_file"):
        text = header_text(header, field)
        for pattern, unit in _NIFTI_UNIT_PATTERNS:
            if pattern.search(text):
                return unit
    return ARBITRARY


def header_text(header, key: str) -> str:
    """A NIfTI header's text field (bytes, NUL-padded) as a str; '' when absent."""
    try:
        raw = header[key]
    except (KeyError, ValueError):
        return ""
    raw = raw.item() if hasattr(raw, "item") else raw
    return (raw.decode("latin-1", "replace") if isinstance(raw, bytes) else str(raw)).strip("\x00 ")


def nifti_space_time_units(header) -> tuple[str | None, str | None]:
    """(spatial unit, temporal unit) from xyzt_units; None where the header says 'unknown'."""
    try:
        space, time = header.get_xyzt_units()
    except (AttributeError, KeyError, ValueError):
        return None, None
    return _SPACE_UNITS.get(space), _TIME_UNITS.get(time)


def format_value(value: float, unit: str) -> str:
    """'40 HU', '12,345.6 Bq/mL', '0.532 a.u.': a precision that suits the quantity."""
    if unit == "HU":
        text = f"{value:.0f}"
    elif abs(value) >= 1000:
        text = f"{value:,.1f}"
    elif abs(value) >= 10:
        text = f"{value:.2f}"
    else:
        text = f"{value:.4g}"
    return f"{text} {unit}"
