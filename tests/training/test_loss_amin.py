"""MMIF-AMIN's adaptive loss: the data-driven weights of eq. (9)-(12), SSIM, Zhao et al.'s RMI, eq. (13)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity
from torch import nn

from medfuse_gui.fusion import amin
from medfuse_gui.training.losses import amin as loss_amin


def ramp(size: int, step: float, diagonal: bool = False) -> torch.Tensor:
    """An image rising by ``step`` per pixel horizontally (and vertically too when ``diagonal``)."""
    i, j = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return ((j + i * diagonal) * step).float()[None, None]


def levels(size: int, values: list[float]) -> torch.Tensor:
    """Equal numbers of pixels at each value: a histogram with len(values) equally likely levels."""
    return torch.tensor(values).repeat_interleave(size * size // len(values)).reshape(1, 1, size, size)


def test_average_gradient_is_eq_10_on_the_8_bit_scale():
    # forward differences: |dx| = 255 * step, dy = 0 (horizontal ramp); both 255 * step on the diagonal ramp
    assert loss_amin.average_gradient(ramp(32, 1 / 255)).item() == pytest.approx(1.0)
    assert loss_amin.average_gradient(ramp(32, 2 / 255)).item() == pytest.approx(2.0)
    assert loss_amin.average_gradient(ramp(16, 1 / 255, diagonal=True)).item() == pytest.approx(math.sqrt(2))


def test_average_gradient_evaluator_reading(monkeypatch):
    # the CDDFuse Evaluator's AG: sqrt((gx^2 + gy^2) / 2) with numpy.gradient, so 1/sqrt(2) on a unit ramp,
    # and on a quadratic ramp the central difference at the centre (not the forward one)
    monkeypatch.setattr(loss_amin, "AG_DEFINITION", "evaluator")
    assert loss_amin.average_gradient(ramp(32, 1 / 255)).item() == pytest.approx(1 / math.sqrt(2))
    assert loss_amin.average_gradient(ramp(16, 1 / 255, diagonal=True)).item() == pytest.approx(1.0)
    j = torch.arange(5.0)
    quadratic = (j ** 2 / 255).repeat(5, 1)[None, None]  # row 0 1 4 9 16 -> numpy.gradient 1 2 4 6 7
    assert loss_amin.average_gradient(quadratic).item() == pytest.approx((1 + 2 + 4 + 6 + 7) / 5 / math.sqrt(2))


def test_entropy_is_eq_12_in_bits():
    assert loss_amin.entropy(torch.full((1, 1, 16, 16), 0.3)).item() == pytest.approx(0.0)
    assert loss_amin.entropy(levels(16, [0.0, 1.0])).item() == pytest.approx(1.0)
    assert loss_amin.entropy(levels(16, [0.0, 0.25, 0.5, 1.0])).item() == pytest.approx(2.0)


def test_weights_are_per_pair_and_follow_the_sources():
    # pair 1: the functional image has twice the anatomical's average gradient -> twice its SSIM weight (eq. 9-10)
    # pair 2: the functional image has 4 equally likely gray levels (2 bits) against 32 (5 bits) -> smaller RMI
    #         weight (eq. 11-12)
    anatomical = torch.cat([ramp(32, 1 / 255), ramp(32, 1 / 255)])  # AG 1; 32 levels -> EN 5 bits
    functional = torch.cat([ramp(32, 2 / 255), levels(32, [0.0, 0.25, 0.5, 1.0])])
    w = loss_amin.adaptive_weights(anatomical, functional)
    torch.testing.assert_close(w["alpha_anatomical"], torch.tensor([1.0, 1.0]))
    assert w["alpha_functional"][0].item() == pytest.approx(2.0)
    torch.testing.assert_close(w["beta_anatomical"], torch.tensor([5.0, 5.0]))
    torch.testing.assert_close(w["beta_functional"], torch.tensor([5.0, 2.0]))


class FixedOutput(nn.Module):
    """A 'network' whose output is a given image (plus a parameter so the loss can back-propagate)."""

    def __init__(self, image: torch.Tensor):
        super().__init__()
        self.image = nn.Parameter(image.clone())

    def forward(self, anatomical, functional):
        return self.image


def test_compute_loss_is_eq_13_with_the_data_driven_weights():
    torch.manual_seed(0)
    anatomical = ramp(32, 1 / 255) + 0.02 * torch.rand(1, 1, 32, 32)
    functional = levels(32, [0.1, 0.6])
    fused = 0.5 * (anatomical + functional)
    loss, logs = loss_amin.compute_loss(FixedOutput(fused), anatomical, functional)
    alpha_a, alpha_f = loss_amin.average_gradient(anatomical), loss_amin.average_gradient(functional)
    beta_a, beta_f = loss_amin.entropy(anatomical), loss_amin.entropy(functional)
    assert beta_f.item() == pytest.approx(1.0)  # the two-level functional image: exactly one bit
    expected = (alpha_a * (1 - loss_amin.ssim(fused, anatomical)) + alpha_f * (1 - loss_amin.ssim(fused, functional))
                + beta_a * loss_amin.region_mutual_information(anatomical, fused)
                + beta_f * loss_amin.region_mutual_information(functional, fused))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert logs["alpha_anatomical"] == pytest.approx(alpha_a.item())
    assert logs["beta_functional"] == pytest.approx(1.0)


def test_ssim_matches_scikit_image_gaussian_ssim():
    rng = np.random.default_rng(0)
    x = rng.random((48, 48)).astype(np.float32)
    y = np.clip(x + 0.2 * rng.standard_normal((48, 48)).astype(np.float32), 0, 1)
    reference = structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                      data_range=1.0)
    ours = loss_amin.ssim(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None]).item()
    assert ours == pytest.approx(reference, abs=1e-5)
    same = torch.from_numpy(x)[None, None]
    assert loss_amin.ssim(same, same).item() == pytest.approx(1.0, abs=1e-6)


def zhao_rmi(y: np.ndarray, p: np.ndarray) -> float:
    """Zhao et al.'s lower-bound computation as published (unnormalised covariances + 5e-4 I), in float64."""
    def vectors(img):
        h, w = img.shape
        return np.stack([img[dy:dy + h - 2, dx:dx + w - 2].ravel() for dy in range(3) for dx in range(3)])
    yv, pv = vectors(y.astype(np.float64)), vectors(p.astype(np.float64))
    yv, pv = yv - yv.mean(1, keepdims=True), pv - pv.mean(1, keepdims=True)
    eye = np.eye(9) * 5e-4
    cov_yp = yv @ pv.T
    appro_var = yv @ yv.T - cov_yp @ np.linalg.inv(pv @ pv.T + eye) @ cov_yp.T
    return 0.5 * np.linalg.slogdet(appro_var + eye)[1] / 9


