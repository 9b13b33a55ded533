"""DILRAN's auto-encoder loss (Eqs. 6-9): gradient term by hand, the SSIM stand-in for VGG, a smoke step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity
from torch import nn

from medfuse_gui.fusion import dilran
from medfuse_gui.training.losses import dilran as loss_dilran


def test_training_defaults_are_the_papers():
    d = loss_dilran.TRAINING_DEFAULTS
    assert (d["lr"], d["epochs"], d["lambda_gradient"], d["lambda_perceptual"]) == (1e-4, 100, 0.2, 0.2)


def test_gradient_loss_by_hand():
    # horizontal ramp rising s per pixel: Sobel x = (1 + 2 + 1) * 2s = 8s, Sobel y = 0 -> (8s)^2 per pixel
    s = 0.01
    ramp = (torch.arange(16.0) * s).expand(16, 16)[None, None]
    loss = loss_dilran.gradient_loss(ramp, torch.zeros_like(ramp))
    assert loss.item() == pytest.approx(64 * s * s)
    assert loss_dilran.gradient_loss(ramp, ramp + 0.3).item() == 0  # a constant offset has no gradient


def test_ssim_map_matches_scikit_image_inside_the_border():
    rng = np.random.default_rng(0)
    x = rng.random((48, 48)).astype(np.float32)
    y = np.clip(x + 0.1 * rng.standard_normal((48, 48)), 0, 1).astype(np.float32)
    expected = structural_similarity(x, y, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    ours = loss_dilran.ssim_map(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None])
    assert ours[..., 5:-5, 5:-5].mean().item() == pytest.approx(expected, abs=1e-4)  # skimage drops 5 px


def test_structural_loss_is_zero_for_a_perfect_copy_and_grows_with_noise():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 32, 32)
    assert loss_dilran.structural_loss(x, x).item() == pytest.approx(0.0, abs=1e-6)
    slight = loss_dilran.structural_loss(x + 0.02 * torch.randn_like(x), x)
    strong = loss_dilran.structural_loss(x + 0.2 * torch.randn_like(x), x)
    assert 0 < slight < strong


class Identity(nn.Module):
    """A perfect auto-encoder (with a parameter so the loss is a graph)."""

    def __init__(self):
        super().__init__()
        self.zero = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + self.zero


def test_loss_is_the_reconstruction_of_each_source():
    # training reconstructs single images (the fusion rule is taken out, Sec. 4.2): a perfect copy costs nothing
    a, b = torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)
    loss, logs = loss_dilran.compute_loss(Identity(), a, b)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert set(logs) == {"loss", "mse", "gradient", "perceptual"}


def test_one_step_reaches_every_parameter():
    torch.manual_seed(0)
    model = dilran.build().train()
    a, b = torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)
    loss, logs = loss_dilran.compute_loss(model, a, b)
    assert torch.isfinite(loss) and all(np.isfinite(v) for v in logs.values())
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
