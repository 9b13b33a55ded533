"""Agreement with the CDDFuse Evaluator's printed values and with independent implementations."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from medfuse_gui.metrics import compute
from medfuse_gui.metrics._context import Context
from medfuse_gui.metrics.structural import phase_congruency, ssim

RULES = {"avg": lambda a, b: np.round((a + b) / 2), "avg_float": lambda a, b: (a + b) / 2,
         "max": lambda a, b: np.maximum(a, b)}


def read_like_evaluator(path) -> np.ndarray:
    image = cv2.imread(str(path))
    return np.round(cv2.cvtColor(image.astype(np.float32), cv2.COLOR_BGR2GRAY)).astype(np.float64)


@pytest.fixture(scope="module")
def goldens(golden_dir):
    values = json.loads((golden_dir / "cddfuse_evaluator_values.json").read_text())
    pairs = {}
    for pair in ("spect_pair11", "spect_pair12"):
        a = read_like_evaluator(golden_dir / f"{pair}_MRI.png")
        b = read_like_evaluator(golden_dir / f"{pair}_SPECT.png")
        pairs[pair] = (a, b)
    return values, pairs


@pytest.mark.parametrize("pair", ["spect_pair11", "spect_pair12"])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_cddfuse_preset_matches_the_evaluator(goldens, pair, rule):
    values, pairs = goldens
    a, b = pairs[pair]
    f = RULES[rule](a, b)
    ours = compute(a, b, f, preset="cddfuse")
    expected = values[pair][rule]
    ours["VIFF"] = ours.pop("VIF")  # the Evaluator prints Sheikh-Bovik VIF under the name VIFF
    ctx = Context(a, b, f)
    ours["SSIM_dr255"] = ssim(ctx, ctx.full, variant="skimage", data_range=255.0, combine="sum")
    assert set(expected) == set(ours)
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, rel=1e-3), name


def test_source_entropies_match_the_evaluator(goldens):
    values, pairs = goldens
    for pair, (a, b) in pairs.items():
        for key, image in (("MRI", a), ("func", b)):
            v = compute(a, b, image, preset="cddfuse", metrics=["EN", "SD"])
            assert v["EN"] == pytest.approx(values[pair]["_sources"][f"EN_{key}"], rel=1e-6)
            assert v["SD"] == pytest.approx(values[pair]["_sources"][f"SD_{key}"], rel=1e-6)


def test_ssim_matches_scikit_image(spect_triple):
    from skimage.metrics import structural_similarity

    a, b, f = spect_triple
    wang = np.mean([structural_similarity(x, f, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                          data_range=255) for x in (a, b)])
    assert compute(a, b, f, metrics=["SSIM"])["SSIM"] == pytest.approx(wang, rel=1e-9)
    toolbox = sum(structural_similarity(f, x, data_range=2.0) for x in (a, b))
    assert compute(a, b, f, preset="cddfuse", metrics=["SSIM"])["SSIM"] == pytest.approx(toolbox, rel=1e-9)


def _phasecong_direct(im: np.ndarray) -> np.ndarray:
    """FSIM's phasecong2 written out scale by scale, orientation by orientation, in double precision."""
    from medfuse_gui.metrics.structural import _filter_bank

    rows, cols = im.shape
    filters = _filter_bank(rows, cols)[0].astype(np.float64)
    spectrum = np.fft.fft2(im)
    energy_all = np.zeros((rows, cols))
    an_all = np.zeros((rows, cols))
    for o in range(4):
        eo = [np.fft.ifft2(spectrum * filters[o, s]) for s in range(4)]
        ifft_filters = [np.real(np.fft.ifft2(filters[o, s])) * math.sqrt(rows * cols) for s in range(4)]
        sum_e = sum(x.real for x in eo)
        sum_o = sum(x.imag for x in eo)
        sum_an = sum(np.abs(x) for x in eo)
        x_energy = np.sqrt(sum_e ** 2 + sum_o ** 2) + 1e-4
        mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
        energy = sum(x.real * mean_e + x.imag * mean_o - np.abs(x.real * mean_o - x.imag * mean_e) for x in eo)
        median = np.median(np.abs(eo[0]) ** 2)
        noise_power = (-median / math.log(0.5)) / np.sum(filters[o, 0] ** 2)
        sum_an2 = sum(np.sum(f ** 2) for f in ifft_filters)
        sum_aiaj = sum(np.sum(ifft_filters[i] * ifft_filters[j]) for i in range(4) for j in range(i + 1, 4))
        tau = math.sqrt((2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj) / 2)
        threshold = (tau * math.sqrt(math.pi / 2) + 2 * math.sqrt((2 - math.pi / 2) * tau ** 2)) / 1.7
        energy_all += np.maximum(energy - threshold, 0)
        an_all += sum_an
    return energy_all / an_all


