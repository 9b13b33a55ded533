"""What the study panel and ``medfuse info`` show about one source: identity, series, grid, unit, SUV. Qt-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .orientation import axis_codes
from .volume import Volume

MISSING = "—"


@dataclass(frozen=True)
class HeaderField:
    key: str          # stable machine name (JSON)
    label: str        # what the panel shows
    value: object     # None when the source does not say
    text: str         # the value as shown
    in_json: bool = True  # False for rows that only unfold a value the JSON already holds (the SUV inputs)


@dataclass(frozen=True)
class HeaderSummary:
    title: str
    fields: tuple[HeaderField, ...]

    def rows(self) -> list[tuple[str, str]]:
        """Ordered (label, text) rows for the study panel."""
        return [(f.label, f.text) for f in self.fields]

    def as_dict(self) -> dict:
        return {"title": self.title, **{f.key: f.value for f in self.fields if f.in_json}}


def dicom_date(text) -> str | None:
    """'20040119' -> '2004-01-19'; other text as it is; None when empty."""
    text = str(text or "").strip()
    if not text:
        return None
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def person_name(text) -> str | None:
    """DICOM PN 'Family^Given^Middle' -> 'Family, Given Middle'."""
    text = str(text or "").strip()
    if not text:
        return None
    parts = [p for p in text.split("=")[0].split("^")]
    family, rest = parts[0], " ".join(p for p in parts[1:] if p)
    return f"{family}, {rest}" if family and rest else (family or rest)


def view_title(volume: Volume) -> str:
    """'MR — T1 MPRAGE': modality and series description, the file name when the file names no series."""
    description = str(volume.meta.get("SeriesDescription", "") or "").strip()
    return f"{volume.modality} — {description or volume.name}"


def _text(meta: dict, key: str) -> str | None:
    value = str(meta.get(key, "") or "").strip()
    return value or None


def header_summary(volume: Volume) -> HeaderSummary:
    """The header fields of one loaded source, in the order the study panel lists them."""
    meta = volume.meta
    fields: list[HeaderField] = []

    def add(key: str, label: str, value, text: str | None = None, in_json: bool = True) -> None:
        fields.append(HeaderField(key, label, value, text if text is not None else (
            MISSING if value is None else str(value)), in_json))

    add("patient_name", "Patient name", person_name(meta.get("PatientName")))
    add("patient_id", "Patient ID", _text(meta, "PatientID"))
    add("birth_date", "Birth date", dicom_date(meta.get("PatientBirthDate")))
    add("study_date", "Study date", dicom_date(meta.get("StudyDate")))
    add("study_description", "Study description", _text(meta, "StudyDescription"))
    add("modality", "Modality", volume.modality)
    add("series_description", "Series description", _text(meta, "SeriesDescription"))
    manufacturer = " ".join(v for v in (_text(meta, "Manufacturer"), _text(meta, "ManufacturerModelName")) if v)
    add("manufacturer", "Manufacturer", manufacturer or None)
    z, y, x = volume.grid_shape
    add("grid", "Grid", [x, y, z], f"{x} × {y} × {z}" + (" (RGB)" if volume.is_rgb else ""))
    spacing = [volume.spacing[2], volume.spacing[1], volume.spacing[0]]
    space_unit = "mm" if volume.geometry_known else "px (no geometry)"
    add("spacing", "Spacing", [round(s, 6) for s in spacing],
        " × ".join(f"{s:.4g}" for s in spacing) + f" {space_unit}")
    codes = axis_codes(volume)
    stored = meta.get("reoriented_from")
    add("orientation", "Orientation", codes,
        MISSING + " (no world geometry)" if codes is None else codes + (f" (stored {stored})" if stored else ""))
    add("frame_of_reference", "Frame of reference", volume.frame_of_reference or _text(meta, "FrameOfReferenceUID"))
    add("unit", "Unit", volume.unit, f"{volume.unit} ({volume.quantity})")
    suv = volume.suv
    if suv is not None:
        if suv.available:
            add("suv", "SUV", suv.as_dict(), suv.describe())
            for label, text in suv.inputs()[1:]:
                add("suv_" + label.lower().replace(" ", "_"), f"  {label}", text, in_json=False)
        else:
            add("suv", "SUV", suv.as_dict(), f"none: {suv.reason}")
    add("format", "Format", _text(meta, "format"))
    add("source", "Source", volume.source or None, Path(volume.source).name if volume.source else MISSING)
    if meta.get("files"):
        add("files", "Files", int(meta["files"]))
    if meta.get("warning"):
        add("warning", "Warning", str(meta["warning"]))
    return HeaderSummary(title=view_title(volume), fields=tuple(fields))


def value_range(volume: Volume) -> tuple[float, float] | None:
    """(min, max) of a gray volume's values, for ``medfuse info``; None for colour images."""
    if volume.is_rgb:
        return None
    return float(np.min(volume.pixels)), float(np.max(volume.pixels))
