"""Dialogs: opening files and folders, choosing export targets (a folder export may name a new folder), asking before
overwriting, the identity-mismatch question, and Help > Keyboard shortcuts."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHeaderView, QMessageBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from ..io import OPEN_FILTER
from ..viewer.session import SUFFIX as SESSION_SUFFIX

SESSION_FILTER = f"MedFuse session (*{SESSION_SUFFIX} *.json)"


def _start(key: str) -> Path:
    return Path(str(QSettings().value(key, str(Path.home()))))


def open_path(parent: QWidget, role: str, folder: bool) -> str | None:
    start = _start("lastDirectory")
    if folder:
        path = QFileDialog.getExistingDirectory(parent, f"Open {role} DICOM series folder", str(start))
    else:
        path, _ = QFileDialog.getOpenFileName(parent, f"Open {role} image or volume", str(start), OPEN_FILTER)
    if path:
        QSettings().setValue("lastDirectory", str(Path(path) if folder else Path(path).parent))
    return path or None


def save_path(parent: QWidget, title: str, name: str, filters: str, suffix: str = "") -> str | None:
    """A file (or, for folder exports, a new folder's) name; never the dialog's own overwrite question (we ask)."""
    start = _start("lastExportDirectory")
    path, _ = QFileDialog.getSaveFileName(parent, title, str(start / name), filters,
                                          options=QFileDialog.Option.DontConfirmOverwrite)
    if not path:
        return None
    if suffix and not path.lower().endswith(suffix):
        path += suffix
    QSettings().setValue("lastExportDirectory", str(Path(path).parent))
    return path


class ExportFolderDialog(QFileDialog):
    """Choose the folder a series is written to: an existing one (browse to it, or type its name), or a new one typed
    in the name field, which the export creates. Qt's own directory mode refuses a name that does not exist yet
    ("Directory not found"), and its file mode opens a typed existing folder instead of choosing it; this dialog
    accepts both, so the export decides (it asks before replacing a folder that is not empty)."""

    def __init__(self, parent: QWidget | None, title: str, start: Path, name: str):
        super().__init__(parent, title, str(start))
        self.setOption(QFileDialog.Option.DontUseNativeDialog)   # the override below needs Qt's own dialog
        self.setFileMode(QFileDialog.FileMode.Directory)
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        self.setLabelText(QFileDialog.DialogLabel.Accept, "Export here")
        self.setLabelText(QFileDialog.DialogLabel.FileName, "Folder:")
        self.selectFile(name)
        self.chosen: Path | None = None

    def accept(self) -> None:
        files = self.selectedFiles()
        if not files:
            return
        path = Path(files[0])
        if path.is_dir() or (not path.exists() and path.parent.is_dir()):
            self.chosen = path
            QDialog.accept(self)
        else:
            super().accept()    # Qt explains why it cannot be used (a file, or a missing parent folder)


def export_folder(parent: QWidget, title: str, name: str) -> str | None:
    """The folder a series is written to: typed as a new name (it is created), or an existing one."""
    dialog = ExportFolderDialog(parent, f"{title} — choose or name a folder", _start("lastExportDirectory"), name)
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.chosen is None:
        return None
    QSettings().setValue("lastExportDirectory", str(dialog.chosen.parent))
    return str(dialog.chosen)


def open_session_path(parent: QWidget) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open session", str(_start("lastSessionDirectory")),
                                          SESSION_FILTER)
    if path:
        QSettings().setValue("lastSessionDirectory", str(Path(path).parent))
    return path or None


def save_session_path(parent: QWidget) -> str | None:
    path = save_path(parent, "Save session", f"session{SESSION_SUFFIX}", SESSION_FILTER)
    if path and not path.endswith(".json"):
        path += SESSION_SUFFIX
    return path


def ask_overwrite(parent: QWidget, path: Path) -> bool:
    answer = QMessageBox.question(parent, "Overwrite?", f"{path.name} already exists. Replace it?",
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def ask_mismatch(parent: QWidget, mismatches: list[str], answer: Callable[[bool], None]) -> QMessageBox:
    """Non-blocking: ``answer(True)`` to fuse anyway, ``answer(False)`` to keep the images that are open."""
    box = QMessageBox(QMessageBox.Icon.Warning, "These images may not belong together",
                      "The two images disagree:\n\n• " + "\n• ".join(mismatches)
                      + "\n\nFuse them anyway?", QMessageBox.StandardButton.NoButton, parent)
    fuse = box.addButton("Fuse anyway", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.finished.connect(lambda _: answer(box.clickedButton() is fuse))
    box.open()
    return box


class ShortcutsDialog(QDialog):
    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts and mouse gestures")
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Keys / gesture", "Does"])
        for row, (keys, what) in enumerate(rows):
            table.setItem(row, 0, QTableWidgetItem(keys))
            table.setItem(row, 1, QTableWidgetItem(what))
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(620, 520)
