"""Volumes in the viewer: the MNI152 + simulated PET demo, orientations, keyboard slices, volume export and cancel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from medfuse_gui import io, pipeline
from medfuse_gui.gui.main_window import volume_demo_paths

TIMEOUT = 120_000


@pytest.fixture
def volume_window(qtbot, window):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_volume_demo()
    return window


def test_demo_volume_is_aligned_in_world_coordinates(volume_window):
    window = volume_window
    t1, pet = (io.load(p) for p in volume_demo_paths())
    assert window.pair.alignment == "world"
    assert window.pair.functional.grid_shape == t1.grid_shape
    assert window.slice_slider.maximum() == t1.n_slices - 1 and window.slice_slider.isEnabled()
    # the simulated focus (resources/demo/mni-pet/make_simulated_pet.py) is hottest near its world position
    focus = np.array([-38.0, -22.0, 48.0, 1.0])
    i, j, k = np.linalg.solve(t1.affine, focus)[:3].round().astype(int)
    around = window.pair.functional.pixels[k - 3:k + 4, j - 3:j + 4, i - 3:i + 4]
    elsewhere = window.pair.functional.pixels[k]
    assert around.max() > 0.9 * elsewhere.max()


def test_keyboard_and_orientation(qtbot, volume_window):
    window = volume_window
    start = window.slice_index
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        qtbot.keyClick(window, Qt.Key.Key_Up)
    assert window.slice_index == start + 1
    expected = pipeline.plane(window.pair.anatomical, "axial", start + 1)
    np.testing.assert_array_equal(window.panels["anatomical"].image.image, expected)
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        qtbot.keyClick(window, Qt.Key.Key_C)
    assert window.orientation == "coronal" and window.orientation_combo.currentText() == "Coronal"
    z, y, x = window.pair.anatomical.grid_shape
    assert window.panels["fused"].image.image.shape[:2] == (z, x)  # 1 mm isotropic: no stretch
    assert window.slice_slider.maximum() == y - 1
    for panel in ("anatomical", "functional", "fused"):
        box = window.panels[panel].box("red")
        assert box.y + box.h <= z and box.x + box.w <= x


def test_volume_export_with_progress_then_cancel(qtbot, volume_window, tmp_path):
    window = volume_window
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    window.select_method("average")
    progress = []
    window.fusion_thread.worker.progressed.connect(lambda job, done, total: progress.append((done, total)))
    with qtbot.waitSignal(window.volumeExported, timeout=TIMEOUT) as blocker:
        window.export_volume(tmp_path / "fused.nii.gz", "nifti")
    written = blocker.args[0]
    fused = io.load(written[0])
    assert fused.is_rgb and fused.grid_shape == window.pair.anatomical.grid_shape
    np.testing.assert_allclose(fused.affine, window.pair.anatomical.affine, atol=1e-5)
    assert progress[-1] == (window.pair.n_slices, window.pair.n_slices)
    assert not window.progress.isVisible()

    # cancel: the worker stops between slices, nothing is written
    window.select_method("gff")
    with qtbot.waitSignal(window.fusion_thread.worker.cancelled, timeout=TIMEOUT,
                          check_params_cb=lambda job: job.kind == "fuse-volume"):
        with qtbot.waitSignal(window.fusion_thread.worker.progressed, timeout=TIMEOUT):
            window.export_volume(tmp_path / "cancelled.nii.gz", "nifti")
        window.cancel_work()
    assert not (tmp_path / "cancelled.nii.gz").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["fused.nii.gz"]


def test_overlay_panel_blends_with_transparent_low_values(qtbot, volume_window):
    window = volume_window
    window.set_overlay_visible(True)
    assert window.panels["overlay"].isVisible()
    image = window.panels["overlay"].image.image.astype(int)
    anatomical = window.panels["anatomical"].image.image
    assert image.shape[:2] == anatomical.shape
    functional_rgb, level = window._functional_planes()
    gray = np.rint(io.to_unit(anatomical, window.anat_window) * 255).astype(int)
    transparent = level <= window.overlay_threshold
    assert 0.05 < transparent.mean() < 0.95
    np.testing.assert_array_equal(image[transparent], np.repeat(gray[transparent][:, None], 3, axis=1))
    # elsewhere: alpha 0.5 of the functional colour over the gray anatomy
    expected = np.rint(0.5 * gray[..., None] + 0.5 * functional_rgb.astype(int))
    assert np.abs(image[~transparent] - expected[~transparent]).max() <= 1
    window.threshold_slider.setValue(95)  # almost everything transparent: the overlay is the gray anatomy
    blended = window.panels["overlay"].image.image
    assert np.all(blended[..., 0:1] == blended, axis=-1).mean() > 0.95


def test_scrolling_back_is_served_from_the_cache(qtbot, volume_window):
    window = volume_window
    start = window.slice_index
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.set_slice(start + 1)
    submitted = []
    window.fusion_thread.worker.started.connect(lambda job: submitted.append(job.kind))
    shown = []
    window.fusedShown.connect(lambda fused: shown.append(fused.index))
    window.set_slice(start)  # back: the cached fused slice is shown at once, before any event is processed
    assert shown == [start] and window.current.index == start
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        pass
    assert "fuse" not in submitted
