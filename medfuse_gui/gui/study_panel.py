"""Two docks rendered from the model: the study panel (whose scans these are: patient, study, series, grid, frame of
reference, unit and SUV factor with its inputs, per source) and the read-out (the data probe under the mouse, or at the
crosshair when the mouse is not over a view), which the status bar repeats on one line."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ..io.headers import MISSING, header_summary
from ..viewer.model import ViewerModel
from ..viewer.readout import Probe, probe


class StudyPanel(QWidget):
    """One column per source; rows in the order of ``io.headers.header_summary`` (the order ``medfuse info`` prints)."""

    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Anatomical", "Functional"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table)
        model.events.sources.connect(lambda e: self.render())
        self.render()

    def render(self) -> None:
        model = self.model
        functional = model.pair.functional_source if model.pair is not None else model.functional
        columns = [header_summary(v) if v is not None else None for v in (model.anatomical, functional)]
        labels: list[str] = []
        for summary in columns:
            for label, _ in summary.rows() if summary else []:
                if label not in labels:
                    labels.append(label)
        self.table.setRowCount(len(labels))
        self.table.setVerticalHeaderLabels(labels)
        for col, summary in enumerate(columns):
            rows = dict(summary.rows()) if summary else {}
            for row, label in enumerate(labels):
                item = QTableWidgetItem(rows.get(label, "" if summary is None else MISSING))
                item.setToolTip(item.text())
                self.table.setItem(row, col, item)

    def value(self, label: str, column: int) -> str:
        for row in range(self.table.rowCount()):
            if self.table.verticalHeaderItem(row).text() == label:
                return self.table.item(row, column).text()
        raise KeyError(label)


class ReadoutPanel(QWidget):
    """The data probe as labelled rows; ``show_point(None)`` falls back to the crosshair."""

    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.title = QLabel("Crosshair")
        self.title.setStyleSheet("font-weight: 600;")
        self.body = QLabel("")
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.body, 1)
        self.current: Probe | None = None
        self._hovering = False
        for name in ("sources", "cursor", "orientation", "fused"):
            model.events[name].connect(lambda e: self._hovering or self.show_point(None))
        self.show_point(None)

    def show_point(self, voxel) -> Probe | None:
        self._hovering = voxel is not None
        point = voxel if voxel is not None else self.model.cursor
        self.current = probe(self.model, point) if self.model.grid is not None else None
        self.title.setText("Under the mouse" if voxel is not None else "At the crosshair")
        self.body.setText("" if self.current is None else
                          "\n".join(f"{label}: {text}" for label, text in self.current.rows()))
        return self.current
