"""Registration in the viewer without Qt: the alignment state (transform, undo, nudges, check mode), the registration
service on the compute service's runner (progress, cancel, one re-pair), the check view's pixels, sessions and the
exported provenance."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pydicom
import pytest
from scipy import ndimage

from medfuse_gui import io, pipeline
from medfuse_gui.fusion import get_model
from medfuse_gui.io.writers import write_png
from medfuse_gui.registration import Transform
from medfuse_gui.viewer import check_view
from medfuse_gui.viewer.alignment import screen_axes
from medfuse_gui.viewer.registration_service import RegistrationService
from medfuse_gui.viewer.session import Session, SessionError

from ..registration.test_register_slices import head_points, moved_slice
from .conftest import Viewer, demo_paths, volume_demo_paths


class Aligner(Viewer):
    def __init__(self) -> None:
        super().__init__()
        self.registration = RegistrationService(self.service)
        self.state = self.model.alignment


@pytest.fixture
def demo(viewer) -> Aligner:
    out = Aligner()
    out.service.open_pair(*demo_paths())
    out.run()
    return out


@pytest.fixture
def moved_mri(tmp_path):
    """The demo MRI and its own copy moved 6 px and 5 deg (a pair MI registers to < 0.2 px), as files."""
    anatomical_path = demo_paths()[0]
    moved, truth = moved_slice(io.load(anatomical_path), (6.0, 0.0), 5.0)
    path = write_png(tmp_path / "moved.png", moved.pixels[0])
    return anatomical_path, path, truth


def functional_pixels(viewer) -> np.ndarray:
    return viewer.model.pair.functional.pixels.copy()


def test_registration_repairs_once_through_the_result_and_changes_the_key(moved_mri, monkeypatch):
    anatomical_path, moved_path, truth = moved_mri
    viewer = Aligner()
    viewer.service.open_pair(anatomical_path, moved_path)
    viewer.run()
    model = viewer.model
    first_id, first_key = model.pair_id, model.fusion_key()
    assert model.current_fused() is not None
    calls = []
    real_align = pipeline.align
    monkeypatch.setattr(pipeline, "align", lambda f, a, t=None: calls.append(t) or real_align(f, a, t))
    stale_on_swap = []
    model.events.sources.connect(lambda e: stale_on_swap.append(model.current_fused()))
    progress = []
    model.events.jobs.connect(lambda e: progress.extend(j.done for j in model.jobs.values() if j.cancellable))

    assert viewer.registration.register() is not None
    viewer.run()

    transform = viewer.state.transform
    assert transform is not None and transform.metric_value is not None
    assert calls == [transform]                        # the functional was resampled once, through the result
    assert model.pair.transform is transform and model.pair.alignment == "registered"
    assert model.pair_id == first_id + 1 and model.fusion_key() != first_key
    assert stale_on_swap == [None]                     # the old alignment's fused slice was not offered again
    assert model.current_fused().params.pair_id == model.pair_id
    assert max(progress) > 100 and not model.jobs
    points = head_points(model.anatomical)
    assert np.abs(transform.transform_points(points) - truth(points)).max() < 0.2
    # The re-made functional now matches the anatomical it was copied from.
    anatomical = model.pair.anatomical.pixels[0].astype(float)
    inside = anatomical > 20
    after = np.abs(model.pair.functional.pixels[0].astype(float) - anatomical)[inside].mean()
    before = np.abs(io.load(moved_path).pixels[0].astype(float) - anatomical)[inside].mean()
    assert after < 0.2 * before
    assert viewer.state.can_undo and viewer.state.history == [None]


def test_cancel_during_registration_keeps_the_previous_alignment(demo):
    model, state = demo.model, demo.state
    state.nudge((3.0, -2.0, 0.0))
    demo.run()
    previous, shown, pair_id = state.transform, functional_pixels(demo), model.pair_id
    seen = []

    def cancel_midway(event):
        for job in model.jobs.values():
            if job.cancellable:
                seen.append(job.done)
                if job.done >= 20:
                    demo.registration.cancel_register()

    model.events.jobs.connect(cancel_midway)
    demo.registration.register()
    demo.run()
    assert 20 <= max(seen) < 40                       # stopped within a few iterations of the request
    assert state.transform is previous and model.pair.transform is previous
    assert model.pair_id == pair_id
    np.testing.assert_array_equal(functional_pixels(demo), shown)
    assert not model.jobs and not demo.registration.busy
    assert model.messages[-1].text == "Registration cancelled: the previous alignment is kept."
    assert demo.registration.register() is not None   # a new registration can start


def test_nudge_moves_the_functional_in_world_mm_and_undo_returns_exactly_to_world(demo):
    model, state = demo.model, demo.state
    world, world_fused = functional_pixels(demo), model.current_fused().fused_rgb_uint8()
    affine = model.grid.affine
    shift_mm = np.array([4.0, -3.0, 0.0])
    state.nudge(shift_mm)
    demo.run()
    shift_voxels = np.linalg.solve(affine[:3, :3], shift_mm)          # (i, j, k) = (col, row, slice)
    expected = np.stack([ndimage.shift(world[0][..., c].astype(float), (shift_voxels[1], shift_voxels[0]), order=1)
                         for c in range(3)], -1)
    inner = (slice(10, -10), slice(10, -10))
    assert np.abs(model.pair.functional.pixels[0].astype(float) - expected)[inner].max() <= 1.0
    state.nudge(rotation_deg=(0.0, 0.0, 5.0))
    demo.run()
    assert model.pair.transform.rotation_deg() == pytest.approx(5.0, abs=1e-6)
    assert len(model.pair.transform.nudges) == 2

    assert state.undo() and state.undo()
    demo.run()
    assert state.transform is None and model.pair.transform is None and not state.can_undo
    np.testing.assert_array_equal(functional_pixels(demo), world)
    np.testing.assert_array_equal(model.current_fused().fused_rgb_uint8(), world_fused)


def test_reset_is_undoable_and_new_files_forget_the_alignment(demo):
    state = demo.state
    state.nudge((2.0, 0.0, 0.0))
    demo.run()
    nudged = state.transform
    assert state.reset()
    demo.run()
    assert demo.model.pair.transform is None
    assert state.undo()
    demo.run()
    assert demo.model.pair.transform is nudged
    demo.service.open_pair(*demo_paths())   # the same files opened again are new sources
    demo.run()
    assert state.transform is None and not state.can_undo and demo.model.pair.transform is None


def test_a_2d_pair_refuses_out_of_plane_nudges(demo):
    from medfuse_gui.io.errors import MedFuseError

    with pytest.raises(MedFuseError, match="in its plane"):
        demo.state.nudge((0.0, 0.0, 2.0))
    with pytest.raises(MedFuseError, match="in its plane"):
        demo.state.nudge(rotation_deg=(3.0, 0.0, 0.0))
    assert demo.state.transform is None


def test_check_view_pixels(demo):
    model, state = demo.model, demo.state
    assert check_view.check_plane(model) is None
    anatomical = io.to_unit(model.pair.anatomical.pixels[0], model.anat_window)
    functional = model.pair.functional.pixels[0]
    state.set_check_mode("checkerboard")
    board = check_view.check_plane(model)
    tile = check_view.tile_size(board.shape)
    assert tile == 256 // check_view.TILES
    gray = np.round(anatomical * 255).astype(np.uint8)
    np.testing.assert_array_equal(board[:tile, :tile], np.repeat(gray[:tile, :tile, None], 3, -1))
    np.testing.assert_array_equal(board[:tile, tile:2 * tile], functional[:tile, tile:2 * tile])
    np.testing.assert_array_equal(board[tile:2 * tile, :tile], functional[tile:2 * tile, :tile])

    state.set_check_mode("edges")
    edges = check_view.check_plane(model)
    mask = np.all(edges == check_view.EDGE_COLOUR, axis=-1)
    assert 0.01 < mask.mean() < 0.2                         # outlines, not areas
    np.testing.assert_array_equal(edges[~mask], functional[~mask])
    # The edges are the anatomical's: they sit on its strongest gradients.
    gradient = ndimage.gaussian_gradient_magnitude(anatomical.astype(float), 2.0)
    assert gradient[mask].mean() > 3 * gradient.mean()
    # The check view follows the alignment.
    state.nudge((5.0, 0.0, 0.0))
    demo.run()
    assert not np.array_equal(check_view.check_plane(model), edges)


def test_session_round_trip_keeps_the_transform(demo, tmp_path):
    demo.state.nudge((3.0, 1.0, 0.0), (0.0, 0.0, -4.0))
    demo.run()
    path = Session.from_model(demo.model).write(tmp_path / "s.medfuse.json")
    assert json.loads(path.read_text())["version"] == 2

    session = Session.read(path)
    other = Aligner()
    other.service.open_pair(session.anatomical, session.functional)
    other.run()
    session.apply_view(other.model)
    other.run()
    restored = other.model.pair.transform
    np.testing.assert_allclose(restored.matrix, demo.state.transform.matrix, atol=1e-12)
    np.testing.assert_allclose(restored.offset, demo.state.transform.offset, atol=1e-9)
    assert restored.nudges == demo.state.transform.nudges
    np.testing.assert_array_equal(functional_pixels(other), functional_pixels(demo))
    assert other.state.undo()   # back to the world alignment of the files
    other.run()
    assert other.model.pair.transform is None


def test_session_version_1_opens_and_a_bad_transform_is_refused(tmp_path):
    anatomical, functional = (str(p) for p in demo_paths())
    old = {"format": "medfuse-session", "version": 1, "anatomical": anatomical, "functional": functional}
    assert Session.from_dict(old).transform is None
    bad = dict(old, version=2, transform={"matrix": [[1, 0], [0, 0]], "translation": [0, 0], "center": [0, 0]})
    with pytest.raises(SessionError, match="'transform'"):
        Session.from_dict(bad)
    with pytest.raises(SessionError, match="'transform' is not a usable registration"):
        Session.from_dict(dict(old, transform={"matrix": "x"}))


def test_a_transform_that_does_not_fit_the_images_is_reported_and_not_kept():
    """A 2-D transform (say from a session) asked of a volume pair: a message, and the world alignment stays."""
    viewer = Aligner()
    viewer.service.open_pair(*volume_demo_paths())
    viewer.run()
    errors = []
    viewer.service.events.error.connect(lambda e: errors.append(e.value))
    viewer.registration.apply_transform(Transform.rigid((3.0,), (1.0, 0.0), center=(0.0, 0.0)))
    viewer.run()
    assert errors and errors[0][0] == "Cannot apply the alignment" and "2-D transform" in errors[0][1]
    assert viewer.state.transform is None and viewer.model.pair.transform is None


def test_exported_volume_says_how_it_was_aligned(demo, tmp_path):
    demo.state.nudge((2.0, 0.0, 0.0))
    demo.run()
    demo.service.export_volume(tmp_path / "fused.nii.gz", "nifti")
    demo.run()
    header = nib.load(tmp_path / "fused.nii.gz").header
    assert "reg 2D rigid manual+nudged" in header["descrip"].tobytes().decode("ascii", "replace")
    demo.service.export_volume(tmp_path / "dicom", "dicom")
    demo.run()
    dataset = pydicom.dcmread(next((tmp_path / "dicom").glob("*.dcm")))
    assert "functional aligned to anatomical by hand: 2-D rigid" in dataset.DerivationDescription
    assert "1 manual nudge(s)" in dataset.DerivationDescription
    # and the exported pixels are those of the registered pair, fused
    pair = pipeline.make_pair(io.load(demo_paths()[0]), io.load(demo_paths()[1]), demo.state.transform)
    inputs = pipeline.slice_inputs(pair, 0, demo.model.anat_window)
    expected = pipeline.fuse_inputs(inputs, get_model("average")).fused_rgb_uint8()
    np.testing.assert_array_equal(dataset.pixel_array, expected)


@pytest.mark.parametrize("radiological", [True, False])
def test_nudge_keys_move_the_image_as_seen_on_screen(demo, radiological):
    model, state = demo.model, demo.state
    model.set_radiological(radiological)
    world = functional_pixels(demo)[0]
    pixel_mm = float(np.linalg.norm(model.grid.affine[:3, 0]))
    state.nudge_on_screen(right_mm=2 * pixel_mm, down_mm=-pixel_mm)   # 2 px right, 1 px up, as displayed
    demo.run()
    moved = model.pair.functional.pixels[0]
    columns = 2 if radiological else -2          # neurological display mirrors the columns
    np.testing.assert_array_equal(moved[10:-10, 10:-10], np.roll(world, (-1, columns), axis=(0, 1))[10:-10, 10:-10])

    state.undo()
    state.nudge_on_screen(counterclockwise_deg=10.0)
    demo.run()
    transform = model.pair.transform
    centre = model.cursor_world
    right, down, _ = screen_axes(model)
    content = np.append(centre + 20.0 * right, 1.0)         # what was 20 mm right of the crosshair on screen...
    shown_at = np.linalg.solve(transform.world_matrix(model.grid), content)[:3] - centre
    assert np.dot(shown_at, -down) == pytest.approx(20.0 * np.sin(np.radians(10.0)), abs=1e-6)   # ...turned up
    assert np.dot(shown_at, right) == pytest.approx(20.0 * np.cos(np.radians(10.0)), abs=1e-6)
