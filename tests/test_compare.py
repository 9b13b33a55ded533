"""``medfuse compare`` and the figure/table writers: panels, box colours where the boxes are, numbers from the
metrics module, best bold / second underlined in the right direction."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from medfuse_gui import io, metrics, pipeline, report
from medfuse_gui.cli import main
from medfuse_gui.compare import compare_slice, figure, write_table
from medfuse_gui.evaluation import default_rects

METHODS = ["average", "maximum", "dwt"]


@pytest.fixture(scope="module")
def comparison(spect_pair):
    pair = pipeline.make_pair(io.load(spect_pair[0]), io.load(spect_pair[1]))
    return compare_slice(pair, 0, METHODS, default_rects(256, 256), label="SPECT-MRI 11017")


def _colour_fraction(image, box, rgb, tolerance=60):
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    patch = image[y0:y1, x0:x1].astype(int)
    return float(np.all(np.abs(patch - np.array(rgb)) < tolerance, axis=-1).mean())


def test_figure_has_every_panel_with_boxes_and_crops_in_place(comparison, tmp_path):
    path = tmp_path / "figure.png"
    layout = figure(comparison, path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]
    assert image.shape[:2] == (layout.height, layout.width)
    assert len(layout.images[0]) == 2 + len(METHODS)  # anatomical, functional, each method
    red, green = (229, 25, 25), (25, 204, 51)
    for panel, crops in zip(layout.images[0], layout.crops[0]):
        x0, y0, x1, y1 = panel
        sx, sy = (x1 - x0) / 256, (y1 - y0) / 256
        for name, colour in (("red", red), ("green", green)):
            r0, c0, r1, c1 = comparison.boxes[name]
            # the top edge of the drawn box, in figure pixels
            top = (x0 + c0 * sx + 3, y0 + r0 * sy - 2, x0 + c1 * sx - 3, y0 + r0 * sy + 2)
            assert _colour_fraction(image, top, colour) > 0.5, (name, panel)
            # the crop's frame: its left border column is the box colour
            cx0, cy0, cx1, cy1 = crops[name]
            frame = (cx0 - 1, cy0 + 5, cx0 + 2, cy1 - 5)
            assert _colour_fraction(image, frame, colour) > 0.5, (name, "crop")
        # inside a crop: the magnified image, not the frame colour
        cx0, cy0, cx1, cy1 = crops["red"]
        centre = (cx0 + (cx1 - cx0) * 0.4, cy0 + (cy1 - cy0) * 0.4, cx0 + (cx1 - cx0) * 0.6, cy0 + (cy1 - cy0) * 0.6)
        assert _colour_fraction(image, centre, red, tolerance=20) < 0.5


@pytest.mark.parametrize("suffix", [".pdf", ".svg"])
def test_vector_figures(comparison, tmp_path, suffix):
    path = tmp_path / f"figure{suffix}"
    figure(comparison, path)
    head = path.read_bytes()[:200]
    assert head.startswith(b"%PDF") if suffix == ".pdf" else b"<svg" in path.read_bytes()[:2000]


def test_table_values_equal_the_metrics_module(comparison, tmp_path):
    path = tmp_path / "table.csv"
    write_table(comparison, path)
    rows = list(csv.DictReader(path.open()))
    assert {r["region"] for r in rows} == {"whole", "red", "green"}
    for row in rows:
        fused = comparison.fused[row["method"]]
        a, b, f = fused.metric_arrays()
        region = None if row["region"] == "whole" else comparison.boxes[row["region"]]
        expected = metrics.compute(a, b, f, region=region)
        for name, value in expected.items():
            if np.isfinite(value):
                assert float(row[name]) == pytest.approx(value, rel=1e-9)
    # the best mark goes to the largest value of a higher-is-better metric (MSE, lower-is-better: next test)
    whole = [r for r in rows if r["region"] == "whole"]
    for name in ("Qabf", "SD"):
        best = max(whole, key=lambda r: float(r[name]))
        assert best[f"{name}_rank"] == "1"


def test_latex_marks_best_bold_and_second_underlined():
    table = report.summarise({"a": [{"MSE": 3.0, "Qabf": 0.5}], "b": [{"MSE": 1.0, "Qabf": 0.7}],
                              "c": [{"MSE": 2.0, "Qabf": 0.6}]}, ["MSE", "Qabf"])
    assert table["b"]["MSE"].rank == 1 and table["c"]["MSE"].rank == 2 and table["a"]["MSE"].rank is None
    text = report.latex(table, ["MSE", "Qabf"], with_std=False)
    assert r"b & \textbf{1.000} & \textbf{0.7000}" in text
    assert r"c & \underline{2.000} & \underline{0.6000}" in text


def test_compare_cli_single_pair_and_split(tmp_path, spect_pair):
    figure_path, table_path = tmp_path / "fig.png", tmp_path / "table.tex"
    assert main(["compare", "--anat", str(spect_pair[0]), "--func", str(spect_pair[1]), "--methods",
                 ",".join(METHODS), "--figure", str(figure_path), "--table", str(table_path), "--quiet"]) == 0
    assert figure_path.stat().st_size > 10_000 and r"\textbf" in table_path.read_text()
    assert main(["compare", "--anat", str(spect_pair[0]), "--func", str(spect_pair[1]), "--methods", "average",
                 "--figure", str(figure_path), "--quiet"]) == 1  # exists, no --force
    split_table = tmp_path / "split.csv"
    assert main(["compare", "--split", "test", "--task", "CT-MRI", "--methods", "average,maximum",
                 "--table", str(split_table), "--quiet"]) == 0
    rows = list(csv.DictReader(split_table.open()))
    assert [r["method"] for r in rows] == ["average", "maximum"] and rows[0]["task"] == "CT-MRI"
    assert float(rows[0]["Qabf_std"]) > 0  # mean and std over the 35 test pairs


def _bar_column(image, box):
    """The bar's middle column, from top to bottom, inside its frame."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return image[y0 + 2:y1 - 2, (x0 + x1) // 2].astype(int)


