"""Volumes in the viewer: the MNI152 + simulated PET demo, orientations, keyboard slices, volume export and cancel."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import Qt

from medfuse_gui import io, pipeline
from medfuse_gui.gui.main_window import SIMULATED_NOTICE, volume_demo_paths

TIMEOUT = 120_000


@pytest.fixture
def volume_window(qtbot, window):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_volume_demo()
    return window


def test_demo_volume_is_aligned_in_world_coordinates_and_says_it_is_simulated(volume_window):
    window, model = volume_window, volume_window.model
    t1 = io.load(volume_demo_paths()[0])
    assert model.pair.alignment == "world"
    assert model.pair.functional.grid_shape == model.pair.anatomical.grid_shape
    slider = window.toolbars.slice_slider
    assert slider.maximum() == model.n_slices - 1 and slider.isEnabled()
    # the simulated focus (resources/demo/mni-pet/make_simulated_pet.py) is hottest near its world position
    grid = model.pair.anatomical
    i, j, k = np.linalg.solve(grid.affine, np.array([-38.0, -22.0, 48.0, 1.0]))[:3].round().astype(int)
    around = model.pair.functional.pixels[k - 3:k + 4, j - 3:j + 4, i - 3:i + 4]
    assert around.max() > 0.9 * model.pair.functional.pixels[k].max()
    assert t1.n_slices == model.n_slices
    # the SIMULATED notice stays while the pair is open (it was overwritten at once by the next message)
    model.notify("something else")
    assert SIMULATED_NOTICE in window.status.notice_label.text()


def test_keys_work_whatever_control_has_focus_and_orientation_keeps_the_crosshair(qtbot, volume_window):
    window, model = volume_window, volume_window.model
    start = model.slice_index
    combo = window.toolbars.method_combo
    combo.setFocus()   # a focused combo box used to eat A (-> Average) and Up/Down (-> another method)
    method = model.method
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        qtbot.keyClick(combo, Qt.Key.Key_Up)
    assert model.slice_index == start + 1 and model.method == method
    np.testing.assert_array_equal(window.panels["anatomical"].image.image,
                                  pipeline.plane(model.pair.anatomical, "axial", start + 1))
    assert window.toolbars.slice_spin.value() == start + 2   # the spin box counts from 1, like its label
    world = model.cursor_world.copy()
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        qtbot.keyClick(combo, Qt.Key.Key_C)
    assert model.orientation == "coronal" and window.toolbars.orientation_combo.currentText() == "Coronal"
    assert model.method == method
    np.testing.assert_allclose(model.cursor_world, world)   # the slice through the crosshair, not the centre
    z, y, x = model.pair.anatomical.grid_shape
    assert window.panels["fused"].image.image.shape[:2] == (z, x)  # 1 mm isotropic: no stretch
    assert window.toolbars.slice_slider.maximum() == y - 1
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        qtbot.keyClick(combo, Qt.Key.Key_A)
    assert model.orientation == "axial" and model.slice_index == start + 1


def test_the_wheel_changes_slice_and_ctrl_wheel_zooms(qtbot, volume_window):
    window, model = volume_window, volume_window.model
    view = window.panels["fused"].view
    start = model.slice_index
    view.sliceStepped.emit(1)
    assert model.slice_index == start + 1


def test_volume_export_with_progress_then_cancel(qtbot, volume_window, tmp_path):
    window, model = volume_window, volume_window.model
    out = tmp_path / "exports"
    out.mkdir()
    window.select_method("average")
    progress = []
    window.runner.workers["export"].progressed.connect(lambda job, done, total: progress.append((done, total)))
    with qtbot.waitSignal(window.volumeExported, timeout=TIMEOUT) as blocker:
        window.export_volume(out / "fused.nii.gz", "nifti")
    fused = io.load(blocker.args[0][0])
    assert fused.is_rgb and fused.grid_shape == model.pair.anatomical.grid_shape
    np.testing.assert_allclose(fused.affine, model.pair.anatomical.affine, atol=1e-5)
    assert progress[-1] == (model.n_slices, model.n_slices)
    assert not window.status.progress.isVisible()
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "fused.nii.gz").stat().st_mode & 0o777 == 0o666 & ~umask   # follows the umask, not owner-only

    window.select_method("gff")
    with qtbot.waitSignal(window.runner.workers["export"].progressed, timeout=TIMEOUT):
        window.export_volume(out / "cancelled.nii.gz", "nifti")
    assert window.status.cancel_button.isVisible()
    window.cancel_work()
    qtbot.waitUntil(lambda: window.service.export_token is None, timeout=TIMEOUT)
    assert not (out / "cancelled.nii.gz").exists()
    assert [p.name for p in out.iterdir()] == ["fused.nii.gz"]
    assert "slice" not in window.status.message_label.text()   # no stale "Fusing volume: slice 56 / 189…"
    assert not window.status.progress.isVisible() or model.current_fused() is None


def test_the_views_keep_fusing_while_a_volume_is_exported(qtbot, volume_window, tmp_path):
    """The fused view stayed on the old slice while the inputs moved on during an export."""
    window, model = volume_window, volume_window.model
    window.select_method("gff")
    with qtbot.waitSignal(window.runner.workers["export"].progressed, timeout=TIMEOUT):
        window.export_volume(tmp_path / "busy.nii.gz", "nifti")
    start = model.slice_index
    with qtbot.waitSignal(window.fusedShown, timeout=TIMEOUT,
                          check_params_cb=lambda fused: fused.params.index == start + 3):
        model.set_slice(start + 3)
    assert window.service.export_token is not None   # still exporting: the views did not wait for it
    window.cancel_work()
    qtbot.waitUntil(lambda: window.service.export_token is None, timeout=TIMEOUT)


def test_overlay_panel_blends_with_transparent_low_values(qtbot, volume_window):
    from medfuse_gui.viewer import render

    window, model = volume_window, volume_window.model
    model.set_overlay(visible=True)
    assert window.panels["overlay"].isVisible()
    image = window.panels["overlay"].image.image.astype(int)
    anatomical = window.panels["anatomical"].image.image
    assert image.shape[:2] == anatomical.shape
    functional_rgb, level = render.functional_plane(model)
    gray = np.rint(io.to_unit(anatomical, model.anat_window) * 255).astype(int)
    transparent = level <= model.overlay_threshold
    assert 0.05 < transparent.mean() < 0.95
    np.testing.assert_array_equal(image[transparent], np.repeat(gray[transparent][:, None], 3, axis=1))
    expected = np.rint(0.5 * gray[..., None] + 0.5 * functional_rgb.astype(int))
    assert np.abs(image[~transparent] - expected[~transparent]).max() <= 1
    window.toolbars.threshold_slider.setValue(95)  # almost everything transparent: the overlay is the gray anatomy
    blended = window.panels["overlay"].image.image
    assert np.all(blended[..., 0:1] == blended, axis=-1).mean() > 0.95


def test_scrolling_back_is_served_from_the_cache(qtbot, volume_window):
    window, model = volume_window, volume_window.model
    start = model.slice_index
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        model.set_slice(start + 1)
    started = []
    window.runner.workers["fusion"].started.connect(lambda job: started.append(job.kind))
    shown = []
    window.fusedShown.connect(lambda fused: shown.append(fused.params.index))
    model.set_slice(start)  # back: the cached fused slice is shown at once, before any event is processed
    assert shown == [start] and model.current_fused().params.index == start
    assert "fuse" not in started


def test_the_overlay_panel_keeps_the_image_in_view_as_it_comes_and_goes(volume_window):
    """A fourth panel narrows the others; the columns in view stay (fitted to the narrower panels) instead of
    pyqtgraph's linked views doubling their range, and the zoom is back where it was once the panel goes."""
    window, model = volume_window, volume_window.model
    view = window.panels["anatomical"].view

    def columns_and_scale():
        (x0, x1), _ = view.viewRange()
        return (x0, x1), view.width() / (x1 - x0)

    before, scale_before = columns_and_scale()
    model.set_overlay(visible=True)
    shown, scale_shown = columns_and_scale()
    assert shown == pytest.approx(before, abs=0.5) and scale_shown < scale_before
    assert window.panels["overlay"].view.viewRange()[0] == pytest.approx(before, abs=1.0)
    model.set_overlay(visible=False)
    after, scale_after = columns_and_scale()
    assert after == pytest.approx(before, abs=0.5) and scale_after == pytest.approx(scale_before, rel=1e-3)
