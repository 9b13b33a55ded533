"""The path of the data from two loaded volumes to a fused colour slice, as plain functions (Qt-free).

    anatomical Volume ─┐
                       ├─ align() ─> Pair (functional on the anatomical grid)
    functional Volume ─┘
    Pair + slice + windows + colormap ─> inputs: anatomical [0,1], functional luminance + chroma
    fuser.fuse(anatomical, functional luminance) ─> fused luminance ─ merge with chroma ─> fused RGB

The GUI worker, the CLI and the tests all call these, so a slice fused in the viewer equals one fused by ``medfuse``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import colour
from .io import Volume, align, to_unit
from .io.errors import GeometryError, MedFuseError
from .io.suv import display_scale

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


class Cancelled(Exception):
    """Raised inside long work when the user cancels; callers drop the partial result."""


ORIENTATIONS = ("axial", "coronal", "sagittal")


def n_planes(volume: Volume, orientation: str = "axial") -> int:
    """Number of slices along an orientation (volumes are in L,P,S voxel order after loading)."""
    z, y, x = volume.grid_shape
    return {"axial": z, "coronal": y, "sagittal": x}[orientation]


def plane(volume: Volume, orientation: str, index: int) -> np.ndarray:
    """One 2-D plane for display and fusion, with square pixels.

    Axial planes are the stored slices. Coronal and sagittal planes are flipped so that superior is up, and stretched
    along the slice axis when slices are thicker than the in-plane pixels (linear interpolation), so anatomy keeps
    its proportions; the zoom boxes and metrics then work in those display pixels.
    """
    pixels = volume.pixels
    if orientation == "axial":
        return pixels[index]
    if orientation == "coronal":
        out, pixel = pixels[::-1, index], volume.spacing[2]
    elif orientation == "sagittal":
        out, pixel = pixels[::-1, :, index], volume.spacing[1]
    else:
        raise ValueError(f"unknown orientation {orientation!r}")
    ratio = volume.spacing[0] / pixel
    if abs(ratio - 1.0) > 0.01:
        import cv2

        rows = max(1, int(round(out.shape[0] * ratio)))
        source = out.astype(np.float32) if out.dtype not in (np.uint8, np.float32) else out
        out = cv2.resize(source, (out.shape[1], rows), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(out)


@dataclass
class Pair:
    """Anatomical and functional volumes on one grid (the anatomical one)."""

    anatomical: Volume
    functional: Volume          # resampled onto the anatomical grid
    functional_source: Volume   # as loaded, for display of its own metadata
    warnings: list[str] = field(default_factory=list)
    alignment: str = "identity"
    transform: object = None    # the registration.Transform the functional was resampled through (None: world)

    @property
    def n_slices(self) -> int:
        return self.anatomical.n_slices

    def n_planes(self, orientation: str = "axial") -> int:
        return n_planes(self.anatomical, orientation)


def make_pair(anatomical: Volume, functional: Volume, transform=None) -> Pair:
    """``transform``: a registration (medfuse_gui.registration.Transform) to resample the functional through.

    Volumes that did not come through ``io.load`` get the same finite-value policy here (NaN/Inf -> missing data)."""
    from .io.finite import make_finite

    anatomical, functional = make_finite(anatomical), make_finite(functional)
    if anatomical.is_rgb:
        # A colour "anatomical" image is fused on its luminance, like every paper does with its gray MRI.
        anatomical = anatomical.with_pixels(colour.to_uint8(colour.luminance(anatomical.pixels)))
    result = align(functional, anatomical, transform)
    warnings = list(result.warnings)
    for volume in (anatomical, functional):
        if volume.meta.get("warning"):
            warnings.append(f"{volume.name}: {volume.meta['warning']}")
    return Pair(anatomical, result.volume, functional, warnings, result.method, transform)


def default_colormap(volume: Volume) -> str:
    """Gray functional images from PET/SPECT get a heat colormap; a gray CT in the 'functional' slot stays gray."""
    return colour.DEFAULT_COLORMAP if volume.modality in ("PT", "NM") else "gray"


@dataclass
class SliceInputs:
    anatomical: np.ndarray        # (H, W) float32 [0,1] through the anatomical window
    functional_luma: np.ndarray   # (H, W) float32 [0,1]
    functional_chroma: np.ndarray  # (H, W, 2)
    functional_rgb: np.ndarray    # (H, W, 3) float32 [0,1], what the functional view shows
    colour_space: str = "ycbcr"
    colour_scale: colour.ColourScale | None = None   # gray functional: its colormap and window (None for RGB)


def slice_inputs(pair: Pair, index: int, anatomical_window: tuple[float, float] | None = None,
                 functional_window: tuple[float, float] | None = None, colormap: str | None = None,
                 colour_space: str = "ycbcr", orientation: str = "axial") -> SliceInputs:
    count = pair.n_planes(orientation)
    if not 0 <= index < count:
        raise IndexError(f"{orientation} slice {index} outside 0..{count - 1}")
    anatomical = _finite_unit(to_unit(plane(pair.anatomical, orientation, index),
                                      _window(anatomical_window, pair.anatomical.window)))
    functional = plane(pair.functional, orientation, index)
    scale = None
    if functional.ndim == 2:
        window = _window(functional_window, pair.functional.window)
        functional = _finite_unit(to_unit(functional, window))
        cmap = colormap or default_colormap(pair.functional)
        luma, chroma, rgb = colour.split_functional(functional, cmap, colour_space)
        factor, unit = display_scale(pair.functional)
        scale = colour.ColourScale(cmap, (window[0] * factor, window[1] * factor), unit)
    else:
        luma, chroma, rgb = colour.split_functional(functional, space=colour_space)
    return SliceInputs(anatomical, luma, chroma, rgb, colour_space, scale)


def _window(asked: tuple[float, float] | None, default: tuple[float, float] | None) -> tuple[float, float]:
    """The window asked for when both ends are finite, else the volume's (else 0..1)."""
    for window in (asked, default):
        if window is not None and len(window) == 2 and all(np.isfinite(window)):
            return (float(window[0]), float(window[1]))
    return (0.0, 1.0)


