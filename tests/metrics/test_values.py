"""Values computed by hand on small arrays, and the invariants every definition must satisfy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medfuse_gui.metrics import ALL_METRICS, METRICS, PRESETS, compute
from medfuse_gui.metrics.information import entropy, fmi_of_patterns, mutual_information


def quadrants() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A: columns 0 | 100; B: rows 0 / 100; F = (A + B) / 2, quadrants 0, 50, 50, 100. 8x8."""
    a = np.zeros((8, 8))
    a[:, 4:] = 100
    b = a.T.copy()
    return a, b, (a + b) / 2


def test_hand_computed_quadrants_default():
    a, b, f = quadrants()
    v = compute(a, b, f, metrics=["EN", "SD", "SF", "AG", "MI", "NMI", "MSE", "PSNR", "CC", "SCD"])
    assert v["EN"] == pytest.approx(1.5)                     # levels 0, 50, 100 with p = 1/4, 1/2, 1/4
    assert v["SD"] == pytest.approx(math.sqrt(1250))          # population: mean 50, deviations +-50 on half
    # 8 rows x 7 horizontal differences, one of 50 per row; the same vertically
    assert v["SF"] == pytest.approx(math.sqrt(2 * 8 * 2500 / 56))
    # forward differences on the 7x7 grid: row 3 / column 3 carry a jump of 50 in one direction (13 positions)
    # and position (3, 3) carries both
    expected_ag = (12 * math.sqrt(2500 / 2) + math.sqrt(5000 / 2)) / 49
    assert v["AG"] == pytest.approx(expected_ag)
    assert v["MI"] == pytest.approx(1.0)                      # I(A;F) = H(F) - H(F|A) = 1.5 - 1 = 0.5, twice
    assert v["NMI"] == pytest.approx(2 * (0.5 / 2.5 + 0.5 / 2.5))
    assert v["MSE"] == pytest.approx(1250)
    assert v["PSNR"] == pytest.approx(10 * math.log10(255 ** 2 / 1250))
    assert v["CC"] == pytest.approx(1 / math.sqrt(2))         # F = (A + B)/2 with A, B uncorrelated, equal variance
    assert v["SCD"] == pytest.approx(math.sqrt(2))            # r(A, F - B) = r(A, (A - B)/2) = 1/sqrt(2), twice


def test_hand_computed_quadrants_toolbox_conventions():
    a, b, f = quadrants()
    v = compute(a, b, f, preset="cddfuse", metrics=["MI", "PSNR", "AG"])
    assert v["MI"] == pytest.approx(2 * 0.5 * math.log(2))   # nats
    assert v["PSNR"] == pytest.approx(10 * math.log10(100 ** 2 / 1250))  # peak = max(F) = 100
    gy, gx = np.gradient(f)
    assert v["AG"] == pytest.approx(np.mean(np.sqrt((gx ** 2 + gy ** 2) / 2)))
    w = compute(a, b, f, preset="vifb", metrics=["SD", "AG", "MI"])
    assert w["SD"] == pytest.approx(np.std(f, ddof=1))
    assert w["AG"] == pytest.approx(np.sum(np.sqrt((gx ** 2 + gy ** 2) / 2)) / 49)
    assert w["MI"] == pytest.approx(math.log(2))              # min-max levels keep the three classes


def test_mi_of_an_image_with_itself_is_its_entropy_in_bits(spect_triple):
    a, b, _ = spect_triple
    for x in (a, b):
        assert mutual_information(x, x) == pytest.approx(entropy(x), rel=1e-12)
    v = compute(a, a, a, metrics=["MI", "EN"])
    assert v["MI"] == pytest.approx(2 * v["EN"], rel=1e-12)


def test_identical_images_score_perfectly(spect_triple):
    a = spect_triple[0]
    v = compute(a, a, a)
    for name in ("Qabf", "SSIM", "FSIM", "VIF", "VIFF", "FMI_pixel", "AFM", "CC"):
        assert v[name] == pytest.approx(1.0, abs=1e-9), name
    assert v["NMI"] == pytest.approx(2.0)
    assert v["PSNR"] == math.inf


def test_qabf_toolbox_constants_top_out_below_one(spect_triple):
    """The toolbox constants 0.9994 / 0.9879 are the reciprocals of the normalising ones: F = A = B gives ~0.975."""
    a = spect_triple[0]
    v = compute(a, a, a, preset="cddfuse", metrics=["Qabf"])["Qabf"]
    assert 0.97 < v < 0.976


def test_ssim_of_an_image_with_itself_is_one_in_every_preset(spect_triple):
    a = spect_triple[0]
    assert compute(a, a, a, metrics=["SSIM"])["SSIM"] == pytest.approx(1.0)
    assert compute(a, a, a, preset="cddfuse", metrics=["SSIM"])["SSIM"] == pytest.approx(2.0)  # a sum there


