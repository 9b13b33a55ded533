"""MMIF-Net's auto-encoder loss (medfuse_gui.training.losses.mmifnet)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from medfuse_gui.fusion.mmifnet import build
from medfuse_gui.training.losses.mmifnet import SSIM_WEIGHT, TRAINING_DEFAULTS, compute_loss, ssim


@pytest.fixture(scope="module")
def patches(spect_unit):
    """Two 40x40 patches of the real SPECT-MRI pair: (anatomical, functional), each (2, 1, 40, 40)."""
    anat, luma = spect_unit
    corners = [(90, 80), (130, 120)]

    def stack(image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.stack([image[y:y + 40, x:x + 40] for y, x in corners]))[:, None]

    return stack(anat), stack(luma)


def test_gradients_are_finite_and_reach_every_parameter(patches):
    torch.manual_seed(0)
    model = build().train()
    # At the paper's initialisation (std 0.01) the attention scores are ~1e-6, tanh is linear there and Eq. 2's b_c
    # only shifts every score of a softmax row alike: its gradient is exactly zero until W_c grows. Scale W_c up
    # so that the check below covers b_c too.
    with torch.no_grad():
        for branch in model.branches:
            branch.self_attention.w_c.normal_(std=10.0)
    loss, logs = compute_loss(model, *patches)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert set(logs) >= {"loss", "pixel_l1", "ssim_loss"} and all(math.isfinite(v) for v in logs.values())
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_a_perfect_reconstruction_costs_nothing(patches):
    loss, logs = compute_loss(nn.Identity(), *patches)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert logs["ssim_anatomical"] == pytest.approx(1.0, abs=1e-6)


class _Recorder(nn.Module):
    """Returns a blurred copy of what it is given and remembers it."""

    def forward(self, images):
        self.seen = images
        return nn.functional.avg_pool2d(images, 3, stride=1, padding=1)


def test_the_auto_encoder_reconstructs_both_sources(patches):
    anat, func = patches
    recorder = _Recorder()
    loss, logs = compute_loss(recorder, anat, func)
    assert torch.equal(recorder.seen, torch.cat([anat, func]))   # every source image of the batch, one pass
    per_source = [(recorder(x) - x).abs().mean() + SSIM_WEIGHT * (1 - ssim(recorder(x), x)).mean() for x in patches]
    assert loss.item() == pytest.approx(sum(per_source).item() / 2, rel=1e-5)
    assert logs["ssim_anatomical"] != logs["ssim_functional"]


def test_ssim_matches_scikit_image(spect_unit):
    from skimage.metrics import structural_similarity

    anat, luma = (x[64:192, 64:192] for x in spect_unit)
    expected = structural_similarity(anat, luma, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    ours = ssim(torch.from_numpy(anat)[None, None], torch.from_numpy(luma)[None, None]).item()
    assert ours == pytest.approx(expected, abs=1e-4)


def test_training_defaults_are_the_papers():
    assert TRAINING_DEFAULTS["lr"] == 2e-3 and TRAINING_DEFAULTS["batch_size"] == 1
    assert TRAINING_DEFAULTS["epochs"] == 200 and TRAINING_DEFAULTS["patch_size"] == 256
