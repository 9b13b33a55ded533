"""The loupe: every method on the same slice and boxes, linked; table equal to the metrics module; exports."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt

from medfuse_gui import metrics
from medfuse_gui.fusion import get_model_info
from medfuse_gui.gui.main_window import demo_paths

TIMEOUT = 120_000


@pytest.fixture
def loupe_window(qtbot, window):
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_pair(*demo_paths())
    # keep the grid to fast methods: uncheck the networks
    for i in range(window.loupe.method_list.count()):
        item = window.loupe.method_list.item(i)
        if item.data(Qt.ItemDataRole.UserRole) not in ("average", "maximum", "laplacian", "dwt", "gff"):
            item.setCheckState(Qt.CheckState.Unchecked)
    with qtbot.waitSignal(window.loupe_controller.complete, timeout=TIMEOUT):
        window.tabs.setCurrentWidget(window.loupe)
    return window


def test_grid_has_sources_and_every_selected_method(loupe_window):
    loupe = loupe_window.loupe
    selected = loupe.selected_methods()
    assert selected == ["average", "maximum", "laplacian", "dwt", "gff"]
    assert list(loupe.cells) == ["__anatomical__", "__functional__", *selected]
    for method in selected:
        shown = loupe.cells[method].image.image
        np.testing.assert_array_equal(shown, loupe_window.loupe_controller.results[method].fused_rgb_uint8())
        assert loupe.cells[method].title.text().endswith(" ms")
    assert not loupe_window.metrics_dock.isVisible()


def test_moving_a_box_in_one_cell_moves_it_in_all_and_in_the_viewer(qtbot, loupe_window):
    window = loupe_window
    roi = window.loupe.cells["dwt"].rois["green"]
    with qtbot.waitSignal(window.loupe_controller.complete, timeout=TIMEOUT):
        roi.setPos(QPointF(150.0, 90.0))  # a drag's end: sigRegionChangeFinished -> re-measure every method
    for panel in list(window.loupe.cells.values()) + [window.panels["anatomical"], window.panels["fused"]]:
        box = panel.box("green")
        assert (box.x, box.y) == pytest.approx((150, 90))
        inset = panel.inset_range("green")
        assert inset.center().x() == pytest.approx(150 + box.w / 2, abs=0.5)
    assert window.model.boxes["green"].x == pytest.approx(150)


def test_table_equals_metrics_module_and_marks_the_best(qtbot, loupe_window):
    window = loupe_window
    loupe = window.loupe
    loupe.region_combo.setCurrentText("Red box")
    region = window.model.boxes["red"].rect()
    best = {}
    for method in loupe.selected_methods():
        a, b, f = window.loupe_controller.results[method].metric_arrays()
        expected = metrics.compute(a, b, f, region=region)
        assert loupe.values[method]["red"]["Qabf"] == pytest.approx(expected["Qabf"], rel=1e-9)
        best[method] = expected["Qabf"]
    winner = max(best, key=best.get)
    assert loupe.cell_font(winner, "Qabf").bold()
    second = sorted(best, key=best.get)[-2]
    assert loupe.cell_font(second, "Qabf").underline()
    # sorting by a metric column orders the rows by value, not by text
    column = 2 + loupe.metric_names.index("Qabf")
    loupe.table.sortItems(column)
    values = [loupe.table.item(r, column).value for r in range(loupe.table.rowCount())]
    assert values == sorted(values)


def test_loupe_exports_figure_and_table(qtbot, loupe_window, tmp_path):
    controller = loupe_window.loupe_controller
    with qtbot.waitSignal(controller.figureExported, timeout=TIMEOUT):
        assert controller.export_figure(tmp_path / "loupe.png")
    image = cv2.imread(str(tmp_path / "loupe.png"))
    assert image is not None and image.shape[1] > image.shape[0]
    assert controller.export_table(tmp_path / "loupe.tex")
    assert r"\textbf" in (tmp_path / "loupe.tex").read_text()
    loupe_window.confirm_overwrite = lambda p: False
    assert not controller.export_table(tmp_path / "loupe.tex")


def test_radar_chart_draws_one_polygon_per_method(loupe_window):
    loupe = loupe_window.loupe
    loupe.chart_kind.setCurrentText("Radar")
    curves = [c for c in loupe.chart.getPlotItem().listDataItems() if c.name()]
    assert sorted(c.name() for c in curves) == sorted(get_model_info(m).title for m in loupe.selected_methods())
    view = loupe.chart.getPlotItem().getViewBox()
    assert view.state["aspectLocked"]
    loupe.chart_kind.setCurrentText("Bars")  # back to bars: one labelled bar per method, no locked aspect
    assert not view.state["aspectLocked"]
    bars = [item for item in view.addedItems if isinstance(item, pg.BarGraphItem)]
    assert len(bars) == 1 and len(bars[0].opts["y"]) == len(loupe.selected_methods())
    from medfuse_gui.gui.charts import short_label

    ticks = loupe.chart.getAxis("left")._tickLevels[0]
    assert sorted(label for _, label in ticks) == sorted(short_label(get_model_info(m).title)
                                                         for m in loupe.selected_methods())


def test_every_cell_shows_the_whole_slice_filling_its_view(qtbot, window):
    """Linked views with locked aspect ratchet each other's ranges outwards; cells must still frame the slice."""
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() <= 1024)
    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_pair(*demo_paths())
    for i in range(window.loupe.method_list.count()):
        item = window.loupe.method_list.item(i)
        if item.data(Qt.ItemDataRole.UserRole) not in ("average", "maximum", "dwt"):
            item.setCheckState(Qt.CheckState.Unchecked)
    with qtbot.waitSignal(window.loupe_controller.complete, timeout=TIMEOUT):
        window.tabs.setCurrentWidget(window.loupe)
    for panel in window.loupe.cells.values():
        view = panel.view
        assert view.width() > 0.9 * panel.canvas.width()   # the image gets the cell's width (no empty bar column)
        rows, cols = panel.image.image.shape[:2]
        (x0, x1), (y0, y1) = view.viewRange()
        # the range contains the slice and is at most 10% larger along its tighter axis (fit, not zoomed out)
        assert x0 <= 0.5 and y0 <= 0.5 and x1 >= cols - 0.5 and y1 >= rows - 0.5
        assert min((x1 - x0) / cols, (y1 - y0) / rows) < 1.1, (panel.role, view.viewRange(), view.width())