def test_metrics_move_the_right_way_when_the_fused_image_degrades(spect_triple):
    import cv2

    a, b, f = spect_triple
    blurred = cv2.GaussianBlur(f, (0, 0), 2.0)
    good, bad = compute(a, b, f), compute(a, b, blurred)
    for name in ("SF", "AG", "Qabf", "FSIM", "FMI_pixel", "VIFF", "SSIM", "AFM"):
        assert good[name] > bad[name], name


def test_fmi_window_rules():
    def code(bits):
        return sum(int(v) << k for k, v in enumerate(bits))
    none, edge = code([0] * 9), code([0, 0, 0, 1, 1, 1, 0, 0, 0])
    other = code([0, 0, 0, 1, 1, 0, 0, 0, 0])
    values = fmi_of_patterns(np.array([none * 512 + none, edge * 512 + edge, edge * 512 + none,
                                       code([1] * 9) * 512 + none, edge * 512 + other]))
    assert values[0] == pytest.approx(1.0)   # two constant windows: identical uniform PDFs
    assert values[1] == pytest.approx(1.0)   # identical features
    assert values[2] == pytest.approx(0.0)   # an edge against nothing: independent
    assert values[3] == pytest.approx(1.0)   # all-ones is constant too
    assert 0.0 < values[4] < 1.0             # a shorter edge on the same line


def test_fmi_matches_a_direct_window_by_window_computation():
    """The pattern table must give what the definition gives window by window."""
    from medfuse_gui.metrics._context import Context
    from medfuse_gui.metrics.information import fmi_map, sobel_edges

    rng = np.random.default_rng(3)
    a = np.kron(rng.integers(0, 255, (4, 4)), np.ones((4, 4))).astype(float)
    b = np.kron(rng.integers(0, 255, (4, 4)), np.ones((4, 4))).astype(float).T
    f = np.maximum(a, b)
    ctx = Context(a, b, f)
    got = fmi_map(ctx)
    ea, eb, ef = (sobel_edges(x).astype(float) for x in (a, b, f))

    def pdf(w):
        w = w.ravel()
        return np.full(9, 1 / 9) if w.max() == w.min() else (w - w.min()) / (w.max() - w.min()) / np.sum(
            (w - w.min()) / (w.max() - w.min()))

    def ent(p):
        p = p[p > 1e-12]
        return -np.sum(p * np.log2(p))

    def fmi(x, y):
        px, py = pdf(x), pdf(y)
        if x.std() == 0 and y.std() == 0:
            c = 1.0
        elif x.std() == 0 or y.std() == 0:
            c = 0.0
        else:
            c = np.corrcoef(x.ravel(), y.ravel())[0, 1]
        cx, cy = np.cumsum(px), np.cumsum(py)
        joint_cdf = np.empty((9, 9))
        for i in range(9):
            for j in range(9):
                ind = cx[i] * cy[j]
                joint_cdf[i, j] = c * min(cx[i], cy[j]) + (1 - c) * ind if c >= 0 else \
                    -c * max(cx[i] + cy[j] - 1, 0) + (1 + c) * ind
        padded = np.pad(joint_cdf, ((1, 0), (1, 0)))
        joint = np.diff(np.diff(padded, axis=0), axis=1)
        ha, hf = ent(px), ent(py)
        if ha + hf == 0:
            return 1.0 if np.array_equal(x, y) else 0.0
        return 2 * (ha + hf - ent(joint.ravel())) / (ha + hf)

    for i in range(1, 15):
        for j in range(1, 15):
            wf = ef[i - 1:i + 2, j - 1:j + 2]
            expected = 0.5 * (fmi(ea[i - 1:i + 2, j - 1:j + 2], wf) + fmi(eb[i - 1:i + 2, j - 1:j + 2], wf))
            assert got[i - 1, j - 1] == pytest.approx(expected, abs=1e-9)


def test_every_metric_has_a_spec_and_every_preset_is_consistent():
    assert set(ALL_METRICS) <= set(METRICS)
    for preset in PRESETS.values():
        assert set(preset.metrics) <= set(METRICS)
        assert set(preset.options) == set(METRICS)
    for spec in METRICS.values():
        assert spec.reference and spec.title and spec.region in ("crop", "map")


def test_real_fusions_give_finite_values_in_range(spect_triple, ct_triple):
    for triple in (spect_triple, ct_triple):
        for preset in PRESETS:
            v = compute(*triple, preset=preset)
            assert all(math.isfinite(x) for x in v.values()), (preset, v)
        v = compute(*triple)
        for name in ("FMI_pixel", "Qabf", "FSIM", "AFM"):
            assert 0.0 <= v[name] <= 1.0, name
        assert 0.0 <= v["NMI"] <= 2.0 and -1.0 <= v["CC"] <= 1.0 and -2.0 <= v["SCD"] <= 2.0
        assert 0.0 <= v["EN"] <= 8.0
