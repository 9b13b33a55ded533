"""Colour handling as the fusion papers do it, and colormaps for gray functional images.

An RGB functional image (the Harvard PET/SPECT renderings) is split into luminance and chroma; only the luminance is
fused with the gray anatomical image, and the fused luminance is recombined with the functional chroma. A gray
functional image (PET/SPECT from DICOM or NIfTI) is first rendered through a colormap, then handled the same way.
All arrays here are float32 in [0, 1]; chroma is centred on 0.5 (YCbCr) or 0 (YIQ).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

# ITU-R BT.601 full range (JPEG / OpenCV / PIL "YCbCr"), on [0, 1] values; chroma offset 0.5.
_RGB_TO_YCBCR = np.array([
    [0.299, 0.587, 0.114],
    [-0.168735892, -0.331264108, 0.5],
    [0.5, -0.418687589, -0.081312411],
], dtype=np.float64)
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR)

# NTSC YIQ (MATLAB rgb2ntsc), used by MMIF-Net. Its Y row equals BT.601's, so replacing Y gives the same RGB as
# YCbCr up to rounding (both inverses map a change of Y to an equal change of R, G and B).
_RGB_TO_YIQ = np.array([
    [0.299, 0.587, 0.114],
    [0.595716, -0.274453, -0.321263],
    [0.211456, -0.522591, 0.311135],
], dtype=np.float64)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)

SPACES = {"ycbcr": (_RGB_TO_YCBCR, _YCBCR_TO_RGB, 0.5), "yiq": (_RGB_TO_YIQ, _YIQ_TO_RGB, 0.0)}


def as_unit_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / np.float32(255.0)
    return rgb.astype(np.float32, copy=False)


def rgb_to_luma_chroma(rgb: np.ndarray, space: str = "ycbcr") -> tuple[np.ndarray, np.ndarray]:
    """(..., 3) RGB in [0, 1] (or uint8) -> luminance (...) and chroma (..., 2)."""
    forward, _, offset = SPACES[space]
    values = as_unit_rgb(rgb) @ forward.T.astype(np.float32)
    values[..., 1:] += np.float32(offset)
    return values[..., 0], values[..., 1:]


def luma_chroma_to_rgb(luma: np.ndarray, chroma: np.ndarray, space: str = "ycbcr") -> np.ndarray:
    """Inverse of :func:`rgb_to_luma_chroma`; result clipped to [0, 1]."""
    _, inverse, offset = SPACES[space]
    stacked = np.concatenate([luma[..., None], chroma - np.float32(offset)], axis=-1).astype(np.float32)
    rgb = stacked @ inverse.T.astype(np.float32)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of RGB in [0,1] (the Y that every paper fuses and every metric toolbox evaluates)."""
    return rgb_to_luma_chroma(rgb)[0]


