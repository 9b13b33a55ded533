"""Drives the loupe from the viewer model: every selected method fused for the current slice (fastest first, cached
results at once), measured, and shown only while its key is the current one; boxes in step; exports."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog

from ..fusion import get_model_info
from ..viewer import render
from ..viewer.compute import ComputeService
from ..viewer.model import REGIONS, ViewerModel
from .loupe import LoupeWidget

REFRESH_EVENTS = ("sources", "orientation", "cursor", "anat_window", "func_window", "colormap", "preset")


def fastest_first(methods: list[str], seconds_per_pixel: dict[str, float] | None = None) -> list[str]:
    """Cheapest first: by the cost measured in this session where there is one, else the catalogue's typical time
    (classic methods take milliseconds, networks up to seconds on a CPU); registry order among equals."""
    measured = seconds_per_pixel or {}

    def cost(method: str) -> float:
        if method in measured:
            return measured[method]
        typical = get_model_info(method).typical_ms
        return float("inf") if typical is None else typical / 1000.0 / (256 * 256)

    return sorted(methods, key=cost)


class LoupeController(QObject):
    complete = Signal()            # every selected method fused and measured for the current slice
    figureExported = Signal(str)
    tableExported = Signal(str)

    def __init__(self, window, model: ViewerModel, service: ComputeService, loupe: LoupeWidget):
        super().__init__(window)
        self.window, self.model, self.service, self.loupe = window, model, service, loupe
        self.results: dict[str, object] = {}
        self._shown_plane = None
        loupe.methodsChanged.connect(lambda _: self.refresh())
        loupe.boxMoved.connect(lambda name, box: model.set_box(name, box, finished=False))
        loupe.boxMoveFinished.connect(lambda name, box: model.set_box(name, box, finished=True))
        loupe.exportFigureRequested.connect(self._export_figure_dialog)
        loupe.exportTableRequested.connect(self._export_table_dialog)
        for name in REFRESH_EVENTS:
            model.events[name].connect(lambda event: self.refresh())
        model.events.boxes.connect(self._on_boxes)
        model.events.metrics.connect(lambda event: self._collect_metrics())
        service.events.result.connect(lambda event: self._on_result(event.value))

    @property
    def active(self) -> bool:
        return self.window.tabs.currentWidget() is self.loupe

    def selected(self) -> list[str]:
        return self.loupe.selected_methods()

    def refresh(self) -> None:
        """(Re)fill the grid for the current slice, windows and boxes; fuse what is missing, fastest first."""
        model = self.model
        if model.pair is None or not self.active:
            return
        self.results.clear()
        self.loupe.clear_results()
        functional_rgb, _ = render.functional_plane(model)
        self.loupe.set_sources(render.anatomical_plane(model), model.anat_window, functional_rgb, model.boxes)
        for method in fastest_first(self.selected(), self.service.seconds_per_pixel):
            fused = self.service.cached(method)
            if fused is not None:
                self._show(method, fused)
            else:
                self.service.request_fusion(method, kind=f"loupe:{method}")
        self._collect_metrics()

    def _on_result(self, key) -> None:
        if self.active and key.method in self.selected() and key == self.model.fusion_key(key.method):
            self._show(key.method, self.service.fused_cache.get(key))
            self._collect_metrics()

    def _show(self, method: str, fused) -> None:
        if fused is None or self.results.get(method) is fused:
            return
        self.results[method] = fused
        self.loupe.set_result(method, fused.fused_rgb_uint8(), fused.seconds)
        self.service.request_metrics(method)

    def _on_boxes(self, event) -> None:
        if not self.active:
            return
        self.loupe.set_boxes(self.model.boxes)
        if event.value[1]:   # released: re-measure every method over the new box
            for method in self.results:
                self.service.request_metrics(method)
            self._collect_metrics()

    def _collect_metrics(self) -> None:
        """Show the numbers of each method that are complete for the current parameters; drop any other."""
        if not self.active or self.model.pair is None:
            return
        self.loupe.values.clear()
        for method in self.results:
            values = {region: self.model.metrics_for(region, method) for region in REGIONS}
            if all(v is not None for v in values.values()):
                self.loupe.values[method] = values
        self.loupe.set_metrics_done()
        selected = self.selected()
        self.loupe.set_progress(len(self.results), len(self.loupe.values), len(selected))
        if selected and set(self.loupe.values) >= set(selected):
            self.complete.emit()

    # --- export -----------------------------------------------------------------------------------------------------
    def comparison(self):
        from ..compare import Comparison

        methods = [m for m in self.selected() if m in self.results and m in self.loupe.values]
        if not methods:
            return None
        first = self.results[methods[0]]
        model = self.model
        label = Path(model.anatomical.source).name if model.anatomical is not None else ""
        if model.is_volume:
            label += f" {model.orientation} {model.slice_index + 1}"
        comparison = Comparison(first.inputs, {n: b.rect() for n, b in model.boxes.items()}, label,
                                preset=model.preset)
        for method in methods:
            comparison.add(self.results[method], self.loupe.values[method])
        return comparison

    def export_figure(self, path: str | Path) -> bool:
        from ..compare import figure

        return self._export(path, figure, self.figureExported)

    def export_table(self, path: str | Path) -> bool:
        from ..compare import write_table

        return self._export(path, write_table, self.tableExported)

    def _export(self, path, writer, signal) -> bool:
        from ..io.errors import MedFuseError

        path = Path(path)
        comparison = self.comparison()
        if comparison is None:
            self.model.notify("Nothing to export: wait until the loupe has fused and measured the methods.",
                              "warning")
            return False
        if path.exists() and not self.window.confirm_overwrite(path):
            return False
        try:
            writer(comparison, path, force=True)
        except (MedFuseError, ValueError) as exc:
            self.window.show_error("Export failed", str(exc))
            return False
        self.model.notify(f"Exported {path}")
        signal.emit(str(path))
        return True

    def _export_dialog(self, title: str, name: str, filters: str, export) -> None:
        settings = QSettings()
        start = Path(str(settings.value("lastExportDirectory", str(Path.home()))))
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(start / name), filters,
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            settings.setValue("lastExportDirectory", str(Path(path).parent))
            export(path)

    def _export_figure_dialog(self) -> None:
        self._export_dialog("Export comparison figure", f"comparison_{time.strftime('%Y%m%d')}.png",
                            "PNG (*.png);;PDF (*.pdf);;SVG (*.svg)", self.export_figure)

    def _export_table_dialog(self) -> None:
        self._export_dialog("Export metrics table", f"comparison_{time.strftime('%Y%m%d')}.csv",
                            "CSV (*.csv);;LaTeX (*.tex);;Markdown (*.md)", self.export_table)
