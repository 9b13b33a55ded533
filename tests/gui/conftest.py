"""GUI fixtures: an isolated QSettings store, a main window torn down cleanly, and a deliberately slow method."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QSettings

from medfuse_gui.fusion.registry import MethodInfo, register, unregister

WINDOW_SIZE = (1400, 800)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, qapp):
    QCoreApplication.setOrganizationName("MedFuseTests")
    QCoreApplication.setApplicationName("MedFuseTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield


@pytest.fixture
def window(qtbot):
    from medfuse_gui.gui.main_window import MainWindow

    win = MainWindow()
    win.modal_errors = False  # errors go to the status bar and errorShown, no dialog left open between tests
    win.resize(*WINDOW_SIZE)  # pyqtgraph links views by on-screen size: fixed size, exact links
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.shutdown()


@pytest.fixture
def slow_method():
    register(MethodInfo("slow-test", "Slow (test)", "classic", "average after ~1.5 s of real work",
                        "tests.gui.slow_method:build"))
    yield "slow-test"
    unregister("slow-test")
