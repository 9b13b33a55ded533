"""The alignment check view's pixels (Qt-free): a checkerboard of the anatomical and functional planes, or the
anatomical's edges drawn over the functional image. Misregistration shows as steps at the tile borders or as edges
that do not follow the functional image's outline."""

from __future__ import annotations

import numpy as np

from .. import colour
from ..io import to_unit
from . import render

TILES = 8                                  # tiles along the shorter side of the plane
EDGE_COLOUR = np.array([0, 255, 255], np.uint8)   # cyan: apart from every colormap the functional uses


def tile_size(shape: tuple[int, int], tiles: int = TILES) -> int:
    return max(2, int(min(shape[:2])) // tiles)


def checkerboard(anatomical_unit: np.ndarray, functional_rgb: np.ndarray, tile: int) -> np.ndarray:
    """uint8 RGB: tile (r, c) shows the gray anatomical where (r + c) is even, the coloured functional where odd."""
    rows, cols = anatomical_unit.shape
    r, c = np.indices((rows, cols))
    functional_tiles = ((r // tile + c // tile) % 2 == 1)[..., None]
    gray = np.repeat(colour.to_uint8(anatomical_unit)[..., None], 3, axis=-1)
    return np.where(functional_tiles, functional_rgb, gray).astype(np.uint8)


def anatomical_edges(anatomical_unit: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """Canny edges (scikit-image) of the windowed anatomical plane; thresholds as quantiles of the gradient, so the
    result does not depend on the window's contrast."""
    from skimage.feature import canny

    if float(anatomical_unit.max()) <= float(anatomical_unit.min()):
        return np.zeros(anatomical_unit.shape, bool)
    return canny(anatomical_unit.astype(float), sigma=sigma, low_threshold=0.80, high_threshold=0.90,
                 use_quantiles=True)


def edge_overlay(anatomical_unit: np.ndarray, functional_rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB: the functional image with the anatomical's edges in cyan."""
    out = np.array(functional_rgb, dtype=np.uint8, copy=True)
    out[anatomical_edges(anatomical_unit)] = EDGE_COLOUR
    return out


def check_plane(model) -> np.ndarray | None:
    """What the check view shows for the model's current slice and check mode; None when off or nothing paired."""
    mode = model.alignment.check_mode
    if mode == "off" or model.pair is None:
        return None
    anatomical = to_unit(render.anatomical_plane(model), model.anat_window)
    functional_rgb, _level = render.functional_plane(model)
    if mode == "checkerboard":
        return checkerboard(anatomical, functional_rgb, tile_size(anatomical.shape))
    return edge_overlay(anatomical, functional_rgb)
