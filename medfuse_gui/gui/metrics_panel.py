"""The live metrics panel: whole image and per zoom box, plus a bar chart comparing the methods measured under exactly
the current slice, windows, colormap and conventions. It renders from the model (numbers computed by
``medfuse_gui.metrics`` in a worker thread) and never shows a number of other parameters."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from ..fusion import get_model_info, list_models
from ..viewer.boxes import BOX_COLOURS
from ..viewer.model import REGIONS, ViewerModel
from .charts import clear_chart, draw_bar_chart

REGION_TITLES = {"whole": "Whole", "red": "Red box", "green": "Green box"}
PENDING = "…"


def format_value(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 10:
        return f"{value:.2f}"
    return f"{value:.4f}"


class MetricsPanel(QWidget):
    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        from .. import metrics

        self.model = model
        self._specs = metrics.METRICS
        self._metrics = metrics
        self.names: list[str] = []
        self.header = QLabel("Metrics")
        self.header.setStyleSheet("font-weight: 600;")
        self.header.setWordWrap(True)
        self.preset = QComboBox()
        self.preset.addItems(list(metrics.PRESETS))
        self.preset.setToolTip("Conventions: ours (documented in docs/metrics.md), or those of the CDDFuse Python "
                               "Evaluator / the VIFB MATLAB toolbox, to compare with published tables")
        self.preset.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.preset.textActivated.connect(model.set_preset)
        self.table = QTableWidget(0, len(REGIONS))
        self.table.setHorizontalHeaderLabels([REGION_TITLES[r] for r in REGIONS])
        for col, region in enumerate(REGIONS):
            if region in BOX_COLOURS:
                self.table.horizontalHeaderItem(col).setForeground(QBrush(QColor(*BOX_COLOURS[region])))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(self.fontMetrics().horizontalAdvance("-0.00000") + 12)  # numbers never elide
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setAlternatingRowColors(True)
        self.chart_metric = QComboBox()
        self.chart_metric.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.chart_metric.currentTextChanged.connect(lambda _: self._redraw_chart())
        self.chart_title = QLabel("")
        self.chart_title.setWordWrap(True)
        self.chart_title.setStyleSheet("color: #333;")
        self.chart = pg.PlotWidget()
        self.chart.setBackground("w")
        self.chart.setMinimumHeight(150)
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.hideButtons()
        self.chart.getAxis("left").setTextPen("k")
        self.chart.getAxis("bottom").setTextPen("k")
        self.chart.getAxis("left").setWidth(110)

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
        layout.addWidget(self.chart_title)
        layout.addWidget(self.chart, 2)
        self._set_preset_rows()
        model.events.preset.connect(lambda e: self._set_preset_rows())
        model.events.any.connect(self._on_event)

    def _on_event(self, event) -> None:
        if event.value.type not in ("preset", "message", "jobs", "device", "overlay", "display", "pending"):
            self.render()

    def _set_preset_rows(self) -> None:
        """Each preset reports its own metric set (the toolboxes differ)."""
        preset = self.model.preset
        self.preset.blockSignals(True)
        self.preset.setCurrentText(preset)
        self.preset.blockSignals(False)
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
        self.chart_metric.setCurrentText(chart if chart in self.names else ("Qabf" if "Qabf" in self.names
                                                                            else self.names[0]))
        self.chart_metric.blockSignals(False)
        self.render()

    def _row_title(self, name: str) -> str:
        return f"{name} {'↑' if self._specs[name].higher_is_better else '↓'}"

    def render(self) -> None:
        model = self.model
        fused = model.current_fused()
        if model.pair is None:
            self.header.setText("Metrics")
        elif fused is None:
            self.header.setText(f"{get_model_info(model.method).title} — waiting for the fused image")
        else:
            self.header.setText(f"{get_model_info(fused.method).title} — {model.orientation} slice "
                                f"{model.slice_index + 1}, {model.preset} conventions")
        bold = QFont()
        bold.setBold(True)
        for col, region in enumerate(REGIONS):
            values = model.metrics_for(region) if fused is not None else None
            for row, name in enumerate(self.names):
                text = "" if fused is None else PENDING if values is None else format_value(values.get(name))
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if region == "whole":
                    item.setFont(bold)
                self.table.setItem(row, col, item)
        self._redraw_chart()

    def value(self, region: str, name: str) -> str:
        item = self.table.item(self.names.index(name), REGIONS.index(region))
        return item.text() if item is not None else ""

    def chart_methods(self) -> list[tuple[str, float]]:
        """(method title, value) of the bars drawn now."""
        metric = self.chart_metric.currentText()
        return [(get_model_info(m).title, values[metric]) for m, values in self.model.compared_methods(list_models())
                if metric in values and math.isfinite(values[metric])]

    def _redraw_chart(self) -> None:
        clear_chart(self.chart)
        metric = self.chart_metric.currentText()
        bars = self.chart_methods()
        if not bars or not metric:
            self.chart_title.setText("Choose other methods: each one measured on this slice with these windows "
                                     "is compared here.")
            return
        spec = self._specs[metric]
        current = get_model_info(self.model.method).title
        draw_bar_chart(self.chart, [t for t, _ in bars], [v for _, v in bars], [t == current for t, _ in bars])
        self.chart_title.setText(f"{spec.title} ({'higher' if spec.higher_is_better else 'lower'} is better) — "
                                 f"methods measured on this slice with these windows")
