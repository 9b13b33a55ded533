"""MMIF-Net's training objective: the DenseFuse auto-encoder loss on each source image.

MMIF-Net, like DenseFuse which it extends, learns only to encode and reconstruct single images; the l1-norm fusion
rule is fixed and used at inference only. The paper prints no loss equation: it trains "with different lambda in
[0, 1]" (Sec. 4.1), which is DenseFuse's weight in L = L_p + lambda * L_ssim, and argues for an l1 rather than a
squared penalty (Sec. 3.1). So, for each source I of the batch (anatomical and functional luminance) and its
reconstruction O = decoder(encoder(I)):

    L_p    = mean |O - I|
    L_ssim = 1 - SSIM(O, I)          (11x11 Gaussian window, sigma 1.5, data range 1)
    L      = L_p + SSIM_WEIGHT * L_ssim, averaged over both sources.

SSIM_WEIGHT = 1: the paper gives the range [0, 1] but no value; 1 is the one value shared with DenseFuse's tested
weights (1, 10, 100, 1000), which favoured structure. See docs/models/mmif-net.md.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import ssim  # Gaussian 11x11 SSIM over valid windows, per image (matches scikit-image)

SSIM_WEIGHT = 1.0

# Sec. 4.1: Adam, lr 0.002, batch size 1, 200 epochs, whole 256x256 Harvard slices (the paper names no patch size).
TRAINING_DEFAULTS = dict(lr=2e-3, batch_size=1, patch_size=256, epochs=200, optimizer="adam")

def compute_loss(model: nn.Module, anatomical: torch.Tensor, functional: torch.Tensor,
                 ssim_weight: float = SSIM_WEIGHT) -> tuple[torch.Tensor, dict[str, float]]:
    """Reconstruct both sources in one pass (batch norm sees both modalities) and return (loss, logs)."""
    n = anatomical.shape[0]
    sources = torch.cat([anatomical, functional])
    reconstruction = model(sources)
    pixel = (reconstruction - sources).abs().mean(dim=(1, 2, 3))
    structural = 1.0 - ssim(reconstruction, sources)
    loss = (pixel + ssim_weight * structural).mean()
    logs = {
        "loss": loss.item(),
        "pixel_l1": pixel.mean().item(),
        "ssim_loss": structural.mean().item(),
        "ssim_anatomical": 1.0 - structural[:n].mean().item(),
        "ssim_functional": 1.0 - structural[n:].mean().item(),
    }
    return loss, logs
