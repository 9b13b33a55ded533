"""Layout at small screens and the window's edges: it fits 1024x700, loupe titles keep the method's name, metrics
numbers are never cut, the export-folder dialog takes a typed new folder, and Ctrl+Q quits at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

from medfuse_gui.fusion import get_model_info
from medfuse_gui.gui import dialogs
from medfuse_gui.gui.loupe import LoupeWidget
from medfuse_gui.gui.main_window import demo_paths
from medfuse_gui.gui.views import elide_title

REPO = Path(__file__).resolve().parents[2]
SMALL = (1024, 700)


def test_the_window_fits_1024x700_on_every_tab(qtbot, window):
    for page in (window.tabs.widget(i) for i in range(window.tabs.count())):
        window.tabs.setCurrentWidget(page)
        window.resize(*SMALL)
        qtbot.waitUntil(lambda: (window.width(), window.height()) == SMALL)
        assert window.minimumSizeHint().width() <= SMALL[0]
    window.tabs.setCurrentIndex(0)
    for role in ("anatomical", "functional", "fused"):
        assert window.panels[role].isVisible() and window.panels[role].width() >= 150


def shown_title(panel) -> str:
    label = panel.title
    return elide_title(label.text(), label.fontMetrics(), label.contentsRect().width())


def test_loupe_titles_keep_the_method_name_in_a_1024_window(qtbot):
    """Every method checked (the widest grid), at the room the loupe gets in a 1024-px window."""
    loupe = LoupeWidget()
    qtbot.addWidget(loupe)
    loupe.resize(1016, 620)
    loupe.show()
    qtbot.waitExposed(loupe)
    image = np.zeros((64, 64, 3), np.uint8)
    for name in loupe.selected_methods():
        loupe.set_result(name, image, 2.345)
    QApplication.processEvents()
    assert len(loupe.cells) >= 10
    for name in loupe.selected_methods():
        cell = loupe.cells[name]
        assert shown_title(cell).startswith(get_model_info(name).label), shown_title(cell)
        assert cell.title.toolTip() == f"{get_model_info(name).title} — 2345 ms"


def test_elided_titles_drop_the_timing_before_the_name():
    from PySide6.QtGui import QFontMetrics
    metrics = QFontMetrics(QApplication.font())
    text = "MMIF-AMIN — 2825 ms"
    assert elide_title(text, metrics, metrics.horizontalAdvance(text)) == text
    assert elide_title(text, metrics, metrics.horizontalAdvance("MMIF-AMIN") + 4) == "MMIF-AMIN"
    squeezed = elide_title(text, metrics, metrics.horizontalAdvance("MMIF"))
    assert squeezed.endswith("…") and "ms" not in squeezed
    assert metrics.horizontalAdvance(squeezed) <= metrics.horizontalAdvance("MMIF")


def numbers_fit(table) -> list[tuple[str, int]]:
    cut = []
    for row in range(table.rowCount()):
        for col in range(table.columnCount()):
            item = table.item(row, col)
            if item is not None and item.text():
                if table.fontMetrics().horizontalAdvance(item.text()) + 6 > table.columnWidth(col):
                    cut.append((item.text(), table.columnWidth(col)))
    return cut


def test_metrics_numbers_are_never_cut_after_resizing(qtbot, window):
    with qtbot.waitSignal(window.pipelineIdle, timeout=120_000):
        window.open_pair(*demo_paths())
    table = window.metrics_panel.table
    assert any(table.item(r, 0).text() for r in range(table.rowCount()))
    for size in ((1600, 1000), SMALL, (1400, 800)):
        window.resize(*size)
        qtbot.waitUntil(lambda: window.width() == size[0])
        assert numbers_fit(table) == []
    window.resizeDocks([window.metrics_dock], [80], Qt.Orientation.Horizontal)   # the user drags the dock narrow
    QApplication.processEvents()
    assert numbers_fit(table) == []


def type_into_export_dialog(text: str) -> None:
    dialog = QApplication.activeModalWidget()
    edit = dialog.findChild(QLineEdit, "fileNameEdit")
    edit.selectAll()
    QTest.keyClicks(edit, text)
    QTest.keyClick(edit, Qt.Key.Key_Return)


@pytest.mark.parametrize("typed", ["brand_new", "empty_existing"])
def test_dicom_export_folder_dialog_accepts_a_typed_new_or_empty_folder(qtbot, window, tmp_path, typed):
    from PySide6.QtCore import QSettings
    (tmp_path / "empty_existing").mkdir()
    QSettings().setValue("lastExportDirectory", str(tmp_path))
    QTimer.singleShot(0, lambda: type_into_export_dialog(typed))
    chosen = dialogs.export_folder(window, "Export fused volume as a DICOM series", "fused_dicom")
    assert chosen == str(tmp_path / typed)
    assert QSettings().value("lastExportDirectory") == str(tmp_path)


QUIT_DURING_A_LONG_CALL = r"""
import sys, time
from medfuse_gui.fusion.registry import MethodInfo, register
register(MethodInfo("slow-test", "Slow (test)", "classic", "a minute of uninterruptible work",
                    "tests.gui.slow_method:build_uninterruptible"))
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
import medfuse_gui.gui.main_window as main_window

class QuitsDuringFusion(main_window.MainWindow):
    def __init__(self):
        super().__init__()
        self.runner.workers["fusion"].started.connect(self.press_ctrl_q)   # queued into the GUI thread

    def press_ctrl_q(self, job):
        if job.kind == "fuse" and not getattr(self, "pressed", False):
            self.pressed = True
            self.activateWindow()
            print("CTRL+Q", time.monotonic(), flush=True)
            QTest.keyClick(self, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)

main_window.MainWindow = QuitsDuringFusion
from medfuse_gui.gui.app import main
sys.exit(main(["--demo", "--method", "slow-test"]))
"""


def test_ctrl_q_quits_at_once_while_a_long_uninterruptible_call_runs(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO), HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path))
    process = subprocess.Popen([sys.executable, "-c", QUIT_DURING_A_LONG_CALL], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"still running 120 s after start:\n{output}")
    ended = time.monotonic()   # CLOCK_MONOTONIC is system-wide: comparable with the child's
    pressed = [float(line.split()[1]) for line in output.splitlines() if line.startswith("CTRL+Q")]
    assert pressed and process.returncode == 0, output
    assert ended - pressed[0] < 3.0, f"the process lingered {ended - pressed[0]:.1f} s after Ctrl+Q"
