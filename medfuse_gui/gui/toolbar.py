"""The two toolbars (method, colormap, window/level; orientation, slice, functional window, overlay). Each control
shows the model's value (updated with its signals blocked, so nothing echoes back) and writes the user's choice into
the model. Controls never take keyboard focus from the views by Tab or wheel: slice and orientation keys are
window-wide actions (gui/actions.py)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QMainWindow, QSlider, QSpinBox,
                               QToolBar)

from .. import colour
from ..fusion import get_model_info, list_models
from ..io.suv import display_scale, suv_window_presets
from ..viewer.model import ViewerModel
from ..viewer.planes import ORIENTATIONS
from ..viewer.windows import anatomical_presets

CUSTOM = "Custom"


def _quiet(widget) -> None:
    """Clicks may focus the control, but it gives the slice/orientation keys back to the window (see actions)."""
    widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)


class Toolbars(QObject):
    def __init__(self, window: QMainWindow, model: ViewerModel):
        super().__init__(window)
        self.model = model
        self._build_controls(window)
        window.addToolBarBreak()
        self._build_volume(window)
        events = model.events
        events.sources.connect(lambda e: self.refresh())
        events.method.connect(lambda e: self._show_method())
        events.anat_window.connect(lambda e: self._show_anat_window())
        events.func_window.connect(lambda e: self._show_func_window())
        events.colormap.connect(lambda e: self._show_colormap())
        events.orientation.connect(lambda e: self._show_slices())
        events.cursor.connect(lambda e: self._show_slices())
        events.overlay.connect(lambda e: self._show_overlay())
        self.refresh()

    # --- construction ---------------------------------------------------------------------------------------------
    def _toolbar(self, window: QMainWindow, title: str, name: str) -> QToolBar:
        bar = QToolBar(title)
        bar.setObjectName(name)
        bar.setMovable(False)
        window.addToolBar(bar)
        return bar

    def _build_controls(self, window: QMainWindow) -> None:
        bar = self.controls = self._toolbar(window, "Controls", "controls")
        bar.addWidget(QLabel(" Method "))
        self.method_combo = QComboBox()
        self.method_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._fill_methods()
        self.method_combo.currentIndexChanged.connect(self._on_method_index)
        bar.addWidget(self.method_combo)
        bar.addSeparator()
        bar.addWidget(QLabel(" Colormap "))
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(list(colour.COLORMAPS))
        self.colormap_combo.setToolTip("Colormap of a gray functional image (PET/SPECT from DICOM or NIfTI)")
        self.colormap_combo.textActivated.connect(self.model.set_colormap)
        bar.addWidget(self.colormap_combo)
        bar.addSeparator()
        bar.addWidget(QLabel(" W/L "))
        self.wl_preset = QComboBox()
        self.wl_preset.setToolTip("Window/level presets of the anatomical image (right-drag in its view adjusts)")
        self.wl_preset.activated.connect(self._on_wl_preset)
        bar.addWidget(self.wl_preset)
        self.window_spin = QDoubleSpinBox(decimals=1, minimum=0.1, maximum=1e7, prefix="W ")
        self.level_spin = QDoubleSpinBox(decimals=1, minimum=-1e7, maximum=1e7, prefix="L ")
        for spin in (self.window_spin, self.level_spin):
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(self._on_wl_spin)
            bar.addWidget(spin)
        for widget in (self.method_combo, self.colormap_combo, self.wl_preset):
            _quiet(widget)

    def _build_volume(self, window: QMainWindow) -> None:
        bar = self.volume = self._toolbar(window, "Volume and overlay", "volume")
        bar.addWidget(QLabel(" View "))
        self.orientation_combo = QComboBox()
        self.orientation_combo.addItems([o.capitalize() for o in ORIENTATIONS])
        self.orientation_combo.setToolTip("Slice orientation of volumes (keys A, C, S)")
        self.orientation_combo.activated.connect(lambda i: self.model.set_orientation(ORIENTATIONS[i]))
        bar.addWidget(self.orientation_combo)
        bar.addWidget(QLabel(" Slice "))
        self.slice_slider = QSlider(Qt.Orientation.Horizontal)
        self.slice_slider.setMinimumWidth(120)
        self.slice_slider.valueChanged.connect(self.model.set_slice)
        bar.addWidget(self.slice_slider)
        self.slice_spin = QSpinBox()   # counts from 1, as the label and every clinical viewer do
        self.slice_spin.setKeyboardTracking(False)
        self.slice_spin.valueChanged.connect(lambda v: self.model.set_slice(v - 1))
        bar.addWidget(self.slice_spin)
        self.slice_label = QLabel(" / 1 ")
        bar.addWidget(self.slice_label)
        bar.addSeparator()
        self.func_label = QLabel(" Functional window ")
        bar.addWidget(self.func_label)
        # The window is shown and typed in the unit the colour bar and read-out use: SUV for a PET series with a
        # valid SUV factor, else the pixel unit (Bq/mL, a.u.); the model keeps pixel values.
        self.func_preset = QComboBox()
        self.func_preset.setToolTip("Functional window presets (SUV windows need a PET series with a valid SUV factor)")
        self.func_preset.activated.connect(self._on_func_preset)
        self.func_preset_action = bar.addWidget(self.func_preset)
        self.func_low_spin = QDoubleSpinBox(decimals=2, minimum=-1e12, maximum=1e12, prefix="low ")
        self.func_high_spin = QDoubleSpinBox(decimals=2, minimum=-1e12, maximum=1e12, prefix="high ")
        for spin in (self.func_low_spin, self.func_high_spin):
            spin.setKeyboardTracking(False)
            spin.setToolTip("Values of a gray PET/SPECT mapped to the bottom and top of its colormap")
            spin.valueChanged.connect(self._on_func_spin)
            bar.addWidget(spin)
        bar.addSeparator()
        self.overlay_check = QCheckBox("Overlay")
        self.overlay_check.setToolTip("Show an alpha-blend overlay beside the fusion")
        self.overlay_check.toggled.connect(lambda on: self.model.set_overlay(visible=on))
        bar.addWidget(self.overlay_check)
        bar.addWidget(QLabel(" α "))
        self.alpha_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=50)
        self.alpha_slider.setMaximumWidth(80)
        self.alpha_slider.valueChanged.connect(lambda v: self.model.set_overlay(alpha=v / 100.0))
        bar.addWidget(self.alpha_slider)
        bar.addWidget(QLabel(" threshold "))
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=95, value=15)
        self.threshold_slider.setMaximumWidth(80)
        self.threshold_slider.setToolTip("Functional values below this fraction of the window are transparent")
        self.threshold_slider.valueChanged.connect(lambda v: self.model.set_overlay(threshold=v / 100.0))
        bar.addWidget(self.threshold_slider)
        for widget in (self.orientation_combo, self.slice_slider, self.overlay_check, self.alpha_slider,
                       self.threshold_slider, self.func_preset):
            _quiet(widget)

    def _fill_methods(self) -> None:
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

    # --- model -> controls ------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self._show_method()
        self._fill_wl_presets()
        self._show_anat_window()
        self._show_colormap()
        self._show_func_window()
        self._show_slices()
        self._show_overlay()

    def _set(self, widget, setter, value) -> None:
        widget.blockSignals(True)
        try:
            setter(value)
        finally:
            widget.blockSignals(False)

    def _show_method(self) -> None:
        self._set(self.method_combo, self.method_combo.setCurrentIndex, self.method_combo.findData(self.model.method))

    def _fill_wl_presets(self) -> None:
        volume = self.model.anatomical
        self._presets = anatomical_presets(volume) if volume is not None else {}
        self.wl_preset.blockSignals(True)
        self.wl_preset.clear()
        for name, window in self._presets.items():
            self.wl_preset.addItem(name, window)
        self.wl_preset.addItem(CUSTOM, None)
        self.wl_preset.blockSignals(False)
        for widget in (self.wl_preset, self.window_spin, self.level_spin):
            widget.setEnabled(volume is not None)

    def _show_anat_window(self) -> None:
        low, high = self.model.anat_window
        self._set(self.window_spin, self.window_spin.setValue, high - low)
        self._set(self.level_spin, self.level_spin.setValue, (low + high) / 2)
        preset = self.model.anat_window_preset
        index = self.wl_preset.findText(preset) if preset else -1
        self._set(self.wl_preset, self.wl_preset.setCurrentIndex, index if index >= 0 else self.wl_preset.count() - 1)

    def _show_colormap(self) -> None:
        gray_functional = self.model.functional is not None and not self.model.functional.is_rgb
        self.colormap_combo.setEnabled(gray_functional)
        self._set(self.colormap_combo, self.colormap_combo.setCurrentText, self.model.colormap or "gray")

    def _func_display(self) -> tuple[float, str]:
        """(multiplier from pixel values to the shown unit, unit)."""
        functional = self.model.functional
        return display_scale(functional) if functional is not None else (1.0, "")

    def _show_func_window(self) -> None:
        window = self.model.func_window
        scale, unit = self._func_display()
        shown = (window[0] * scale, window[1] * scale) if window is not None else (0.0, 1.0)
        for spin, value in zip((self.func_low_spin, self.func_high_spin), shown):
            spin.setSuffix(f" {unit}" if unit and window is not None else "")
            self._set(spin, spin.setValue, value)
            spin.setEnabled(window is not None)
            spin.setSingleStep(max((shown[1] - shown[0]) / 50, 0.01))
        presets = suv_window_presets(self.model.functional) if self.model.functional is not None else []
        self.func_preset.blockSignals(True)
        self.func_preset.clear()
        for name, pixels in presets:
            self.func_preset.addItem(name, pixels)
        self.func_preset.addItem(CUSTOM, None)
        chosen = next((i for i, (_, pixels) in enumerate(presets) if window is not None
                       and np.allclose(pixels, window, rtol=1e-6, atol=1e-9)), len(presets))
        self.func_preset.setCurrentIndex(chosen)
        self.func_preset.blockSignals(False)
        self.func_preset_action.setVisible(bool(presets))

    def _show_slices(self) -> None:
        model = self.model
        n = model.n_slices
        index = model.slice_index
        self._set(self.orientation_combo, self.orientation_combo.setCurrentIndex,
                  ORIENTATIONS.index(model.orientation))
        self.orientation_combo.setEnabled(model.is_volume)
        for widget, low, high, value in ((self.slice_slider, 0, max(n - 1, 0), index),
                                         (self.slice_spin, 1, max(n, 1), index + 1)):
            widget.blockSignals(True)
            widget.setRange(low, high)
            widget.setValue(value)
            widget.blockSignals(False)
            widget.setEnabled(n > 1)
        self.slice_label.setText(f" / {max(n, 1)} ")

    def _show_overlay(self) -> None:
        model = self.model
        self._set(self.overlay_check, self.overlay_check.setChecked, model.overlay_visible)
        self._set(self.alpha_slider, self.alpha_slider.setValue, int(round(model.overlay_alpha * 100)))
        self._set(self.threshold_slider, self.threshold_slider.setValue, int(round(model.overlay_threshold * 100)))

    # --- controls -> model ------------------------------------------------------------------------------------------
    def _on_method_index(self, index: int) -> None:
        name = self.method_combo.itemData(index)
        if name:
            self.methodChosen(name)

    def methodChosen(self, name: str) -> None:  # noqa: N802 - replaced by the main window (availability check)
        self.model.set_method(name)

    def _on_wl_preset(self, index: int) -> None:
        window = self.wl_preset.itemData(index)
        if window is not None:
            self.model.set_anat_window(window, preset=self.wl_preset.itemText(index))
        else:
            self._show_anat_window()

    def _on_wl_spin(self, _value: float) -> None:
        width, level = self.window_spin.value(), self.level_spin.value()
        self.model.set_anat_window((level - width / 2, level + width / 2), preset=None)

    def _on_func_spin(self, _value: float) -> None:
        scale, _ = self._func_display()
        low, high = self.func_low_spin.value(), self.func_high_spin.value()
        if high > low and scale > 0:
            self.model.set_func_window((low / scale, high / scale))
        else:
            self._show_func_window()   # an empty window is refused: show the one in force

    def _on_func_preset(self, index: int) -> None:
        pixels = self.func_preset.itemData(index)
        if pixels is not None:
            self.model.set_func_window(pixels)
        else:
            self._show_func_window()
