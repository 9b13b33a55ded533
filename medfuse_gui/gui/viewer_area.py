"""The four linked views (anatomical, functional, fused, overlay), rendered from the viewer model; user gestures in
them (box drags, right-drag window/level, wheel, Shift+click crosshair, file drops) are written back to the model."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from ..fusion import get_model_info
from ..io.orientation import edge_labels
from ..io.suv import display_scale
from ..viewer import render
from ..viewer.model import ViewerModel
from .views import ImagePanel, link_views

ROLES = ("anatomical", "functional", "fused", "overlay")


class ViewerArea(QWidget):
    fileDropped = Signal(str, str)   # role, path
    rendered = Signal(str)           # which panel was (re)drawn: tests wait on it
    hovered = Signal(object)         # the grid voxel (i, j, k) under the mouse, or None when it left the views

    def __init__(self, model: ViewerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.panels = {
            "anatomical": ImagePanel("anatomical", "Anatomical", window_level=True),
            "functional": ImagePanel("functional", "Functional"),
            "fused": ImagePanel("fused", "Fused"),
            "overlay": ImagePanel("overlay", "Overlay (alpha blend)"),
        }
        link_views(list(self.panels.values()))
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.setSpacing(4)
        for role, panel in self.panels.items():
            row.addWidget(panel, 1)
            panel.boxMoved.connect(lambda name, box: model.set_box(name, box, finished=False))
            panel.boxMoveFinished.connect(lambda name, box: model.set_box(name, box, finished=True))
            panel.view.sliceStepped.connect(model.step_slice)
            panel.view.pointClicked.connect(self._on_point_clicked)
            panel.view.pointHovered.connect(self._on_point_hovered)
        for role in ("anatomical", "functional"):
            self.panels[role].fileDropped.connect(lambda path, role=role: self.fileDropped.emit(role, path))
        self.panels["anatomical"].view.windowDragged.connect(self._on_window_dragged)
        self.panels["overlay"].setVisible(False)
        self._shown_plane: tuple | None = None

        events = model.events
        events.sources.connect(lambda e: self.render_all(reset_zoom=not model.view_kept))
        events.orientation.connect(lambda e: self.render_all(reset_zoom=True))
        events.cursor.connect(lambda e: self._on_cursor())
        events.anat_window.connect(lambda e: self._on_anat_window())
        for name in ("func_window", "colormap"):
            events[name].connect(lambda e: self._render_functional())
            events[name].connect(lambda e: self.render_colour_bars())
        events.anat_window.connect(lambda e: self.render_colour_bars())
        events.display.connect(lambda e: self.render_orientation())
        events.overlay.connect(lambda e: self._render_overlay())
        events.boxes.connect(lambda e: self.render_boxes())
        events.method.connect(lambda e: self.render_fused())
        events.fused.connect(lambda e: self.render_fused())
        events.display.connect(lambda e: self._apply_display())
        self.render_all()

    # --- rendering --------------------------------------------------------------------------------------------------
    def render_all(self, reset_zoom: bool = False) -> None:
        model = self.model
        self.panels["anatomical"].title.setText(render.source_title(model.anatomical, "anatomical"))
        self.panels["functional"].title.setText(render.source_title(model.functional, "functional"))
        geometry = model.plane_geometry()
        if geometry is None:
            for role, panel in self.panels.items():
                panel.show_placeholder("drop a file here" if role in ("anatomical", "functional") else "")
            self.render_fused()
            return
        for panel in self.panels.values():
            panel.set_shape(geometry.shape)
        self._render_inputs()
        self.render_boxes()
        self.render_fused()
        self.render_crosshair()
        self._apply_display()
        self.render_orientation()
        self.render_colour_bars()
        if reset_zoom:
            self.reset_zoom()

    def _render_inputs(self) -> None:
        model = self.model
        self._shown_plane = (model.pair_id, model.orientation, model.slice_index)
        anatomical = render.anatomical_plane(model)
        if anatomical is not None:
            self.panels["anatomical"].set_image(anatomical, levels=model.anat_window)
        else:
            self.panels["anatomical"].show_placeholder("drop a file here")
        self._render_functional(fused=False)
        self.rendered.emit("inputs")

    def _render_functional(self, fused: bool = True) -> None:
        planes = render.functional_plane(self.model)
        if planes is None:
            self.panels["functional"].show_placeholder("drop a file here")
        else:
            self.panels["functional"].set_image(planes[0])
        self._render_overlay()
        if fused:
            self.render_fused()

    def _render_overlay(self) -> None:
        model = self.model
        panel = self.panels["overlay"]
        self.set_panel_visible(panel, model.overlay_visible)
        if not model.overlay_visible:
            return
        blended = render.overlay_plane(model)
        if blended is None:
            panel.show_placeholder("")
        else:
            panel.set_image(blended)
            self.render_boxes()

    def render_fused(self) -> None:
        """The fused image of exactly the current parameters, or an empty panel saying it is being computed."""
        model = self.model
        panel = self.panels["fused"]
        if model.pair is None:
            panel.title.setText("Fused")
            panel.title.setToolTip("")
            panel.show_placeholder("")
            return
        info = get_model_info(model.method)
        warning = " — ⚠ known limitation (hover)" if info.caveat else ""
        panel.title.setToolTip(info.caveat)
        fused, failure = model.current_fused(), model.current_failure()
        if failure is not None:
            panel.title.setText(f"Fused — {info.title} (failed)")
            panel.show_placeholder("fusion failed (see the status bar)")
        elif fused is None:
            panel.title.setText(f"Fused — {info.title} (fusing…){warning}")
            panel.show_placeholder(f"fusing with {info.title}…")
        else:
            panel.title.setText(f"Fused — {info.title}{warning}")
            panel.set_image(fused.fused_rgb_uint8())
        self.rendered.emit("fused")

    def render_boxes(self) -> None:
        geometry = self.model.plane_geometry()
        if geometry is None:
            return
        boxes = self.model.boxes
        for panel in self.panels.values():
            panel.ensure_boxes(boxes, *geometry.shape)

    def render_crosshair(self) -> None:
        geometry = self.model.plane_geometry()
        point = None if geometry is None or not self.model.is_volume else geometry.voxel_to_view(self.model.cursor)
        for panel in self.panels.values():
            panel.set_crosshair(point)

    def render_orientation(self) -> None:
        """Edge letters from the grid's affine (a flipped file shows flipped letters) and a scale bar in mm; an image
        without geometry says so instead."""
        model = self.model
        grid, geometry = model.grid, model.plane_geometry()
        labels = None if grid is None else edge_labels(grid, model.orientation, model.radiological)
        note = "" if grid is None or labels is not None else "no orientation (no world geometry)"
        col_mm = geometry.pixel_mm[1] if geometry is not None and grid.geometry_known else None
        for panel in self.panels.values():
            panel.edge_labels.set_labels(labels.as_dict() if labels else None, note)
            panel.scale_bar.set_pixel_mm(col_mm)

    def render_colour_bars(self) -> None:
        """The functional window through its colormap, in SUV where the series has a valid factor (else its unit),
        beside the functional, fused and overlay views; the anatomical window in its unit beside the anatomy."""
        model = self.model
        functional = model.functional
        for role in ("functional", "fused", "overlay"):
            bar = self.panels[role].colour_bar
            if functional is None or functional.is_rgb or model.func_window is None:
                bar.hide()
                continue
            scale, unit = display_scale(functional)
            low, high = model.func_window
            bar.show(model.colormap or "gray", (low * scale, high * scale), unit)
        anatomical = model.anatomical
        if anatomical is None or anatomical.is_rgb:
            self.panels["anatomical"].colour_bar.hide()
        else:
            self.panels["anatomical"].colour_bar.show("gray", model.anat_window, anatomical.unit)

    def _apply_display(self) -> None:
        # radiological: the patient's right on the screen's left (the stored L,P,S layout); neurological flips it
        for panel in self.panels.values():
            panel.view.invertX(not self.model.radiological)

    def _on_cursor(self) -> None:
        model = self.model
        if (model.pair_id, model.orientation, model.slice_index) != self._shown_plane:
            self._render_inputs()
            self.render_fused()
        self.render_crosshair()

    def _on_anat_window(self) -> None:
        self.panels["anatomical"].set_levels(self.model.anat_window)
        self._render_overlay()
        self.render_fused()

    # --- gestures ---------------------------------------------------------------------------------------------------
    def _on_window_dragged(self, dx: float, dy: float) -> None:
        low, high = self.model.anat_window
        width, level = high - low, (high + low) / 2
        step = max(width, 1e-3) / 300.0
        width = max(width + dx * step * 2, 1e-3)
        level = level - dy * step * 2
        self.model.set_anat_window((level - width / 2, level + width / 2), preset=None)

    def _on_point_clicked(self, x: float, y: float) -> None:
        geometry = self.model.plane_geometry()
        if geometry is not None:
            self.model.set_cursor(geometry.view_to_voxel(x, y, self.model.slice_index))

    def _on_point_hovered(self, point) -> None:
        geometry = self.model.plane_geometry()
        if point is None or geometry is None:
            self.hovered.emit(None)
            return
        self.hovered.emit(geometry.view_to_voxel(point[0], point[1], self.model.slice_index))

    def set_panel_visible(self, panel: QWidget, visible: bool) -> None:
        """Show or hide a panel beside the others, keeping the part of the image that was in view. pyqtgraph
        re-derives linked views' ranges from their on-screen sizes when a panel appears or goes, which had halved the
        images (and kept them so when it went)."""
        if panel.isHidden() != visible:
            return
        view = self.panels["anatomical"].view
        shown = view.targetRect()   # the range asked for, before the aspect lock widened it to the panel
        panel.setVisible(visible)
        self.layout().activate()    # resize the panels now, so the range below is fitted to their new size
        view.setRange(shown, padding=0)

    def reset_zoom(self) -> None:
        geometry = self.model.plane_geometry()
        rows, cols = geometry.shape if geometry is not None else (256, 256)
        self.panels["anatomical"].view.setRange(QRectF(0, 0, cols, rows), padding=0.02)

    def plane_pixels(self, role: str) -> np.ndarray | None:
        return self.panels[role].image.image
