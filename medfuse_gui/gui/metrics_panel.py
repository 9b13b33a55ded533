"""The live metrics panel: whole image and per zoom box, plus a bar chart comparing the methods fused so far on the
current slice. It only displays numbers computed by ``medfuse_gui.metrics`` in a worker thread."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from .views import BOX_COLOURS, draw_bar_chart

REGIONS = ("whole", "red", "green")
REGION_TITLES = {"whole": "Whole", "red": "Red box", "green": "Green box"}


def format_value(value: float) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 10:
        return f"{value:.2f}"
    return f"{value:.4f}"


class MetricsPanel(QWidget):
    presetChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from .. import metrics

        self._specs = metrics.METRICS
        self._metrics = metrics
        self.names = list(metrics.get_preset(metrics.DEFAULT_PRESET).metrics)
        self.header = QLabel("Metrics")
        self.header.setStyleSheet("font-weight: 600;")
        self.header.setWordWrap(True)
        self.preset = QComboBox()
        self.preset.addItems(list(metrics.PRESETS))
        self.preset.setCurrentText(metrics.DEFAULT_PRESET)
        self.preset.setToolTip("Conventions: ours (documented in docs/metrics.md), or those of the CDDFuse Python "
                               "Evaluator / the VIFB MATLAB toolbox, to compare with published tables")
        self.preset.currentTextChanged.connect(self._on_preset_changed)
        self.table = QTableWidget(len(self.names), len(REGIONS))
        self.table.setHorizontalHeaderLabels([REGION_TITLES[r] for r in REGIONS])
        for col, region in enumerate(REGIONS):
            if region in BOX_COLOURS:
                self.table.horizontalHeaderItem(col).setForeground(QBrush(QColor(*BOX_COLOURS[region])))
        self.table.setVerticalHeaderLabels([self._row_title(n) for n in self.names])
        for row, name in enumerate(self.names):
            spec = self._specs[name]
            self.table.verticalHeaderItem(row).setToolTip(
                f"{spec.title} — {'higher' if spec.higher_is_better else 'lower'} is better")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(18)
        self.table.setAlternatingRowColors(True)
        self.chart_metric = QComboBox()
        self.chart_metric.addItems(self.names)
        self.chart_metric.setCurrentText("Qabf" if "Qabf" in self.names else self.names[0])
        self.chart_metric.currentTextChanged.connect(lambda _: self._redraw_chart())
        self.chart = pg.PlotWidget()
        self.chart.setBackground("w")
        self.chart.setMinimumHeight(150)
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.hideButtons()
        self.chart.getAxis("left").setTextPen("k")
        self.chart.getAxis("bottom").setTextPen("k")
        self._by_method: dict[str, dict[str, float]] = {}
        self._current_method: str | None = None

        top = QHBoxLayout()
        top.addWidget(QLabel("Conventions:"))
        top.addWidget(self.preset, 1)
        chart_row = QHBoxLayout()
        chart_row.addWidget(QLabel("Compare methods on:"))
        chart_row.addWidget(self.chart_metric, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addLayout(top)
        layout.addWidget(self.table, 3)
        layout.addLayout(chart_row)
        layout.addWidget(self.chart, 2)

    def _on_preset_changed(self, preset: str) -> None:
        """Each preset reports its own metric set (the toolboxes differ): rebuild the rows, then recompute."""
        self.names = list(self._metrics.get_preset(preset).metrics)
        self.table.setRowCount(len(self.names))
        self.table.setVerticalHeaderLabels([self._row_title(n) for n in self.names])
        for row, name in enumerate(self.names):
            spec = self._specs[name]
            self.table.verticalHeaderItem(row).setToolTip(
                f"{spec.title} — {'higher' if spec.higher_is_better else 'lower'} is better")
        chart = self.chart_metric.currentText()
        self.chart_metric.blockSignals(True)
        self.chart_metric.clear()
        self.chart_metric.addItems(self.names)
        self.chart_metric.setCurrentText(chart if chart in self.names else self.names[0])
        self.chart_metric.blockSignals(False)
        self.forget_methods()
        self.presetChanged.emit(preset)

    def _row_title(self, name: str) -> str:
        return f"{name} {'↑' if self._specs[name].higher_is_better else '↓'}"

    def clear(self, message: str = "Metrics") -> None:
        self.header.setText(message)
        for row in range(self.table.rowCount()):
            for col in range(self.table.columnCount()):
                self.table.setItem(row, col, QTableWidgetItem(""))
        self._by_method.clear()
        self._redraw_chart()

    def forget_methods(self) -> None:
        """The slice or inputs changed: other methods' numbers no longer apply."""
        self._by_method.clear()
        self._redraw_chart()

    def show_values(self, method_title: str, values: dict[str, dict[str, float]], seconds: float) -> None:
        """``values``: region ("whole", "red", "green") -> metric name -> value."""
        self.header.setText(f"{method_title} — computed in {seconds * 1000:.0f} ms")
        bold = QFont()
        bold.setBold(True)
        for row, name in enumerate(self.names):
            for col, region in enumerate(REGIONS):
                value = values.get(region, {}).get(name)
                item = QTableWidgetItem(format_value(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if region == "whole":
                    item.setFont(bold)
                self.table.setItem(row, col, item)
        self._by_method[method_title] = values.get("whole", {})
        self._current_method = method_title
        self._redraw_chart()

    def value(self, region: str, name: str) -> str:
        item = self.table.item(self.names.index(name), REGIONS.index(region))
        return item.text() if item is not None else ""

    def _redraw_chart(self) -> None:
        self.chart.clear()
        metric = self.chart_metric.currentText()
        methods = [m for m, v in self._by_method.items() if metric in v and math.isfinite(v[metric])]
        if not methods:
            self.chart.setTitle("fuse with several methods to compare them here", color="#666", size="9pt")
            return
        spec = self._specs[metric]
        draw_bar_chart(self.chart, methods, [self._by_method[m][metric] for m in methods],
                       [m == self._current_method for m in methods],
                       f"{spec.title} ({'higher' if spec.higher_is_better else 'lower'} is better)")
