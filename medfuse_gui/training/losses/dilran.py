"""DILRAN auto-encoder loss: MSE + 0.2 Sobel gradient + 0.2 multi-scale SSIM (offline stand-in for VGG), Eqs. 6-9.

DILRAN trains as an auto-encoder (paper Sec. 4.2: "we take out the fusion module, and only train the feature
extractor and reconstructor"). Every source image is reconstructed from its own features,
``model(x) = recon(fe(x))``, and the SFNN fusion rule is used only at inference. The anatomical and functional
patches of a batch form one batch of 2N single images, as in the released code (which shuffled CT and MRI images
together, so BatchNorm sees both modalities).

    L = mean_px (I_o - I)^2  +  lambda1 * mean_px |grad I_o - grad I|^2  +  lambda2 * Percep(I_o, I)      (Eq. 9)

The paper's perceptual term (Eq. 8) compares ImageNet-VGG16 block-3 features; those weights cannot be fetched here,
so Percep is replaced by a multi-scale structural dissimilarity: the mean over scales 1, 1/2 and 1/4 (block 3 of
VGG16 works at 1/4 resolution) of 1 - SSIM. It is fixed, differentiable and needs no download; like the VGG term it
rewards local structure and contrast that a pixel MSE under-weights. docs/models/dilran.md explains the choice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import common

LAMBDA_GRADIENT = 0.2       # lambda1, paper Sec. 4.2
LAMBDA_PERCEPTUAL = 0.2     # lambda2, paper Sec. 4.2 (tuned there for the VGG term; kept for the substitute)
STRUCTURE_SCALES = 3        # SSIM at 1, 1/2, 1/4 resolution

# Paper Sec. 4.2: Adam, lr 1e-4, 100 epochs. It is silent on batch and patch size; the released code trained on
# whole 256x256 images, batch 4 (its BatchNorm counter, 13200 = 2 x 100 epochs x 66 batches, confirms it).
TRAINING_DEFAULTS = dict(lr=1e-4, batch_size=4, patch_size=256, epochs=100, optimizer="adam",
                         lambda_gradient=LAMBDA_GRADIENT, lambda_perceptual=LAMBDA_PERCEPTUAL)


def _sobel_kernels(like: torch.Tensor) -> torch.Tensor:
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=like.device, dtype=like.dtype)
    return torch.stack([gx, gx.T])[:, None]                                    # (2, 1, 3, 3): d/dx, d/dy


def gradient_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 7 per pixel: squared difference of the Sobel x and y gradients (the operator the released code uses),
    summed over the two directions, averaged over pixels."""
    difference = F.conv2d(output - target, _sobel_kernels(output))           # Sobel is linear: grad(a) - grad(b)
    return difference.square().sum(dim=1).mean()


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """SSIM map with reflect padding, the input's size (H, W >= 6)."""
    return common.ssim_map(x, y, padding="reflect")


def structural_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Offline stand-in for the VGG perceptual loss (Eq. 8): mean over 3 dyadic scales of 1 - SSIM (H, W >= 24)."""
    total = output.new_zeros(())
    for scale in range(STRUCTURE_SCALES):
        if scale:
            output, target = F.avg_pool2d(output, 2), F.avg_pool2d(target, 2)
        total = total + (1 - ssim_map(output, target).mean())
    return total / STRUCTURE_SCALES


def compute_loss(model: nn.Module, anatomical: torch.Tensor,
                 functional: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Auto-encoder loss on both sources (Eq. 9, the sum over the M = 2 inputs taken as a mean over the batch)."""
    sources = torch.cat([anatomical, functional])
    reconstruction = model(sources)
    mse = F.mse_loss(reconstruction, sources)                                   # Eq. 6 / (W H)
    gradient = gradient_loss(reconstruction, sources)                           # Eq. 7 / (W H)
    perceptual = structural_loss(reconstruction, sources)                       # replaces Eq. 8
    loss = mse + LAMBDA_GRADIENT * gradient + LAMBDA_PERCEPTUAL * perceptual
    logs = {"loss": loss.item(), "mse": mse.item(), "gradient": gradient.item(), "perceptual": perceptual.item()}
    return loss, logs
