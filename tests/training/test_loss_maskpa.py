"""Loss of the mask-optimisation + parallel-attention network (Eq. 8-13) and its training defaults."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from medfuse_gui.fusion import maskpa
from medfuse_gui.training.losses import maskpa as loss_module


class _Fixed(torch.nn.Module):
    """Stands in for the network: returns given (fused, anatomical decoupled, functional decoupled)."""

    def __init__(self, *outputs: torch.Tensor):
        super().__init__()
        self.outputs = outputs

    def forward(self, anatomical, functional):
        return self.outputs


def _patches(spect_unit, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    a = torch.from_numpy(spect_unit[0][100:100 + size, 90:90 + 2 * size].copy())
    b = torch.from_numpy(spect_unit[1][100:100 + size, 90:90 + 2 * size].copy())
    return (torch.stack([a[:, :size], a[:, size:]])[:, None],   # 2 x 1 x size x size
            torch.stack([b[:, :size], b[:, size:]])[:, None])


def test_smoke_gradients_reach_every_parameter(spect_unit):
    torch.manual_seed(0)
    model = maskpa.build().train()
    anatomical, functional = _patches(spect_unit)
    loss, logs = loss_module.compute_loss(model, anatomical, functional)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert set(logs) == {"loss", "gradient", "intensity", "decouple"}
    loss.backward()
    for name, parameter in model.named_parameters():   # decoupling branches included: they learn jointly
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_terms_follow_equations_8_to_13(spect_unit):
    anatomical, functional = _patches(spect_unit, 16)
    fused = (anatomical + functional) / 2
    decoupled_a, decoupled_f = anatomical.flip(-1), functional.flip(-2)
    loss, logs = loss_module.compute_loss(_Fixed(fused, decoupled_a, decoupled_f), anatomical, functional)
    intensity = F.mse_loss(fused, anatomical) + F.mse_loss(fused, functional)              # Eq. 11, alpha = 1
    decouple = F.mse_loss(decoupled_a, anatomical) + F.mse_loss(decoupled_f, functional)   # Eq. 13
    assert logs["intensity"] == pytest.approx(intensity.item(), rel=1e-5)
    assert logs["decouple"] == pytest.approx(decouple.item(), rel=1e-5)
    assert loss.item() == pytest.approx(10 * logs["gradient"] + logs["intensity"] + logs["decouple"], rel=1e-5)


def test_loss_vanishes_when_the_sources_agree():
    image = torch.rand(1, 1, 12, 12)
    loss, _ = loss_module.compute_loss(_Fixed(image, image, image), image, image)
    assert loss.item() == pytest.approx(0.0, abs=1e-12)


def test_adaptive_weights_follow_the_stronger_edge():
    edge = torch.zeros(1, 1, 8, 8)
    edge[..., 4:] = 1.0
    flat = torch.zeros_like(edge)
    s_edge, s_flat = loss_module.adaptive_gradient_weights(loss_module.sobel(edge), loss_module.sobel(flat))
    assert s_edge[..., 4, 4].item() > 0.99 and s_flat[..., 4, 4].item() < 0.01
    assert s_edge[..., 4, 0].item() == 0.0    # far from any edge both weights are zero


def test_forward_differences_see_a_checkerboard():
    board = (torch.arange(8)[:, None] + torch.arange(8)[None]).remainder(2).float()[None, None]
    grad = loss_module.forward_differences(board)
    assert grad.shape == (1, 2, 8, 8)
    assert grad[..., :-1, :-1].abs().min() == 1.0


def test_training_defaults_are_the_papers():
    d = loss_module.TRAINING_DEFAULTS
    assert (d["lr"], d["batch_size"], d["patch_size"], d["epochs"]) == (1e-4, 32, 120, 30)
