"""What a view draws over its image in screen space: patient-direction letters at the four edges, a scale bar in mm,
and a colour bar with its window and unit. They are children of the view box (not items in its data space), so
panning and zooming never move them off the edges; the scale bar's length follows the zoom."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsLineItem

from .. import colour

LABEL_COLOUR = (255, 235, 120)
NICE_MM = (1, 2, 5, 10, 20, 25, 50, 100, 200, 500)
MARGIN = 4


class EdgeLabels:
    """L/R/A/P/S/I at the middle of each edge of a view box; one note instead when the image has no geometry."""

    ANCHORS = {"left": (0, 0.5), "right": (1, 0.5), "top": (0.5, 0), "bottom": (0.5, 1)}

    def __init__(self, view: pg.ViewBox):
        self.view = view
        self.items = {}
        for edge, anchor in self.ANCHORS.items():
            # on a dark backing: the crosshair often runs through an edge's middle, and hid an "I" drawn over it
            item = pg.TextItem("", color=LABEL_COLOUR, anchor=anchor, fill=pg.mkBrush(0, 0, 0, 190))
            item.setParentItem(view)
            item.setZValue(30)
            self.items[edge] = item
        self.note = pg.TextItem("", color=(180, 180, 180), anchor=(0, 1))
        self.note.setParentItem(view)
        view.sigResized.connect(lambda _view: self._place())
        self._place()

    def set_labels(self, labels: dict[str, str] | None, note: str = "") -> None:
        for edge, item in self.items.items():
            item.setText(labels[edge] if labels else "")
        self.note.setText(note)
        self._place()

    def text(self, edge: str) -> str:
        return self.items[edge].toPlainText()

    def _place(self) -> None:
        rect = self.view.boundingRect()
        w, h = rect.width(), rect.height()
        positions = {"left": (MARGIN, h / 2), "right": (w - MARGIN, h / 2), "top": (w / 2, 0),
                     "bottom": (w / 2, h)}
        for edge, (x, y) in positions.items():
            self.items[edge].setPos(x, y)
        self.note.setPos(MARGIN, h - MARGIN)
        self.note.setTextWidth(max(40.0, w - 2 * MARGIN))   # wraps (upwards) in a narrow view, never clipped


class ScaleBar:
    """A bar of a round length in mm near the bottom-right corner, about a fifth of the view's width."""

    def __init__(self, view: pg.ViewBox):
        self.view = view
        self.col_mm: float | None = None   # mm per image column; None: no geometry, no bar
        pen = QPen(QColor(*LABEL_COLOUR))
        pen.setWidth(3)
        pen.setCosmetic(True)
        self.line = QGraphicsLineItem()
        self.line.setPen(pen)
        self.line.setParentItem(view)
        self.line.setZValue(30)
        self.label = pg.TextItem("", color=LABEL_COLOUR, anchor=(0.5, 1))
        self.label.setParentItem(view)
        self.length_mm = 0.0
        view.sigRangeChanged.connect(lambda *_: self.update())
        view.sigResized.connect(lambda _view: self.update())

    def set_pixel_mm(self, col_mm: float | None) -> None:
        self.col_mm = col_mm
        self.update()

    def update(self) -> None:
        rect = self.view.boundingRect()
        (x0, x1), _ = self.view.viewRange()
        visible = self.col_mm is not None and x1 > x0 and rect.width() > 40
        self.line.setVisible(visible)
        self.label.setVisible(visible)
        if not visible:
            return
        screen_per_mm = rect.width() / ((x1 - x0) * self.col_mm)
        target = rect.width() / 5 / screen_per_mm
        self.length_mm = float(max((n for n in NICE_MM if n <= target), default=NICE_MM[0]))
        length = self.length_mm * screen_per_mm
        right, bottom = rect.width() - 3 * MARGIN, rect.height() - 3 * MARGIN
        self.line.setLine(QLineF(right - length, bottom, right, bottom))
        self.label.setText(f"{self.length_mm:g} mm")
        self.label.setPos(right - length / 2, bottom - 2)


def colour_map(name: str) -> pg.ColorMap:
    lut = colour.colormap_lut(name)
    return pg.ColorMap(np.linspace(0.0, 1.0, len(lut)), lut)


class ColourBar:
    """pyqtgraph's ColorBarItem, not interactive: the functional window in its display unit (SUV where it applies)."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int):
        self.item = pg.ColorBarItem(values=(0.0, 1.0), colorMap=colour_map("gray"), interactive=False, width=12,
                                    rounding=0.001, colorMapMenu=False)
        layout.addItem(self.item, row=row, col=col)
        self.item.setOpacity(0.0)
        self.window: tuple[float, float] | None = None
        self.unit = ""
        self.name = ""

    def show(self, name: str, window: tuple[float, float], unit: str) -> None:
        self.name, self.window, self.unit = name, window, unit
        self.item.setColorMap(colour_map(name))
        self.item.setLevels(values=window)
        self.item.axis.setLabel(unit)
        self.item.setOpacity(1.0)

    def hide(self) -> None:
        # transparent, not hidden: every view keeps the same width, so pyqtgraph's linked ranges stay exact
        self.window = None
        self.item.setOpacity(0.0)
