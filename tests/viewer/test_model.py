"""The viewer model without Qt: one owner of state, events on every change, results shown only for their own key."""

from __future__ import annotations

import numpy as np
import pytest

from medfuse_gui import io, metrics, pipeline
from medfuse_gui.fusion import get_model
from medfuse_gui.viewer import Box
from medfuse_gui.viewer.model import DEFAULT_METRICS_PRESET, ViewerModel

from .conftest import demo_paths


def expected_fused(method: str, window=(0.0, 255.0)) -> np.ndarray:
    anat, func = demo_paths()
    pair = pipeline.make_pair(io.load(anat), io.load(func))
    inputs = pipeline.slice_inputs(pair, 0, window)
    return pipeline.fuse_inputs(inputs, get_model(method)).fused_rgb_uint8()


def record(model: ViewerModel) -> list[str]:
    seen: list[str] = []
    model.events.any.connect(lambda event: seen.append(event.value.type))
    return seen


def test_default_preset_is_the_metrics_modules():
    assert DEFAULT_METRICS_PRESET == metrics.DEFAULT_PRESET


def test_opening_a_pair_fuses_and_measures_it(demo_viewer):
    model = demo_viewer.model
    fused = model.current_fused()
    assert fused is not None and fused.params == model.fusion_key()
    np.testing.assert_array_equal(fused.fused_rgb_uint8(), expected_fused("average"))
    a, b, f = fused.metric_arrays()
    for region in ("whole", "red", "green"):
        values = model.metrics_for(region)
        rect = None if region == "whole" else model.boxes[region].rect()
        assert values["Qabf"] == pytest.approx(metrics.compute(a, b, f, region=rect, metrics=["Qabf"])["Qabf"])
    assert model.is_settled()
    assert model.confirmed  # opened together: may be remembered


def test_every_setter_emits_its_event(demo_viewer):
    model = demo_viewer.model
    seen = record(model)
    model.set_method("maximum")
    model.set_anat_window((10.0, 200.0))
    model.set_colormap("gray")  # an RGB functional image: no colormap applies, nothing changes
    model.set_overlay(visible=True)
    model.set_box("red", Box(10, 12, 30, 30))
    model.set_preset("cddfuse")
    model.set_radiological(False)
    assert seen == ["method", "anat_window", "overlay", "boxes", "preset", "display"]
    assert model.colormap is None


def test_a_result_is_shown_only_for_the_parameters_that_made_it(demo_viewer):
    model, service = demo_viewer.model, demo_viewer.service
    average = model.current_fused()
    model.set_method("maximum")
    assert model.current_fused() is None          # queued, not computed: nothing stale is shown
    assert model.metrics_for("whole") is None
    model.set_fused(average)                      # an old result handed in late
    assert model.current_fused() is None
    demo_viewer.run()
    np.testing.assert_array_equal(model.current_fused().fused_rgb_uint8(), expected_fused("maximum"))
    model.set_method("average")                   # back: served from the cache without a job
    assert model.current_fused() is average and not demo_viewer.runner.queue[1:]
    assert service.cached("maximum") is not None


def test_superseded_jobs_never_run(demo_viewer):
    model, runner = demo_viewer.model, demo_viewer.runner
    runner.ran.clear()
    for name in ("maximum", "dwt", "gff", "laplacian"):
        model.set_method(name)
    demo_viewer.run()
    assert runner.ran.count("fuse") == 1          # only the last request was fused
    assert model.current_fused().method == "laplacian"


def test_the_comparison_only_holds_values_of_the_current_parameters(demo_viewer):
    model = demo_viewer.model
    model.set_method("maximum")
    demo_viewer.run()
    assert [m for m, _ in model.compared_methods(["average", "maximum"])] == ["average", "maximum"]
    model.set_anat_window((20.0, 180.0))          # other inputs to every method: no old bar may remain
    assert model.compared_methods(["average", "maximum"]) == []
    demo_viewer.run()
    assert [m for m, _ in model.compared_methods(["average", "maximum"])] == ["maximum"]
    fused = model.current_fused()
    np.testing.assert_array_equal(fused.fused_rgb_uint8(), expected_fused("maximum", (20.0, 180.0)))
    a, b, f = fused.metric_arrays()
    assert model.metrics_for("whole")["MI"] == pytest.approx(metrics.compute(a, b, f, metrics=["MI"])["MI"])


def test_moving_a_box_keeps_the_whole_image_numbers_and_remeasures_the_box(demo_viewer):
    model = demo_viewer.model
    whole = model.metrics_for("whole")
    model.set_box("green", Box(100.4, 90.6, 40.2, 30.0), finished=False)   # dragging
    assert model.boxes["green"] == Box(100, 91, 40, 30)                      # whole pixels
    assert model.metrics_for("whole") is whole and model.metrics_for("green") is None
    assert not demo_viewer.runner.queue                                     # nothing computed while dragging
    model.set_box("green", Box(100, 91, 40, 30), finished=True)
    demo_viewer.run()
    a, b, f = model.current_fused().metric_arrays()
    expected = metrics.compute(a, b, f, region=(91, 100, 121, 140), metrics=["EN"])["EN"]
    assert model.metrics_for("green")["EN"] == pytest.approx(expected)


def test_a_rejected_pair_leaves_the_previous_one_fully_open(demo_viewer, tmp_path):
    model = demo_viewer.model
    before = (model.anatomical, model.functional, model.pair, model.pair_id, model.anat_window)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    errors = []
    demo_viewer.service.events.error.connect(lambda event: errors.append(event.value))
    demo_viewer.service.open_source("anatomical", bad)
    demo_viewer.run()
    assert (model.anatomical, model.functional, model.pair, model.pair_id, model.anat_window) == before
    assert errors and "broken.png" in errors[0][1]
    assert model.current_fused() is not None


def test_manual_window_is_no_preset(demo_viewer):
    model = demo_viewer.model
    assert model.anat_window_preset == "Default"
    model.set_anat_window((5.0, 100.0))
    assert model.anat_window_preset is None


def test_status_lines_expire_with_what_they_describe(demo_viewer):
    model = demo_viewer.model
    model.notify("MMIF-AMIN: copies the MRI", "warning", scope=("method", "mmif-amin"))
    assert model.current_message() is None           # not the selected method
    model.set_method("mmif-amin")
    assert model.current_message().text.startswith("MMIF-AMIN")
    model.set_method("average")
    assert model.current_message() is None           # never an older line in its place
    model.start_job(99, "Fusing volume")
    model.notify("Fusing volume: slice 3 / 9", scope=("job", 99))
    assert model.current_message() is not None
    model.end_job(99)
    assert model.current_message() is None
    model.notify("SIMULATED", "notice", scope=("pair", model.pair_id))
    model.notify("Opened x")
    assert [m.text for m in model.notices()] == ["SIMULATED"] and model.current_message().text == "Opened x"