def test_rmi_is_zhaos_lower_bound_without_its_constant():
    rng = np.random.default_rng(1)
    y = rng.random((20, 20))
    p = np.clip(0.7 * y + 0.3 * rng.random((20, 20)), 0, 1)
    ours = loss_amin.region_mutual_information(torch.tensor(y)[None, None], torch.tensor(p)[None, None]).item()
    points = 18 * 18
    assert ours == pytest.approx(zhao_rmi(y, p) - 0.5 * math.log(points), abs=1e-6)


def test_rmi_rewards_information_about_the_source():
    torch.manual_seed(2)
    source = torch.rand(1, 1, 32, 32)
    noise = torch.rand(1, 1, 32, 32)
    informed = loss_amin.region_mutual_information(source, 0.5 * source + 0.5 * noise)
    unrelated = loss_amin.region_mutual_information(source, noise)
    affine = loss_amin.region_mutual_information(source, 0.3 * source + 0.2)
    assert affine < informed < unrelated  # mutual information ignores an affine change of the fused image


def test_gradients_reach_every_parameter(spect_unit):
    torch.manual_seed(3)
    model = amin.build().train()
    anat, func = (torch.from_numpy(np.ascontiguousarray(x[104:136, 104:136]))[None, None] for x in spect_unit)
    loss, logs = loss_amin.compute_loss(model, anat, func)
    assert torch.isfinite(loss) and all(math.isfinite(v) for v in logs.values())
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_training_defaults_are_the_papers():
    d = loss_amin.TRAINING_DEFAULTS
    assert (d["lr"], d["batch_size"], d["patch_size"], d["epochs"]) == (1e-4, 1, 120, 30)
