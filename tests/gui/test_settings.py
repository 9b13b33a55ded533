"""State kept across launches with QSettings: last method, window layout, recent pairs, box positions."""

from __future__ import annotations

import pytest

from medfuse_gui.gui.main_window import MainWindow, demo_paths
from medfuse_gui.gui.views import Box

TIMEOUT = 60_000


def test_state_survives_a_restart(qtbot, window):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_pair(*demo_paths())
    with qtbot.waitSignal(window.fusedShown, timeout=TIMEOUT):
        window.select_method("dwt")
    with qtbot.waitSignal(window.metricsShown, timeout=TIMEOUT):
        window.move_box("red", Box(30.0, 50.0, 40.0, 40.0))
    window.resize(810, 590)  # within the offscreen platform's 800x600-ish screen, which restoreGeometry respects
    size = (window.width(), window.height())
    window.close()  # saves

    second = MainWindow()
    second.modal_errors = False
    qtbot.addWidget(second)
    second.show()
    try:
        assert second.method_combo.currentData() == "dwt"
        assert (second.width(), second.height()) == size
        anat, func = demo_paths()
        assert second.recent_pairs()[0] == (str(anat), str(func))
        assert second.recent_menu.actions()[0].text() == f"{anat.name} + {func.name}"
        with qtbot.waitSignal(second.pipelineIdle, timeout=TIMEOUT):
            second.recent_menu.actions()[0].trigger()
        assert second.current.method == "dwt"
        box = second.panels["fused"].box("red")
        assert (box.x, box.y, box.w, box.h) == pytest.approx((30, 50, 40, 40))
    finally:
        second.shutdown()
