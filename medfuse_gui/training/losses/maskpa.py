"""Loss of the mask-optimisation + parallel-attention network (Di et al. 2024, Sec. 1.5, Eq. 8-13).

    L_total     = L_fusion + L_decouple                                         (8)
    L_fusion    = beta * L_gradient + L_intensity,  beta = 10                   (9)
    L_intensity = mean |F - I1|^2 + alpha * mean |F - I2|^2                     (11, with the MSE of Eq. 10)
    L_gradient  = mean S1 |grad F - grad I1|^2 + S2 |grad F - grad I2|^2        (12)
    L_decouple  = mean |I1_de - I1|^2 + mean |I2_de - I2|^2                     (13)

I1 = anatomical (MRI), I2 = functional luminance, F = fused, I_de = the decoupling network's reconstructions.
The paper weights gradient, intensity and decoupling 10 : 1 : 1 (Sec. 2). It gives no value for alpha (1 here) and
no formula for the Sobel-based adaptive weights S (here each source's share of the Sobel gradient magnitude). It
names Sobel only for S; grad is "the gradient operator", taken as forward differences: with Sobel as grad too, the
gradient term times 10 is ~30x the intensity term on real Harvard pairs, with differences the two are of one order.
The fusion and decoupling networks are one module trained jointly by this one loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GRADIENT_WEIGHT = 10.0      # beta of Eq. 9
INTENSITY_WEIGHT = 1.0
DECOUPLE_WEIGHT = 1.0
FUNCTIONAL_INTENSITY_WEIGHT = 1.0  # alpha of Eq. 11 (paper silent)

TRAINING_DEFAULTS = dict(
    lr=1e-4,            # Sec. 2, Adam
    batch_size=32,      # Sec. 2
    patch_size=120,     # Sec. 2: 180 pairs of 256x256 -> 35,280 patches of 120x120, i.e. 14 x 14 per image
    patch_stride=10,    # derived: (256 - 120) / 10 + 1 = 14 positions per axis; the paper does not state it
    epochs=30,          # Sec. 2 "30 iterations", read as epochs over the 35,280 patches
    patches_per_epoch=35_280,  # Sec. 2: one paper epoch = 35,280 / 32 = 1,103 steps of 32
    optimizer="adam",   # betas and weight decay: paper silent, torch defaults
)

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel(x: torch.Tensor) -> torch.Tensor:
    """(N,1,H,W) -> (N,2,H,W) horizontal and vertical Sobel derivatives (replicate border: no edge at the patch rim)."""
    kx = _SOBEL_X.to(device=x.device, dtype=x.dtype)
    kernels = torch.stack([kx, kx.t()])[:, None]
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernels)


def forward_differences(x: torch.Tensor) -> torch.Tensor:
    """(N,1,H,W) -> (N,2,H,W) x[i, j+1] - x[i, j] and x[i+1, j] - x[i, j] (0 past the last column / row).

    Forward rather than central differences: a central difference is blind to a one-pixel checkerboard."""
    padded = F.pad(x, (0, 1, 0, 1), mode="replicate")
    base = padded[..., :-1, :-1]
    return torch.cat([padded[..., :-1, 1:] - base, padded[..., 1:, :-1] - base], dim=1)


def adaptive_gradient_weights(anatomical_grad: torch.Tensor, functional_grad: torch.Tensor, eps: float = 1e-3
                              ) -> tuple[torch.Tensor, torch.Tensor]:
    """S1, S2 of Eq. 12: each source's share of the Sobel gradient magnitude at every pixel (they sum to ~1 where
    either source has an edge), so the fused gradient follows the source whose edge is stronger there."""
    magnitude_a = anatomical_grad.norm(dim=1, keepdim=True)
    magnitude_f = functional_grad.norm(dim=1, keepdim=True)
    total = magnitude_a + magnitude_f + eps
    return magnitude_a / total, magnitude_f / total


def compute_loss(model: torch.nn.Module, anatomical: torch.Tensor, functional: torch.Tensor
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    fused, anatomical_decoupled, functional_decoupled = model(anatomical, functional)

    intensity = F.mse_loss(fused, anatomical) + FUNCTIONAL_INTENSITY_WEIGHT * F.mse_loss(fused, functional)

    s_anatomical, s_functional = adaptive_gradient_weights(sobel(anatomical), sobel(functional))
    grad_fused = forward_differences(fused)
    grad_anatomical, grad_functional = forward_differences(anatomical), forward_differences(functional)
    gradient = (s_anatomical * (grad_fused - grad_anatomical).square().sum(dim=1, keepdim=True)
                + s_functional * (grad_fused - grad_functional).square().sum(dim=1, keepdim=True)).mean()

    decouple = F.mse_loss(anatomical_decoupled, anatomical) + F.mse_loss(functional_decoupled, functional)

    loss = GRADIENT_WEIGHT * gradient + INTENSITY_WEIGHT * intensity + DECOUPLE_WEIGHT * decouple
    logs = {"loss": loss.item(), "gradient": gradient.item(), "intensity": intensity.item(),
            "decouple": decouple.item()}
    return loss, logs
