"""Classic fusion baselines on real Harvard pairs."""

from __future__ import annotations

import numpy as np
import pytest

from medfuse_gui import fusion
from medfuse_gui.fusion.classic import guided_filter

CLASSIC = fusion.list_models(kind="classic")


def average_gradient(image: np.ndarray) -> float:
    gy, gx = np.gradient(image.astype(np.float64))
    return float(np.mean(np.sqrt((gx ** 2 + gy ** 2) / 2)))


def test_the_five_baselines_are_registered():
    assert CLASSIC == ["average", "maximum", "laplacian", "dwt", "gff"]


@pytest.mark.parametrize("pair", ["spect_unit", "ct_unit"])
@pytest.mark.parametrize("name", CLASSIC)
def test_each_method_on_real_pairs(name, pair, request):
    anat, func = request.getfixturevalue(pair)
    fused = fusion.get_model(name).fuse(anat, func)
    assert fused.shape == anat.shape and fused.dtype == np.float32
    assert np.isfinite(fused).all() and fused.min() >= 0 and fused.max() <= 1
    for source in (anat, func):
        assert np.corrcoef(fused.ravel(), source.ravel())[0, 1] > 0.3
    if pair == "ct_unit":
        # CT-MRI: both sources carry salient structure (bone, soft tissue): no method may return a copy of one.
        # (On SPECT-MRI, GFF keeps the MRI luminance almost unchanged — the SPECT is never the more salient — which
        # is the published algorithm's behaviour; see docs/models.md.)
        for source in (anat, func):
            assert np.abs(fused - source).mean() > 0.02


@pytest.mark.parametrize("name", CLASSIC)
def test_identical_inputs_give_the_input_back(name, spect_unit):
    anat, _ = spect_unit
    np.testing.assert_allclose(fusion.get_model(name).fuse(anat, anat), anat, atol=2e-5)


@pytest.mark.parametrize("name", CLASSIC)
def test_stacks_and_odd_sizes(name, spect_unit):
    anat, func = spect_unit
    a = np.stack([anat[:123, :97], anat[10:133, 20:117]])
    b = np.stack([func[:123, :97], func[10:133, 20:117]])
    out = fusion.get_model(name).fuse(a, b)
    assert out.shape == a.shape
    np.testing.assert_allclose(out[0], fusion.get_model(name).fuse(a[0], b[0]))


def test_average_and_maximum_are_exact(spect_unit):
    anat, func = spect_unit
    np.testing.assert_array_equal(fusion.get_model("average").fuse(anat, func), (anat + func) * np.float32(0.5))
    np.testing.assert_array_equal(fusion.get_model("maximum").fuse(anat, func), np.maximum(anat, func))


@pytest.mark.parametrize("name", ["laplacian", "dwt", "gff"])
def test_multiscale_methods_keep_more_detail_than_averaging(name, spect_unit):
    anat, func = spect_unit
    averaged = fusion.get_model("average").fuse(anat, func)
    assert average_gradient(fusion.get_model(name).fuse(anat, func)) > 1.15 * average_gradient(averaged)


def test_guided_filter_preserves_constants_and_smooths_noise():
    rng = np.random.default_rng(0)
    guide = np.full((64, 64), 0.5, np.float32)
    np.testing.assert_allclose(guided_filter(guide, guide, 4, 1e-3), guide, atol=1e-5)
    noisy = (0.5 + 0.1 * rng.standard_normal((64, 64))).astype(np.float32)
    smoothed = guided_filter(guide, noisy, 4, 1e-3)  # flat guide: the filter is a local mean
    assert smoothed.std() < 0.3 * noisy.std()


def test_shape_mismatch_is_reported(spect_unit):
    anat, func = spect_unit
    with pytest.raises(ValueError, match="shapes differ"):
        fusion.get_model("gff").fuse(anat, func[:100])


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(fusion.UnknownMethodError, match="known: average, maximum"):
        fusion.get_model("bogus")
