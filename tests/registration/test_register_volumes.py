"""3-D registration on real volumes: the MNI152 T1 with the volume demo's simulated PET, nibabel's anatomical and
functional pair. The functional's data are moved by a known rigid motion, its header kept."""

from __future__ import annotations


import numpy as np
import pytest

from medfuse_gui import io
from medfuse_gui.demo import volume_demo_paths
from medfuse_gui.registration import RegistrationCancelled, Transform, register

from .helpers import move_data, nibabel_slab_case, rigid_motion, tre, world_points

BRAIN_CENTRE = np.array([0.0, -18.0, 18.0])  # RAS mm, MNI space


@pytest.fixture(scope="module")
def demo():
    anatomical, functional = (io.load(p) for p in volume_demo_paths())
    on_grid = io.align(functional, anatomical).volume.pixels
    brain = on_grid > np.percentile(on_grid[on_grid > 0], 50)  # the simulated uptake: inside the brain
    return anatomical, functional, world_points(anatomical, brain)


@pytest.mark.parametrize("shift, angle", [(10.0, 8.0), (60.0, 20.0)])
def test_demo_pet_moved_data_is_recovered(demo, shift, angle):
    anatomical, functional, points = demo
    motion = rigid_motion(shift, angle, BRAIN_CENTRE)
    moved = move_data(functional, motion)
    before = tre(np.eye(4), motion, points)
    assert before.mean() > shift * 0.8  # the motion is really there
    result = register(anatomical, moved)
    errors = tre(result.world_matrix(), motion, points)
    assert errors.max() < 2.0, (errors.mean(), errors.max(), result.describe())
    assert result.iterations > 0 and result.metric_value < 0 and result.stop_reason
    assert result.caution == ""  # whole brains: nothing to warn of


def test_demo_aligned_pair_stays_within_1mm(demo):
    anatomical, functional, points = demo
    result = register(anatomical, functional)
    assert tre(result.world_matrix(), np.eye(4), points).max() < 1.0


def test_registered_pair_puts_uptake_back(demo):
    """Through the transform, the moved PET resampled on the MRI grid matches the unmoved one (one resampling)."""
    anatomical, functional, _ = demo
    moved = move_data(functional, rigid_motion(10.0, 8.0, BRAIN_CENTRE))
    reference = io.align(functional, anatomical).volume.pixels
    unregistered = io.align(moved, anatomical).volume.pixels
    registered = io.align(moved, anatomical, register(anatomical, moved)).volume.pixels
    inside = reference > np.percentile(reference[reference > 0], 50)

    def error(p):
        return float(np.abs(p[inside] - reference[inside]).mean())

    assert error(registered) < 0.25 * error(unregistered)


def test_cancel_raises_and_progress_is_reported(demo):
    anatomical, functional, _ = demo
    calls = []

    def cancelled():
        return len(calls) >= 5

    with pytest.raises(RegistrationCancelled, match="previous alignment is kept"):
        register(anatomical, functional, progress=lambda done, total: calls.append((done, total)),
                 cancelled=cancelled)
    assert 5 <= len(calls) < 40 and all(0 < d < t for d, t in calls)
    with pytest.raises(RegistrationCancelled):
        register(anatomical, functional, cancelled=lambda: True)


def test_affine_stage_runs_and_stays_close(demo):
    anatomical, functional, points = demo
    result = register(anatomical, functional, affine=True)
    assert result.kind == "affine" and "+affine" in result.method
    assert tre(result.world_matrix(), np.eye(4), points).max() < 1.5


def test_written_transform_maps_the_same_points(demo, tmp_path):
    import SimpleITK as sitk

    anatomical, functional, points = demo
    moved = move_data(functional, rigid_motion(10.0, 8.0, BRAIN_CENTRE))
    result = register(anatomical, moved)
    path = result.write(tmp_path / "reg.tfm")
    back = Transform.read(path)
    assert np.allclose(back.world_matrix() @ points, result.world_matrix() @ points, atol=1e-6)
    lps = (np.diag([-1.0, -1.0, 1.0, 1.0]) @ points)[:3].T
    direct = np.array([sitk.ReadTransform(str(path)).TransformPoint(tuple(p)) for p in lps[:50]])
    assert np.allclose(direct, result.transform_points(lps[:50]), atol=1e-6)


def test_nibabel_pair_moved_functional_is_improved():
    """nibabel's anatomical.nii (2 mm) and functional.nii (4x4x8 mm, 3 slices: a 24 mm slab). Moving the slab's
    data by 10 mm and 8 deg drops part of it out of the slab; the registration gets within a few mm, not the issue's
    2 mm: the moved slab does not even match its own unmoved copy at the true motion (docs/registration.md, "Thin
    functional slabs"). This test keeps the part that holds, a large improvement, and the caution that goes with
    the result. The slab is sampled whole, so no lucky seed is involved (a random half: 4.5 or 10-13 mm)."""
    anatomical, functional, motion, points = nibabel_slab_case()
    before = tre(np.eye(4), motion, points).mean()
    result = register(anatomical, move_data(functional, motion))
    after = tre(result.world_matrix(), motion, points).mean()
    assert after < 0.5 * before, (before, after)
    assert "functional sampled" in result.method  # the slab is the smaller field of view: it is the one sampled
    assert "functional covers only 24 mm (3 voxels)" in result.caution and "caution:" in result.describe()