def test_uncached_methods_are_fused_cheapest_first_with_progress(qtbot, window):
    """All ten methods: the classic ones (milliseconds) first, then the networks by their typical time, so the grid
    fills from the fast end; the progress line counts them until every one is measured."""
    from medfuse_gui.gui.loupe_controller import fastest_first

    with qtbot.waitSignal(window.pipelineIdle, timeout=TIMEOUT):
        window.open_pair(*demo_paths(), "average")
    arrived, progress = [], []
    window.service.events.result.connect(lambda e: arrived.append(e.value.method))
    window.service.events.result.connect(lambda e: progress.append(window.loupe.progress_label.text()))
    selected = window.loupe.selected_methods()
    assert len(selected) == 10
    with qtbot.waitSignal(window.loupe_controller.complete, timeout=TIMEOUT):
        window.tabs.setCurrentWidget(window.loupe)
    fused_now = [m for m in arrived if m != "average"]
    assert fused_now == [m for m in fastest_first(selected) if m != "average"]
    assert fused_now[:4] == ["maximum", "laplacian", "dwt", "gff"]
    assert fused_now.index("mask-pa") < fused_now.index("mmif-net") < fused_now.index("mmif-amin") \
        < fused_now.index("dilran")
    assert any(text.startswith("fused ") and "of 10 methods" in text for text in progress)
    assert window.loupe.progress_label.text() == ""
    # what this session measured now orders the next slice
    assert set(window.service.seconds_per_pixel) >= set(fused_now)


def test_measured_costs_override_the_typical_order():
    from medfuse_gui.gui.loupe_controller import fastest_first

    methods = ["dilran", "mmif-amin", "gff", "mask-pa"]
    assert fastest_first(methods) == ["gff", "mask-pa", "mmif-amin", "dilran"]
    # a GPU (or another machine) may rank them differently: what was measured wins
    assert fastest_first(methods, {"dilran": 1e-8, "mmif-amin": 5e-6}) == ["dilran", "gff", "mask-pa", "mmif-amin"]