def test_a_gray_functional_figure_ends_with_its_colour_bar_in_the_viewers_colours(tmp_path):
    from medfuse_gui import colour
    from medfuse_gui.demo import volume_demo_paths

    anat, func = volume_demo_paths()
    pair = pipeline.make_pair(io.load(anat), io.load(func))
    window = (float(pair.functional.window[0]), float(pair.functional.window[1]) * 0.6)
    comparison = compare_slice(pair, pair.n_planes("axial") // 2, ["average"], {"red": (60, 60, 100, 100)},
                               colormap="hot-metal")
    comparison.inputs = pipeline.slice_inputs(pair, pair.n_planes("axial") // 2, functional_window=window,
                                              colormap="hot-metal")
    scale = comparison.inputs.colour_scale
    assert scale == colour.ColourScale("hot-metal", pytest.approx(window), pair.functional.unit)
    layout = figure(comparison, tmp_path / "fig.png")
    image = cv2.cvtColor(cv2.imread(str(tmp_path / "fig.png")), cv2.COLOR_BGR2RGB)
    box = layout.colour_bars[0]
    assert box is not None and box[0] > layout.images[0][-1][2]          # right of the last panel
    column = _bar_column(image, box)
    lut = colour.colormap_lut("hot-metal").astype(int)
    assert np.abs(column[0] - lut[-1]).max() <= 12 and np.abs(column[-1] - lut[0]).max() <= 12
    middle = column[len(column) // 2]
    assert np.abs(lut - middle).sum(axis=1).argmin() == pytest.approx(128, abs=8)
    label, ticks = layout.colour_bar_labels[0]
    assert label == pair.functional.unit
    expected = [value for _, value in colour.colour_bar_ticks(scale.window)]
    assert [float(t.replace("\u2212", "-")) for t in ticks if t] == pytest.approx(expected)


def test_a_pet_series_figure_labels_its_colour_bar_in_suv(tmp_path):
    from tests.io.dicom_helpers import write_series
    from tests.io.pet_helpers import write_pet_series

    stored = np.arange(4 * 16 * 16, dtype=np.uint16).reshape(4, 16, 16) * 7 + 100
    write_pet_series(tmp_path / "pet", stored)
    write_series(tmp_path / "mr", stored, spacing=(3.0, 2.0, 2.0), description="T1")
    pair = pipeline.make_pair(io.load(tmp_path / "mr"), io.load(tmp_path / "pet"))
    factor = pair.functional.suv_factor.factor
    inputs = pipeline.slice_inputs(pair, 1, functional_window=(0.0, 5.0 / factor), colormap="hot")
    assert inputs.colour_scale.unit == "SUV" and inputs.colour_scale.window == pytest.approx((0.0, 5.0))
    comparison = compare_slice(pair, 1, ["average"], {"red": (2, 2, 10, 10)}, colormap="hot")
    comparison.inputs = inputs
    layout = figure(comparison, tmp_path / "pet.png")
    label, ticks = layout.colour_bar_labels[0]
    assert label == "SUV" and [t for t in ticks if t][-1] == "5"


def test_an_rgb_functional_figure_has_no_colour_bar(comparison, tmp_path):
    assert comparison.inputs.colour_scale is None
    layout = figure(comparison, tmp_path / "rgb.png")
    assert layout.colour_bars == [None]
