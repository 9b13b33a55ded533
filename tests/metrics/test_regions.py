"""Boxes: crop-based metrics equal the metric of the cropped arrays; map-based ones restrict whole-image maps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medfuse_gui.metrics import METRICS, PRESETS, compute, compute_regions
from medfuse_gui.metrics._context import Context
from medfuse_gui.metrics.gradient import qabf_maps
from medfuse_gui.metrics.structural import ssim_map

CROP = [name for name, spec in METRICS.items() if spec.region == "crop"]
MAP = [name for name, spec in METRICS.items() if spec.region == "map"]
BOX = (90, 70, 130, 120)  # rows 90..129, columns 70..119


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_crop_metrics_of_a_box_equal_the_metrics_of_the_cropped_arrays(spect_triple, preset):
    a, b, f = spect_triple
    r0, c0, r1, c1 = BOX
    boxed = compute(a, b, f, preset=preset, region=BOX, metrics=CROP)
    cropped = compute(a[r0:r1, c0:c1], b[r0:r1, c0:c1], f[r0:r1, c0:c1], preset=preset, metrics=CROP)
    for name in CROP:
        assert boxed[name] == pytest.approx(cropped[name], rel=1e-12, abs=1e-12), name


def test_whole_image_box_equals_no_region(spect_triple):
    a, b, f = spect_triple
    whole = compute(a, b, f)
    boxed = compute(a, b, f, region=(0, 0, a.shape[0], a.shape[1]))
    assert boxed == pytest.approx(whole, rel=1e-12)


def test_map_metrics_average_the_whole_image_maps_over_the_box(spect_triple):
    a, b, f = spect_triple
    r0, c0, r1, c1 = BOX
    v = compute(a, b, f, region=BOX, metrics=["SSIM", "Qabf"])
    # SSIM maps are centred 5 pixels in: map index (i, j) is image pixel (i + 5, j + 5)
    expected = np.mean([ssim_map(x, f)[r0 - 5:r1 - 5, c0 - 5:c1 - 5].mean() for x in (a, b)])
    assert v["SSIM"] == pytest.approx(expected, rel=1e-12)
    num, weight = qabf_maps(Context(a, b, f), "normalised")
    assert v["Qabf"] == pytest.approx(num[r0:r1, c0:c1].sum() / weight[r0:r1, c0:c1].sum(), rel=1e-12)


def test_compute_regions_equals_one_call_per_region(spect_triple):
    a, b, f = spect_triple
    regions = {"whole": None, "box": BOX, "small": (120, 120, 144, 144)}
    together = compute_regions(a, b, f, regions, preset="vifb")
    for key, region in regions.items():
        assert together[key] == pytest.approx(compute(a, b, f, preset="vifb", region=region), rel=1e-12,
                                              nan_ok=True)


@pytest.mark.parametrize("box", [(120, 120, 144, 144), (0, 0, 24, 24), (232, 232, 256, 256), (0, 0, 2, 2),
                                 (254, 254, 256, 256), (100, 3, 102, 5), (10, 0, 60, 256)])
def test_small_and_edge_boxes_give_numbers_or_documented_values(spect_triple, box):
    a, b, f = spect_triple
    values = compute_regions(a, b, f, {"box": box})["box"]
    for name, value in values.items():
        assert isinstance(value, float), name
        if math.isnan(value):
            assert METRICS[name].undefined, f"{name} is NaN in {box} but documents no undefined case"
        if math.isinf(value):
            assert name == "PSNR", name


def test_a_24_pixel_box_inside_tissue_has_every_metric(spect_triple):
    a, b, f = spect_triple
    values = compute(a, b, f, region=(116, 116, 140, 140))
    assert all(math.isfinite(v) for v in values.values()), values


def test_flat_background_box_gives_the_documented_values(spect_triple):
    a, b, f = (x.copy() for x in spect_triple)
    for x in (a, b, f):
        x[:40, :40] = 0.0  # black background in all three images, wider than every window reaching the box
    v = compute(a, b, f, region=(0, 0, 16, 16))
    assert v["EN"] == 0.0 and v["SD"] == 0.0 and v["MI"] == 0.0
    assert v["PSNR"] == math.inf
    for name in ("CC", "SCD", "NMI", "Qabf", "VIF"):
        assert math.isnan(v[name]), name
    assert v["SSIM"] == pytest.approx(1.0) and v["FMI_pixel"] == pytest.approx(1.0) and v["VIFF"] == pytest.approx(1.0)
    assert compute(a, b, f, preset="cddfuse", region=(0, 0, 16, 16), metrics=["VIF"])["VIF"] == 2.0  # NaN -> 1.0, x2