def _finite_unit(values: np.ndarray) -> np.ndarray:
    """No network, metric or exporter receives a non-finite value: NaN (missing) -> 0, +Inf -> 1."""
    if np.isfinite(values).all():
        return values
    return np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=0.0)


@dataclass
class FusedSlice:
    index: int
    method: str
    inputs: SliceInputs
    fused_luma: np.ndarray   # (H, W) float32 [0,1]
    fused_rgb: np.ndarray    # (H, W, 3) float32 [0,1]
    seconds: float
    params: object = None    # the exact parameters it was computed from (the viewer's FusionKey)

    def fused_rgb_uint8(self) -> np.ndarray:
        return colour.to_uint8(self.fused_rgb)

    def metric_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A, B, F) on the 0..255 scale, as the metric toolboxes take them."""
        return (self.inputs.anatomical * np.float32(255.0), self.inputs.functional_luma * np.float32(255.0),
                self.fused_luma * np.float32(255.0))


def fuse_inputs(inputs: SliceInputs, fuser, index: int = 0) -> FusedSlice:
    start = time.perf_counter()
    # the inputs are finite already: slice_inputs, their only maker, cleans them
    fused = _checked_output(fuser, fuser.fuse(inputs.anatomical, inputs.functional_luma), inputs.anatomical.shape,
                            f"slice {index + 1}")
    rgb = colour.merge(fused, inputs.functional_chroma, inputs.colour_space)
    return FusedSlice(index, fuser.name, inputs, fused, rgb, time.perf_counter() - start)


def _slices_text(indices: list[int]) -> str:
    """'slice 5' or 'slices 5-8', counted from 1 as the viewer shows them."""
    first, last = indices[0] + 1, indices[-1] + 1
    return f"slice {first}" if first == last else f"slices {first}-{last}"


def _checked_output(fuser, fused, shape: tuple[int, ...], where: str) -> np.ndarray:
    """A fuser's output as float32, refused when its shape is not ``shape`` or it holds a non-finite value (no
    view, metric or exporter may receive one)."""
    fused = np.asarray(fused, dtype=np.float32)
    if fused.shape != tuple(shape):
        raise GeometryError(f"{fuser.name} returned shape {fused.shape} for inputs {tuple(shape)}")
    if not np.isfinite(fused).all():
        raise MedFuseError(f"{fuser.name} produced {int(np.count_nonzero(~np.isfinite(fused)))} non-finite values on "
                           f"{where} from finite inputs: try another method")
    return fused


def volume_batch_size(fuser, rows: int, cols: int) -> int:
    """Slices per ``fuser.fuse`` call: networks choose from free memory (runtime.volume_batch_size); classic methods
    work slice by slice anyway, so they get one at a time (finest progress and cancellation)."""
    choose = getattr(fuser, "batch_size_for", None)
    return max(1, int(choose(rows, cols))) if choose is not None else 1


def fuse_volume(pair: Pair, fuser, anatomical_window=None, functional_window=None, colormap=None,
                colour_space: str = "ycbcr", slices: range | None = None, progress: ProgressCallback | None = None,
                cancelled: CancelCheck | None = None) -> np.ndarray:
    """Fuse every slice (or ``slices``) into a (Z, H, W, 3) uint8 RGB volume on the anatomical grid.

    A network fuses several slices per forward call (as many as its share of the free memory holds, on CUDA when
    present); memory stays bounded by one such batch of float work plus the uint8 output. Each slice equals what
    ``fuse_inputs`` gives for it alone. Progress and cancellation are checked between batches.
    """
    indices = list(slices if slices is not None else range(pair.n_slices))
    rows, cols = pair.anatomical.shape2d
    out = np.zeros((len(indices), rows, cols, 3), dtype=np.uint8)
    batch = volume_batch_size(fuser, rows, cols)
    for start in range(0, len(indices), batch):
        if cancelled is not None and cancelled():
            raise Cancelled()
        chunk = [slice_inputs(pair, index, anatomical_window, functional_window, colormap, colour_space)
                 for index in indices[start:start + batch]]
        fused = _checked_output(fuser, fuser.fuse(np.stack([s.anatomical for s in chunk]),
                                                  np.stack([s.functional_luma for s in chunk])),
                                (len(chunk), rows, cols), _slices_text(indices[start:start + len(chunk)]))
        for offset, (inputs, luma) in enumerate(zip(chunk, fused)):
            out[start + offset] = colour.to_uint8(colour.merge(luma, inputs.functional_chroma, inputs.colour_space))
        if progress is not None:
            progress(min(start + batch, len(indices)), len(indices))
    return out
