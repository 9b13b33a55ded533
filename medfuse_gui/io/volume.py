"""The image/volume type shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

ANATOMICAL_MODALITIES = ("MR", "CT")
FUNCTIONAL_MODALITIES = ("PT", "NM")  # DICOM codes: PET, nuclear medicine (SPECT)


@dataclass(eq=False)
class Volume:
    """Pixels plus the geometry that places them in the patient.

    ``pixels`` is row-major: ``(slices, rows, cols)`` for gray or ``(slices, rows, cols, 3)`` for RGB, always 3-D/4-D
    (a 2-D image is one slice). ``affine`` maps a voxel index ``(col, row, slice, 1)`` to world millimetres in RAS+
    (nibabel's convention; DICOM's LPS is converted on load). ``spacing`` is ``(slice, row, col)`` in mm.
    ``geometry_known`` is False for plain raster images, whose affine is a unit-spacing placeholder.
    ``window`` is the default display/fusion intensity window (low, high) in pixel units.
    ``unit`` is the physical unit of the pixel values ("HU", "Bq/mL", "a.u." ...) and ``quantity`` what they measure
    (filled from the unit when left empty). ``suv`` is, for PET, the series' SUV factor (``io.suv.SUVFactor``) or
    why there is none (``io.suv.SUVUnavailable``); None for other images.
    """

    pixels: np.ndarray
    modality: str = "OT"
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    affine: np.ndarray = field(default_factory=lambda: np.eye(4))
    source: str = ""
    geometry_known: bool = False
    window: tuple[float, float] | None = None
    frame_of_reference: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    unit: str = "a.u."
    quantity: str = ""
    suv: Any = None

    def __post_init__(self) -> None:
        px = np.asarray(self.pixels)
        if px.ndim == 2:
            px = px[None]
        if px.ndim == 4 and px.shape[-1] == 4:  # RGBA: alpha carries no image content here
            px = px[..., :3]
        if px.ndim not in (3, 4) or (px.ndim == 4 and px.shape[-1] != 3):
            raise ValueError(f"pixels must be (Z,Y,X) or (Z,Y,X,3), got shape {px.shape}")
        self.pixels = px
        self.affine = np.asarray(self.affine, dtype=float)
        self.spacing = tuple(float(s) for s in self.spacing)
        if self.window is None:
            self.window = default_window(px)
        if not self.quantity:
            from .units import quantity_of

            self.quantity = "colour rendering" if px.ndim == 4 else quantity_of(self.unit)

    @property
    def suv_factor(self):
        """The SUV factor (SUV per pixel unit) when this series has a valid one, else None."""
        return self.suv if getattr(self.suv, "available", False) else None

    @property
    def is_rgb(self) -> bool:
        return self.pixels.ndim == 4

    @property
    def n_slices(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def shape2d(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[2])

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        return int(self.pixels.shape[0]), int(self.pixels.shape[1]), int(self.pixels.shape[2])

    @property
    def name(self) -> str:
        from pathlib import Path

        return Path(self.source).name if self.source else "(unnamed)"

    def slice(self, index: int) -> np.ndarray:
        return self.pixels[index]

    def with_pixels(self, pixels: np.ndarray, **changes: Any) -> "Volume":
        return replace(self, pixels=pixels, window=changes.pop("window", None), **changes)


def default_window(pixels: np.ndarray) -> tuple[float, float]:
    """Window mapping pixel values to [0, 1] for display and fusion.

    8-bit data keeps its full 0..255 range, so Harvard PNG pairs fuse exactly as the papers do. Other data use the
    0.5th..99.5th percentile of the non-background voxels, which is robust to a few hot voxels (PET) or metal (CT).
    """
    if pixels.dtype == np.uint8:
        return (0.0, 255.0)
    if pixels.size > 4_000_000:
        # A large volume: a strided sample of at most ~2 M voxels, without a float64 copy of the whole volume.
        flat = np.asarray(pixels).reshape(-1)
        values = np.asarray(flat[:: max(1, flat.size // 2_000_000)], dtype=np.float64)
    else:
        values = np.asarray(pixels, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (0.0, 1.0)
    lo_all = float(finite.min())
    foreground = finite[finite > lo_all]
    sample = foreground if foreground.size > 0.01 * finite.size else finite
    if sample.size > 2_000_000:  # percentiles of a large volume: a strided sample is enough
        sample = sample[:: sample.size // 1_000_000]
    lo, hi = (float(v) for v in np.percentile(sample, [0.5, 99.5]))
    if lo_all >= 0:  # non-negative data (MR, PET counts): keep zero black rather than clipping dim tissue
        lo = lo_all
    if hi <= lo:
        hi = float(finite.max()) if finite.max() > lo else lo + 1.0
    return (float(lo), float(hi))


def to_unit(pixels: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Map pixel values through a window to float32 in [0, 1] (clipped)."""
    lo, hi = window
    scale = 1.0 / (hi - lo) if hi > lo else 1.0
    out = (np.asarray(pixels, dtype=np.float32) - np.float32(lo)) * np.float32(scale)
    return np.clip(out, 0.0, 1.0, out=out)
