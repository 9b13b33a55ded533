"""Bar charts of the metrics panel and the loupe: every bar and its printed value inside the plot, at any width."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication

from medfuse_gui.gui.charts import clear_chart, draw_bar_chart

VALUES = [0.583, 0.405, 0.700, 0.678, 0.741, 0.745, 0.742, 0.731, 0.501, 0.550]
LABELS = ["DWT", "Average", "Maximum", "Laplacian", "GFF", "MMIF-AMIN", "DILRAN", "DILRAN (auth.)", "MMIF-Net",
          "Mask-PA"]


def printed_values_inside(plot) -> list[str]:
    view = plot.getViewBox()
    right = view.sceneBoundingRect().right()
    return [item.toPlainText() for item in view.addedItems if isinstance(item, pg.TextItem)
            and item.sceneBoundingRect().right() > right + 0.5]


@pytest.mark.parametrize("width", [230, 320, 700])
def test_every_printed_value_stays_inside_the_plot(qtbot, width):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(width, 260)
    plot.show()
    qtbot.waitExposed(plot)
    draw_bar_chart(plot, LABELS, VALUES, [name == "MMIF-AMIN" for name in LABELS])
    QApplication.processEvents()
    assert printed_values_inside(plot) == []
    plot.resize(width // 2 + 100, 260)   # the user narrows the panel: the room follows
    qtbot.waitUntil(lambda: plot.getViewBox().width() < width - 20 or width <= 230)
    QApplication.processEvents()
    assert printed_values_inside(plot) == []
    low, high = plot.getViewBox().viewRange()[0]
    assert low == 0.0 and high > max(VALUES)                  # bars start at zero and all end inside


def test_a_cleared_chart_keeps_the_range_it_is_given(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.show()
    draw_bar_chart(plot, LABELS[:2], VALUES[:2], [False, False])
    clear_chart(plot)
    plot.setXRange(-1.0, 1.0, padding=0)
    plot.resize(400, 300)
    QApplication.processEvents()
    assert plot.getViewBox().viewRange()[0] == pytest.approx([-1.0, 1.0])