def to_uint8(unit: np.ndarray) -> np.ndarray:
    """[0,1] float -> uint8 with round-half-even, as a PNG writer would store it."""
    return np.clip(np.rint(np.asarray(unit, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


# --- colormaps ------------------------------------------------------------------------------------------------------
# Piecewise-linear control points (position, R, G, B). "hot" is matplotlib's; "pet" is a PET rainbow in the style of
# scanner consoles (black, violet, blue, green, yellow, red, white) so that uptake reads from cold to hot.
_CONTROL_POINTS: dict[str, list[tuple[float, float, float, float]]] = {
    "hot": [(0.0, 0.0416, 0.0, 0.0), (0.365079, 1.0, 0.0, 0.0), (0.746032, 1.0, 1.0, 0.0), (1.0, 1.0, 1.0, 1.0)],
    "pet": [(0.0, 0.0, 0.0, 0.0), (0.1, 0.33, 0.0, 0.5), (0.25, 0.0, 0.0, 1.0), (0.45, 0.0, 0.9, 0.3),
            (0.6, 0.6, 1.0, 0.0), (0.75, 1.0, 0.8, 0.0), (0.88, 1.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)],
    "gray": [(0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)],
}
# Maps nuclear medicine uses, sampled from matplotlib's catalogue (its 256-entry tables, not copies): MedFuse name ->
# matplotlib name. gist_heat is the "hot metal" / "hot iron" of PET consoles (black, red, orange, yellow, white);
# nipy_spectral the rainbow PET map (black, violet, blue, green, yellow, red, light grey); inferno and viridis are
# perceptually uniform (lightness rises evenly, readable in grey print and by colour-blind readers).
_MATPLOTLIB_MAPS = {"hot-metal": "gist_heat", "spectral": "nipy_spectral", "inferno": "inferno", "viridis": "viridis"}
COLORMAPS = tuple(_CONTROL_POINTS) + tuple(_MATPLOTLIB_MAPS)
COLORMAP_TITLES = {
    "hot": "Hot", "pet": "PET rainbow", "gray": "Gray", "hot-metal": "Hot metal (hot iron)",
    "spectral": "Spectral (rainbow)", "inferno": "Inferno (uniform)", "viridis": "Viridis (uniform)",
}
DEFAULT_COLORMAP = "hot"


@dataclass(frozen=True)
class ColourScale:
    """How a gray functional image became colours: the colormap, and the window (in ``unit``, SUV where a PET series
    has a valid factor) mapped to its two ends. Drawn as a colour bar in the viewer and in exported figures."""

    colormap: str
    window: tuple[float, float]
    unit: str


@functools.lru_cache(maxsize=32)
def _lut(name: str, size: int) -> np.ndarray:
    if name in _MATPLOTLIB_MAPS:
        from matplotlib import colormaps  # ~0.4 s on first use; the colour maps module needs no backend

        table = colormaps[_MATPLOTLIB_MAPS[name]](np.linspace(0.0, 1.0, size))[:, :3]
    else:
        points = np.array(_CONTROL_POINTS[name], dtype=np.float64)
        x = np.linspace(0.0, 1.0, size)
        table = np.stack([np.interp(x, points[:, 0], points[:, c]) for c in (1, 2, 3)], axis=-1)
    lut = np.clip(np.rint(table * 255.0), 0, 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def colormap_lut(name: str, size: int = 256) -> np.ndarray:
    """(size, 3) uint8 lookup table of a named colormap (read-only, shared)."""
    if name not in COLORMAPS:
        raise KeyError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    return _lut(name, int(size))


def colour_bar(name: str, length: int = 256, thickness: int = 16, vertical: bool = True) -> np.ndarray:
    """A colour-bar image of a colormap, (length, thickness, 3) uint8 with the window's top at row 0 when vertical,
    (thickness, length, 3) with the low end at column 0 otherwise."""
    lut = np.asarray(colormap_lut(name, length))
    if vertical:
        return np.ascontiguousarray(np.repeat(lut[::-1, None, :], thickness, axis=1))
    return np.ascontiguousarray(np.repeat(lut[None, :, :], thickness, axis=0))


def colour_bar_ticks(window: tuple[float, float], count: int = 5) -> list[tuple[float, float]]:
    """Round tick values inside a window, as (fraction along the bar from the low end, value)."""
    from matplotlib.ticker import MaxNLocator

    low, high = float(window[0]), float(window[1])
    if not high > low:
        return [(0.0, low)]
    values = MaxNLocator(nbins=max(1, count), steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    span = high - low
    return [((v - low) / span, float(v)) for v in values if low - 1e-9 * span <= v <= high + 1e-9 * span]


@functools.lru_cache(maxsize=32)
def _unit_lut(name: str) -> np.ndarray:
    lut = colormap_lut(name).astype(np.float32) / np.float32(255.0)
    lut.setflags(write=False)
    return lut


def apply_colormap(gray_unit: np.ndarray, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Gray [0,1] -> RGB float [0,1] through a 256-entry colormap."""
    lut = _unit_lut(name)
    index = np.clip(np.rint(np.asarray(gray_unit, dtype=np.float32) * 255.0), 0, 255).astype(np.intp)
    return lut[index]


def split_functional(functional: np.ndarray, colormap: str = DEFAULT_COLORMAP, space: str = "ycbcr"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Functional slice -> (luminance to fuse, chroma to restore, RGB shown to the user).

    ``functional`` is gray (H, W) in [0, 1] or RGB (H, W, 3) uint8 / [0, 1].
    """
    rgb = apply_colormap(functional, colormap) if functional.ndim == 2 else as_unit_rgb(functional)
    luma, chroma = rgb_to_luma_chroma(rgb, space)
    return luma, chroma, rgb


def merge(fused_luma: np.ndarray, chroma: np.ndarray, space: str = "ycbcr") -> np.ndarray:
    """Fused luminance + functional chroma -> fused RGB in [0, 1]."""
    return luma_chroma_to_rgb(np.asarray(fused_luma, dtype=np.float32), chroma, space)
