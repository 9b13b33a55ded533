"""Drives the loupe from the main window's state: fuses every selected method for the current slice in the fusion
thread (cached results first), computes their metrics in the auxiliary thread, keeps boxes in step, and exports."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog

from .. import pipeline
from .loupe import LoupeWidget
from .worker import Job


class LoupeController(QObject):
    complete = Signal()            # every selected method fused and measured for the current slice
    figureExported = Signal(str)
    tableExported = Signal(str)

    def __init__(self, window, loupe: LoupeWidget):
        super().__init__(window)
        self.window = window
        self.loupe = loupe
        self.results: dict[str, pipeline.FusedSlice] = {}
        self._tokens = itertools.count(1)
        self.token = 0
        loupe.methodsChanged.connect(lambda _: self.refresh())
        loupe.boxMoved.connect(self._on_box_moved)
        loupe.boxMoveFinished.connect(self._on_box_move_finished)
        loupe.exportFigureRequested.connect(self._export_figure_dialog)
        loupe.exportTableRequested.connect(self._export_table_dialog)

    @property
    def active(self) -> bool:
        return self.window.tabs.currentWidget() is self.loupe

    def refresh(self) -> None:
        """(Re)fill the grid for the window's current slice, orientation, windows and boxes."""
        window = self.window
        if window.pair is None or not self.active:
            return
        self.token = next(self._tokens)
        self.results.clear()
        self.loupe.clear_results()
        anatomical = pipeline.plane(window.pair.anatomical, window.orientation, window.slice_index)
        functional_rgb, _ = window._functional_planes()
        self.loupe.set_sources(anatomical, window.anat_window, functional_rgb, window.boxes)
        self._keys = {window.cache_key_for(m): m for m in self.loupe.selected_methods()}
        main_job = window._fuse_job
        for method in self.loupe.selected_methods():
            key = window.cache_key_for(method)
            if key in window._cache:
                self._on_fused(method, window._cache[key])
            elif main_job is not None and main_job.payload == key:
                continue  # the viewer is fusing this one already: offer() picks its result up
            else:
                window.fusion_thread.submit(Job(f"loupe:{method}", window.make_fuse_job(method),
                                                payload=(self.token, key)))

    def offer(self, key: tuple, fused: pipeline.FusedSlice) -> None:
        """A result fused for the viewer: use it if the loupe is waiting for exactly that slice and method."""
        method = getattr(self, "_keys", {}).get(key)
        if self.active and method is not None and method not in self.results:
            self._on_fused(method, fused)

    def handles(self, job: Job) -> bool:
        return job.kind.startswith("loupe")

    def on_returned(self, job: Job, result) -> None:
        token = job.payload[0]
        if job.kind.startswith("loupe:"):
            self.window.store_in_cache(job.payload[1], result)
            if token == self.token:
                self._on_fused(job.kind.split(":", 1)[1], result)
        elif job.kind.startswith("loupe-metrics:") and token == self.token:
            method = job.kind.split(":", 1)[1]
            self.loupe.set_metrics(method, result)
            if set(self.loupe.values) >= set(self.loupe.selected_methods()):
                self.complete.emit()

    def _on_fused(self, method: str, fused: pipeline.FusedSlice) -> None:
        self.results[method] = fused
        self.loupe.set_result(method, fused.fused_rgb_uint8(), fused.seconds)
        self._submit_metrics(method, fused)

    def _submit_metrics(self, method: str, fused: pipeline.FusedSlice) -> None:
        from .. import metrics

        regions = {"whole": None, **{name: box.rect() for name, box in self.window.boxes.items()}}
        preset = self.loupe.preset
        a, b, f = fused.metric_arrays()
        self.window.aux_thread.submit(Job(f"loupe-metrics:{method}",
                                          lambda p, c: metrics.compute_regions(a, b, f, regions, preset=preset),
                                          payload=(self.token,)))

    def remeasure(self) -> None:
        """Boxes or conventions changed: same fused images, new numbers."""
        if not self.active:
            return
        self.token = next(self._tokens)
        self.loupe.values.clear()
        for method, fused in self.results.items():
            self._submit_metrics(method, fused)

    def _on_box_moved(self, name, box) -> None:
        self.window.apply_box(name, box, from_loupe=True)

    def _on_box_move_finished(self, name, box) -> None:
        self.window.apply_box(name, box, from_loupe=True, finished=True)
        self.remeasure()

    # --- export -----------------------------------------------------------------------------------------------------
    def comparison(self):
        from ..compare import Comparison

        methods = [m for m in self.loupe.selected_methods() if m in self.results and m in self.loupe.values]
        if not methods:
            return None
        first = self.results[methods[0]]
        label = f"{Path(self.window.anatomical.source).name}" if self.window.anatomical is not None else ""
        if self.window.pair is not None and self.window.pair.n_slices > 1:
            label += f" {self.window.orientation} {self.window.slice_index}"
        comparison = Comparison(first.inputs, {n: b.rect() for n, b in self.window.boxes.items()}, label,
                                preset=self.loupe.preset)
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
            self.window.show_warning("Nothing to export", "Wait until the loupe has fused and measured the methods.")
            return False
        if path.exists() and not self.window.confirm_overwrite(path):
            return False
        try:
            writer(comparison, path, force=True)
        except (MedFuseError, ValueError) as exc:
            self.window.show_error("Export failed", str(exc))
            return False
        self.window.set_message(f"Exported {path}")
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
