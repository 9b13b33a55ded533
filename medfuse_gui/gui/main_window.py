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
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel,
                               QMainWindow, QMessageBox, QProgressBar, QPushButton, QSlider, QSpinBox, QTabWidget, QToolBar,
                               QWidget)

from .. import __version__, colour, pipeline
from ..fusion import get_model_info, list_models
from ..io import to_unit
from .loupe import LoupeWidget
from .loupe_controller import LoupeController
from .metrics_panel import MetricsPanel
from .views import BOX_NAMES, Box, ImagePanel, default_boxes, link_views
from .worker import Job, WorkerThread

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEMO_CASE = RESOURCES / "demo" / "spect-mri"
VOLUME_DEMO = RESOURCES / "demo" / "mni-pet"
FUSED_CACHE_SIZE = 64
ORIENTATION_KEYS = {Qt.Key.Key_A: "axial", Qt.Key.Key_C: "coronal", Qt.Key.Key_S: "sagittal"}

CT_PRESETS = {"Brain (40/80)": (40, 80), "Subdural (75/215)": (75, 215), "Stroke (40/40)": (40, 40),
              "Soft tissue (50/400)": (50, 400), "Bone (600/2800)": (600, 2800)}
MR_PRESETS = {"Tissue 1-99 %": (1, 99), "High contrast 5-95 %": (5, 95), "Bright detail 50-99.9 %": (50, 99.9)}


def demo_paths() -> tuple[Path, Path]:
    names = sorted(p.name for p in (DEMO_CASE / "MRI").glob("*.png"))
    if not names:
        raise FileNotFoundError(f"demo case missing in {DEMO_CASE}")
    return DEMO_CASE / "MRI" / names[0], DEMO_CASE / "SPECT" / names[0]


def volume_demo_paths() -> tuple[Path, Path]:
    """MNI152 T1 (1 mm) and a SIMULATED FDG-PET on a 3 mm LAS grid with another origin (resources/demo/mni-pet)."""
    return VOLUME_DEMO / "mni152_t1.nii.gz", VOLUME_DEMO / "simulated_fdg_pet.nii.gz"


def overlay(anatomical_unit: np.ndarray, functional_rgb: np.ndarray, functional_level: np.ndarray, alpha: float,
            threshold: float) -> np.ndarray:
    """Alpha blend of the coloured functional image over the gray anatomy; functional values at or below
    ``threshold`` (0..1 of the functional window) are transparent. Returns uint8 RGB."""
    mask = (functional_level > threshold).astype(np.float32)[..., None] * np.float32(alpha)
    base = np.repeat(anatomical_unit[..., None], 3, axis=-1)
    return colour.to_uint8(base * (1 - mask) + functional_rgb * mask)


