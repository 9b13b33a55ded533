"""What each view shows, computed from the model alone (Qt-free, so tests can check pixels without a window)."""

from __future__ import annotations

import numpy as np

from .. import colour, pipeline
from ..io import to_unit
from ..io.headers import view_title


def anatomical_plane(model) -> np.ndarray | None:
    """The anatomical plane in its own units (the view applies ``model.anat_window`` as levels)."""
    if model.anatomical is None or model.grid is None:
        return None
    volume = model.pair.anatomical if model.pair is not None else model.anatomical
    return pipeline.plane(volume, model.orientation, model.slice_index)


def functional_plane(model) -> tuple[np.ndarray, np.ndarray] | None:
    """(RGB uint8 the functional view shows, its level in [0, 1] for the overlay's transparency), or None."""
    volume = model.shown_functional
    if volume is None:
        return None
    pixels = pipeline.plane(volume, model.orientation, model.slice_index)  # on the grid: paired, or alone
    if pixels.ndim == 3:
        return pixels, colour.luminance(pixels)
    unit = to_unit(pixels, model.func_window or volume.window)
    return colour.to_uint8(colour.apply_colormap(unit, model.colormap or "gray")), unit


def overlay(anatomical_unit: np.ndarray, functional_rgb: np.ndarray, functional_level: np.ndarray, alpha: float,
            threshold: float) -> np.ndarray:
    """Alpha blend of the coloured functional image over the gray anatomy; functional values at or below
    ``threshold`` (0..1 of the functional window) are transparent. Returns uint8 RGB."""
    mask = (functional_level > threshold).astype(np.float32)[..., None] * np.float32(alpha)
    base = np.repeat(anatomical_unit[..., None], 3, axis=-1)
    return colour.to_uint8(base * (1 - mask) + functional_rgb * mask)


def overlay_plane(model) -> np.ndarray | None:
    if model.pair is None:
        return None
    anatomical = anatomical_plane(model)
    functional_rgb, level = functional_plane(model)
    return overlay(to_unit(anatomical, model.anat_window), functional_rgb.astype(np.float32) / 255, level,
                   model.overlay_alpha, model.overlay_threshold)


def source_title(volume, role: str) -> str:
    """'Anatomical — MR — T1 MPRAGE' from the series description when the file names one, else the file name."""
    label = "Anatomical" if role == "anatomical" else "Functional"
    return label if volume is None else f"{label} — {view_title(volume)}"