@pytest.mark.parametrize("shape", [(64, 64), (45, 52)])
def test_phase_congruency_matches_the_direct_formulation(spect_triple, shape):
    image = np.ascontiguousarray(spect_triple[0][100:100 + shape[0], 90:90 + shape[1]])
    fast, _ = phase_congruency(image)
    direct = _phasecong_direct(image)
    assert np.max(np.abs(fast - direct)) < 2e-4  # single-precision FFTs


def _vif_direct(ref: np.ndarray, dist: np.ndarray, sigma_nsq: float) -> tuple[list, list, list]:
    """vifp_mscale.m's loop with scipy's 2-D filtering, per-scale maps (num, den, g)."""
    from scipy.signal import correlate2d

    nums, dens, gains = [], [], []
    for scale in range(1, 5):
        n = 2 ** (5 - scale) + 1
        x = np.arange(n) - (n - 1) / 2
        win = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * (n / 5) ** 2))
        win /= win.sum()

        def filt(v):
            return correlate2d(v, win, mode="valid")
        if scale > 1:
            ref, dist = filt(ref)[::2, ::2], filt(dist)[::2, ::2]
        mu1, mu2 = filt(ref), filt(dist)
        s1 = np.maximum(filt(ref * ref) - mu1 ** 2, 0)
        s2 = np.maximum(filt(dist * dist) - mu2 ** 2, 0)
        s12 = filt(ref * dist) - mu1 * mu2
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        g[s1 < 1e-10] = 0
        sv[s1 < 1e-10] = s2[s1 < 1e-10]
        s1[s1 < 1e-10] = 0
        g[s2 < 1e-10] = 0
        sv[s2 < 1e-10] = 0
        sv[g < 0] = s2[g < 0]
        g[g < 0] = 0
        sv[sv <= 1e-10] = 1e-10
        nums.append(np.log10(1 + g ** 2 * s1 / (sv + sigma_nsq)))
        dens.append(np.log10(1 + s1 / sigma_nsq))
        gains.append(g)
    return nums, dens, gains


def test_viff_matches_a_direct_computation(spect_triple):
    a, b, f = (np.ascontiguousarray(x[64:192, 64:192]) for x in spect_triple)
    sq = 0.005 * 255 ** 2
    na, da, ga = _vif_direct(a, f, sq)
    nb, db, gb = _vif_direct(b, f, sq)
    total = 0.0
    for s, p in enumerate((1, 0, 0.15, 1)):
        take_a = ga[s] < gb[s]
        vid = np.where(take_a, na[s], nb[s])
        vind = np.where(take_a, da[s], db[s])
        total += p * np.sum(vid + 1e-7) / np.sum(vind + 1e-7)
    assert compute(a, b, f, metrics=["VIFF"])["VIFF"] == pytest.approx(total / 2.15, rel=1e-9)
    n2, d2, _ = _vif_direct(a, f, 2.0)
    vifp_a = sum(x.sum() for x in n2) / sum(x.sum() for x in d2)
    n2, d2, _ = _vif_direct(b, f, 2.0)
    vifp_b = sum(x.sum() for x in n2) / sum(x.sum() for x in d2)
    assert compute(a, b, f, metrics=["VIF"])["VIF"] == pytest.approx((vifp_a + vifp_b) / 2, rel=1e-9)
