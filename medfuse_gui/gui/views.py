"""Image panels: the main image with the red and green zoom boxes (mirrored in every panel), a magnified inset per box
showing exactly the box's pixels, a crosshair, and edge labels. Panels only draw; the viewer area binds them to the
model."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..viewer.boxes import BOX_COLOURS, BOX_NAMES, Box, default_boxes  # noqa: F401  (Box is part of this API)
from .view_overlays import ColourBar, EdgeLabels, ScaleBar

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

HALO = QColor(0, 0, 0, 200)        # dark outline under each box: visible on any colormap, white or hot
CROSSHAIR_COLOUR = (255, 220, 0)


class ImageViewBox(pg.ViewBox):
    """Right-drag adjusts window/level (when enabled), the wheel changes slice, Ctrl+wheel zooms, and a
    Shift+click (or a click with the crosshair tool) reports the point; plain left-drag pans as usual."""

    windowDragged = Signal(float, float)   # horizontal, vertical screen-pixel deltas
    sliceStepped = Signal(int)             # +1 / -1 per wheel notch
    pointClicked = Signal(float, float)    # view (image) coordinates
    pointHovered = Signal(object)          # (x, y) view coordinates, or None when the mouse left

    def __init__(self, *args, window_level: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.window_level = window_level
        self.click_sets_point = False

    def mouseDragEvent(self, ev, axis=None):
        if self.window_level and ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            delta = ev.screenPos() - ev.lastScreenPos()
            self.windowDragged.emit(float(delta.x()), float(delta.y()))
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton and (
                self.click_sets_point or ev.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            ev.accept()
            point = self.mapSceneToView(ev.scenePos())
            self.pointClicked.emit(float(point.x()), float(point.y()))
            return
        super().mouseClickEvent(ev)

    def hoverEvent(self, ev):
        if ev.isExit():
            self.pointHovered.emit(None)
            return
        point = self.mapToView(ev.pos())
        self.pointHovered.emit((float(point.x()), float(point.y())))

    def wheelEvent(self, ev, axis=None):
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)  # zoom, as in most medical viewers
            return
        ev.accept()
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        if delta:
            self.sliceStepped.emit(1 if delta > 0 else -1)


class BoxROI(pg.RectROI):
    """A zoom box on whole pixels, drawn over a dark halo so that it stays visible on every colormap."""

    def __init__(self, box: Box, colour, bounds: QRectF):
        super().__init__([box.x, box.y], [box.w, box.h], pen=pg.mkPen(colour, width=2),
                         hoverPen=pg.mkPen(colour, width=3), maxBounds=bounds, rotatable=False, removable=False,
                         snapSize=1.0, translateSnap=True, scaleSnap=True)

    def paint(self, painter, option, widget=None):
        halo = QPen(HALO)
        halo.setCosmetic(True)
        halo.setWidthF(5.0)
        painter.setPen(halo)
        painter.drawRect(QRectF(0, 0, self.state["size"][0], self.state["size"][1]).normalized())
        super().paint(painter, option, widget)


def elide_title(text: str, metrics, width: int) -> str:
    """``text`` shortened to ``width`` pixels. A title "Name — 12 ms" gives way from the end: first the timing goes
    (the tooltip keeps it), then the name is elided; the method's name is what the user needs to read."""
    if metrics.horizontalAdvance(text) <= width:
        return text
    head, sep, _ = text.rpartition(" — ")
    name = head if sep else text
    return metrics.elidedText(name, Qt.TextElideMode.ElideRight, max(width, 0))


class ElidedLabel(QLabel):
    """A one-line label that elides its text when narrower than it (``elide_title``); ``text()`` stays whole."""

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        rect = self.contentsRect()
        painter.drawText(rect, self.alignment(), elide_title(self.text(), painter.fontMetrics(), rect.width()))

    def minimumSizeHint(self):  # noqa: N802 - long titles must never widen the grid
        hint = super().minimumSizeHint()
        hint.setWidth(20)
        return hint


