"""Reading an image file as the 2-D 0..255 gray / luminance array the metrics take."""

from __future__ import annotations

from pathlib import Path

import numpy as np

BT601 = np.array([0.299, 0.587, 0.114])


def to_gray(pixels: np.ndarray, mode: str = "luma") -> np.ndarray:
    """(H, W) gray or (H, W, 3) RGB uint8 -> float64 (H, W) on 0..255.

    luma: BT.601 luminance 0.299 R + 0.587 G + 0.114 B in double precision (default, vifb).
    cv2_round: round(cv2.cvtColor(float32 image, RGB2GRAY)), how the CDDFuse Evaluator reads a file (= the Y of
    YCrCb stored in 8 bits)."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        return pixels.astype(np.float64)
    if pixels.ndim != 3 or pixels.shape[-1] not in (3, 4):
        raise ValueError(f"expected a gray or RGB slice, got shape {pixels.shape}")
    rgb = pixels[..., :3]
    if mode == "luma":
        return rgb.astype(np.float64) @ BT601
    if mode == "cv2_round":
        import cv2

        return np.round(cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY)).astype(np.float64)
    raise ValueError(f"unknown read mode {mode!r} (luma or cv2_round)")


def read_gray(path: str | Path, mode: str = "luma", slice_index: int | None = None) -> np.ndarray:
    """Load an image file (any format medfuse_gui.io reads) as a 2-D float64 gray / luminance array on 0..255."""
    from ..io import load
    from ..io.errors import LoadError

    volume = load(path)
    pixels = volume.pixels
    if pixels.shape[0] > 1 and slice_index is None:
        raise LoadError(path, f"a volume of {pixels.shape[0]} slices: choose one with --slice")
    index = 0 if slice_index is None else slice_index
    if not 0 <= index < pixels.shape[0]:
        raise LoadError(path, f"slice {index} is out of range (0..{pixels.shape[0] - 1})")
    if pixels.dtype not in (np.uint8,):
        raise LoadError(path, f"{pixels.dtype} pixels: metrics take 8-bit images (window the data to 8 bits first)")
    return to_gray(pixels[index], mode)
