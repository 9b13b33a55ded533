"""Image views: three linked panels (anatomical, functional, fused), each with a red and a green zoom box mirrored in
every panel and a magnified inset per box, like the crops printed in fusion papers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

BOX_COLOURS = {"red": (230, 40, 40), "green": (40, 200, 60)}
BOX_NAMES = tuple(BOX_COLOURS)


@dataclass
class Box:
    """A zoom box in image pixel coordinates of the anatomical grid: x = column, y = row (top-left corner)."""

    x: float
    y: float
    w: float
    h: float

    def rect(self) -> tuple[int, int, int, int]:
        """(row0, col0, row1, col1), integer and half-open, as the metrics module takes regions."""
        r0, c0 = int(round(self.y)), int(round(self.x))
        return r0, c0, r0 + max(1, int(round(self.h))), c0 + max(1, int(round(self.w)))

    def clamped(self, rows: int, cols: int) -> "Box":
        w = min(max(4.0, self.w), cols)
        h = min(max(4.0, self.h), rows)
        return Box(min(max(0.0, self.x), cols - w), min(max(0.0, self.y), rows - h), w, h)


def default_boxes(rows: int, cols: int) -> dict[str, Box]:
    """Two boxes where fusion papers usually put them: one on cortex, one nearer the centre."""
    side = max(8.0, round(min(rows, cols) * 0.18))
    return {"red": Box(cols * 0.22, rows * 0.28, side, side), "green": Box(cols * 0.56, rows * 0.52, side, side)}


class ImageViewBox(pg.ViewBox):
    """A ViewBox whose right-button drag adjusts window/level (as in clinical viewers) when enabled."""

    windowDragged = Signal(float, float)  # horizontal, vertical screen-pixel deltas

    def __init__(self, *args, window_level: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.window_level = window_level

    def mouseDragEvent(self, ev, axis=None):
        if self.window_level and ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            delta = ev.screenPos() - ev.lastScreenPos()
            self.windowDragged.emit(float(delta.x()), float(delta.y()))
            return
        super().mouseDragEvent(ev, axis)


def elide_title(text: str, metrics, width: int) -> str:
    """``text`` shortened to ``width`` pixels; a title "Name — 12 ms" keeps its suffix and shortens the name."""
    head, sep, tail = text.rpartition(" — ")
    if not sep:
        head, tail = tail, ""
    tail = sep + tail
    room = width - metrics.horizontalAdvance(tail)
    return metrics.elidedText(head, Qt.TextElideMode.ElideRight, max(room, 0)) + tail


class ElidedLabel(QLabel):
    """A one-line label that elides its text when narrower than it (``elide_title``); ``text()`` stays whole."""

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        rect = self.contentsRect()
        painter.drawText(rect, self.alignment(), elide_title(self.text(), painter.fontMetrics(), rect.width()))


class ImagePanel(QWidget):
    """One column: a title, the main image with both boxes, and the two magnified insets below it."""

    boxMoved = Signal(str, object)          # box name, Box — live while dragging
    boxMoveFinished = Signal(str, object)   # box name, Box — on release (expensive work goes here)
    fileDropped = Signal(str)               # a path dropped onto this panel

    def __init__(self, role: str, title: str, window_level: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.role = role
        self.setAcceptDrops(role in ("anatomical", "functional"))
        self.title = ElidedLabel(title)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-weight: 600; padding: 2px;")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # long titles must not widen the grid
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("k")
        self.canvas.ci.setContentsMargins(2, 2, 2, 2)
        self.canvas.ci.setSpacing(4)
        self.view = ImageViewBox(window_level=window_level, lockAspect=True, invertY=True, enableMenu=False)
        self.canvas.addItem(self.view, row=0, col=0, colspan=2)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.placeholder = pg.TextItem("", color=(170, 170, 170), anchor=(0.5, 0.5))
        self.view.addItem(self.placeholder)
        self.insets: dict[str, pg.ViewBox] = {}
        self.inset_images: dict[str, pg.ImageItem] = {}
        for col, name in enumerate(BOX_NAMES):
            inset = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
            inset.setBorder(pg.mkPen(BOX_COLOURS[name], width=3))
            self.canvas.addItem(inset, row=1, col=col)
            item = pg.ImageItem()
            inset.addItem(item)
            self.insets[name], self.inset_images[name] = inset, item
        self.canvas.ci.layout.setRowStretchFactor(0, 5)
        self.canvas.ci.layout.setRowStretchFactor(1, 2)
        self.rois: dict[str, pg.RectROI] = {}
        self._levels: tuple[float, float] | None = None
        self._shape: tuple[int, int] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas)
        self.show_placeholder("")

    # --- image ------------------------------------------------------------------------------------------------------
    def show_placeholder(self, text: str) -> None:
        self.image.clear()
        for item in self.inset_images.values():
            item.clear()
        self.placeholder.setText(text)
        self.placeholder.setVisible(bool(text))
        if self._shape is None:
            self.placeholder.setPos(128, 128)
            self.view.setRange(QRectF(0, 0, 256, 256), padding=0)

    def set_image(self, pixels: np.ndarray, levels: tuple[float, float] | None = None) -> None:
        """Show (H,W) gray with ``levels`` or (H,W,3) uint8 RGB; the insets show the same pixels, magnified."""
        self.placeholder.setVisible(False)
        if pixels.ndim == 3:
            levels = (0, 255)
        elif levels is None:
            levels = (float(np.min(pixels)), float(np.max(pixels)) or 1.0)
        self._levels = levels
        new_shape = pixels.shape[:2]
        self.image.setImage(pixels, autoLevels=False, levels=levels)
        for item in self.inset_images.values():
            item.setImage(pixels, autoLevels=False, levels=levels)
        if new_shape != self._shape:
            self._shape = new_shape
            self.view.setRange(QRectF(0, 0, new_shape[1], new_shape[0]), padding=0.02)
        for name, roi in self.rois.items():
            self._update_inset(name)

    def set_levels(self, levels: tuple[float, float]) -> None:
        self._levels = levels
        self.image.setLevels(levels)
        for item in self.inset_images.values():
            item.setLevels(levels)

    def has_image(self) -> bool:
        return self.image.image is not None

    # --- boxes ------------------------------------------------------------------------------------------------------
    def ensure_boxes(self, boxes: dict[str, Box], rows: int, cols: int) -> None:
        bounds = QRectF(0, 0, cols, rows)
        for name, box in boxes.items():
            roi = self.rois.get(name)
            if roi is None:
                roi = pg.RectROI([box.x, box.y], [box.w, box.h], pen=pg.mkPen(BOX_COLOURS[name], width=2),
                                 hoverPen=pg.mkPen(BOX_COLOURS[name], width=3), maxBounds=bounds,
                                 rotatable=False, removable=False)
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
        if name not in self.rois:
            return
        b = self.box(name)
        self.insets[name].setRange(QRectF(b.x, b.y, b.w, b.h), padding=0)

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


BAR_COLOUR, HIGHLIGHT_COLOUR = (70, 120, 200), (230, 140, 30)


def draw_bar_chart(plot: pg.PlotWidget, labels: list[str], values, highlight: list[bool], title: str) -> None:
    """Horizontal bars, first label on top: method titles stay readable however many methods there are."""
    values = np.asarray(values, dtype=float)
    values = np.where(np.isfinite(values), values, 0.0)
    rows = np.arange(len(labels))[::-1].astype(float)
    brushes = [pg.mkBrush(*(HIGHLIGHT_COLOUR if h else BAR_COLOUR)) for h in highlight]
    # negative scores (SCD can be) grow leftwards from zero
    plot.addItem(pg.BarGraphItem(x0=np.minimum(values, 0.0), y=rows, width=np.abs(values), height=0.7,
                                 brushes=brushes))
    plot.getAxis("left").setTicks([[(float(row), label) for row, label in zip(rows, labels)]])
    plot.getAxis("bottom").setTicks(None)
    plot.setTitle(title, color="#222", size="9pt")
    plot.setAspectLocked(False)  # a radar chart may have locked it
    # at least five rows of height, top-aligned, so one or two methods do not draw slabs
    span = max(len(labels), 5)
    plot.setYRange(len(labels) - span - 0.5, len(labels) - 0.5, padding=0)
    low, high = min(0.0, float(values.min(initial=0.0))), max(0.0, float(values.max(initial=0.0)))
    plot.setXRange(low, high if high > low else low + 1.0, padding=0.05)
