"""Horizontal bar charts (metrics panel, loupe): one labelled bar per method, its value printed at its end, the whole
range inside the plot so bars of different values never draw equal."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

BAR_COLOUR, HIGHLIGHT_COLOUR = (70, 120, 200), (230, 140, 30)
MAX_LABEL = 14   # characters of a method title that fit the axis (pyqtgraph drops a tick label that does not fit)


def short_label(text: str) -> str:
    """A title's abbreviation when it has one ("Guided filtering (GFF)" -> "GFF"), else the title, elided."""
    if len(text) > MAX_LABEL and text.endswith(")") and "(" in text:
        inner = text[text.rindex("(") + 1:-1]
        text = inner if " " not in inner else f"{text[:text.rindex('(')].strip()} ({inner.split()[0][:4]}.)"
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def value_text(value: float) -> str:
    magnitude = abs(value)
    return f"{value:.1f}" if magnitude >= 100 else f"{value:.2f}" if magnitude >= 10 else f"{value:.3f}"


def clear_chart(plot: pg.PlotWidget) -> None:
    plot.clear()
    plot._bar_extent = None   # a radar or an empty chart keeps its own range on resize


def draw_bar_chart(plot: pg.PlotWidget, labels: list[str], values, highlight: list[bool]) -> None:
    """Horizontal bars, first label on top. Negative scores (SCD can be) grow leftwards from zero. The title goes
    in a word-wrapped label above the plot: a plot title's text would set the plot's minimum width and push the
    bars past the panel's edge."""
    values = np.asarray(values, dtype=float)
    values = np.where(np.isfinite(values), values, 0.0)
    rows = np.arange(len(labels))[::-1].astype(float)
    brushes = [pg.mkBrush(*(HIGHLIGHT_COLOUR if h else BAR_COLOUR)) for h in highlight]
    plot.addItem(pg.BarGraphItem(x0=np.minimum(values, 0.0), y=rows, width=np.abs(values), height=0.7,
                                 brushes=brushes))
    low, high = min(0.0, float(values.min(initial=0.0))), max(0.0, float(values.max(initial=0.0)))
    span = (high - low) or 1.0
    texts = []
    for row, value in zip(rows, values):
        text = pg.TextItem(value_text(value), color="#222", anchor=(0, 0.5) if value >= 0 else (1, 0.5))
        text.setPos(value + (0.01 if value >= 0 else -0.01) * span, row)
        plot.addItem(text)
        texts.append(text)
    plot.getAxis("left").setTicks([[(float(row), short_label(label)) for row, label in zip(rows, labels)]])
    plot.getAxis("bottom").setTicks(None)
    plot.setAspectLocked(False)  # a radar chart may have locked it
    plot.disableAutoRange()
    # at least five rows of height, top-aligned, so one or two methods do not draw slabs
    count = max(len(labels), 5)
    plot.setYRange(len(labels) - count - 0.5, len(labels) - 0.5, padding=0)
    label_px = max((t.boundingRect().width() for t in texts), default=0.0) + 4.0
    plot._bar_extent = (low, high, span, label_px)
    view = plot.getViewBox()
    if not getattr(plot, "_bar_fit_connected", False):   # the room a printed value needs depends on the width
        view.sigResized.connect(lambda _view, plot=plot: _fit_values(plot))
        plot._bar_fit_connected = True
    _fit_values(plot)


def _fit_values(plot: pg.PlotWidget) -> None:
    """An x range with room, in pixels, for the value printed after each bar: every bar and value stays inside."""
    extent = getattr(plot, "_bar_extent", None)
    if extent is None:
        return
    low, high, span, label_px = extent
    width = plot.getViewBox().width()
    share = min(label_px / width, 0.6) if width > 0 else 0.22     # of the plot's width that the values need
    room = span * (share / (1.0 - share) + 0.02)
    plot.setXRange(low - (room if low < 0 else 0.0), high + room, padding=0)
