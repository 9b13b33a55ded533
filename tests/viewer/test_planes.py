"""Display pixels <-> voxels, inverted exactly as pipeline.plane builds the planes; the crosshair across orientations."""

from __future__ import annotations

import numpy as np
import pytest

from medfuse_gui import io, pipeline
from medfuse_gui.io import Volume
from medfuse_gui.viewer.model import ViewerModel
from medfuse_gui.viewer.planes import PlaneGeometry

from .conftest import volume_demo_paths


def ramp_volume(spacing=(3.0, 1.0, 1.0), shape=(12, 20, 16)) -> Volume:
    """Voxel value = 1000 k + 10 j + i / 10 (i, j, k = col, row, slice): each index readable from a value."""
    z, y, x = shape
    k, j, i = np.meshgrid(np.arange(z), np.arange(y), np.arange(x), indexing="ij")
    affine = np.diag([spacing[2], spacing[1], spacing[0], 1.0])
    return Volume(pixels=(1000.0 * k + 10.0 * j + i / 10.0).astype(np.float32), spacing=spacing, affine=affine,
                  geometry_known=True)


@pytest.mark.parametrize("orientation", ["axial", "coronal", "sagittal"])
@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (3.0, 1.0, 1.0), (2.5, 0.8, 1.2)])
def test_view_to_voxel_reads_back_what_the_plane_shows(orientation, spacing):
    volume = ramp_volume(spacing)
    geometry = PlaneGeometry.of(volume, orientation)
    index = geometry.n_slices // 3
    plane = pipeline.plane(volume, orientation, index)
    assert plane.shape == geometry.shape
    rows, cols = plane.shape
    for row, col in [(0, 0), (rows - 1, cols - 1), (rows // 2, cols // 3)]:
        i, j, k = geometry.view_to_voxel(col + 0.5, row + 0.5, index)
        # the plane interpolates linearly along the slice axis only (edge rows repeat the edge slice, as
        # cv2.resize does): the value is the ramp at (i, j, k)
        expected = 1000.0 * np.clip(k, 0, volume.n_slices - 1) + 10.0 * j + i / 10.0
        assert plane[row, col] == pytest.approx(expected, abs=1e-2), (row, col)
        x, y = geometry.voxel_to_view((i, j, k))
        assert (x, y) == pytest.approx((col + 0.5, row + 0.5))
        assert geometry.slice_index((i, j, k)) == index


def test_the_crosshair_stays_on_its_world_point_across_orientations():
    t1 = io.load(volume_demo_paths()[0])
    model = ViewerModel()
    model.set_sources(t1, None)
    target = np.array([60.0, 90.0, 70.0])          # (i, j, k)
    model.set_cursor(target)
    world = model.cursor_world.copy()
    for orientation, axis in (("coronal", 1), ("sagittal", 0), ("axial", 2)):
        model.set_orientation(orientation)
        assert model.slice_index == int(target[axis])
        np.testing.assert_allclose(model.cursor_world, world)
    model.set_slice(100)                           # a new axial slice moves the crosshair along S only
    moved = model.cursor_world
    np.testing.assert_allclose(moved[:2], world[:2])
    assert moved[2] - world[2] == pytest.approx(30 * t1.spacing[0])
    model.set_cursor_world(world)
    np.testing.assert_allclose(model.cursor, target)


def test_two_dimensional_images_have_only_axial_slices():
    model = ViewerModel()
    model.set_sources(Volume(np.zeros((32, 40), np.uint8)), None)
    assert not model.set_orientation("coronal") and model.orientation == "axial"
    assert model.n_slices == 1 and model.plane_geometry().shape == (32, 40)
