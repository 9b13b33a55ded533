"""Known motions applied to a functional volume's data (its header kept), and target registration errors."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from medfuse_gui.io import Volume
from medfuse_gui.io.geometry import resample

OBLIQUE_AXIS = np.array([1.0, 2.0, 0.5]) / np.linalg.norm([1.0, 2.0, 0.5])
OBLIQUE_SHIFT = np.array([0.6, -0.64, 0.48])  # unit vector


def rigid_motion(shift_mm: float, angle_deg: float, centre: np.ndarray) -> np.ndarray:
    """4x4 RAS motion: rotate ``angle_deg`` about the oblique axis through ``centre``, then shift ``shift_mm``."""
    rotation = Rotation.from_rotvec(np.radians(angle_deg) * OBLIQUE_AXIS).as_matrix()
    motion = np.eye(4)
    motion[:3, :3] = rotation
    motion[:3, 3] = centre - rotation @ centre + shift_mm * OBLIQUE_SHIFT
    return motion


def move_data(volume: Volume, motion: np.ndarray) -> Volume:
    """The same header, content moved: what was at world p is now at ``motion @ p``."""
    return volume.with_pixels(resample(volume, volume, motion @ volume.affine))


def world_points(volume: Volume, mask: np.ndarray, count: int = 2000) -> np.ndarray:
    """(4, N) homogeneous RAS points at voxels of ``volume`` where ``mask`` holds (a fixed random subset)."""
    k, j, i = np.nonzero(mask)
    pick = np.random.default_rng(0).choice(len(i), size=min(count, len(i)), replace=False)
    return volume.affine @ np.c_[i[pick], j[pick], k[pick], np.ones(len(pick))].T


def tre(estimated_world: np.ndarray, true_world: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.linalg.norm((estimated_world @ points - true_world @ points)[:3], axis=0)


def nibabel_slab_case() -> tuple[Volume, Volume, np.ndarray, np.ndarray]:
    """Issue 17's nibabel case: (anatomical.nii, functional.nii, the 10 mm / 8 deg motion about the slab's centre,
    TRE points where the slab has content on the anatomical grid)."""
    import os

    import nibabel

    from medfuse_gui import io

    data = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data")
    anatomical = io.load(os.path.join(data, "anatomical.nii"))
    slab = io.load(os.path.join(data, "functional.nii"))
    centre = (slab.affine @ np.r_[(np.array(slab.grid_shape[::-1]) - 1) / 2.0, 1.0])[:3]
    on_grid = io.align(slab, anatomical).volume.pixels
    points = world_points(anatomical, on_grid > np.percentile(on_grid[on_grid > 0], 30))
    return anatomical, slab, rigid_motion(10.0, 8.0, centre), points
