"""What survives a restart: window geometry, the last method, recent pairs (only confirmed ones), and sessions that
restore the same screen."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medfuse_gui.gui.main_window import MainWindow, demo_paths, volume_demo_paths
from medfuse_gui.viewer import Box

TIMEOUT = 120_000
SCREEN_SIZE = (790, 560)   # inside the offscreen platform's screen: restoreGeometry is not clamped by it


def new_window(qtbot, size=(1400, 800)):
    win = MainWindow()
    win.modal_errors = False
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_state_survives_a_restart(qtbot, window):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_pair(*demo_paths())
    with qtbot.waitSignal(window.fusedShown, timeout=TIMEOUT):
        window.select_method("dwt")
    # within the offscreen platform's 800x600-ish screen, which restoreGeometry respects, and not below the
    # window's own minimum, which the layout enforces
    window.resize(max(window.minimumSizeHint().width(), 700), 560)
    qtbot.waitUntil(lambda: window.width() >= window.minimumSizeHint().width())
    size = (window.width(), window.height())
    assert size[0] <= 798
    window.close()  # saves

    second = MainWindow()
    second.modal_errors = False
    qtbot.addWidget(second)
    try:
        assert second.geometry_restored   # the last run's geometry wins over the default size (app.py)
        second.show()
        assert second.toolbars.method_combo.currentData() == "dwt"
        assert (second.width(), second.height()) == size
        anat, func = demo_paths()
        assert second.persistence.recent_pairs()[0] == (str(anat), str(func))
        recent = second.persistence.recent_menu.actions()[0]
        assert recent.text() == f"{anat.name} + {func.name}"
        assert second.restore_bar.isVisibleTo(second)   # the last session is offered
        with qtbot.waitSignal(second.pipelineIdle, timeout=TIMEOUT):
            recent.trigger()
        assert second.model.current_fused().method == "dwt"
        assert not second.restore_bar.isVisibleTo(second)   # once something is open, restoring would replace it
    finally:
        second.shutdown()


def test_a_saved_session_reopens_the_same_screen(qtbot, tmp_path):
    first = new_window(qtbot, SCREEN_SIZE)
    model = first.model
    with qtbot.waitSignal(first.pipelineIdle, timeout=TIMEOUT):
        first.open_pair(*volume_demo_paths(), method="laplacian")
    with qtbot.waitSignal(first.pipelineIdle, timeout=TIMEOUT):
        model.set_orientation("coronal")
        model.set_cursor((70.0, 120.0, 80.0))
        model.set_anat_window((12.0, 90.0))
        model.set_colormap("hot")
        model.set_box("red", Box(20, 30, 40, 24))
    path = tmp_path / "study.medfuse.json"
    assert first.save_session(path)
    data = json.loads(path.read_text())
    assert data["format"] == "medfuse-session" and data["method"] == "laplacian" and data["orientation"] == "coronal"
    first.restore_bar.setVisible(False)
    first.viewer.reset_zoom()   # zoom and pan are not part of a session: compare both at the reset view
    shot_first = first.viewer.grab().toImage()
    first.shutdown()

    second = new_window(qtbot, (1000, 700))   # the session's geometry replaces this size
    try:
        with qtbot.waitSignal(second.pipelineIdle, timeout=TIMEOUT):
            assert second.open_session(path)
        other = second.model
        assert (other.method, other.orientation, other.slice_index) == ("laplacian", "coronal", model.slice_index)
        assert other.anat_window == pytest.approx(model.anat_window) and other.colormap == "hot"
        assert other.boxes == model.boxes
        for role in ("anatomical", "functional", "fused"):
            np.testing.assert_array_equal(second.panels[role].image.image, first.panels[role].image.image)
        # the same screen, pixel for pixel (the same window size, so the same layout)
        assert second.size() == first.size()
        qtbot.waitUntil(lambda: second.viewer.size() == first.viewer.size(), timeout=5000)
        second.viewer.reset_zoom()
        shot_second = second.viewer.grab().toImage()
        assert shot_second.size() == shot_first.size()
        a = np.frombuffer(shot_first.constBits(), np.uint8).reshape(shot_first.height(), -1)
        b = np.frombuffer(shot_second.constBits(), np.uint8).reshape(shot_second.height(), -1)
        assert (a != b).mean() < 0.002
    finally:
        second.shutdown()


def test_a_bad_session_file_says_why_and_changes_nothing(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_pair(*demo_paths())
    bad = tmp_path / "bad.medfuse.json"
    bad.write_text(json.dumps({"format": "medfuse-session", "version": 99}))
    pair_id = window.model.pair_id
    with qtbot.waitSignal(window.errorShown, timeout=5000) as blocker:
        assert not window.open_session(bad)
    assert "newer MedFuse" in blocker.args[0] and window.model.pair_id == pair_id


def test_a_mismatched_pair_asks_and_is_not_remembered(qtbot, window, tmp_path):
    """Two patients: the window asks before fusing; cancelled, the previous pair stays fully on screen; a pair the
    user did not confirm is never added to Recent."""
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_pair(*demo_paths())
    before = {role: window.panels[role].image.image.copy() for role in ("anatomical", "functional", "fused")}
    titles = {role: window.panels[role].title.text() for role in ("anatomical", "functional", "fused")}
    window.answer_mismatch = lambda reasons: False
    import pydicom
    from pydicom.data import get_testdata_file

    other = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    other.PatientID, other.PatientName = "OTHER-PATIENT", "Other^Patient"
    other.save_as(tmp_path / "other_patient.dcm")
    asked = []
    window.pendingPair.connect(asked.append)
    with qtbot.waitSignal(window.pendingPair, timeout=TIMEOUT):
        window.open_pair(get_testdata_file("CT_small.dcm"), tmp_path / "other_patient.dcm")
    assert asked and any("patient" in reason.lower() for reason in asked[0].mismatches)
    for role, pixels in before.items():
        np.testing.assert_array_equal(window.panels[role].image.image, pixels)
        assert window.panels[role].title.text() == titles[role]
    assert all("CT_small" not in a for a, _ in window.persistence.recent_pairs())


def test_the_input_pixel_limit_comes_from_the_settings(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from medfuse_gui import io
    from medfuse_gui.io.guard import set_max_pixel_bytes

    QSettings().setValue("input/maxPixelBytes", "1M")
    try:
        win = new_window(qtbot, SCREEN_SIZE)
        assert io.max_pixel_bytes() == 1024 * 1024
        big = tmp_path / "big.nii.gz"
        import nibabel as nib

        nib.save(nib.Nifti1Image(np.zeros((128, 128, 32), np.float32), np.eye(4)), str(big))   # 2 MiB of pixels
        with qtbot.waitSignal(win.errorShown, timeout=TIMEOUT) as blocker:
            win.open_volume("anatomical", big)
        assert "limit" in blocker.args[0] and "Traceback" not in blocker.args[0]
        win.shutdown()
    finally:
        set_max_pixel_bytes(None)


def test_a_remembered_method_that_no_longer_exists_does_not_stop_the_start(qtbot):
    """The settings of an older install, or of a plug-in method since removed, name a method this one lacks."""
    from PySide6.QtCore import QSettings

    from medfuse_gui.gui.main_window import MainWindow

    QSettings().setValue("lastMethod", "plugin-net-removed")
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.model.method == "average"
    win.shutdown()
