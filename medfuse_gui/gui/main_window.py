"""The main window: composes the viewer model, its compute service (worker threads) and the widgets that render the
model — toolbars, the linked views, the metrics dock, the loupe, the status bar — with the menus and actions."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton, QTabWidget,
                               QVBoxLayout, QWidget)

from .. import __version__
from ..demo import SIMULATED_NOTICE, demo_paths, volume_demo_paths  # noqa: F401  (part of this module's API)
from ..fusion import get_model_info
from ..io.errors import MedFuseError
from ..viewer.compute import ComputeService
from ..viewer.model import ViewerModel
from ..viewer.session import Session
from . import dialogs
from .loupe import LoupeWidget
from .loupe_controller import LoupeController
from .menus import build_menus
from .metrics_panel import MetricsPanel
from .persistence import Persistence
from .registration_panel import RegistrationControls
from .status import StatusBar
from .study_panel import ReadoutPanel, StudyPanel
from .toolbar import Toolbars
from .viewer_area import ViewerArea
from .worker import QtRunner

WINDOW_DEBOUNCE_MS = 150   # window/level drags re-fuse once the adjustment pauses


class MainWindow(QMainWindow):
    fusedShown = Signal(object)     # the FusedSlice now on screen
    metricsShown = Signal()         # metrics of what is on screen arrived
    pipelineIdle = Signal()         # the fused image and all its metrics for the current parameters are on screen
    pairReady = Signal()            # new sources are on screen
    pendingPair = Signal(object)    # a pair waits for the user's choice (identity mismatch)
    errorShown = Signal(str)
    exported = Signal(str)
    volumeExported = Signal(object)
    deviceReady = Signal(str)
    networksPreloaded = Signal(object)   # names of the networks loaded and warmed in the background, now ready

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"MedFuse {__version__}")
        self.setAcceptDrops(True)
        self.modal_errors = True
        self.confirm_overwrite: Callable[[Path], bool] = lambda path: dialogs.ask_overwrite(self, path)
        self.answer_mismatch: Callable[[list[str]], bool] | None = None   # tests answer without a dialog
        self.model = model = ViewerModel()
        self.runner = QtRunner(parent=self)
        self.service = ComputeService(model, self.runner)
        self._debounce = QTimer(self, singleShot=True, interval=WINDOW_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.service.request_fusion)
        self.service.debounce = self._debounce.start

        self.viewer = ViewerArea(model)
        self.panels = self.viewer.panels
        self.viewer.fileDropped.connect(self.open_volume)
        self.restore_bar = self._build_restore_bar()
        viewer_tab = QWidget()
        column = QVBoxLayout(viewer_tab)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.restore_bar)
        column.addWidget(self.viewer, 1)
        self.loupe = LoupeWidget()
        self.tabs = QTabWidget()
        self.tabs.addTab(viewer_tab, "Viewer")
        self.tabs.addTab(self.loupe, "Loupe — compare all methods")
        self.setCentralWidget(self.tabs)
        self.loupe_controller = LoupeController(self, model, self.service, self.loupe)
        self.tabs.currentChanged.connect(self._on_tab_changed)

        self.metrics_panel = MetricsPanel(model)
        self.metrics_dock = QDockWidget("Fusion metrics", self)
        self.metrics_dock.setObjectName("metricsDock")
        self.metrics_dock.setWidget(self.metrics_panel)
        self.metrics_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                      | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.metrics_dock)
        self.resizeDocks([self.metrics_dock], [360], Qt.Orientation.Horizontal)

        self.study_panel, self.study_dock = self._dock(StudyPanel(model), "Study", "studyDock")
        self.readout_panel, self.readout_dock = self._dock(ReadoutPanel(model), "Read-out", "readoutDock")
        # one column on the right, as Slicer's module panel: the metrics first, the study and the read-out a tab away
        # (the status bar repeats the read-out on one line while the mouse is over a view)
        self.tabifyDockWidget(self.metrics_dock, self.study_dock)
        self.tabifyDockWidget(self.study_dock, self.readout_dock)
        self.metrics_dock.raise_()
        self.viewer.hovered.connect(self._on_hover)

        self.toolbars = Toolbars(self, model)
        self.toolbars.methodChosen = self.select_method
        self.status = StatusBar(self, model, self.cancel_work)
        self.actions_by_name, recent_menu = build_menus(self)
        self.registration = RegistrationControls(self)
        self.persistence = Persistence(self, model, recent_menu)
        self.persistence.recentChosen.connect(self.open_pair)
        self._wire_events()
        self._pending_session: Session | None = None
        last = self.persistence.last_method()
        if last and get_model_info(last).availability()[0]:
            model.set_method(last)
        self.geometry_restored = self.persistence.restore_layout()
        self._offer_last_session()
        # torch takes ~1 s to import: start it (then the networks' preload) in its own lane once the window has painted
        QTimer.singleShot(300, self.service.init_device)

    def _dock(self, widget: QWidget, title: str, name: str) -> tuple[QWidget, QDockWidget]:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return widget, dock

    def _on_hover(self, voxel) -> None:
        probe = self.readout_panel.show_point(voxel)
        self.status.show_probe(probe.status_text() if probe is not None and voxel is not None else "")

    def _wire_events(self) -> None:
        model, service = self.model, self.service
        model.events.fused.connect(lambda e: e.value is not None and self.fusedShown.emit(e.value))
        model.events.metrics.connect(lambda e: self.metricsShown.emit())
        model.events.sources.connect(lambda e: self.pairReady.emit())
        model.events.pending.connect(lambda e: e.value is not None and self._ask_mismatch(e.value))
        model.events.device.connect(lambda e: self.deviceReady.emit(e.value))
        service.events.networks_ready.connect(lambda e: self.networksPreloaded.emit(e.value))
        model.events.any.connect(lambda e: self._check_idle())
        service.events.error.connect(lambda e: self.show_error(*e.value, notify=False))
        service.events.exported.connect(lambda e: self.volumeExported.emit(e.value))
        service.events.opened.connect(lambda e: self._apply_pending_session())
        self._was_idle = False

    def _check_idle(self) -> None:
        idle = self.model.is_settled()
        if idle and not self._was_idle:
            self.pipelineIdle.emit()
        self._was_idle = idle

    # --- opening ------------------------------------------------------------------------------------------------------
    def open_pair(self, anatomical: str | Path, functional: str | Path, method: str | None = None) -> None:
        if method is not None:
            self.select_method(method)
        self.restore_bar.setVisible(False)   # the offer is for an empty window: restoring now would replace this
        self.service.open_pair(anatomical, functional)

    def open_volume(self, role: str, path: str | Path) -> None:
        self.restore_bar.setVisible(False)
        self.service.open_source(role, path)

    def open_demo(self) -> None:
        self.open_pair(*demo_paths())

    def open_volume_demo(self) -> None:
        self.open_pair(*volume_demo_paths())
        self._notice_on_open = SIMULATED_NOTICE

    def show_crosshair_at(self, ras) -> None:
        """Put the crosshair at a world point (RAS mm) and show its read-out (``--crosshair``)."""
        self.model.set_cursor_world(ras)
        self.readout_dock.raise_()
        probe = self.readout_panel.show_point(None)
        self.status.show_probe(probe.status_text() if probe is not None else "")

    def _ask_mismatch(self, pending) -> None:
        def answer(fuse: bool) -> None:
            (self.service.accept_pending if fuse else self.service.reject_pending)()

        self.pendingPair.emit(pending)
        if self.answer_mismatch is not None:
            answer(self.answer_mismatch(pending.mismatches))
        else:
            dialogs.ask_mismatch(self, pending.mismatches, answer)

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        """Dropped outside a view: two files are a pair (anatomical, functional); one fills the empty side."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if len(paths) >= 2:
            self.open_pair(paths[0], paths[1])
        elif paths:
            model = self.model
            role = "functional" if model.anatomical is not None and model.functional is None else "anatomical"
            self.open_volume(role, paths[0])
        event.acceptProposedAction()

    # --- method -------------------------------------------------------------------------------------------------------
    def select_method(self, name: str) -> None:
        info = get_model_info(name)
        ok, reason = info.availability()
        if not ok:
            self.model.notify(f"{info.title} is unavailable: {reason}", "warning")
            self.toolbars.refresh()
            return
        self.model.set_method(info.name)
        if info.caveat:   # a known weakness of the shipped weights is said where the user chose them
            self.model.notify(f"{info.title}: {info.caveat}", "warning", scope=("method", info.name))

    def _on_tab_changed(self, _index: int) -> None:
        # The loupe has its own table over every method: the single-method dock would only take its room.
        viewing = self.tabs.currentWidget() is not self.loupe
        for dock in (self.metrics_dock, self.study_dock, self.readout_dock):
            dock.setVisible(viewing)
        if viewing:
            self.metrics_dock.raise_()
        self.loupe_controller.refresh()

    # --- sessions -----------------------------------------------------------------------------------------------------
    def save_session(self, path: str | Path) -> bool:
        if self.model.pair is None:
            self.model.notify("Nothing to save: open an anatomical and a functional image first.", "warning")
            return False
        try:
            Session.from_model(self.model, self.persistence.window_state()).write(path)
        except MedFuseError as exc:
            self.show_error("Session not saved", str(exc))
            return False
        self.model.notify(f"Session saved to {path}")
        return True

    def open_session(self, path: str | Path | Session) -> bool:
        try:
            session = path if isinstance(path, Session) else Session.read(path)
            get_model_info(session.method)
        except MedFuseError as exc:
            self.show_error("Cannot open the session", str(exc))
            return False
        self._pending_session = session
        self.restore_bar.setVisible(False)
        self.service.open_pair(session.anatomical, session.functional)
        return True

    def _apply_pending_session(self) -> None:
        session, self._pending_session = self._pending_session, None
        if session is not None:
            session.apply_view(self.model)
            self.persistence.restore_window_state(session.window)
        notice, self._notice_on_open = getattr(self, "_notice_on_open", None), None
        if notice:
            self.model.notify(notice, "notice", scope=("pair", self.model.pair_id))

    def _build_restore_bar(self) -> QWidget:
        bar = QWidget()
        bar.setStyleSheet("background: #eef3fb;")
        row = QHBoxLayout(bar)
        row.setContentsMargins(8, 2, 8, 2)
        self.restore_label = QLabel("")
        self.restore_label.setWordWrap(True)   # long file names wrap rather than widen the window
        restore, dismiss = QPushButton("Restore"), QPushButton("Dismiss")
        restore.clicked.connect(lambda: self._last_session and self.open_session(self._last_session))
        dismiss.clicked.connect(lambda: bar.setVisible(False))
        row.addWidget(self.restore_label, 1)
        row.addWidget(restore)
        row.addWidget(dismiss)
        bar.setVisible(False)
        self.restore_button = restore
        return bar

    def _offer_last_session(self) -> None:
        self._last_session = self.persistence.last_session()
        if self._last_session is not None:
            names = f"{Path(self._last_session.anatomical).name} + {Path(self._last_session.functional).name}"
            self.restore_label.setText(f"Restore the last session? {names}, {self._last_session.method}, "
                                       f"{self._last_session.orientation}")
            self.restore_bar.setVisible(True)

    # --- export -------------------------------------------------------------------------------------------------------
    def export_fused_png(self, path: str | Path) -> bool:
        """Write the fused slice on screen at full resolution; asks before overwriting. True when written."""
        from ..io.writers import write_png

        path, fused = Path(path), self.model.current_fused()
        if fused is None:
            self.show_error("Nothing to export", "Wait for the fused image of the current slice.")
            return False
        if path.exists() and not self.confirm_overwrite(path):
            self.model.notify(f"Not exported: {path.name} exists.")
            return False
        try:
            write_png(path, fused.fused_rgb_uint8(), force=True)
        except MedFuseError as exc:
            self.show_error("Export failed", str(exc))
            return False
        self.model.notify(f"Exported {path}")
        self.exported.emit(str(path))
        return True

    def export_volume(self, path: str | Path, fmt: str) -> int | None:
        """Fuse every slice with the current method and settings (its own thread), then write the volume."""
        from ..io.export import check_output_free

        if self.model.pair is None:
            self.model.notify("Nothing to export: open an anatomical and a functional volume first.", "warning")
            return None
        if self.service.export_token is not None:
            self.model.notify("A volume is already being exported.", "warning")
            return None
        try:
            check_output_free(path, fmt, force=False)
        except MedFuseError:
            if not self.confirm_overwrite(Path(path)):
                self.model.notify(f"Not exported: {Path(path).name} exists.")
                return None
        return self.service.export_volume(path, fmt)

    def cancel_work(self) -> None:
        self.service.cancel_export()
        self.registration.service.cancel_register()

    # --- messages -----------------------------------------------------------------------------------------------------
    def show_error(self, title: str, message: str, notify: bool = True) -> None:
        """Tell the user; never raise. Non-blocking (open(), not exec()) so background work keeps flowing."""
        if notify:
            self.model.notify(f"{title}: {message}", "error")
        self.errorShown.emit(message)
        if self.modal_errors:
            box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    # --- lifecycle ----------------------------------------------------------------------------------------------------
    def closeEvent(self, event):  # noqa: N802 (Qt override)
        self.persistence.save()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> bool:
        """Stop the worker threads; False when a computation could not be interrupted in time (the process may
        then exit without waiting for it: nothing is being written except by an export, which cleans up)."""
        self.service.cancel_export()
        self.clean_exit = self.runner.stop()
        return self.clean_exit
