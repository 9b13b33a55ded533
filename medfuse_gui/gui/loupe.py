"""The loupe: every selected method on the same slice, in a grid of linked views with the same red and green boxes
and insets, beside a sortable metrics table (best bold, second underlined) and a bar or radar chart."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QComboBox, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QScrollArea, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from .. import report
from ..fusion import get_model_info, list_models
from .metrics_panel import format_value
from .charts import clear_chart, draw_bar_chart
from .views import Box, ImagePanel, link_views

REGIONS = {"Whole image": "whole", "Red box": "red", "Green box": "green"}


class NumericItem(QTableWidgetItem):
    """A table cell that sorts by its number, not its text (NaN last)."""

    def __init__(self, value: float | None, text: str):
        super().__init__(text)
        self.value = value if value is not None and math.isfinite(value) else None
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other):
        if isinstance(other, NumericItem):
            if self.value is None:
                return False
            if other.value is None:
                return True
            return self.value < other.value
        return super().__lt__(other)


class LoupeWidget(QWidget):
    boxMoved = Signal(str, object)
    boxMoveFinished = Signal(str, object)
    methodsChanged = Signal(list)       # the checked methods, in registry order
    exportFigureRequested = Signal()
    exportTableRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from .. import metrics

        self._metrics = metrics
        self.preset = metrics.DEFAULT_PRESET
        self.cells: dict[str, ImagePanel] = {}
        self.values: dict[str, dict[str, dict[str, float]]] = {}
        self.seconds: dict[str, float] = {}
        self._boxes: dict[str, Box] = {}
        self._shape: tuple[int, int] | None = None

        self.method_list = QListWidget()
        self.method_list.setMinimumWidth(110)
        self.method_list.setMaximumWidth(240)
        for name in list_models():
            info = get_model_info(name)
            ok, reason = info.availability()
            item = QListWidgetItem(info.title)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if ok else Qt.CheckState.Unchecked)
            if not ok:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(reason)
            self.method_list.addItem(item)
        self.method_list.itemChanged.connect(lambda _: self._rebuild())

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(3)

        self.region_combo = QComboBox()
        self.region_combo.addItems(list(REGIONS))
        self.region_combo.currentIndexChanged.connect(lambda _: self._refresh_table())
        self.chart_kind = QComboBox()
        self.chart_kind.addItems(["Bars", "Radar"])
        self.chart_kind.currentIndexChanged.connect(lambda _: self._redraw_chart())
        self.chart_metric = QComboBox()
        self.chart_metric.currentIndexChanged.connect(lambda _: self._redraw_chart())
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setWordWrap(False)
        self.chart = pg.PlotWidget()
        self.chart.setBackground("w")
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.hideButtons()
        self.chart.setMinimumHeight(180)
        export_figure = QPushButton("Export figure…")
        export_figure.setToolTip("Paper-style figure: sources and methods with the red and green crops (PNG, PDF, SVG)")
        export_figure.clicked.connect(self.exportFigureRequested)
        export_table = QPushButton("Export table…")
        export_table.setToolTip("Metrics table as CSV or LaTeX (best bold, second underlined)")
        export_table.clicked.connect(self.exportTableRequested)

        side = QWidget()
        side.setMinimumWidth(240)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 0, 0, 0)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Metrics over"))
        controls.addWidget(self.region_combo, 1)
        side_layout.addLayout(controls)
        self.progress_label = QLabel("")
        self.progress_label.setStyleSheet("color: #555;")
        side_layout.addWidget(self.progress_label)
        side_layout.addWidget(self.table, 3)
        chart_controls = QHBoxLayout()
        chart_controls.addWidget(self.chart_kind)
        chart_controls.addWidget(self.chart_metric, 1)
        side_layout.addLayout(chart_controls)
        self.chart_title = QLabel("")
        self.chart_title.setWordWrap(True)
        side_layout.addWidget(self.chart_title)
        side_layout.addWidget(self.chart, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(export_figure)
        buttons.addWidget(export_table)
        side_layout.addLayout(buttons)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Methods"))
        left_layout.addWidget(self.method_list)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.grid_host)
        splitter.addWidget(side)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 2)
        splitter.setSizes([200, 880, 560])
        # In a scroll area: a loupe of many methods scrolls rather than setting the whole window's minimum width
        # (a tab widget is as wide as its widest page).
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(splitter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll)
        self._set_metric_names()
        self._rebuild()

    # --- configuration ----------------------------------------------------------------------------------------------
    def selected_methods(self) -> list[str]:
        return [self.method_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.method_list.count())
                if self.method_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_preset(self, preset: str) -> None:
        self.preset = preset
        self.values.clear()
        self._set_metric_names()
        self._refresh_table()

    def _set_metric_names(self) -> None:
        self.metric_names = list(self._metrics.get_preset(self.preset).metrics)
        current = self.chart_metric.currentText()
        self.chart_metric.blockSignals(True)
        self.chart_metric.clear()
        self.chart_metric.addItems(self.metric_names)
        self.chart_metric.setCurrentText(current if current in self.metric_names else "Qabf")
        self.chart_metric.blockSignals(False)

    def _rebuild(self) -> None:
        """One cell per source and per checked method, in a near-square grid; all views linked."""
        for panel in self.cells.values():
            self.grid.removeWidget(panel)
            panel.deleteLater()
        self.cells = {}
        names = ["__anatomical__", "__functional__"] + self.selected_methods()
        columns = max(2, math.ceil(math.sqrt(len(names) * 1.4)))
        for index, name in enumerate(names):
            source = {"__anatomical__": "Anatomical", "__functional__": "Functional"}.get(name)
            panel = ImagePanel(name, source or get_model_info(name).label, colour_bar=False)
            panel.title.setToolTip(source or get_model_info(name).title)  # cells are narrow: short titles
            panel.boxMoved.connect(self._on_box_moved)
            panel.boxMoveFinished.connect(self._on_box_move_finished)
            self.grid.addWidget(panel, index // columns, index % columns)
            self.cells[name] = panel
        link_views(list(self.cells.values()))
        if self._shape is not None and self._boxes:
            for panel in self.cells.values():
                panel.ensure_boxes(self._boxes, *self._shape)
        self.methodsChanged.emit(self.selected_methods())

    # --- content ----------------------------------------------------------------------------------------------------
    def clear_results(self) -> None:
        self.values.clear()
        self.seconds.clear()
        for name, panel in self.cells.items():
            if not name.startswith("__"):
                panel.title.setText(f"{get_model_info(name).label} (waiting…)")
                panel.show_placeholder("")
        self._refresh_table()

    def set_sources(self, anatomical: np.ndarray, levels, functional_rgb: np.ndarray, boxes: dict[str, Box]) -> None:
        self._shape = anatomical.shape[:2]
        self._boxes = dict(boxes)
        self.cells["__anatomical__"].set_image(anatomical, levels=levels)
        self.cells["__functional__"].set_image(functional_rgb)
        for panel in self.cells.values():
            panel.ensure_boxes(self._boxes, *self._shape)

    def set_result(self, method: str, fused_rgb: np.ndarray, seconds: float) -> None:
        panel = self.cells.get(method)
        if panel is None:
            return
        panel.set_image(fused_rgb)
        panel.title.setText(f"{get_model_info(method).label} — {seconds * 1000:.0f} ms")
        panel.title.setToolTip(f"{get_model_info(method).title} — {seconds * 1000:.0f} ms")
        self.seconds[method] = seconds

    def set_progress(self, fused: int, measured: int, total: int) -> None:
        self.progress_label.setText("" if measured == total else
                                    f"fused {fused} of {total} methods, measured {measured} (fastest first)…")

    def set_metrics(self, method: str, values: dict[str, dict[str, float]]) -> None:
        self.values[method] = values
        self._refresh_table()

    def set_metrics_done(self) -> None:
        """``values`` was filled by the controller: redraw the table and chart from it."""
        self._refresh_table()

    def set_boxes(self, boxes: dict[str, Box]) -> None:
        self._boxes = dict(boxes)
        for panel in self.cells.values():
            for name, box in boxes.items():
                if name in panel.rois and panel.box(name) != box:
                    panel.set_box(name, box)

    def _on_box_moved(self, name: str, box: Box) -> None:
        self.boxMoved.emit(name, box)   # the model clamps it and every cell follows through set_boxes

    def _on_box_move_finished(self, name: str, box: Box) -> None:
        self.boxMoveFinished.emit(name, box)

    # --- table and chart ----------------------------------------------------------------------------------------------
    def region(self) -> str:
        return REGIONS[self.region_combo.currentText()]

    def ranked_table(self) -> dict[str, dict[str, report.Cell]]:
        region = self.region()
        per_method = {m: [v[region]] for m, v in self.values.items() if region in v}
        return report.summarise(per_method, self.metric_names)

    def _refresh_table(self) -> None:
        table = self.ranked_table()
        self.table.setSortingEnabled(False)
        self.table.clear()
        headers = ["Method", "ms"] + [f"{n} {'↑' if self._metrics.METRICS[n].higher_is_better else '↓'}"
                                      for n in self.metric_names]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(table))
        for row, (method, cells) in enumerate(table.items()):
            info = get_model_info(method)
            name_item = QTableWidgetItem(info.label)    # short: the table shares a narrow side panel
            name_item.setToolTip(info.title)
            name_item.setData(Qt.ItemDataRole.UserRole, method)
            self.table.setItem(row, 0, name_item)
            seconds = self.seconds.get(method)
            self.table.setItem(row, 1, NumericItem(seconds, f"{seconds * 1000:.0f}" if seconds is not None else ""))
            for col, name in enumerate(self.metric_names, start=2):
                cell = cells[name]
                item = NumericItem(cell.mean, format_value(cell.mean))
                if cell.rank is not None:
                    font = QFont()
                    font.setBold(cell.rank == 1)
                    font.setUnderline(cell.rank == 2)
                    item.setFont(font)
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        self._redraw_chart()

    def cell_font(self, method: str, metric: str) -> QFont | None:
        col = 2 + self.metric_names.index(metric)
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == method:
                return self.table.item(row, col).font()
        return None

    def _redraw_chart(self) -> None:
        clear_chart(self.chart)
        self.chart.getPlotItem().showAxes(True)
        table = self.ranked_table()
        self.chart_title.setText("")
        if not table:
            return
        methods = list(table)
        titles = [get_model_info(m).title for m in methods]
        if self.chart_kind.currentText() == "Bars":
            metric = self.chart_metric.currentText() or self.metric_names[0]
            values = [table[m][metric].mean for m in methods]
            spec = self._metrics.METRICS[metric]
            draw_bar_chart(self.chart, titles, values, [table[m][metric].rank == 1 for m in methods])
            self.chart_title.setText(f"{spec.title} ({'higher' if spec.higher_is_better else 'lower'} is better)")
            return
        # Radar: each metric scaled across methods so that 1 is the best method and 0 the worst.
        names = self.metric_names
        angles = np.linspace(0, 2 * np.pi, len(names), endpoint=False)
        self.chart.getPlotItem().showAxes(False)
        self.chart.setAspectLocked(True)
        self.chart.enableAutoRange()  # bars set fixed ranges
        for r in (0.25, 0.5, 0.75, 1.0):
            ring = np.append(angles, angles[0])
            self.chart.plot(r * np.cos(ring), r * np.sin(ring), pen=pg.mkPen(200, 200, 200))
        for angle, name in zip(angles, names):
            label = pg.TextItem(name, color="#333", anchor=(0.5, 0.5))
            label.setPos(1.18 * np.cos(angle), 1.18 * np.sin(angle))
            self.chart.addItem(label)
        colours = [pg.intColor(i, hues=max(len(methods), 3)) for i in range(len(methods))]
        legend = self.chart.addLegend(offset=(2, 2))
        for method, title, colour in zip(methods, titles, colours):
            scores = []
            for name in names:
                values = np.array([table[m][name].mean for m in methods], dtype=float)
                finite = values[np.isfinite(values)]
                value = table[method][name].mean
                if not math.isfinite(value) or finite.size == 0 or finite.max() == finite.min():
                    scores.append(0.5)
                    continue
                score = (value - finite.min()) / (finite.max() - finite.min())
                scores.append(score if self._metrics.METRICS[name].higher_is_better else 1 - score)
            radius = np.append(scores, scores[0])
            ring = np.append(angles, angles[0])
            self.chart.plot(radius * np.cos(ring), radius * np.sin(ring), pen=pg.mkPen(colour, width=2), name=title)
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.chart_title.setText("Each metric scaled: the best method at the rim")
