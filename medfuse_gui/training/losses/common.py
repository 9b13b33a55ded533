"""Differentiable building blocks shared by the per-paper losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F

SSIM_WINDOW, SSIM_SIGMA = 11, 1.5          # Wang et al. 2004
SSIM_C1, SSIM_C2 = 0.01 ** 2, 0.03 ** 2    # for data range 1


def gaussian_window(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """Normalised 1-D Gaussian on ``like``'s device and dtype."""
    coords = torch.arange(size, device=like.device, dtype=like.dtype) - (size - 1) / 2
    window = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    return window / window.sum()


def ssim_map(x: torch.Tensor, y: torch.Tensor, padding: str = "valid") -> torch.Tensor:
    """SSIM map of (N,1,H,W) images in [0,1]: Gaussian 11x11 window (sigma 1.5), separable.

    ``padding="valid"`` keeps only windows inside the image (as scikit-image's mean does after cropping its border);
    ``"reflect"`` pads by reflection so the map has the input's size (needs H, W >= 6).
    """
    g = gaussian_window(SSIM_WINDOW, SSIM_SIGMA, x)
    pad = SSIM_WINDOW // 2

    def blur(z: torch.Tensor) -> torch.Tensor:
        if padding == "reflect":
            z = F.pad(z, (pad, pad, pad, pad), mode="reflect")
        return F.conv2d(F.conv2d(z, g.view(1, 1, 1, -1)), g.view(1, 1, -1, 1))

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x.square()
    var_y = blur(y * y) - mu_y.square()
    cov = blur(x * y) - mu_x * mu_y
    return ((2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)) / (
        (mu_x.square() + mu_y.square() + SSIM_C1) * (var_x + var_y + SSIM_C2))


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image over valid windows -> (N,)."""
    return ssim_map(x, y).mean(dim=(1, 2, 3))
