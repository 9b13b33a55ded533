"""Registration in the window: the Registration menu and toolbar (register with progress and cancel, check view,
nudge dialog and keys, undo, reset), and the check view panel beside the others. The logic is Qt-free
(viewer/alignment.py, viewer/registration_service.py, viewer/check_view.py); this module only renders and writes the
user's intent back."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QGridLayout, QLabel, QMainWindow,
                               QMenu, QPushButton, QToolBar, QVBoxLayout)

from ..io.errors import MedFuseError
from ..viewer import check_view
from ..viewer.alignment import CHECK_MODES
from ..viewer.registration_service import RegistrationService
from .actions import ActionSpec, add_actions
from .status import LEVEL_STYLES
from .views import ImagePanel

CHECK_LABELS = {"off": "Check: off", "checkerboard": "Check: checkerboard", "edges": "Check: edges"}
CHECK_TITLES = {"checkerboard": "Check — checkerboard (anatomical / functional)",
                "edges": "Check — anatomical edges on the functional"}
REGISTER = "Register functional to anatomical"


class RegistrationControls(QObject):
    registered = Signal(object)      # the Transform a registration found (now applied)
    cancelled = Signal()             # a registration was cancelled: the previous alignment stays
    aligned = Signal(object)         # a pair through a new alignment (Transform or None) is on screen
    checkRendered = Signal(str)      # the check view was redrawn (mode)

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window, self.model = window, window.model
        self.state = self.model.alignment
        self.service = RegistrationService(window.service)
        self.service.events.registered.connect(lambda e: self.registered.emit(e.value))
        self.service.events.cancelled.connect(lambda e: self.cancelled.emit())
        self.service.events.aligned.connect(lambda e: self.aligned.emit(e.value))
        self.key_step = 1.0          # mm and degrees per nudge key press (the dialog sets it)
        self.dialog: NudgeDialog | None = None
        self._build_check_panel(window)
        self.actions = self._build_menu(window)
        self._build_toolbar(window)
        events = self.model.events
        for name in ("sources", "orientation", "cursor", "anat_window", "func_window", "colormap", "check"):
            events[name].connect(lambda e: self.render_check())
        for name in ("sources", "alignment", "jobs", "check"):
            events[name].connect(lambda e: self.refresh())
        self.refresh()
        self.render_check()

    # --- construction -----------------------------------------------------------------------------------------------
    def _build_check_panel(self, window) -> None:
        viewer, model = window.viewer, self.model
        panel = self.check_panel = ImagePanel("check", "Check")
        anatomical = viewer.panels["anatomical"]
        panel.view.setXLink(anatomical.view)
        panel.view.setYLink(anatomical.view)
        panel.boxMoved.connect(lambda name, box: model.set_box(name, box, finished=False))
        panel.boxMoveFinished.connect(lambda name, box: model.set_box(name, box, finished=True))
        panel.view.sliceStepped.connect(model.step_slice)
        panel.view.pointClicked.connect(viewer._on_point_clicked)
        viewer.layout().addWidget(panel, 1)
        viewer.panels["check"] = panel   # the viewer area then draws its boxes, crosshair and display flip too
        panel.setVisible(False)

    def _build_menu(self, window) -> dict:
        bar = window.menuBar()
        menu = QMenu("&Registration", window)
        help_menu = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        bar.insertMenu(help_menu, menu) if help_menu is not None else bar.addMenu(menu)
        nudge = self.state.nudge_on_screen
        step = lambda: self.key_step  # noqa: E731
        actions = add_actions(window, menu, [
            ActionSpec(f"&{REGISTER}", self.register, "Ctrl+R",
                       tip="Rigid registration (Mattes mutual information); the previous alignment can be undone"),
            ActionSpec("&Cancel registration", self.service.cancel_register),
            None,
            ActionSpec("C&heck view: off → checkerboard → edges", self.cycle_check, "K"),
            ActionSpec("&Nudge alignment…", self.show_nudge_dialog, "Ctrl+Shift+N"),
            ActionSpec("&Undo alignment change", self.undo, "Ctrl+Z"),
            ActionSpec("&Reset to world alignment", self.reset),
        ])
        keys = menu.addMenu("Nudge &keys (step set in the nudge dialog)")
        actions.update(add_actions(window, keys, [
            ActionSpec("Nudge functional right", lambda: self._nudge(lambda: nudge(right_mm=step())), "Alt+Right"),
            ActionSpec("Nudge functional left", lambda: self._nudge(lambda: nudge(right_mm=-step())), "Alt+Left"),
            ActionSpec("Nudge functional up", lambda: self._nudge(lambda: nudge(down_mm=-step())), "Alt+Up"),
            ActionSpec("Nudge functional down", lambda: self._nudge(lambda: nudge(down_mm=step())), "Alt+Down"),
            ActionSpec("Nudge functional to the next slice", lambda: self._nudge(lambda: nudge(through_mm=step())),
                       "Alt+PgUp"),
            ActionSpec("Nudge functional to the previous slice",
                       lambda: self._nudge(lambda: nudge(through_mm=-step())), "Alt+PgDown"),
            ActionSpec("Rotate functional counter-clockwise",
                       lambda: self._nudge(lambda: nudge(counterclockwise_deg=step())), "Alt+Shift+Left"),
            ActionSpec("Rotate functional clockwise",
                       lambda: self._nudge(lambda: nudge(counterclockwise_deg=-step())), "Alt+Shift+Right"),
        ]))
        self.menu = menu
        return actions

    def _build_toolbar(self, window) -> None:
        bar = self.toolbar = QToolBar("Registration")
        bar.setObjectName("registration")
        bar.setMovable(False)
        # on the first row, after method/colormap/window: the second row is full with the volume controls
        volume = getattr(getattr(window, "toolbars", None), "volume", None)
        if volume is not None:
            window.insertToolBar(volume, bar)      # lands before the volume row's break...
            window.removeToolBarBreak(bar)
            window.insertToolBarBreak(volume)      # ...which moves between the two
        else:
            window.addToolBar(bar)
        self.register_action = self.actions[REGISTER]
        self.register_action.setIconText("Register")
        bar.addAction(self.register_action)
        self.cancel_action = self.actions["Cancel registration"]
        self.cancel_action.setIconText("Cancel")
        bar.addAction(self.cancel_action)
        self.check_combo = QComboBox()
        self.check_combo.addItems([CHECK_LABELS[m] for m in CHECK_MODES])
        self.check_combo.setToolTip("Judge the alignment: a checkerboard of the two images, or the anatomical's "
                                    "edges on the functional image (key K)")
        self.check_combo.activated.connect(lambda i: self.state.set_check_mode(CHECK_MODES[i]))
        bar.addWidget(self.check_combo)
        for name, text in (("Nudge alignment", "Nudge…"), ("Undo alignment change", "Undo"),
                           ("Reset to world alignment", "World")):
            self.actions[name].setIconText(text)
            bar.addAction(self.actions[name])
        self.alignment_label = QLabel("")
        bar.addWidget(self.alignment_label)

    # --- model -> widgets ---------------------------------------------------------------------------------------
    def refresh(self) -> None:
        paired, busy = self.model.pair is not None, self.service.busy
        self.register_action.setEnabled(paired and not busy)
        self.cancel_action.setEnabled(busy)
        for name in ("Nudge alignment", "Nudge functional right", "Nudge functional left", "Nudge functional up",
                     "Nudge functional down", "Nudge functional to the next slice",
                     "Nudge functional to the previous slice", "Rotate functional counter-clockwise",
                     "Rotate functional clockwise"):
            self.actions[name].setEnabled(paired and not busy)
        self.actions["Undo alignment change"].setEnabled(self.state.can_undo and not busy)
        self.actions["Reset to world alignment"].setEnabled(self.state.transform is not None and not busy)
        self.check_combo.blockSignals(True)
        self.check_combo.setCurrentIndex(CHECK_MODES.index(self.state.check_mode))
        self.check_combo.blockSignals(False)
        transform = self.state.transform
        doubtful = transform is not None and bool(transform.caution)   # the reason: tooltip and status bar
        if transform is None:
            self.alignment_label.setText(" world alignment ")
        else:
            how = "nudged" if transform.by_hand else "registered"
            shift = float((transform.translation ** 2).sum() ** 0.5)
            mark = " ⚠" if doubtful else ""
            self.alignment_label.setText(f" {how}: {transform.rotation_deg():.1f}°, {shift:.1f} mm{mark} ")
        self.alignment_label.setStyleSheet(LEVEL_STYLES["warning"] if doubtful else "")
        self.alignment_label.setToolTip("" if transform is None else transform.describe())
        if self.dialog is not None:
            self.dialog.refresh()

    def render_check(self) -> None:
        mode = self.state.check_mode
        panel = self.check_panel
        self.window.viewer.set_panel_visible(panel, mode != "off")
        if mode == "off":
            return
        panel.title.setText(CHECK_TITLES[mode])
        pixels = check_view.check_plane(self.model)
        if pixels is None:
            panel.show_placeholder("open an anatomical and a functional image")
        else:
            panel.set_image(pixels)
        self.checkRendered.emit(mode)

    # --- user -> model ------------------------------------------------------------------------------------------
    def register(self) -> None:
        if self.model.pair is None:
            self.model.notify("Open an anatomical and a functional image to register them.", "warning")
            return
        if self.service.register() is not None and self.state.check_mode == "off":
            self.state.set_check_mode("checkerboard")   # the result is to be judged, not trusted

    def cycle_check(self) -> None:
        modes = CHECK_MODES
        self.state.set_check_mode(modes[(modes.index(self.state.check_mode) + 1) % len(modes)])

    def undo(self) -> None:
        if not self.state.undo():
            self.model.notify("Nothing to undo: the images are in their world alignment.")

    def reset(self) -> None:
        if self.state.reset():
            self.model.notify("Back to the world alignment (Undo restores the registration).")

    def _nudge(self, move) -> None:
        if self.model.pair is None or self.service.busy:
            return
        try:
            move()
        except MedFuseError as exc:
            self.model.notify(str(exc), "warning")

    def show_nudge_dialog(self) -> None:
        if self.model.pair is None:
            self.model.notify("Open an anatomical and a functional image first.", "warning")
            return
        if self.dialog is None:
            self.dialog = NudgeDialog(self)
        self.dialog.refresh()
        self.dialog.show()
        self.dialog.raise_()


class NudgeDialog(QDialog):
    """Move the functional image by exact amounts: translations in mm along R, A, S and rotations in degrees about
    them (through the crosshair). Non-modal, so the check view can be watched while nudging."""

    def __init__(self, controls: RegistrationControls):
        super().__init__(controls.window)
        self.controls = controls
        self.setWindowTitle("Nudge alignment")
        layout = QVBoxLayout(self)
        intro = QLabel("Move the functional image (positive: towards patient Right, Anterior, Superior; "
                       "rotations right-handed about the axes through the crosshair).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        self.shift = [QDoubleSpinBox(decimals=2, minimum=-200.0, maximum=200.0, suffix=" mm") for _ in range(3)]
        self.turn = [QDoubleSpinBox(decimals=2, minimum=-180.0, maximum=180.0, suffix=" °") for _ in range(3)]
        for row, axis in enumerate("RAS"):
            grid.addWidget(QLabel(f"shift {axis}"), row, 0)
            grid.addWidget(self.shift[row], row, 1)
            grid.addWidget(QLabel(f"rotate about {axis}"), row, 2)
            grid.addWidget(self.turn[row], row, 3)
        grid.addWidget(QLabel("nudge key step (Alt+arrows)"), 3, 0, 1, 2)
        self.step = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=20.0, value=controls.key_step,
                                   suffix=" mm / °")
        self.step.valueChanged.connect(lambda v: setattr(controls, "key_step", float(v)))
        grid.addWidget(self.step, 3, 2, 1, 2)
        layout.addLayout(grid)
        self.current = QLabel("")
        self.current.setWordWrap(True)
        layout.addWidget(self.current)
        buttons = QDialogButtonBox()
        self.apply_button = QPushButton("Apply nudge")
        self.undo_button = QPushButton("Undo")
        self.world_button = QPushButton("World alignment")
        for button in (self.apply_button, self.undo_button, self.world_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        self.apply_button.clicked.connect(self.apply)
        self.undo_button.clicked.connect(controls.undo)
        self.world_button.clicked.connect(controls.reset)
        layout.addWidget(buttons)

    def apply(self) -> None:
        shift = [spin.value() for spin in self.shift]
        turn = [spin.value() for spin in self.turn]
        self.controls._nudge(lambda: self.controls.state.nudge(shift, turn))

    def refresh(self) -> None:
        controls = self.controls
        model, state = controls.model, controls.state
        two_d = model.grid is not None and model.grid.n_slices == 1
        for spin in (self.shift[2], self.turn[0], self.turn[1]):   # a 2-D image moves in its plane only
            spin.setEnabled(not two_d)
            if two_d:
                spin.setValue(0.0)
        busy = controls.service.busy
        self.apply_button.setEnabled(model.pair is not None and not busy)
        self.undo_button.setEnabled(state.can_undo and not busy)
        self.world_button.setEnabled(state.transform is not None and not busy)
        self.current.setText("Now: world alignment (as the files place the images)" if state.transform is None
                             else f"Now: {state.transform.describe()}")
