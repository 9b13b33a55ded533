"""Reading a study in the window: the probe under the mouse in every view, a Shift+click crosshair kept across
orientations, edge letters from the affine (a flipped file shows flipped letters), a scale bar, colour bars that follow
the window and say SUV for a PET series, and the study panel naming the patient."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from medfuse_gui.gui.main_window import volume_demo_paths

TIMEOUT = 120_000


def hover(qtbot, panel, x: float, y: float) -> None:
    """Move the real mouse over the view point (x, y) of a panel."""
    scene = panel.view.mapViewToScene(QPointF(x, y))
    widget_point = panel.canvas.mapFromScene(scene)
    qtbot.mouseMove(panel.canvas.viewport(), widget_point)


def test_the_probe_reads_every_view_and_a_shift_click_sets_the_crosshair(qtbot, window):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_volume_demo()
    model = window.model
    for role in ("anatomical", "functional", "fused"):
        panel = window.panels[role]
        with qtbot.waitSignal(window.viewer.hovered, timeout=5000,
                              check_params_cb=lambda voxel: voxel is not None):
            hover(qtbot, panel, 90.5, 110.5)
        probe = window.readout_panel.current
        voxel = np.array([90.0, 110.0, model.slice_index])
        world = model.grid.affine @ np.append(voxel, 1.0)
        t1 = model.anatomical
        assert probe.anatomical_readout.value == pytest.approx(float(t1.pixels[int(voxel[2]), 110, 90]))
        shown = [float(v) for v in probe.position.split("RAS (")[1].split(")")[0].split(",")]
        np.testing.assert_allclose(shown, world[:3], atol=0.6)   # the mouse point, within the voxel (1 mm)
        assert f"voxel ({int(voxel[0])}, {int(voxel[1])}, {int(voxel[2])})" in probe.position
        assert "Under the mouse" == window.readout_panel.title.text()
        text = window.status.probe_label.text()
        assert "RAS (" in text and "LPS (" in text and "fused RGB" in text
    # Shift+click sets the crosshair at the clicked world point, in every view
    panel = window.panels["functional"]
    scene = panel.view.mapViewToScene(QPointF(60.5, 80.5))
    qtbot.mouseClick(panel.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     panel.canvas.mapFromScene(scene))   # the model changes synchronously, in this call
    np.testing.assert_allclose(model.cursor[:2], (60.0, 80.0), atol=0.25)   # the mouse lands on a screen pixel
    world = model.cursor_world.copy()
    x, _ = model.plane_geometry().voxel_to_view(model.cursor)
    for other in window.panels.values():
        if other.isVisible():
            assert other.crosshair[0].value() == pytest.approx(x)
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        model.set_orientation("sagittal")
    np.testing.assert_allclose(model.cursor_world, world)
    x, y = model.plane_geometry().voxel_to_view(model.cursor)
    assert panel.crosshair[0].value() == pytest.approx(x) and panel.crosshair[1].value() == pytest.approx(y)


@pytest.mark.parametrize("flip", [False, True])
def test_edge_letters_follow_the_file_and_the_display_convention(qtbot, window, tmp_path, flip):
    data = np.zeros((20, 24, 16), np.float32)
    data[2:6, 3:9, :] = 100.0    # a bar on the low-i side (voxels i=2..5) through every slice
    affine = np.diag([-2.0 if flip else 2.0, 2.0, 2.0, 1.0])
    path = tmp_path / "t1.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), str(path))
    with qtbot.waitSignal(window.pairReady, timeout=TIMEOUT):
        window.open_volume("anatomical", path)
    labels = window.panels["anatomical"].edge_labels
    assert (labels.text("left"), labels.text("right"), labels.text("top"), labels.text("bottom")) == ("R", "L", "A",
                                                                                                        "P")
    # low i is the patient's left end of the volume (i grows toward R), or its right end when the file is flipped
    # (i grows toward L); radiological display: the patient's left on the screen's right
    image = window.panels["anatomical"].image.image
    block_cols = np.nonzero(image.max(axis=0) > 50)[0]
    assert block_cols.size
    on_screen_right = block_cols.mean() > image.shape[1] / 2
    assert on_screen_right == (not flip)
    window.model.set_radiological(False)
    assert (labels.text("left"), labels.text("right")) == ("L", "R")
    assert window.panels["anatomical"].view.state["xInverted"]
    assert window.panels["anatomical"].scale_bar.length_mm > 0


def test_colour_bars_follow_the_window_and_colormap(qtbot, window):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_pair(*volume_demo_paths())
    model = window.model
    bar = window.panels["functional"].colour_bar
    assert bar.window == pytest.approx(model.func_window) and bar.name == model.colormap
    model.set_func_window((0.5, 2.5))
    model.set_colormap("inferno")
    for role in ("functional", "fused"):
        bar = window.panels[role].colour_bar
        assert bar.window == pytest.approx((0.5, 2.5)) and bar.name == "inferno"
        assert tuple(bar.item.levels()) == pytest.approx((0.5, 2.5))
    assert window.panels["anatomical"].colour_bar.window == pytest.approx(model.anat_window)


def test_a_pet_series_reads_in_suv_and_the_study_panel_names_the_patient(qtbot, window, tmp_path):
    from tests.io.pet_helpers import write_pet_series

    write_pet_series(tmp_path / "pet")
    with qtbot.waitSignal(window.pairReady, timeout=TIMEOUT):
        window.open_volume("functional", tmp_path / "pet")
    model = window.model
    bar = window.panels["functional"].colour_bar
    factor = model.functional.suv_factor.factor
    assert bar.unit == "SUV" and bar.window == pytest.approx(tuple(v * factor for v in model.func_window))
    study = window.study_panel
    assert study.value("Modality", 1) == "PT"
    assert study.value("SUV", 1).startswith("SUV") or "SUV" in study.value("SUV", 1)
    assert window.panels["functional"].title.text().startswith("Functional — PT — PET AC")


def test_the_functional_window_is_typed_and_preset_in_suv(qtbot, window, tmp_path):
    """A PET series with a valid SUV factor: the toolbar's window reads and writes SUV, presets SUV 0-5/0-10/0-15
    set the same pixel window as io.suv computes, and a typed SUV value sets value / factor in Bq/mL."""
    from medfuse_gui.io.suv import suv_window_presets
    from tests.io.pet_helpers import write_pet_series

    write_pet_series(tmp_path / "pet")
    with qtbot.waitSignal(window.pairReady, timeout=TIMEOUT):
        window.open_volume("functional", tmp_path / "pet")
    model, bars = window.model, window.toolbars
    factor = model.functional.suv_factor.factor
    low, high = model.func_window
    assert bars.func_high_spin.suffix() == " SUV"
    assert bars.func_high_spin.value() == pytest.approx(high * factor, abs=0.006)
    assert bars.func_preset_action.isVisible()
    names = [bars.func_preset.itemText(i) for i in range(bars.func_preset.count())]
    assert names == ["SUV 0-5", "SUV 0-10", "SUV 0-15", "Custom"]
    bars.func_preset.activated.emit(1)   # as a click on "SUV 0-10"
    assert model.func_window == pytest.approx(dict(suv_window_presets(model.functional))["SUV 0-10"])
    assert model.func_window[1] * factor == pytest.approx(10.0)
    assert bars.func_high_spin.value() == pytest.approx(10.0) and bars.func_preset.currentText() == "SUV 0-10"
    bar = window.panels["functional"].colour_bar
    assert bar.unit == "SUV" and bar.window == pytest.approx((0.0, 10.0))
    bars.func_high_spin.setValue(7.5)     # typed: 7.5 SUV
    assert model.func_window[1] == pytest.approx(7.5 / factor)
    assert bars.func_preset.currentText() == "Custom"


def test_without_suv_the_functional_window_is_in_the_pixel_unit(qtbot, window):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_volume_demo()
    bars, model = window.toolbars, window.model
    assert not bars.func_preset_action.isVisible()
    unit = model.functional.unit
    assert bars.func_high_spin.suffix() == (f" {unit}" if unit else "")
    assert bars.func_high_spin.value() == pytest.approx(model.func_window[1], abs=0.006)
    bars.func_high_spin.setValue(round(model.func_window[1] * 0.8, 2))
    assert model.func_window[1] == pytest.approx(bars.func_high_spin.value())
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        model.set_colormap("inferno")
    scale = model.current_fused().inputs.colour_scale   # what an exported figure's colour bar draws
    assert scale.colormap == "inferno" and scale.unit == unit
    assert scale.window == pytest.approx(model.func_window)


def test_an_image_without_geometry_says_so_and_the_note_fits_its_view(qtbot, window, spect_pair):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_pair(*spect_pair)
    window.resize(760, 520)
    panel = window.panels["anatomical"]
    qtbot.waitUntil(lambda: panel.view.boundingRect().width() < 300, timeout=5000)
    note = panel.edge_labels.note
    assert note.toPlainText() == "no orientation (no world geometry)"
    assert panel.edge_labels.text("left") == ""
    # wrapped to the view's width, not clipped at its edge
    assert note.textItem.boundingRect().width() <= panel.view.boundingRect().width()
