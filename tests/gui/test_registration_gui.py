"""Registration in the window: the Register button on a shifted pair, the check view, cancel from the status bar,
the nudge keys and dialog, and their place in Help > Keyboard shortcuts."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import Qt

from medfuse_gui import io
from medfuse_gui.demo import demo_paths
from medfuse_gui.gui.actions import shortcut_rows
from medfuse_gui.io.writers import write_png
from medfuse_gui.viewer import check_view

from ..registration.test_register_slices import head_points, moved_slice

TIMEOUT_MS = 30_000


@pytest.fixture
def shifted_pair(tmp_path):
    """The demo MRI and its own copy moved 6 px and 5 deg (MI recovers this to < 0.2 px)."""
    anatomical = demo_paths()[0]
    moved, truth = moved_slice(io.load(anatomical), (6.0, 0.0), 5.0)
    return anatomical, write_png(tmp_path / "moved.png", moved.pixels[0]), truth


def open_and_wait(window, qtbot, anatomical, functional) -> None:
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT_MS):
        window.open_pair(anatomical, functional)


def test_register_button_aligns_a_shifted_pair_and_shows_the_check_view(window, qtbot, shifted_pair):
    anatomical, functional, truth = shifted_pair
    open_and_wait(window, qtbot, anatomical, functional)
    controls, model = window.registration, window.model
    check = window.viewer.panels["check"]
    assert not check.isVisible()
    button = controls.toolbar.widgetForAction(controls.register_action)
    assert button.isEnabled()

    with qtbot.waitSignal(controls.aligned, timeout=TIMEOUT_MS) as aligned:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    transform = aligned.args[0]
    assert transform is model.pair.transform is model.alignment.transform
    points = head_points(model.anatomical)
    assert np.abs(transform.transform_points(points) - truth(points)).max() < 0.2
    # The result is shown for judging: the checkerboard of the registered pair.
    assert check.isVisible() and model.alignment.check_mode == "checkerboard"
    np.testing.assert_array_equal(check.image.image, check_view.check_plane(model))
    assert controls.toolbar.widgetForAction(controls.actions["Undo alignment change"]).isEnabled()
    qtbot.waitUntil(lambda: model.current_fused() is not None, timeout=TIMEOUT_MS)   # fused through the result
    assert "registered" in controls.alignment_label.text()

    # Edges mode from the toolbar's selector, then undo back to the files' world alignment.
    with qtbot.waitSignal(controls.checkRendered, timeout=TIMEOUT_MS):
        controls.check_combo.activated.emit(2)
    np.testing.assert_array_equal(check.image.image, check_view.check_plane(model))
    with qtbot.waitSignal(controls.aligned, timeout=TIMEOUT_MS) as undone:
        controls.actions["Undo alignment change"].trigger()
    assert undone.args[0] is None and model.pair.transform is None


def test_cancel_in_the_status_bar_keeps_the_alignment(window, qtbot, shifted_pair):
    anatomical, functional, _ = shifted_pair
    open_and_wait(window, qtbot, anatomical, functional)
    controls, model = window.registration, window.model
    pair, pair_id = model.pair, model.pair_id

    def cancel_on_first_progress(event):
        if any(job.cancellable and job.done > 0 for job in model.jobs.values()):
            model.events.jobs.disconnect(cancel_on_first_progress)
            assert window.status.cancel_button.isVisible()
            # the job's name beside the bar (inside the 220 px bar it was clipped), the count in it
            status = window.status
            assert status.job_label.isVisible() and status.job_label.text().startswith("Registering the functional")
            assert re.fullmatch(r"\d+ / \d+", status.progress.format())
            qtbot.mouseClick(window.status.cancel_button, Qt.MouseButton.LeftButton)

    model.events.jobs.connect(cancel_on_first_progress)
    with qtbot.waitSignal(controls.cancelled, timeout=TIMEOUT_MS):
        controls.register_action.trigger()
    assert model.pair is pair and model.pair_id == pair_id and model.alignment.transform is None
    assert not window.status.cancel_button.isVisible() and not window.status.job_label.isVisible()
    assert controls.register_action.isEnabled()


def test_nudge_keys_and_dialog(window, qtbot):
    open_and_wait(window, qtbot, *demo_paths())
    controls, model = window.registration, window.model
    before = model.pair.functional.pixels[0].copy()
    window.activateWindow()
    window.viewer.panels["anatomical"].canvas.setFocus()
    with qtbot.waitSignal(controls.aligned, timeout=TIMEOUT_MS):
        qtbot.keyClick(window.viewer.panels["anatomical"].canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    # one 1 mm (= 1 px) step to the right on screen
    np.testing.assert_array_equal(model.pair.functional.pixels[0][10:-10, 10:-10],
                                  np.roll(before, 1, axis=1)[10:-10, 10:-10])

    controls.show_nudge_dialog()
    dialog = controls.dialog
    assert not dialog.shift[2].isEnabled()                # a 2-D pair moves in its plane only
    dialog.turn[2].setValue(3.0)
    with qtbot.waitSignal(controls.aligned, timeout=TIMEOUT_MS) as aligned:
        dialog.apply_button.click()
    assert aligned.args[0].rotation_deg() == pytest.approx(3.0, abs=1e-6)
    assert "2 manual nudge(s)" in dialog.current.text()
    # nudges alone are not a registration, and the window does not say they were
    assert "aligned to anatomical by hand" in dialog.current.text()
    assert controls.alignment_label.text().strip().startswith("nudged: 3.0°")
    with qtbot.waitSignal(controls.aligned, timeout=TIMEOUT_MS):
        dialog.world_button.click()
    np.testing.assert_array_equal(model.pair.functional.pixels[0], before)
    dialog.close()

    rows = dict((what, keys) for keys, what in shortcut_rows(window))
    assert rows["Register functional to anatomical"] == "Ctrl+R"
    assert rows["Nudge functional right"] == "Alt+Right"
    assert rows["Rotate functional counter-clockwise"] == "Alt+Shift+Left"


def test_register_starts_from_the_nudged_alignment(window, qtbot, tmp_path):
    """A copy turned 60 degrees is beyond the registration's own search; the user turns it roughly back (50 degrees
    in the nudge dialog) and presses Register: the search starts from what is on screen and finds the motion."""
    anatomical = demo_paths()[0]
    moved, truth = moved_slice(io.load(anatomical), (4.0, -3.0), 60.0)
    open_and_wait(window, qtbot, anatomical, write_png(tmp_path / "turned.png", moved.pixels[0]))
    controls, model = window.registration, window.model
    points = head_points(model.anatomical)
    controls.show_nudge_dialog()
    controls.dialog.turn[2].setValue(-50.0)   # about S: -50 here undoes +50 in (col, row)
    with qtbot.waitSignal(controls.aligned, timeout=TIMEOUT_MS) as nudged:
        controls.dialog.apply_button.click()
    controls.dialog.close()
    assert np.abs(nudged.args[0].transform_points(points) - truth(points)).max() > 5.0   # rough, not aligned

    with qtbot.waitSignal(controls.aligned, timeout=TIMEOUT_MS) as aligned:
        qtbot.mouseClick(controls.toolbar.widgetForAction(controls.register_action), Qt.MouseButton.LeftButton)
    assert np.abs(aligned.args[0].transform_points(points) - truth(points)).max() < 0.3


def test_the_check_panel_keeps_the_image_in_view_as_it_comes_and_goes(window, qtbot, shifted_pair):
    """Showing the fourth panel narrows the others; pyqtgraph's linked views had then doubled their range (the images
    shrank to half the panels' width, and stayed so when the panel went). The part of the image in view stays, fitted
    to the panels' new width, after a registration switches the check view on and after it is switched off."""
    anatomical, functional, _ = shifted_pair
    open_and_wait(window, qtbot, anatomical, functional)
    view = window.viewer.panels["anatomical"].view

    def x_range_and_pixels_per_unit():
        (x0, x1), _ = view.viewRange()
        return (x0, x1), view.width() / (x1 - x0)

    before, scale_before = x_range_and_pixels_per_unit()
    controls = window.registration
    with qtbot.waitSignal(controls.aligned, timeout=TIMEOUT_MS):
        controls.register()
    qtbot.waitUntil(lambda: window.model.current_fused() is not None, timeout=TIMEOUT_MS)
    with_check, scale_with_check = x_range_and_pixels_per_unit()
    assert window.viewer.panels["check"].isVisible()
    assert with_check == pytest.approx(before, abs=0.5)             # the same columns in view, across the narrower panel
    assert scale_with_check < scale_before
    assert window.viewer.panels["check"].view.viewRange()[0] == pytest.approx(before, abs=1.0)

    window.model.alignment.set_check_mode("off")     # the model's events are synchronous in the GUI thread
    assert window.viewer.panels["check"].isHidden()
    after, scale_after = x_range_and_pixels_per_unit()
    assert after == pytest.approx(before, abs=0.5) and scale_after == pytest.approx(scale_before, rel=1e-3)


def test_a_registration_of_a_thin_slab_is_reported_as_a_warning(window, qtbot):
    """nibabel's BOLD slab covers 24 mm in 3 slices: the result is applied, and the status bar says, in the warning
    colour, that it is doubtful (docs/registration.md, "Thin functional slabs")."""
    import os

    import nibabel

    from medfuse_gui.gui.status import LEVEL_STYLES

    data = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data")
    open_and_wait(window, qtbot, os.path.join(data, "anatomical.nii"), os.path.join(data, "functional.nii"))
    controls = window.registration
    with qtbot.waitSignal(controls.aligned, timeout=TIMEOUT_MS) as aligned:
        controls.register_action.trigger()
    assert "covers only 24 mm" in aligned.args[0].caution
    label = window.status.message_label
    qtbot.waitUntil(lambda: label.text().startswith("Registered, with a caution: the functional covers only 24 mm"),
                    timeout=TIMEOUT_MS)
    assert label.styleSheet() == LEVEL_STYLES["warning"]
    assert controls.alignment_label.text().strip().endswith("mm ⚠")
    assert controls.alignment_label.styleSheet() == LEVEL_STYLES["warning"]
    assert "caution:" in controls.alignment_label.toolTip()