class MainWindow(QMainWindow):
    fusedShown = Signal(object)     # FusedSlice now on screen
    metricsShown = Signal(object)   # dict region -> metric -> value now on screen
    pipelineIdle = Signal()         # the fused image and its metrics for the latest request are on screen
    pairReady = Signal()            # both inputs loaded and aligned
    volumeLoaded = Signal(str)      # role
    errorShown = Signal(str)        # an error shown to the user
    warningShown = Signal(str)      # a warning shown in the status bar
    exported = Signal(str)          # path written
    deviceReady = Signal(str)       # torch imported in the fusion thread; the device it will use
    volumeExported = Signal(object)  # list of paths written by a volume export

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"MedFuse {__version__}")
        self.setAcceptDrops(True)
        self.anatomical = None
        self.functional = None
        self.pair: pipeline.Pair | None = None
        self.slice_index = 0
        self.orientation = "axial"
        self.method = "average"
        self.colormap: str | None = None
        self.anat_window: tuple[float, float] | None = None
        self.func_window: tuple[float, float] | None = None
        self.overlay_alpha = 0.5
        self.overlay_threshold = 0.15
        self.boxes: dict[str, Box] = {}
        self._boxes_by_orientation: dict[str, dict[str, Box]] = {}
        self.current: pipeline.FusedSlice | None = None
        self.current_metrics: dict | None = None
        self._cache: OrderedDict[tuple, pipeline.FusedSlice] = OrderedDict()
        self._fuse_job: Job | None = None
        self._metrics_job: Job | None = None
        self._volume_job: Job | None = None
        self._fusers: dict[str, object] = {}  # touched only inside fusion-thread jobs
        self.confirm_overwrite: Callable[[Path], bool] = self._ask_overwrite
        self.modal_errors = True
        self.device: str | None = None

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
            "overlay": ImagePanel("overlay", "Overlay (alpha blend)"),
        }
        link_views(list(self.panels.values()))
        for panel in self.panels.values():
            panel.boxMoved.connect(self._on_box_moved)
            panel.boxMoveFinished.connect(self._on_box_move_finished)
            panel.show_placeholder("drop a file here" if panel.role != "fused" else "")
        self.panels["anatomical"].fileDropped.connect(lambda p: self.open_volume("anatomical", p))
        self.panels["functional"].fileDropped.connect(lambda p: self.open_volume("functional", p))
        self.panels["anatomical"].view.windowDragged.connect(self._on_window_dragged)

        viewer = QWidget()
        row = QHBoxLayout(viewer)
        row.setContentsMargins(4, 4, 4, 4)
        row.setSpacing(4)
        for panel in self.panels.values():
            row.addWidget(panel, 1)
        self.panels["overlay"].setVisible(False)
        self.loupe = LoupeWidget()
        self.loupe_controller = LoupeController(self, self.loupe)
        self.tabs = QTabWidget()
        self.tabs.addTab(viewer, "Viewer")
        self.tabs.addTab(self.loupe, "Loupe — compare all methods")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.setCentralWidget(self.tabs)

        self.metrics_panel = MetricsPanel()
        self.metrics_panel.presetChanged.connect(self._on_preset_changed)
        dock = QDockWidget("Fusion metrics", self)
        dock.setObjectName("metricsDock")
        dock.setWidget(self.metrics_panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [380], Qt.Orientation.Horizontal)
        self.metrics_dock = dock

        self._build_toolbar()
        self._build_volume_toolbar()
        self._build_menus()
        self._build_status_bar()
        self._refuse_timer = QTimer(self, singleShot=True, interval=180)
        self._refuse_timer.timeout.connect(self.request_fusion)
        # torch takes ~1 s to import: start it in the fusion thread once the window has painted, not before
        QTimer.singleShot(300, self._submit_init_job)
        self._restore_settings()

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

    def _build_volume_toolbar(self) -> None:
        self.addToolBarBreak()
        bar = QToolBar("Volume and overlay")
        bar.setObjectName("volume")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addWidget(QLabel(" View "))
        self.orientation_combo = QComboBox()
        self.orientation_combo.addItems([o.capitalize() for o in pipeline.ORIENTATIONS])
        self.orientation_combo.setToolTip("Slice orientation of volumes (keys A, C, S)")
        self.orientation_combo.setEnabled(False)
        self.orientation_combo.currentIndexChanged.connect(
            lambda i: self.set_orientation(pipeline.ORIENTATIONS[i]))
        bar.addWidget(self.orientation_combo)
        bar.addWidget(QLabel(" Slice "))
        self.slice_slider = QSlider(Qt.Orientation.Horizontal)
        self.slice_slider.setMinimumWidth(200)
        self.slice_slider.setEnabled(False)
        self.slice_slider.valueChanged.connect(self.set_slice)
        bar.addWidget(self.slice_slider)
        self.slice_spin = QSpinBox()
        self.slice_spin.setEnabled(False)
        self.slice_spin.valueChanged.connect(self.set_slice)
        bar.addWidget(self.slice_spin)
        self.slice_label = QLabel(" 1 / 1 ")
        bar.addWidget(self.slice_label)
        bar.addSeparator()
        bar.addWidget(QLabel(" Functional window "))
        self.func_low_spin = QDoubleSpinBox(decimals=2, minimum=-1e9, maximum=1e9, prefix="low ")
        self.func_high_spin = QDoubleSpinBox(decimals=2, minimum=-1e9, maximum=1e9, prefix="high ")
        for spin in (self.func_low_spin, self.func_high_spin):
            spin.setKeyboardTracking(False)
            spin.setEnabled(False)
            spin.setToolTip("Values of a gray PET/SPECT mapped to the bottom and top of its colormap")
            spin.valueChanged.connect(self._on_func_window_spin)
            bar.addWidget(spin)
        bar.addSeparator()
        self.overlay_check = QCheckBox("Overlay")
        self.overlay_check.setToolTip("Show an alpha-blend overlay beside the fusion")
        self.overlay_check.toggled.connect(self.set_overlay_visible)
        bar.addWidget(self.overlay_check)
        bar.addWidget(QLabel(" α "))
        self.alpha_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=50)
        self.alpha_slider.setMaximumWidth(90)
        self.alpha_slider.valueChanged.connect(self._on_overlay_controls)
        bar.addWidget(self.alpha_slider)
        bar.addWidget(QLabel(" threshold "))
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=95, value=15)
        self.threshold_slider.setMaximumWidth(90)
        self.threshold_slider.setToolTip("Functional values below this fraction of the window are transparent")
        self.threshold_slider.valueChanged.connect(self._on_overlay_controls)
        bar.addWidget(self.threshold_slider)

    def _fill_method_combo(self) -> None:
        model = self.method_combo.model()
        for name in list_models():
            info = get_model_info(name)
            ok, reason = info.availability()
            label = info.title if info.kind == "classic" else f"{info.title} (network)"
            self.method_combo.addItem(label, name)
            index = self.method_combo.count() - 1
            tip = info.summary + (f"\n{info.paper.cite()}" if info.paper else "")
            if info.caveat:
                tip += f"\nShipped weights: {info.caveat}"
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
            ("RECENT", None, None),
            ("Open &demo case (SPECT-MRI slice, Harvard atlas)", None, self.open_demo),
            ("Open demo &volume (MNI152 T1 + simulated FDG-PET)", None, self.open_volume_demo),
            (None, None, None),
            ("&Export fused slice as PNG…", QKeySequence("Ctrl+E"), self._export_dialog),
            ("Export fused volume as &NIfTI…", None, lambda: self._export_volume_dialog("nifti")),
            ("Export fused volume as DICOM &series…", None, lambda: self._export_volume_dialog("dicom")),
            ("Export fused volume as PNG s&tack…", None, lambda: self._export_volume_dialog("png-stack")),
            (None, None, None),
            ("&Quit", QKeySequence.StandardKey.Quit, self.close),
        ]
        for text, shortcut, slot in entries:
            if text is None:
                file_menu.addSeparator()
                continue
            if text == "RECENT":
                self.recent_menu = file_menu.addMenu("&Recent pairs")
                self._fill_recent_menu()
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
        for name in pipeline.ORIENTATIONS:
            action = QAction(f"{name.capitalize()} slices", self)
            action.triggered.connect(lambda checked=False, o=name: self.set_orientation(o))
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        demo = QAction("Open demo &volume (simulated PET)", self)
        demo.triggered.connect(self.open_volume_demo)
        help_menu.addAction(demo)
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

    def open_volume_demo(self) -> None:
        anat, func = volume_demo_paths()
        self.open_pair(anat, func)
        self.set_message("Demo volume: MNI152 T1 with a SIMULATED FDG-PET (not patient data).")

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
            self.func_window = None if volume.is_rgb else volume.window
            for spin, value in zip((self.func_low_spin, self.func_high_spin), volume.window):
                spin.blockSignals(True)
                spin.setValue(value)
                spin.setSingleStep(max((volume.window[1] - volume.window[0]) / 50, 0.01))
                spin.setEnabled(not volume.is_rgb)
                spin.blockSignals(False)
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
        if old_shape != pair.anatomical.shape2d:
            self.boxes, self._boxes_by_orientation = {}, {}
        is_volume = pair.n_slices > 1
        self.orientation_combo.setEnabled(is_volume)
        if not is_volume and self.orientation != "axial":
            self.orientation_combo.setCurrentIndex(0)
        self._configure_slices()
        for warning in pair.warnings:
            self.show_warning("Geometry", warning)
        if pair.warnings:
            self.set_message("Warning: " + pair.warnings[0])
        self._remember_pair()
        self.pairReady.emit()
        self._show_inputs()
        self.request_fusion()

    def _configure_slices(self) -> None:
        """Slider range, centre slice and boxes for the current orientation."""
        n = self.pair.n_planes(self.orientation)
        self.slice_index = n // 2
        for widget in (self.slice_slider, self.slice_spin):
            widget.blockSignals(True)
            widget.setRange(0, n - 1)
            widget.setValue(self.slice_index)
            widget.setEnabled(n > 1)
            widget.blockSignals(False)
        self.slice_label.setText(f" {self.slice_index + 1} / {n} ")
        rows, cols = pipeline.plane(self.pair.anatomical, self.orientation, self.slice_index).shape[:2]
        self.boxes = dict(self._boxes_by_orientation.get(self.orientation, {})) or self._saved_boxes(rows, cols)
        self._ensure_boxes(rows, cols)

    def set_orientation(self, orientation: str) -> None:
        if orientation not in pipeline.ORIENTATIONS or orientation == self.orientation:
            return
        if self.pair is not None and self.pair.n_slices < 2 and orientation != "axial":
            return
        self._boxes_by_orientation[self.orientation] = dict(self.boxes)
        self.orientation = orientation
        self.orientation_combo.blockSignals(True)
        self.orientation_combo.setCurrentIndex(pipeline.ORIENTATIONS.index(orientation))
        self.orientation_combo.blockSignals(False)
        if self.pair is None:
            return
        self.metrics_panel.forget_methods()
        self._configure_slices()
        self._show_inputs()
        self.reset_zoom()
        self.request_fusion()

    # --- showing --------------------------------------------------------------------------------------------------
    def _ensure_boxes(self, rows: int, cols: int) -> None:
        if not self.boxes:
            self.boxes = default_boxes(rows, cols)
        self.boxes = {n: b.clamped(rows, cols) for n, b in self.boxes.items()}
        for panel in self.panels.values():
            panel.ensure_boxes(self.boxes, rows, cols)

    def _functional_planes(self) -> tuple[np.ndarray, np.ndarray]:
        """(RGB uint8 shown in the functional view, level in [0,1] used for overlay transparency)."""
        pair = self.pair
        pixels = pipeline.plane(pair.functional, self.orientation, self.slice_index)
        if pixels.ndim == 3:
            return pixels, colour.luminance(pixels)
        unit = to_unit(pixels, self.func_window or pair.functional.window)
        return colour.to_uint8(colour.apply_colormap(unit, self.colormap or "gray")), unit

    def _show_inputs(self) -> None:
        if self.pair is None:
            return
        anatomical = pipeline.plane(self.pair.anatomical, self.orientation, self.slice_index)
        self.panels["anatomical"].set_image(anatomical, levels=self.anat_window)
        functional_rgb, level = self._functional_planes()
        self.panels["functional"].set_image(functional_rgb)
        if self.overlay_check.isChecked():
            blended = overlay(to_unit(anatomical, self.anat_window), functional_rgb.astype(np.float32) / 255, level,
                              self.overlay_alpha, self.overlay_threshold)
            self.panels["overlay"].set_image(blended)

    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay_check.blockSignals(True)
        self.overlay_check.setChecked(visible)
        self.overlay_check.blockSignals(False)
        self.panels["overlay"].setVisible(visible)
        if visible and self.pair is not None:
            rows, cols = pipeline.plane(self.pair.anatomical, self.orientation, self.slice_index).shape[:2]
            self.panels["overlay"].ensure_boxes(self.boxes, rows, cols)
            self._show_inputs()

    def _on_overlay_controls(self) -> None:
        self.overlay_alpha = self.alpha_slider.value() / 100.0
        self.overlay_threshold = self.threshold_slider.value() / 100.0
        if self.overlay_check.isChecked():
            self._show_inputs()

    def _show_fused(self, fused: pipeline.FusedSlice) -> None:
        self.current = fused
        info = get_model_info(fused.method)
        # a known weakness of the shipped weights stays visible beside the image it concerns
        warning = " — ⚠ known limitation (hover)" if info.caveat else ""
        self.panels["fused"].title.setText(f"Fused — {info.title}{warning}")
        self.panels["fused"].title.setToolTip(info.caveat)
        self.panels["fused"].set_image(fused.fused_rgb_uint8())
        self.time_label.setText(f"{info.title}: {fused.seconds * 1000:.0f} ms")
        self.fusedShown.emit(fused)

    # --- fusion -----------------------------------------------------------------------------------------------------
    def _cache_key(self) -> tuple:
        return self.cache_key_for(self.method)

    def cache_key_for(self, method: str) -> tuple:
        return (method, self.orientation, self.slice_index, self.anat_window, self.func_window, self.colormap)

    def store_in_cache(self, key: tuple, fused: pipeline.FusedSlice) -> None:
        self._cache[key] = fused
        self._cache.move_to_end(key)
        while len(self._cache) > FUSED_CACHE_SIZE:
            self._cache.popitem(last=False)

    def make_fuse_job(self, method: str):
        """A job function fusing the current slice with ``method`` (state captured now, run in the fusion thread)."""
        pair, index, window, cmap = self.pair, self.slice_index, self.anat_window, self.colormap
        func_window, orientation = self.func_window, self.orientation
        info = get_model_info(method)
        fusers = self._fusers

        def fuse(progress, cancelled):
            inputs = pipeline.slice_inputs(pair, index, window, func_window, cmap, info.colour_space, orientation)
            if cancelled():
                raise pipeline.Cancelled()
            if method not in fusers:
                from ..fusion import get_model

                fusers[method] = get_model(method)
            return pipeline.fuse_inputs(inputs, fusers[method], index)

        return fuse

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
            self.loupe_controller.refresh()
            return
        info = get_model_info(self.method)
        self.panels["fused"].title.setText(f"Fused — {info.title} (fusing…)")
        self._fuse_job = self.fusion_thread.submit(Job("fuse", self.make_fuse_job(self.method), payload=key))
        self.loupe_controller.refresh()

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
        if info.caveat:  # a known weakness of the shipped weights is said where the user chose them
            self.set_message(f"{info.title}: {info.caveat}")
        self.request_fusion()

    def set_slice(self, index: int) -> None:
        if self.pair is None or index == self.slice_index or not 0 <= index < self.pair.n_planes(self.orientation):
            return
        self.slice_index = index
        for widget in (self.slice_slider, self.slice_spin):
            widget.blockSignals(True)
            widget.setValue(index)
            widget.blockSignals(False)
        self.slice_label.setText(f" {index + 1} / {self.pair.n_planes(self.orientation)} ")
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

    def _on_func_window_spin(self, _value: float) -> None:
        low, high = self.func_low_spin.value(), self.func_high_spin.value()
        if high <= low:
            return
        self.func_window = (low, high)
        self.metrics_panel.forget_methods()
        if self.pair is not None:
            self._show_inputs()
            self._refuse_timer.start()

    def _on_tab_changed(self, _index: int) -> None:
        # The loupe has its own table over every method: the single-method dock would only take its room.
        in_loupe = self.tabs.currentWidget() is self.loupe
        self.metrics_dock.setVisible(not in_loupe)
        self.loupe_controller.refresh()

    def _on_preset_changed(self, preset: str) -> None:
        self.loupe.set_preset(preset)
        self.request_metrics()
        self.loupe_controller.remeasure()

    # --- window / level -------------------------------------------------------------------------------------------
    def _fill_wl_presets(self, volume) -> None:
        self.wl_preset.clear()
        self.wl_preset.addItem("Default", volume.window)
        if volume.modality == "CT":
            for name, (level, width) in CT_PRESETS.items():
                self.wl_preset.addItem(name, (level - width / 2, level + width / 2))
        else:
            # MR intensities have no absolute scale: presets are percentiles of the tissue (non-background) voxels.
            values = volume.pixels[volume.pixels > volume.pixels.min()]
            if values.size > 100:
                values = values[:: max(1, values.size // 500_000)]
                for name, (low, high) in MR_PRESETS.items():
                    self.wl_preset.addItem(name, tuple(float(v) for v in np.percentile(values, [low, high])))
        self.wl_preset.addItem("Full range", (float(volume.pixels.min()), float(volume.pixels.max()) or 1.0))
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
    def apply_box(self, name: str, box: Box, from_loupe: bool = False, finished: bool = False) -> None:
        """One box moved anywhere (viewer or loupe): mirror it in every view and, on release, re-measure."""
        self.boxes[name] = box
        for panel in self.panels.values():
            if name in panel.rois and panel.box(name) != box:
                panel.set_box(name, box)
        if not from_loupe:
            self.loupe.set_boxes(self.boxes)
        if finished:
            QSettings().setValue(f"box/{self.orientation}/{name}", [box.x, box.y, box.w, box.h])
            self.request_metrics()
            if not from_loupe:
                self.loupe_controller.remeasure()

    def _on_box_moved(self, name: str, box: Box) -> None:
        self.apply_box(name, box)

    def _on_box_move_finished(self, name: str, box: Box) -> None:
        self.apply_box(name, box, finished=True)

    def move_box(self, name: str, box: Box) -> None:
        """Programmatic move (tests, restored sessions): as if the user dragged it in the anatomical view."""
        rows, cols = self._plane_shape()
        box = box.clamped(rows, cols)
        self.panels["anatomical"].set_box(name, box)
        self._on_box_move_finished(name, box)

    def _plane_shape(self) -> tuple[int, int]:
        if self.pair is None:
            return (256, 256)
        return pipeline.plane(self.pair.anatomical, self.orientation, self.slice_index).shape[:2]

    def reset_boxes(self) -> None:
        if self.pair is None:
            return
        self.boxes = {}
        self._ensure_boxes(*self._plane_shape())
        self.request_metrics()

    def reset_zoom(self) -> None:
        from PySide6.QtCore import QRectF

        rows, cols = self._plane_shape()
        self.panels["anatomical"].view.setRange(QRectF(0, 0, cols, rows), padding=0.02)

    # --- worker results -------------------------------------------------------------------------------------------
    def _on_started(self, job: Job) -> None:
        if job.kind == "fuse-volume":
            self.progress.setRange(0, 0)
            self.progress.setVisible(True)
            self.cancel_button.setVisible(True)
        elif job.kind == "fuse" and self._volume_job is None:
            # a slice through a network takes up to a few seconds on a CPU: show that work is under way
            self.progress.setRange(0, 0)
            self.progress.setVisible(True)

    def _on_progress(self, job: Job, done: int, total: int) -> None:
        if job.kind == "fuse-volume":
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.set_message(f"Fusing volume: slice {done} / {total}…")

    def _end_volume_job(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._volume_job = None

    def _on_finished(self, job: Job) -> None:
        if job.kind == "fuse-volume":
            self._end_volume_job()
        elif job.kind == "fuse" and self._volume_job is None and self._fuse_job is None:
            self.progress.setVisible(False)

    def _on_returned(self, job: Job, result) -> None:
        if job.kind == "init":
            self.device = result
            self.device_label.setText(f"Device: {result}")
            self.deviceReady.emit(result)
        elif job.kind == "fuse-volume":
            self._end_volume_job()   # before volumeExported: listeners see the window idle, not the finished signal
            self.set_message(f"Exported {len(result)} file(s): {result[0] if len(result) == 1 else result[0].parent}")
            self.volumeExported.emit(result)
        elif job.kind.startswith("load-"):
            self._on_volume_loaded(job.payload, result)
        elif job.kind == "pair":
            self._on_pair_ready(result)
        elif self.loupe_controller.handles(job):
            self.loupe_controller.on_returned(job, result)
        elif job.kind == "fuse":
            self.store_in_cache(job.payload, result)
            self.loupe_controller.offer(job.payload, result)
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
        self.set_message("Cancelling the volume fusion… (nothing is written)")

    def export_volume(self, path: str | Path, fmt: str) -> Job | None:
        """Fuse every axial slice with the current method and settings in the fusion thread, then write the
        volume (NIfTI / DICOM series / PNG stack) on the anatomical grid. Asks before overwriting."""
        from ..io.export import check_output_free
        from ..io.errors import MedFuseError

        if self.pair is None:
            self.show_warning("Nothing to export", "Open an anatomical and a functional volume first.")
            return None
        if self._volume_job is not None:
            self.show_warning("Busy", "A volume is already being fused.")
            return None
        path = Path(path)
        try:
            check_output_free(path, fmt, force=False)
        except MedFuseError:
            if not self.confirm_overwrite(path):
                self.set_message(f"Not exported: {path.name} exists.")
                return None
        pair, method = self.pair, self.method
        info = get_model_info(method)
        window, func_window, cmap, fusers = self.anat_window, self.func_window, self.colormap, self._fusers

        def fuse_and_write(progress, cancelled):
            from ..io.export import export_volume

            if method not in fusers:
                from ..fusion import get_model

                fusers[method] = get_model(method)
            volume = pipeline.fuse_volume(pair, fusers[method], window, func_window, cmap, info.colour_space,
                                          progress=progress, cancelled=cancelled)
            return export_volume(path, volume, pair.anatomical, info.title, fmt, force=True)

        self._volume_job = self.fusion_thread.submit(Job("fuse-volume", fuse_and_write, payload=str(path)))
        return self._volume_job

    def _export_volume_dialog(self, fmt: str) -> None:
        if self.pair is None:
            self.show_warning("Nothing to export", "Open an anatomical and a functional volume first.")
            return
        settings = QSettings()
        start = Path(str(settings.value("lastExportDirectory", str(Path.home()))))
        if fmt == "nifti":
            path, _ = QFileDialog.getSaveFileName(self, "Export fused volume (NIfTI)", str(start / "fused.nii.gz"),
                                                  "NIfTI (*.nii.gz *.nii)",
                                                  options=QFileDialog.Option.DontConfirmOverwrite)
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder for the fused series (empty or new)", str(start))
        if path:
            settings.setValue("lastExportDirectory", str(Path(path).parent))
            self.export_volume(path, fmt)

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
            self.set_slice(int(np.clip(self.slice_index + step, 0, self.pair.n_planes(self.orientation) - 1)))
            return
        if key in ORIENTATION_KEYS and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.set_orientation(ORIENTATION_KEYS[key])
            return
        super().keyPressEvent(event)

    # --- persistent state (QSettings): window layout, last method, recent pairs, box positions -------------------
    MAX_RECENT = 8

    def _restore_settings(self) -> None:
        settings = QSettings()
        geometry, state = settings.value("window/geometry"), settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        last = settings.value("lastMethod")
        if last:
            index = self.method_combo.findData(str(last))
            if index >= 0 and self.method_combo.model().item(index).isEnabled():
                self.method_combo.setCurrentIndex(index)

    def save_settings(self) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("lastMethod", self.method)
        for name, box in self.boxes.items():
            settings.setValue(f"box/{self.orientation}/{name}", [box.x, box.y, box.w, box.h])
        settings.sync()

    def recent_pairs(self) -> list[tuple[str, str]]:
        raw = QSettings().value("recentPairs", []) or []
        pairs = []
        for entry in raw if isinstance(raw, list) else [raw]:
            anat, _, func = str(entry).partition("\n")
            if anat and func:
                pairs.append((anat, func))
        return pairs

    def _remember_pair(self) -> None:
        if self.anatomical is None or self.functional is None:
            return
        entry = f"{self.anatomical.source}\n{self.functional.source}"
        pairs = [f"{a}\n{f}" for a, f in self.recent_pairs() if f"{a}\n{f}" != entry]
        QSettings().setValue("recentPairs", [entry] + pairs[: self.MAX_RECENT - 1])
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        pairs = self.recent_pairs()
        for anat, func in pairs:
            action = QAction(f"{Path(anat).name} + {Path(func).name}", self)
            action.setToolTip(f"{anat}\n{func}")
            action.triggered.connect(lambda checked=False, a=anat, f=func: self.open_pair(a, f))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(pairs))

    def _saved_boxes(self, rows: int, cols: int) -> dict[str, Box]:
        """Boxes from the last session for this orientation, if they fit this image."""
        boxes = {}
        for name in BOX_NAMES:
            value = QSettings().value(f"box/{self.orientation}/{name}")
            try:
                x, y, w, h = (float(v) for v in value)
            except (TypeError, ValueError):
                return {}
            if x < 0 or y < 0 or x + w > cols or y + h > rows:
                return {}
            boxes[name] = Box(x, y, w, h)
        return boxes

    def closeEvent(self, event):
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        for thread in (self.fusion_thread, self.aux_thread):
            thread.stop()
