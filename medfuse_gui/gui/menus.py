"""The menu bar of the main window: File, View, Help, built from action specs (gui/actions.py)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from .. import __version__
from . import dialogs
from .actions import ActionSpec, ViewKeyFilter, add_actions, shortcut_rows


def build_menus(window) -> tuple[dict[str, QAction], QMenu]:
    """Menus and window-wide shortcuts; returns the actions by name and the Recent pairs menu."""
    model = window.model
    app = QApplication.instance()
    if app is not None and not getattr(app, "_medfuse_key_filter", None):
        app._medfuse_key_filter = ViewKeyFilter(app)
        app.installEventFilter(app._medfuse_key_filter)

    def open_dialog(role: str, folder: bool):
        def run():
            path = dialogs.open_path(window, role, folder)
            if path:
                window.open_volume(role, path)
        return run

    def export_png():
        fused = model.current_fused()
        if fused is None:
            window.show_error("Nothing to export", "Wait for the fused image of the current slice.")
            return
        name = f"fused_{fused.method}_{model.orientation}{model.slice_index + 1:03d}.png"
        path = dialogs.save_path(window, "Export fused slice", name, "PNG image (*.png)", ".png")
        if path:
            window.export_fused_png(path)

    def export_volume(fmt: str):
        def run():
            if model.pair is None:
                window.show_error("Nothing to export", "Open an anatomical and a functional volume first.")
                return
            if fmt == "nifti":
                path = dialogs.save_path(window, "Export fused volume (NIfTI)", "fused.nii.gz",
                                         "NIfTI (*.nii.gz *.nii)")
            else:
                path = dialogs.export_folder(window, "Export fused volume as a DICOM series" if fmt == "dicom"
                                             else "Export fused volume as a PNG stack", f"fused_{fmt}")
            if path:
                window.export_volume(path, fmt)
        return run

    def save_session():
        path = dialogs.save_session_path(window)
        if path:
            window.save_session(path)

    def open_session():
        path = dialogs.open_session_path(window)
        if path:
            window.open_session(path)

    def show_shortcuts():
        window.shortcuts_dialog = dialogs.ShortcutsDialog(shortcut_rows(window), window)
        window.shortcuts_dialog.open()

    def about():
        QMessageBox.about(window, "About MedFuse", f"MedFuse {__version__}\nMultimodal medical image fusion viewer.\n"
                          "Research software: not for diagnostic use.")

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    actions = add_actions(window, file_menu, [
        ActionSpec("Open &anatomical image…", open_dialog("anatomical", False), "Ctrl+O"),
        ActionSpec("Open anatomical DICOM &folder…", open_dialog("anatomical", True)),
        ActionSpec("Open &functional image…", open_dialog("functional", False), "Ctrl+Shift+O"),
        ActionSpec("Open functional DICOM f&older…", open_dialog("functional", True)),
        None,
        ActionSpec("Open &session…", open_session, "Ctrl+Alt+O"),
        ActionSpec("Sa&ve session…", save_session, "Ctrl+S"),
    ])
    recent_menu = file_menu.addMenu("&Recent pairs")
    actions.update(add_actions(window, file_menu, [
        ActionSpec("Open &demo case (SPECT-MRI slice, Harvard atlas)", window.open_demo),
        ActionSpec("Open demo &volume (MNI152 T1 + simulated FDG-PET)", window.open_volume_demo),
        None,
        ActionSpec("&Export fused slice as PNG…", export_png, "Ctrl+E"),
        ActionSpec("Export fused volume as &NIfTI…", export_volume("nifti")),
        ActionSpec("Export fused volume as DICOM &series…", export_volume("dicom")),
        ActionSpec("Export fused volume as PNG s&tack…", export_volume("png-stack")),
        None,
        ActionSpec("&Quit", window.close, "Ctrl+Q"),
    ]))

    view_menu = bar.addMenu("&View")
    actions.update(add_actions(window, view_menu, [
        ActionSpec("&Axial slices", lambda: model.set_orientation("axial"), "A"),
        ActionSpec("&Coronal slices", lambda: model.set_orientation("coronal"), "C"),
        ActionSpec("&Sagittal slices", lambda: model.set_orientation("sagittal"), "S"),
        ActionSpec("&Next slice", lambda: model.step_slice(1), "Up"),
        ActionSpec("&Previous slice", lambda: model.step_slice(-1), "Down"),
        ActionSpec("10 slices &forward", lambda: model.step_slice(10), "PgUp"),
        ActionSpec("10 slices &back", lambda: model.step_slice(-10), "PgDown"),
        None,
        ActionSpec("Reset &zoom", window.viewer.reset_zoom, "Ctrl+0"),
        ActionSpec("Reset zoom &boxes", model.reset_boxes),
        ActionSpec("&Overlay view", lambda on: model.set_overlay(visible=on), "O", checkable=True),
        ActionSpec("&Neurological display (patient left on screen left)", lambda on: model.set_radiological(not on),
                   "R", checkable=True, tip="Radiological (default): patient right on screen left"),
        ActionSpec("Crosshair &tool (click sets the crosshair)", lambda on: _crosshair_tool(window, on), "X",
                   checkable=True, tip="Without the tool, Shift+click sets the crosshair"),
    ]))
    help_menu = bar.addMenu("&Help")
    actions.update(add_actions(window, help_menu, [
        ActionSpec("&Keyboard shortcuts and mouse", show_shortcuts, "F1"),
        ActionSpec("&About MedFuse", about),
    ]))
    overlay, neuro = actions["Overlay view"], actions["Neurological display (patient left on screen left)"]
    model.events.overlay.connect(lambda e: _check(overlay, model.overlay_visible))
    model.events.display.connect(lambda e: _check(neuro, not model.radiological))
    return actions, recent_menu


def _check(action: QAction, checked: bool) -> None:
    action.blockSignals(True)
    action.setChecked(checked)
    action.blockSignals(False)


def _crosshair_tool(window, on: bool) -> None:
    for panel in window.panels.values():
        panel.view.click_sets_point = on
