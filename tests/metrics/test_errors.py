"""Bad input gives a one-line ValueError; constant images give documented values, never a crash."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medfuse_gui.metrics import METRICS, PRESETS, compute, compute_regions


def triple(shape=(32, 32)):
    rng = np.random.default_rng(0)
    return tuple(rng.integers(0, 256, shape).astype(np.uint8) for _ in range(3))


def test_shape_mismatch():
    a, b, f = triple()
    with pytest.raises(ValueError, match="shape mismatch"):
        compute(a, b, f[:, :-1])


def test_colour_array_is_refused_with_a_hint():
    a, b, f = triple()
    with pytest.raises(ValueError, match="luminance"):
        compute(a, b, np.stack([f] * 3, axis=-1))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf(bad):
    a, b, f = triple()
    f = f.astype(float)
    f[3, 4] = bad
    with pytest.raises(ValueError, match="fused: contains NaN"):
        compute(a, b, f)


def test_unit_range_floats_are_refused():
    a, b, f = (x / 255.0 for x in triple())
    with pytest.raises(ValueError, match="0..255"):
        compute(a, b, f)


def test_out_of_range_and_tiny_images():
    a, b, f = triple()
    with pytest.raises(ValueError, match="outside the 0..255"):
        compute(a.astype(float) * 16, b, f)
    with pytest.raises(ValueError, match="too small"):
        compute(a[:4, :4], b[:4, :4], f[:4, :4])
    with pytest.raises(ValueError, match="numeric"):
        compute(a > 3, b, f)


@pytest.mark.parametrize("region, message", [((0, 0, 40, 10), "not inside"), ((5, 5, 6, 9), "smaller than"),
                                             ((0, 0, 10), "row0"), ((0.5, 0, 10, 10), "integers"),
                                             ((10, 10, 5, 20), "not inside")])
def test_bad_regions(region, message):
    with pytest.raises(ValueError, match=message):
        compute(*triple(), region=region)


def test_unknown_preset_and_metric():
    with pytest.raises(ValueError, match="unknown metrics preset"):
        compute(*triple(), preset="matlab")
    with pytest.raises(ValueError, match="unknown metric"):
        compute(*triple(), metrics=["EN", "Qcb"])


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("which", ["all", "fused", "source"])
def test_constant_images_give_documented_values(preset, which):
    a, b, f = (x.astype(float) for x in triple((24, 24)))
    if which == "all":
        a = b = f = np.full((24, 24), 7.0)
    elif which == "fused":
        f = np.zeros((24, 24))
    else:
        b = np.full((24, 24), 255.0)
    names = list(METRICS)
    values = compute_regions(a, b, f, {"whole": None, "box": (4, 4, 12, 12)}, preset=preset, metrics=names)
    for region in values.values():
        for name, value in region.items():
            assert isinstance(value, float)
            if math.isnan(value):
                assert METRICS[name].undefined, (name, which)
            if math.isinf(value):
                assert name == "PSNR", (name, which)


def test_uint8_and_float_inputs_agree():
    a, b, f = triple()
    assert compute(a, b, f) == pytest.approx(compute(*(x.astype(np.float32) for x in (a, b, f))), rel=1e-9,
                                             nan_ok=True)
