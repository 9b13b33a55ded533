"""The main window: three linked views with zoom boxes, the model selector, the metrics panel, and fusion in a
background thread."""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDockWidget, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel,
                               QMainWindow, QMessageBox, QProgressBar, QPushButton, QSlider, QSpinBox, QToolBar,
                               QWidget)

from .. import __version__, colour, pipeline
from ..fusion import get_model_info, list_models
from .metrics_panel import MetricsPanel
from .views import BOX_NAMES, Box, ImagePanel, default_boxes, link_views
from .worker import Job, WorkerThread

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEMO_CASE = RESOURCES / "demo" / "spect-mri"
FUSED_CACHE_SIZE = 64

CT_PRESETS = {"Brain (40/80)": (40, 80), "Subdural (75/215)": (75, 215), "Stroke (40/40)": (40, 40),
              "Soft tissue (50/400)": (50, 400), "Bone (600/2800)": (600, 2800)}


def demo_paths() -> tuple[Path, Path]:
    names = sorted(p.name for p in (DEMO_CASE / "MRI").glob("*.png"))
    if not names:
        raise FileNotFoundError(f"demo case missing in {DEMO_CASE}")
    return DEMO_CASE / "MRI" / names[0], DEMO_CASE / "SPECT" / names[0]


class MainWindow(QMainWindow):
    fusedShown = Signal(object)     # FusedSlice now on screen
    metricsShown = Signal(object)   # dict region -> metric -> value now on screen
    pipelineIdle = Signal()         # the fused image and its metrics for the latest request are on screen
    pairReady = Signal()            # both inputs loaded and aligned
    volumeLoaded = Signal(str)      # role
    errorShown = Signal(str)        # an error shown to the user
    warningShown = Signal(str)      # a warning shown in the status bar
    exported = Signal(str)          # path written

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"MedFuse {__version__}")
        self.setAcceptDrops(True)
        self.anatomical = None
        self.functional = None
        self.pair: pipeline.Pair | None = None
        self.slice_index = 0
        self.method = "average"
        self.colormap: str | None = None
        self.anat_window: tuple[float, float] | None = None
        self.boxes: dict[str, Box] = {}
        self.current: pipeline.FusedSlice | None = None
        self.current_metrics: dict | None = None
        self._cache: OrderedDict[tuple, pipeline.FusedSlice] = OrderedDict()
        self._fuse_job: Job | None = None
        self._metrics_job: Job | None = None
        self._fusers: dict[str, object] = {}  # touched only inside fusion-thread jobs
        self.confirm_overwrite: Callable[[Path], bool] = self._ask_overwrite
        self.modal_errors = True

        self.fusion_thread = WorkerThread("medfuse-fusion")
        self.aux_thread = WorkerThread("medfuse-aux")
        for thread in (self.fusion_thread, self.aux_thread):
            thread.worker.returned.connect(self._on_returned)
            thread.worker.errored.connect(self._on_errored)
            thread.worker.progressed.connect(self._on_progress)
            thread.worker.started.connect(self._on_started)
            thread.worker.finished.connect(self._on_finished)

        self.panels = {
            "anatomical": ImagePanel("anatomical", "Anatomical", window_level=True),
            "functional": ImagePanel("functional", "Functional"),
            "fused": ImagePanel("fused", "Fused"),
        }
        link_views(list(self.panels.values()))
        for panel in self.panels.values():
            panel.boxMoved.connect(self._on_box_moved)
            panel.boxMoveFinished.connect(self._on_box_move_finished)
            panel.show_placeholder("drop a file here" if panel.role != "fused" else "")
        self.panels["anatomical"].fileDropped.connect(lambda p: self.open_volume("anatomical", p))
        self.panels["functional"].fileDropped.connect(lambda p: self.open_volume("functional", p))
        self.panels["anatomical"].view.windowDragged.connect(self._on_window_dragged)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(4, 4, 4, 4)
        row.setSpacing(4)
        for panel in self.panels.values():
            row.addWidget(panel, 1)
        self.setCentralWidget(central)

        self.metrics_panel = MetricsPanel()
        self.metrics_panel.presetChanged.connect(lambda _: self.request_metrics())
        dock = QDockWidget("Fusion metrics", self)
        dock.setObjectName("metricsDock")
        dock.setWidget(self.metrics_panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [380], Qt.Orientation.Horizontal)
        self.metrics_dock = dock

        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self._refuse_timer = QTimer(self, singleShot=True, interval=180)
        self._refuse_timer.timeout.connect(self.request_fusion)
        self._submit_init_job()

    # --- construction ---------------------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = QToolBar("Controls")
        bar.setObjectName("controls")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addWidget(QLabel(" Method "))
        self.method_combo = QComboBox()
        self.method_combo.setMinimumContentsLength(22)
        self._fill_method_combo()
        self.method_combo.currentIndexChanged.connect(self._on_method_changed)
        bar.addWidget(self.method_combo)
        bar.addSeparator()
        bar.addWidget(QLabel(" Colormap "))
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(list(colour.COLORMAPS))
        self.colormap_combo.setToolTip("Colormap of a gray functional image (PET/SPECT from DICOM or NIfTI)")
        self.colormap_combo.setEnabled(False)
        self.colormap_combo.currentTextChanged.connect(self._on_colormap_changed)
        bar.addWidget(self.colormap_combo)
        bar.addSeparator()
        bar.addWidget(QLabel(" W/L "))
        self.wl_preset = QComboBox()
        self.wl_preset.setToolTip("Window/level presets of the anatomical image (right-drag in its view adjusts)")
        self.wl_preset.activated.connect(self._on_wl_preset)
        bar.addWidget(self.wl_preset)
        self.window_spin = QDoubleSpinBox(decimals=1, minimum=0.1, maximum=1e6, prefix="W ")
        self.level_spin = QDoubleSpinBox(decimals=1, minimum=-1e6, maximum=1e6, prefix="L ")
        for spin in (self.window_spin, self.level_spin):
            spin.setKeyboardTracking(False)
            spin.setEnabled(False)
            spin.valueChanged.connect(self._on_wl_spin)
            bar.addWidget(spin)
        bar.addSeparator()
        bar.addWidget(QLabel(" Slice "))
        self.slice_slider = QSlider(Qt.Orientation.Horizontal)
        self.slice_slider.setMinimumWidth(160)
        self.slice_slider.setEnabled(False)
        self.slice_slider.valueChanged.connect(self.set_slice)
        bar.addWidget(self.slice_slider)
        self.slice_spin = QSpinBox()
        self.slice_spin.setEnabled(False)
        self.slice_spin.valueChanged.connect(self.set_slice)
        bar.addWidget(self.slice_spin)
        self.slice_label = QLabel(" 1 / 1 ")
        bar.addWidget(self.slice_label)

    def _fill_method_combo(self) -> None:
        model = self.method_combo.model()
        for name in list_models():
            info = get_model_info(name)
            ok, reason = info.availability()
            label = info.title if info.kind == "classic" else f"{info.title} (network)"
            self.method_combo.addItem(label, name)
            index = self.method_combo.count() - 1
            tip = info.summary + (f"\n{info.paper.cite()}" if info.paper else "")
            if not ok:
                model.item(index).setEnabled(False)
                tip += f"\nUnavailable: {reason}"
            self.method_combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        entries = [
            ("Open &anatomical image…", QKeySequence("Ctrl+O"), lambda: self._open_dialog("anatomical", folder=False)),
            ("Open anatomical DICOM &folder…", None, lambda: self._open_dialog("anatomical", folder=True)),
            ("Open &functional image…", QKeySequence("Ctrl+Shift+O"), lambda: self._open_dialog("functional", folder=False)),
            ("Open functional DICOM f&older…", None, lambda: self._open_dialog("functional", folder=True)),
            (None, None, None),
            ("Open &demo case (SPECT-MRI)", None, self.open_demo),
            (None, None, None),
            ("&Export fused slice as PNG…", QKeySequence("Ctrl+E"), self._export_dialog),
            (None, None, None),
            ("&Quit", QKeySequence.StandardKey.Quit, self.close),
        ]
        for text, shortcut, slot in entries:
            if text is None:
                file_menu.addSeparator()
                continue
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        view_menu = self.menuBar().addMenu("&View")
        reset_zoom = QAction("Reset &zoom", self, shortcut=QKeySequence("Ctrl+0"))
        reset_zoom.triggered.connect(self.reset_zoom)
        view_menu.addAction(reset_zoom)
        reset_boxes = QAction("Reset zoom &boxes", self)
        reset_boxes.triggered.connect(self.reset_boxes)
        view_menu.addAction(reset_boxes)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About MedFuse", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.message_label = QLabel("Open an anatomical and a functional image (File menu or drag and drop).")
        status.addWidget(self.message_label, 1)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        status.addPermanentWidget(self.progress)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_work)
        status.addPermanentWidget(self.cancel_button)
        self.time_label = QLabel("")
        status.addPermanentWidget(self.time_label)
        self.device_label = QLabel("Device: starting…")
        status.addPermanentWidget(self.device_label)

    def _submit_init_job(self) -> None:
        """Import torch and pick the device in the fusion thread, so the window paints before torch loads."""

        def init(progress, cancelled):
            try:
                import torch

                from ..fusion.runtime import device_label, select_device

                threads = int(os.environ.get("MEDFUSE_TORCH_THREADS", "0")) or max(1, (os.cpu_count() or 2) - 1)
                torch.set_num_threads(threads)
                return device_label(select_device())
            except ImportError:
                return "CPU (PyTorch not installed: networks unavailable)"

        self.fusion_thread.submit(Job("init", init, droppable=False))

    # --- opening files ----------------------------------------------------------------------------------------------
    def _open_dialog(self, role: str, folder: bool) -> None:
        settings = QSettings()
        start = str(settings.value("lastDirectory", str(Path.home())))
        if folder:
            path = QFileDialog.getExistingDirectory(self, f"Open {role} DICOM series folder", start)
        else:
            from ..io import OPEN_FILTER

            path, _ = QFileDialog.getOpenFileName(self, f"Open {role} image or volume", start, OPEN_FILTER)
        if path:
            settings.setValue("lastDirectory", str(Path(path).parent if not folder else Path(path)))
            self.open_volume(role, path)

    def open_demo(self) -> None:
        anat, func = demo_paths()
        self.open_pair(anat, func)

    def open_pair(self, anatomical: str | Path, functional: str | Path, method: str | None = None) -> None:
        if method is not None:
            self.select_method(method)
        self.open_volume("anatomical", anatomical)
        self.open_volume("functional", functional)

    def open_volume(self, role: str, path: str | Path) -> None:
        path = Path(path)
        self.set_message(f"Opening {path.name}…")

        def load(progress, cancelled):
            from .. import io

            return io.load(path)

        self.aux_thread.submit(Job(f"load-{role}", load, payload=role, droppable=False))

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        """Dropped outside a view: fill the empty slot, anatomical first (two files: anatomical, functional)."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if len(paths) >= 2:
            self.open_pair(paths[0], paths[1])
        elif paths:
            self.open_volume("functional" if self.anatomical is not None and self.functional is None else "anatomical",
                             paths[0])
        event.acceptProposedAction()

    def _on_volume_loaded(self, role: str, volume) -> None:
        setattr(self, role, volume)
        panel = self.panels[role]
        panel.title.setText(f"{'Anatomical' if role == 'anatomical' else 'Functional'} — {volume.modality} "
                            f"— {volume.name}")
        if role == "anatomical":
            self.anat_window = volume.window
            self._fill_wl_presets(volume)
        else:
            self.colormap = pipeline.default_colormap(volume) if not volume.is_rgb else None
            self.colormap_combo.blockSignals(True)
            self.colormap_combo.setCurrentText(self.colormap or "gray")
            self.colormap_combo.setEnabled(not volume.is_rgb)
            self.colormap_combo.blockSignals(False)
        self.volumeLoaded.emit(role)
        self.set_message(f"Opened {volume.name} ({volume.modality}, "
                         f"{volume.grid_shape[2]}x{volume.grid_shape[1]}x{volume.n_slices}).")
        if self.anatomical is not None and self.functional is not None:
            anatomical, functional = self.anatomical, self.functional

            def make(progress, cancelled):
                return pipeline.make_pair(anatomical, functional)

            self.aux_thread.submit(Job("pair", make))
        else:
            self._show_single(role, volume)

    def _show_single(self, role: str, volume) -> None:
        index = volume.n_slices // 2
        pixels = volume.pixels[index]
        if role == "anatomical":
            self.panels[role].set_image(pixels, levels=self.anat_window)
        elif volume.is_rgb:
            self.panels[role].set_image(pixels)
        else:
            self.panels[role].set_image(colour.to_uint8(colour.apply_colormap(
                np.clip((pixels - volume.window[0]) / (volume.window[1] - volume.window[0]), 0, 1),
                self.colormap or "gray")))
        rows, cols = volume.shape2d
        self._ensure_boxes(rows, cols)

    def _on_pair_ready(self, pair: pipeline.Pair) -> None:
        old_shape = self.pair.anatomical.shape2d if self.pair is not None else None
        self.pair = pair
        self._cache.clear()
        self.metrics_panel.forget_methods()
        rows, cols = pair.anatomical.shape2d
        if old_shape != (rows, cols):
            self.boxes = {}
        self._ensure_boxes(rows, cols)
        n = pair.n_slices
        for widget in (self.slice_slider, self.slice_spin):
            widget.blockSignals(True)
            widget.setRange(0, n - 1)
            widget.setValue(n // 2)
            widget.setEnabled(n > 1)
            widget.blockSignals(False)
        self.slice_index = n // 2
        self.slice_label.setText(f" {self.slice_index + 1} / {n} ")
        for warning in pair.warnings:
            self.show_warning("Geometry", warning)
        if pair.warnings:
            self.set_message("Warning: " + pair.warnings[0])
        self.pairReady.emit()
        self._show_inputs()
        self.request_fusion()

    # --- showing --------------------------------------------------------------------------------------------------
    def _ensure_boxes(self, rows: int, cols: int) -> None:
        if not self.boxes:
            self.boxes = default_boxes(rows, cols)
        self.boxes = {n: b.clamped(rows, cols) for n, b in self.boxes.items()}
        for panel in self.panels.values():
            panel.ensure_boxes(self.boxes, rows, cols)

    def _functional_display(self, index: int) -> np.ndarray:
        pair = self.pair
        pixels = pair.functional.pixels[index]
        if pixels.ndim == 3:
            return pixels
        unit = np.clip((pixels.astype(np.float32) - pair.functional.window[0])
                       / max(pair.functional.window[1] - pair.functional.window[0], 1e-6), 0, 1)
        return colour.to_uint8(colour.apply_colormap(unit, self.colormap or "gray"))

    def _show_inputs(self) -> None:
        if self.pair is None:
            return
        self.panels["anatomical"].set_image(self.pair.anatomical.pixels[self.slice_index], levels=self.anat_window)
        self.panels["functional"].set_image(self._functional_display(self.slice_index))

    def _show_fused(self, fused: pipeline.FusedSlice) -> None:
        self.current = fused
        info = get_model_info(fused.method)
        self.panels["fused"].title.setText(f"Fused — {info.title}")
        self.panels["fused"].set_image(fused.fused_rgb_uint8())
        self.time_label.setText(f"{info.title}: {fused.seconds * 1000:.0f} ms")
        self.fusedShown.emit(fused)

    # --- fusion -----------------------------------------------------------------------------------------------------
    def _cache_key(self) -> tuple:
        return (self.method, self.slice_index, self.anat_window, self.colormap)

    def request_fusion(self) -> None:
        if self.pair is None:
            return
        key = self._cache_key()
        self.current_metrics = None
        if key in self._cache:
            self._cache.move_to_end(key)
            self.fusion_thread.cancel("fuse")
            self._fuse_job = None
            self._show_fused(self._cache[key])
            self.request_metrics()
            return
        pair, index, method, window, cmap = self.pair, self.slice_index, self.method, self.anat_window, self.colormap
        info = get_model_info(method)
        fusers = self._fusers

        def fuse(progress, cancelled):
            inputs = pipeline.slice_inputs(pair, index, window, None, cmap, info.colour_space)
            if cancelled():
                raise pipeline.Cancelled()
            if method not in fusers:
                from ..fusion import get_model

                fusers[method] = get_model(method)
            return pipeline.fuse_inputs(inputs, fusers[method], index)

        self.panels["fused"].title.setText(f"Fused — {info.title} (fusing…)")
        self._fuse_job = self.fusion_thread.submit(Job("fuse", fuse, payload=key))

    def request_metrics(self) -> None:
        fused = self.current
        if fused is None:
            return
        from .. import metrics

        regions = {"whole": None, **{name: box.rect() for name, box in self.boxes.items()}}
        preset = self.metrics_panel.preset.currentText()
        a, b, f = fused.metric_arrays()

        def compute(progress, cancelled):
            start = time.perf_counter()
            values = metrics.compute_regions(a, b, f, regions, preset=preset)
            return values, time.perf_counter() - start

        self._metrics_job = self.aux_thread.submit(Job("metrics", compute, payload=(fused, dict(self.boxes))))

    def select_method(self, name: str) -> None:
        info = get_model_info(name)
        index = self.method_combo.findData(info.name)
        if index < 0:
            raise KeyError(f"{info.name} is not in the model selector (registered after the window was built?)")
        self.method_combo.setCurrentIndex(index)
        if self.method != info.name:  # setCurrentIndex emitted nothing when the index did not change
            self._on_method_changed(index)

    def _on_method_changed(self, index: int) -> None:
        name = self.method_combo.itemData(index)
        if not name:
            return
        info = get_model_info(name)
        ok, reason = info.availability()
        if not ok:
            self.show_warning("Method unavailable", f"{info.title}: {reason}")
            self.method_combo.blockSignals(True)
            self.method_combo.setCurrentIndex(self.method_combo.findData(self.method))
            self.method_combo.blockSignals(False)
            return
        self.method = name
        QSettings().setValue("lastMethod", name)
        self.request_fusion()

    def set_slice(self, index: int) -> None:
        if self.pair is None or index == self.slice_index or not 0 <= index < self.pair.n_slices:
            return
        self.slice_index = index
        for widget in (self.slice_slider, self.slice_spin):
            widget.blockSignals(True)
            widget.setValue(index)
            widget.blockSignals(False)
        self.slice_label.setText(f" {index + 1} / {self.pair.n_slices} ")
        self.metrics_panel.forget_methods()
        self._show_inputs()
        self.request_fusion()

    def _on_colormap_changed(self, name: str) -> None:
        if self.functional is None or self.functional.is_rgb:
            return
        self.colormap = name
        self.metrics_panel.forget_methods()
        if self.pair is not None:
            self._show_inputs()
            self.request_fusion()

    # --- window / level -------------------------------------------------------------------------------------------
    def _fill_wl_presets(self, volume) -> None:
        self.wl_preset.clear()
        self.wl_preset.addItem("Default", volume.window)
        if volume.modality == "CT":
            for name, (level, width) in CT_PRESETS.items():
                self.wl_preset.addItem(name, (level - width / 2, level + width / 2))
        finite = volume.pixels
        self.wl_preset.addItem("Full range", (float(finite.min()), float(finite.max()) or 1.0))
        self._set_window(volume.window, refuse=False)
        for spin in (self.window_spin, self.level_spin):
            spin.setEnabled(True)

    def _set_window(self, window: tuple[float, float], refuse: bool = True) -> None:
        low, high = float(window[0]), float(window[1])
        if high <= low:
            high = low + 1e-3
        self.anat_window = (low, high)
        for spin, value in ((self.window_spin, high - low), (self.level_spin, (low + high) / 2)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.panels["anatomical"].set_levels(self.anat_window)
        if refuse and self.pair is not None:
            # The fused image uses the anatomical window the user sees; re-fuse once the adjustment settles.
            self._refuse_timer.start()

    def _on_wl_preset(self, index: int) -> None:
        window = self.wl_preset.itemData(index)
        if window is not None:
            self._set_window(window)

    def _on_wl_spin(self, _value: float) -> None:
        width, level = self.window_spin.value(), self.level_spin.value()
        self._set_window((level - width / 2, level + width / 2))

    def _on_window_dragged(self, dx: float, dy: float) -> None:
        if self.anat_window is None:
            return
        low, high = self.anat_window
        width, level = high - low, (high + low) / 2
        step = max(width, 1e-3) / 300.0
        width = max(width + dx * step * 2, 1e-3)
        level = level - dy * step * 2
        self._set_window((level - width / 2, level + width / 2))

    # --- boxes ------------------------------------------------------------------------------------------------------
    def _on_box_moved(self, name: str, box: Box) -> None:
        self.boxes[name] = box
        for panel in self.panels.values():
            if panel.box(name) != box:
                panel.set_box(name, box)

    def _on_box_move_finished(self, name: str, box: Box) -> None:
        self._on_box_moved(name, box)
        QSettings().setValue(f"box/{name}", [box.x, box.y, box.w, box.h])
        self.request_metrics()

    def move_box(self, name: str, box: Box) -> None:
        """Programmatic move (tests, restored sessions): as if the user dragged it in the anatomical view."""
        rows, cols = self.pair.anatomical.shape2d if self.pair else (256, 256)
        box = box.clamped(rows, cols)
        self.panels["anatomical"].set_box(name, box)
        self._on_box_move_finished(name, box)

    def reset_boxes(self) -> None:
        if self.pair is None:
            return
        self.boxes = {}
        rows, cols = self.pair.anatomical.shape2d
        self._ensure_boxes(rows, cols)
        self.request_metrics()

    def reset_zoom(self) -> None:
        panel = self.panels["anatomical"]
        if panel._shape is not None:
            from PySide6.QtCore import QRectF

            panel.view.setRange(QRectF(0, 0, panel._shape[1], panel._shape[0]), padding=0.02)

    # --- worker results -------------------------------------------------------------------------------------------
    def _on_started(self, job: Job) -> None:
        if job.kind in ("fuse-volume",):
            self.progress.setVisible(True)
            self.cancel_button.setVisible(True)

    def _on_progress(self, job: Job, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_finished(self, job: Job) -> None:
        if job.kind in ("fuse-volume",):
            self.progress.setVisible(False)
            self.cancel_button.setVisible(False)

    def _on_returned(self, job: Job, result) -> None:
        if job.kind == "init":
            self.device_label.setText(f"Device: {result}")
        elif job.kind.startswith("load-"):
            self._on_volume_loaded(job.payload, result)
        elif job.kind == "pair":
            self._on_pair_ready(result)
        elif job.kind == "fuse":
            self._cache[job.payload] = result
            while len(self._cache) > FUSED_CACHE_SIZE:
                self._cache.popitem(last=False)
            if self._fuse_job is not None and job.id == self._fuse_job.id and job.payload == self._cache_key():
                self._fuse_job = None
                self._show_fused(result)
                self.request_metrics()
        elif job.kind == "metrics":
            if self._metrics_job is None or job.id != self._metrics_job.id:
                return
            fused, _boxes = job.payload
            if fused is not self.current:
                return
            values, seconds = result
            self.current_metrics = values
            self.metrics_panel.show_values(get_model_info(fused.method).title, values, seconds)
            self.metricsShown.emit(values)
            if self._fuse_job is None:
                self.pipelineIdle.emit()

    def _on_errored(self, job: Job, message: str) -> None:
        titles = {"fuse": "Fusion failed", "metrics": "Metrics failed", "pair": "Cannot fuse these images",
                  "load-anatomical": "Cannot open the anatomical image", "load-functional":
                  "Cannot open the functional image", "init": "PyTorch"}
        if job.kind == "fuse":
            if self._fuse_job is None or job.id != self._fuse_job.id:
                return
            self._fuse_job = None
            self.panels["fused"].title.setText("Fused — failed")
        self.show_error(titles.get(job.kind, "Error"), message)

    def cancel_work(self) -> None:
        self.fusion_thread.cancel("fuse-volume")
        self.set_message("Cancelled.")

    # --- export ---------------------------------------------------------------------------------------------------
    def _export_dialog(self) -> None:
        if self.current is None:
            self.show_warning("Nothing to export", "Fuse an image first.")
            return
        settings = QSettings()
        start = Path(str(settings.value("lastExportDirectory", str(Path.home()))))
        name = f"fused_{self.current.method}_slice{self.current.index:03d}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export fused slice", str(start / name), "PNG image (*.png)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            settings.setValue("lastExportDirectory", str(Path(path).parent))
            self.export_fused_png(path)

    def export_fused_png(self, path: str | Path) -> bool:
        """Write the fused slice at full resolution; asks before overwriting. True when written."""
        from ..io.errors import MedFuseError
        from ..io.writers import write_png

        path = Path(path)
        if self.current is None:
            self.show_error("Nothing to export", "Fuse an image first.")
            return False
        if path.exists() and not self.confirm_overwrite(path):
            self.set_message(f"Not exported: {path.name} exists.")
            return False
        try:
            write_png(path, self.current.fused_rgb_uint8(), force=True)
        except MedFuseError as exc:
            self.show_error("Export failed", str(exc))
            return False
        self.set_message(f"Exported {path}")
        self.exported.emit(str(path))
        return True

    def _ask_overwrite(self, path: Path) -> bool:
        answer = QMessageBox.question(self, "Overwrite?", f"{path.name} already exists. Replace it?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # --- messages -------------------------------------------------------------------------------------------------
    def set_message(self, text: str) -> None:
        self.message_label.setText(text)

    def show_error(self, title: str, message: str, modal: bool | None = None) -> None:
        """Tell the user; never raise. Non-blocking (open(), not exec()) so background work keeps flowing."""
        self.set_message(f"{title}: {message}")
        self.errorShown.emit(message)
        if modal if modal is not None else self.modal_errors:
            box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    def show_warning(self, title: str, message: str) -> None:
        """Something the user should know that does not stop the work (geometry fallbacks, disabled methods)."""
        self.set_message(f"{title}: {message}")
        self.warningShown.emit(message)

    def _about(self) -> None:
        QMessageBox.about(self, "About MedFuse", f"MedFuse {__version__}\nMultimodal medical image fusion viewer.\n"
                          "Research software: not for diagnostic use.")

    # --- keyboard / lifecycle -------------------------------------------------------------------------------------
    def keyPressEvent(self, event):
        key = event.key()
        if self.pair is not None and key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            step = 1 if key in (Qt.Key.Key_Up, Qt.Key.Key_PageUp) else -1
            if key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                step *= 10
            self.set_slice(int(np.clip(self.slice_index + step, 0, self.pair.n_slices - 1)))
            return
        super().keyPressEvent(event)

    def closeEvent(self, event):
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        for thread in (self.fusion_thread, self.aux_thread):
            thread.stop()