class ImagePanel(QWidget):
    """One column: a title, the main image with both boxes, and the two magnified insets below it."""

    boxMoved = Signal(str, object)          # box name, Box — live while dragging
    boxMoveFinished = Signal(str, object)   # box name, Box — on release (expensive work goes here)
    fileDropped = Signal(str)               # a path dropped onto this panel

    def __init__(self, role: str, title: str, window_level: bool = False, colour_bar: bool = True,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.role = role
        self.setAcceptDrops(role in ("anatomical", "functional"))
        self.title = ElidedLabel(title)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-weight: 600; padding: 2px;")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("k")
        self.canvas.setMinimumSize(120, 160)
        self.canvas.ci.setContentsMargins(2, 2, 2, 2)
        self.canvas.ci.setSpacing(4)
        self.view = ImageViewBox(window_level=window_level, lockAspect=True, invertY=True, enableMenu=False)
        self.canvas.addItem(self.view, row=0, col=0, colspan=2)
        # the viewer's views keep a (possibly transparent) bar column; the loupe's narrow cells have none, since even a
        # transparent bar takes half a 120 px cell
        self.colour_bar = ColourBar(self.canvas.ci, row=0, col=2) if colour_bar else None
        self.edge_labels = EdgeLabels(self.view)
        self.scale_bar = ScaleBar(self.view)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.placeholder = pg.TextItem("", color=(170, 170, 170), anchor=(0.5, 0.5))
        self.view.addItem(self.placeholder)
        self.crosshair = (pg.InfiniteLine(angle=90, pen=pg.mkPen(CROSSHAIR_COLOUR, width=1)),
                          pg.InfiniteLine(angle=0, pen=pg.mkPen(CROSSHAIR_COLOUR, width=1)))
        for line in self.crosshair:
            line.setZValue(20)
            line.setVisible(False)
            self.view.addItem(line, ignoreBounds=True)
        self.rois: dict[str, BoxROI] = {}
        self._pixels: np.ndarray | None = None
        self._levels: tuple[float, float] | None = None
        self._shape: tuple[int, int] | None = None
        self.insets: dict[str, pg.ViewBox] = {}
        self.inset_images: dict[str, pg.ImageItem] = {}
        for col, name in enumerate(BOX_NAMES):
            inset = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
            inset.setBorder(pg.mkPen(BOX_COLOURS[name], width=3))
            self.canvas.addItem(inset, row=1, col=col)
            item = pg.ImageItem()
            inset.addItem(item)
            # re-centre on the box when the layout resizes the inset (its locked aspect would drift otherwise)
            inset.sigResized.connect(lambda _view, n=name: self._frame_inset(n))
            self.insets[name], self.inset_images[name] = inset, item
        self.canvas.ci.layout.setRowStretchFactor(0, 5)
        self.canvas.ci.layout.setRowStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas)
        self.show_placeholder("")

    # --- image ------------------------------------------------------------------------------------------------------
    def show_placeholder(self, text: str) -> None:
        """No image (nothing open, or the one for the current parameters is not computed yet)."""
        self._pixels = None
        self.image.clear()
        for item in self.inset_images.values():
            item.clear()
        self.placeholder.setText(text)
        self.placeholder.setVisible(bool(text))
        rows, cols = self._shape or (256, 256)
        self.placeholder.setPos(cols / 2, rows / 2)
        if self._shape is None:
            self.view.setRange(QRectF(0, 0, cols, rows), padding=0)

    def set_image(self, pixels: np.ndarray, levels: tuple[float, float] | None = None) -> None:
        """Show (H,W) gray with ``levels`` or (H,W,3) uint8 RGB; the insets show the boxes' pixels, magnified."""
        self.placeholder.setVisible(False)
        if pixels.ndim == 3:
            levels = (0, 255)
        elif levels is None:
            levels = (float(np.min(pixels)), float(np.max(pixels)) or 1.0)
        self._pixels, self._levels = pixels, levels
        self.image.setImage(pixels, autoLevels=False, levels=levels)
        self.set_shape(pixels.shape[:2])
        for name in self.rois:
            self._update_inset(name)

    def set_shape(self, shape: tuple[int, int]) -> None:
        if tuple(shape) != self._shape:
            self._shape = tuple(shape)
            self.view.setRange(QRectF(0, 0, shape[1], shape[0]), padding=0.02)

    def set_levels(self, levels: tuple[float, float]) -> None:
        self._levels = levels
        self.image.setLevels(levels)
        for item in self.inset_images.values():
            if item.image is not None:
                item.setLevels(levels)

    def has_image(self) -> bool:
        return self.image.image is not None

    def set_crosshair(self, point: tuple[float, float] | None) -> None:
        for line in self.crosshair:
            line.setVisible(point is not None)
        if point is not None:
            self.crosshair[0].setPos(point[0])
            self.crosshair[1].setPos(point[1])

    # --- boxes ------------------------------------------------------------------------------------------------------
    def ensure_boxes(self, boxes: dict[str, Box], rows: int, cols: int) -> None:
        bounds = QRectF(0, 0, cols, rows)
        for name, box in boxes.items():
            roi = self.rois.get(name)
            if roi is None:
                roi = BoxROI(box, BOX_COLOURS[name], bounds)
                roi.setZValue(10 + len(self.rois))
                roi.sigRegionChanged.connect(lambda r, n=name: self._on_roi_changed(n, finished=False))
                roi.sigRegionChangeFinished.connect(lambda r, n=name: self._on_roi_changed(n, finished=True))
                self.view.addItem(roi)
                self.rois[name] = roi
            else:
                roi.maxBounds = bounds
            self.set_box(name, box)

    def set_box(self, name: str, box: Box) -> None:
        """Move a box without echoing it back as a user move."""
        roi = self.rois[name]
        if self.box(name) != box:
            roi.blockSignals(True)
            try:
                roi.setPos(QPointF(box.x, box.y), update=False, finish=False)
                roi.setSize(pg.Point(box.w, box.h), update=True, finish=False)
            finally:
                roi.blockSignals(False)
        self._update_inset(name)

    def box(self, name: str) -> Box:
        roi = self.rois[name]
        pos, size = roi.pos(), roi.size()
        return Box(float(pos.x()), float(pos.y()), float(size.x()), float(size.y()))

    def _on_roi_changed(self, name: str, finished: bool) -> None:
        self._update_inset(name)
        (self.boxMoveFinished if finished else self.boxMoved).emit(name, self.box(name))

    def _update_inset(self, name: str) -> None:
        """The inset shows the box's pixels and nothing else (any room its aspect leaves is black)."""
        if name not in self.rois:
            return
        r0, c0, r1, c1 = self.box(name).rect()
        rect = QRectF(c0, r0, c1 - c0, r1 - r0)
        item = self.inset_images[name]
        if self._pixels is not None:
            crop = self._pixels[max(r0, 0):r1, max(c0, 0):c1]
            if crop.size:
                item.setImage(np.ascontiguousarray(crop), autoLevels=False, levels=self._levels)
                item.setRect(rect)
        self._frame_inset(name)

    def _frame_inset(self, name: str) -> None:
        if name in self.rois:
            r0, c0, r1, c1 = self.box(name).rect()
            self.insets[name].setRange(QRectF(c0, r0, c1 - c0, r1 - r0), padding=0)

    def inset_pixels(self, name: str) -> np.ndarray | None:
        return self.inset_images[name].image

    def inset_range(self, name: str) -> QRectF:
        (x0, x1), (y0, y1) = self.insets[name].viewRange()
        return QRectF(x0, y0, x1 - x0, y1 - y0)

    # --- drag and drop ------------------------------------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.fileDropped.emit(urls[0])
            event.acceptProposedAction()


def link_views(panels: list[ImagePanel]) -> None:
    """Pan/zoom of any panel moves all (pyqtgraph links by view range; give panels equal sizes for exactness)."""
    first = panels[0].view
    for panel in panels[1:]:
        panel.view.setXLink(first)
        panel.view.setYLink(first)
