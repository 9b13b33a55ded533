"""Body-weight SUV of a PET series, computed once per series from its DICOM header. Qt-free.

    SUVbw = C [Bq/mL] x weight [g] / dose [Bq]            (images decay-corrected to the injection: ADMIN)
    SUVbw = C [Bq/mL] x weight [g] / (dose x 2^(-t/T½))   (images decay-corrected to the scan start: START)

with t the time from injection (RadiopharmaceuticalStartDateTime, or RadiopharmaceuticalStartTime on the series date)
to the scan reference time, chosen as the QIBA vendor-neutral pseudo-code does: SeriesDate/SeriesTime when it is not
later than the earliest AcquisitionDate/AcquisitionTime of the series, else that earliest acquisition time (a
post-processed series whose series time was rewritten). Every input is checked; anything missing or implausible gives
an :class:`SUVUnavailable` with the reason, never a number. docs/units-and-suv.md lists the references and choices.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from .errors import MedFuseError

# Plausibility bounds (docs/units-and-suv.md says why each is where it is).
MIN_DOSE_BQ = 1e5        # 0.1 MBq: below this the dose was most likely stored in MBq or mCi, not Bq
MAX_DOSE_BQ = 1e11       # 100 GBq: far above any diagnostic administration
MAX_WEIGHT_KG = 500.0
MAX_DECAY_HALF_LIVES = 10.0  # a scan 10 half-lives after injection (18 h for F-18) points at a wrong date


class SUVError(MedFuseError):
    """An SUV was asked for where the series has none (the message gives the reason)."""


@dataclass(frozen=True)
class SUVUnavailable:
    """Why a series has no SUV; the read-out falls back to the pixel unit."""

    reason: str
    available: bool = field(default=False, init=False)

    def describe(self) -> str:
        return f"no SUV: {self.reason}"

    def as_dict(self) -> dict:
        return {"available": False, "reason": self.reason}


@dataclass(frozen=True)
class SUVFactor:
    """SUVbw per pixel unit (g/mL per Bq/mL) and every input it came from."""

    factor: float
    units: str                             # DICOM Units of the pixels (BQML; GML when already SUV)
    decay_correction: str                  # START or ADMIN
    weight_kg: float | None
    injected_dose_bq: float | None
    half_life_s: float | None = None
    injection_time: _dt.datetime | None = None
    scan_time: _dt.datetime | None = None
    scan_time_source: str = ""
    decay_time_s: float | None = None
    decayed_dose_bq: float | None = None
    notes: tuple[str, ...] = ()
    available: bool = field(default=True, init=False)

    def to_suv(self, values):
        """Pixel values (Bq/mL) -> SUVbw (g/mL)."""
        if isinstance(values, np.ndarray):
            return values * np.asarray(self.factor, dtype=values.dtype if values.dtype.kind == "f" else np.float64)
        return float(values) * self.factor

    def from_suv(self, suv):
        """SUVbw -> pixel values (Bq/mL): an SUV window (0-5 SUV) as a pixel window."""
        if isinstance(suv, np.ndarray):
            return suv / self.factor
        return float(suv) / self.factor

    def describe(self) -> str:
        """One line for a status bar or a tooltip."""
        if self.units == "GML":
            return "pixels are stored as SUVbw (Units GML): factor 1"
        text = (f"SUVbw = Bq/mL x {self.weight_kg:g} kg x 1000 / "
                f"{_dose_text(self.decayed_dose_bq)} = Bq/mL x {self.factor:.4e}")
        if self.decay_correction == "START":
            text += (f" (dose {_dose_text(self.injected_dose_bq)} decayed over {_duration_text(self.decay_time_s)}, "
                     f"T½ {self.half_life_s:g} s)")
        else:
            text += " (images decay-corrected to the injection: DecayCorrection ADMIN)"
        return text

    def inputs(self) -> list[tuple[str, str]]:
        """(label, value) rows for the study panel and ``medfuse info``."""
        rows = [("SUV factor", f"{self.factor:.6g} g/mL per Bq/mL"), ("Units", self.units),
                ("Decay correction", self.decay_correction)]
        if self.weight_kg is not None:
            rows.append(("Patient weight", f"{self.weight_kg:g} kg"))
        if self.injected_dose_bq is not None:
            rows.append(("Injected dose", _dose_text(self.injected_dose_bq)))
        if self.half_life_s is not None:
            rows.append(("Half-life", f"{self.half_life_s:g} s"))
        if self.injection_time is not None:
            rows.append(("Injection time", self.injection_time.isoformat(sep=" ")))
        if self.scan_time is not None:
            rows.append(("Scan time", f"{self.scan_time.isoformat(sep=' ')} ({self.scan_time_source})"))
        if self.decay_time_s is not None:
            rows.append(("Injection to scan", _duration_text(self.decay_time_s)))
        if self.decayed_dose_bq is not None and self.decay_correction == "START":
            rows.append(("Dose at scan time", _dose_text(self.decayed_dose_bq)))
        rows += [("Note", note) for note in self.notes]
        return rows

    def as_dict(self) -> dict:
        out = {"available": True}
        for key, value in self.__dict__.items():
            if key == "available":
                continue
            out[key] = value.isoformat() if isinstance(value, _dt.datetime) else (
                list(value) if isinstance(value, tuple) else value)
        out["description"] = self.describe()
        return out


def _dose_text(bq: float | None) -> str:
    return "?" if bq is None else f"{bq / 1e6:.2f} MBq"


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def decayed_dose(dose_bq: float, half_life_s: float, elapsed_s: float) -> float:
    """Activity left after ``elapsed_s``: dose x 2^(-t/T½)."""
    return dose_bq * math.pow(2.0, -elapsed_s / half_life_s)


def suv_factor_from_inputs(*, weight_kg: float, dose_bq: float, decay_correction: str, half_life_s: float | None = None,
                           injection_time: _dt.datetime | None = None, scan_time: _dt.datetime | None = None,
                           scan_time_source: str = "", units: str = "BQML", notes: Sequence[str] = ()
                           ) -> SUVFactor | SUVUnavailable:
    """The SUVbw factor from already-read inputs, or why the inputs cannot give one."""
    notes = list(notes)
    if weight_kg is None or not math.isfinite(weight_kg) or weight_kg <= 0:
        return SUVUnavailable("no patient weight (PatientWeight missing or 0): SUVbw needs the body weight")
    if weight_kg > MAX_WEIGHT_KG:
        return SUVUnavailable(f"implausible patient weight {weight_kg:g} kg")
    if dose_bq is None or not math.isfinite(dose_bq) or dose_bq <= 0:
        return SUVUnavailable("no injected dose (RadionuclideTotalDose missing or 0)")
    if not MIN_DOSE_BQ <= dose_bq <= MAX_DOSE_BQ:
        return SUVUnavailable(f"implausible injected dose {dose_bq:g} Bq (RadionuclideTotalDose must be in Bq; "
                              f"expected {MIN_DOSE_BQ:g}-{MAX_DOSE_BQ:g})")
    elapsed = None
    if injection_time is not None and scan_time is not None:
        elapsed = (scan_time - injection_time).total_seconds()
        if elapsed < 0:
            return SUVUnavailable(f"the scan ({scan_time.isoformat(sep=' ')}, {scan_time_source}) is before the "
                                  f"injection ({injection_time.isoformat(sep=' ')})")
    if decay_correction == "START":
        if half_life_s is None or not math.isfinite(half_life_s) or half_life_s <= 0:
            return SUVUnavailable("no radionuclide half-life (RadionuclideHalfLife missing or 0)")
        if injection_time is None:
            return SUVUnavailable("no injection time (RadiopharmaceuticalStartDateTime/StartTime missing)")
        if scan_time is None:
            return SUVUnavailable("no scan time (SeriesDate/SeriesTime and AcquisitionDate/AcquisitionTime missing)")
        if elapsed > MAX_DECAY_HALF_LIVES * half_life_s:
            return SUVUnavailable(f"implausible injection-to-scan time {_duration_text(elapsed)} "
                                  f"({elapsed / half_life_s:.1f} half-lives): check the dates")
        dose_at_scan = decayed_dose(dose_bq, half_life_s, elapsed)
    elif decay_correction == "ADMIN":
        dose_at_scan = dose_bq  # the scanner already decay-corrected the activity to the injection time
    else:
        return SUVUnavailable(f"DecayCorrection {decay_correction or 'missing'}: MedFuse computes SUV only for images "
                              f"decay-corrected to the scan start (START) or the injection (ADMIN)")
    return SUVFactor(factor=weight_kg * 1000.0 / dose_at_scan, units=units, decay_correction=decay_correction,
                     weight_kg=float(weight_kg), injected_dose_bq=float(dose_bq),
                     half_life_s=float(half_life_s) if half_life_s else None, injection_time=injection_time,
                     scan_time=scan_time, scan_time_source=scan_time_source, decay_time_s=elapsed,
                     decayed_dose_bq=dose_at_scan, notes=tuple(notes))


# --- reading the header -------------------------------------------------------------------------------------------

def _float(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _naive(moment: _dt.datetime) -> _dt.datetime:
    # A DT with a UTC offset is compared with TMs that carry none: all are taken in the scanner's local time.
    return moment.replace(tzinfo=None) if moment.tzinfo is not None else moment


def _date_time(date_text, time_text) -> _dt.datetime | None:
    from pydicom.valuerep import DA, TM

    if not date_text or not time_text:
        return None
    try:
        date, time = DA(str(date_text).strip()), TM(str(time_text).strip())
    except (ValueError, TypeError):
        return None
    if date is None or time is None:
        return None
    return _dt.datetime.combine(date, _dt.time(time.hour, time.minute, time.second, time.microsecond))


def _datetime(text) -> _dt.datetime | None:
    from pydicom.valuerep import DT

    if not text:
        return None
    try:
        value = DT(str(text).strip())
    except (ValueError, TypeError):
        return None
    return None if value is None else _naive(_dt.datetime.fromisoformat(value.isoformat()))


def scan_reference_time(datasets: Sequence) -> tuple[_dt.datetime | None, str]:
    """The decay reference time of a series, as the QIBA pseudo-code chooses it, and where it came from."""
    series = _date_time(datasets[0].get("SeriesDate"), datasets[0].get("SeriesTime"))
    acquisitions = [t for t in (_date_time(ds.get("AcquisitionDate") or ds.get("SeriesDate"), ds.get("AcquisitionTime"))
                                or _datetime(ds.get("AcquisitionDateTime")) for ds in datasets) if t is not None]
    earliest = min(acquisitions) if acquisitions else None
    if series is not None and (earliest is None or series <= earliest):
        return series, "SeriesDate/SeriesTime"
    if earliest is not None:
        source = "earliest AcquisitionDate/AcquisitionTime"
        return earliest, source + (" (SeriesTime is later: a post-processed series)" if series is not None else "")
    return None, ""


def injection_time(info, scan_time: _dt.datetime | None, series_date) -> tuple[_dt.datetime | None, list[str]]:
    """RadiopharmaceuticalStartDateTime, else RadiopharmaceuticalStartTime on the series date (a day earlier when
    that puts the injection up to 12 h before a scan just after midnight)."""
    full = _datetime(info.get("RadiopharmaceuticalStartDateTime"))
    if full is not None:
        return full, []
    start = _date_time(series_date or (scan_time.strftime("%Y%m%d") if scan_time else None),
                       info.get("RadiopharmaceuticalStartTime"))
    if start is None:
        return None, []
    if scan_time is not None and start > scan_time:
        previous = start - _dt.timedelta(days=1)
        if 0 <= (scan_time - previous).total_seconds() <= 12 * 3600:
            return previous, ["injection taken on the day before the series date (the scan spans midnight)"]
    return start, []


_SERIES_LEVEL = ("Units", "DecayCorrection", "PatientWeight", "SeriesDate", "SeriesTime")
_DOSE_LEVEL = ("RadionuclideTotalDose", "RadionuclideHalfLife", "RadiopharmaceuticalStartTime",
               "RadiopharmaceuticalStartDateTime")


def _radiopharmaceutical(ds):
    sequence = ds.get("RadiopharmaceuticalInformationSequence")
    return sequence[0] if sequence else None


def suv_factor(datasets: Iterable) -> SUVFactor | SUVUnavailable:
    """The SUVbw factor of one PET series (its datasets, pixels not needed), or why there is none."""
    datasets = list(datasets)
    if not datasets:
        return SUVUnavailable("no images")
    first = datasets[0]
    modality = str(first.get("Modality", "")).upper()
    if modality not in ("PT", "NM"):
        return SUVUnavailable(f"not a PET series (Modality {modality or 'missing'})")
    for ds in datasets[1:]:
        for key in _SERIES_LEVEL:
            if str(ds.get(key, "")) != str(first.get(key, "")):
                return SUVUnavailable(f"the slices disagree on {key} ({first.get(key, '')!s} vs {ds.get(key, '')!s})")
        a, b = _radiopharmaceutical(first), _radiopharmaceutical(ds)
        for key in _DOSE_LEVEL:
            if str((a or {}).get(key, "")) != str((b or {}).get(key, "")):
                return SUVUnavailable(f"the slices disagree on {key}")
    units = str(first.get("Units", "") or "").strip().upper()
    if units == "GML":
        return SUVFactor(factor=1.0, units="GML", decay_correction=str(first.get("DecayCorrection", "") or ""),
                         weight_kg=_float(first.get("PatientWeight")), injected_dose_bq=None,
                         notes=("pixels are already SUVbw (Units GML)",))
    if units != "BQML":
        return SUVUnavailable(f"pixel Units are {units or 'missing'}, not BQML (Bq/mL): activity concentration is "
                              f"needed for SUV")
    corrected = [str(v).upper() for v in (first.get("CorrectedImage") or [])]
    if isinstance(first.get("CorrectedImage"), str):
        corrected = [str(first.CorrectedImage).upper()]
    notes = []
    if corrected:
        if "ATTN" not in corrected:
            return SUVUnavailable("the images are not attenuation-corrected (CorrectedImage lacks ATTN)")
        if "DECY" not in corrected:
            return SUVUnavailable("the images are not decay-corrected (CorrectedImage lacks DECY)")
    else:
        notes.append("CorrectedImage missing: attenuation and decay correction assumed from DecayCorrection")
    decay_correction = str(first.get("DecayCorrection", "") or "").strip().upper()
    info = _radiopharmaceutical(first)
    if info is None:
        return SUVUnavailable("no RadiopharmaceuticalInformationSequence (injected dose, half-life, injection time)")
    scan, source = scan_reference_time(datasets)
    injected, more = injection_time(info, scan, first.get("SeriesDate"))
    return suv_factor_from_inputs(weight_kg=_float(first.get("PatientWeight")),
                                  dose_bq=_float(info.get("RadionuclideTotalDose")), decay_correction=decay_correction,
                                  half_life_s=_float(info.get("RadionuclideHalfLife")), injection_time=injected,
                                  scan_time=scan, scan_time_source=source, units=units, notes=notes + more)


def require_suv_factor(datasets: Iterable) -> SUVFactor:
    """Like :func:`suv_factor`, raising :class:`SUVError` with the reason when there is none."""
    result = suv_factor(datasets)
    if not result.available:
        raise SUVError(f"no SUV for this series: {result.reason}")
    return result


# --- windows and colour bars in SUV ---------------------------------------------------------------------------------

SUV_WINDOW_PRESETS = ((0.0, 5.0), (0.0, 10.0), (0.0, 15.0))   # as PET/CT consoles offer them


def display_scale(volume) -> tuple[float, str]:
    """(multiplier, unit) that turns the volume's pixel values into what a window or colour bar shows: SUV for a
    series with a valid SUV factor, else the pixel unit itself."""
    factor = getattr(volume, "suv_factor", None)
    if factor is not None:
        return factor.factor, "SUV"
    return 1.0, volume.unit


def suv_window_presets(volume) -> list[tuple[str, tuple[float, float]]]:
    """('SUV 0-5', pixel window) for each preset; empty without a valid SUV factor."""
    factor = getattr(volume, "suv_factor", None)
    if factor is None:
        return []
    return [(f"SUV {low:g}-{high:g}", (factor.from_suv(low), factor.from_suv(high))) for low, high in SUV_WINDOW_PRESETS]
