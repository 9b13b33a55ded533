"""MMIF-AMIN's adaptive loss (Luo & Xu 2025, section 3.3, eq. 8-13).

    L_TOTAL = alpha_1 (1 - SSIM(F, A)) + alpha_2 (1 - SSIM(F, B))      eq. (9)
            + beta_1 RMI(F, A) + beta_2 RMI(F, B)                       eq. (11), (13)

with alpha_i = AG of source i (eq. 10) and beta_i = EN of source i (eq. 12), computed per training pair from the data
(A = anatomical, the paper's MRI; B = functional, its SPECT). No weight is hand-set. The weights are statistics of
the sources, so they carry no gradient.

* AG (eq. 10): mean over pixels of sqrt(dx^2 + dy^2) with forward differences, on the 0..255 gray scale on which the
  paper reports AG (Table 1: 3-7); on a 0..1 scale the SSIM terms would be ~250x weaker than the RMI terms.
* What this loss does on our data (measured, 2-core CPU, batches of 4 x 120x120 from all three tasks): the weights
  decide which source the network copies. As written (AG on 0..255: alpha ~ 17 for MRI, ~ 7 for SPECT/PET/CT; beta
  ~ 4-5), the SSIM terms dominate and after ~200 steps the output is the MRI (SSIM(F, MRI) 0.997, SSIM(F, B) ~0.24;
  the functional image survives only in the colour, through its chroma). AG on the 0..1 tensors (AG_SCALE = 1), or
  both weight pairs normalised to sum 1 (NORMALISE_WEIGHTS), or Zhao's 3x3 average pooling before RMI (RMI_POOL = 3)
  all let the RMI terms dominate instead, and the output drifts to an offset copy of the functional image. The
  CDDFuse Evaluator's AG (AG_DEFINITION = "evaluator": central differences, /2 in the root; alpha ~ 9.6 / 4.1, a
  0.6x smaller SSIM share) still collapses onto the MRI (SSIM(F, MRI) 0.994 by step 270; stopped there). The
  shipped weights use the literal reading (the defaults below); docs/models/mmif-amin.md and docs/results.md report
  the result.
* EN (eq. 12): Shannon entropy in bits of the 256-level histogram of round(255 x).
* SSIM: Wang et al. 2004 [30], 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, data range 1, 'valid' window
  positions, mean over the map.
* RMI: the region mutual information lower-bound loss of Zhao et al., NeurIPS 2019 [32] with its 3x3 neighbourhoods:
  each pixel's 3x3 neighbourhood is a 9-vector; with Y = source and P = fused vectors,
  RMI = 1/(2d) log det(Sigma_Y - Cov(Y,P) Sigma_P^-1 Cov(Y,P)^T + eps I),  d = 9,
  the negative of the lower bound of I(Y; P) up to a constant: minimising it maximises the mutual information
  between the fused image's and the source's local structures. As in Zhao's code, it runs in float64 and
  eps = 5e-4 is added to Sigma_P and to the conditional covariance; we divide the covariances by the number of
  points n and eps by n as well, which gives exactly the gradients of Zhao's unnormalised version and a value free
  of its constant (log n)/2. Zhao max-pools the maps by 3 first to save memory on 21-class segmentation maps; one
  gray channel needs no such saving and pooling would discard the fine detail this term is meant to keep.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .common import ssim  # Gaussian 11x11 SSIM over valid windows, per image

TRAINING_DEFAULTS = dict(
    lr=1e-4,              # Adam, section 4.1.2 (no schedule, betas or weight decay given: torch defaults)
    batch_size=1,         # section 4.1.2
    patch_size=120,       # 256x256 pairs cropped into 36 patches of 120x120 (section 4.1.1)
    patches_per_image=36,
    epochs=30,            # section 4.1.2; 337 training pairs x 36 patches (the paper says 11,877 pairs in all)
    optimizer="adam",
    train_pairs=337,      # SPECT-MRI pairs of the Harvard set; 20 more for testing
)

RMI_RADIUS = 3
RMI_EPS = 5e-4
RMI_POOL = 1  # Zhao et al. average-pool by 3 (stride 3) before the neighbourhoods; 1 = no pooling


def region_mutual_information(source: torch.Tensor, fused: torch.Tensor) -> torch.Tensor:
    """Zhao et al.'s RMI loss (see the module docstring) of (N,1,H,W) tensors -> (N,); lower is better."""
    d = RMI_RADIUS * RMI_RADIUS
    if RMI_POOL > 1:
        source, fused = F.avg_pool2d(source, RMI_POOL), F.avg_pool2d(fused, RMI_POOL)
    y = F.unfold(source, RMI_RADIUS).double()  # (N, 9, points): every 3x3 neighbourhood
    p = F.unfold(fused, RMI_RADIUS).double()
    points = y.shape[-1]
    y = y - y.mean(dim=-1, keepdim=True)
    p = p - p.mean(dim=-1, keepdim=True)
    eps = torch.eye(d, dtype=y.dtype, device=y.device) * (RMI_EPS / points)
    cov_y = y @ y.transpose(1, 2) / points
    cov_p = p @ p.transpose(1, 2) / points + eps
    cov_yp = y @ p.transpose(1, 2) / points
    conditional = cov_y - cov_yp @ torch.linalg.solve(cov_p, cov_yp.transpose(1, 2))
    conditional = (conditional + conditional.transpose(1, 2)) / 2 + eps  # symmetric positive definite
    log_det = 2 * torch.log(torch.diagonal(torch.linalg.cholesky(conditional), dim1=1, dim2=2)).sum(dim=1)
    return (log_det / (2 * d)).to(fused.dtype)


AG_SCALE = 255.0  # gray scale on which eq. (10) is evaluated (see the module docstring)
AG_DEFINITION = "eq10"  # "eq10": forward differences, no /2; "evaluator": the CDDFuse Evaluator's AG (see docstring)


@torch.no_grad()
def average_gradient(image: torch.Tensor) -> torch.Tensor:
    """Eq. (10) on the AG_SCALE gray scale, (N,1,H,W) in [0, 1] -> (N,)."""
    x = image * AG_SCALE
    if AG_DEFINITION == "evaluator":  # numpy.gradient: central differences inside, one-sided at the border; /2
        gy, gx = torch.gradient(x, dim=(2, 3))
        return torch.sqrt((gx ** 2 + gy ** 2) / 2).mean(dim=(1, 2, 3))
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    return torch.sqrt(dx ** 2 + dy ** 2).mean(dim=(1, 2, 3))


@torch.no_grad()
def entropy(image: torch.Tensor) -> torch.Tensor:
    """Eq. (12): entropy in bits of the 256-level gray histogram, (N,1,H,W) in [0, 1] -> (N,)."""
    levels = (image.clamp(0, 1) * 255).round().long().flatten(1)
    counts = torch.zeros(levels.shape[0], 256, device=image.device).scatter_add_(
        1, levels, torch.ones_like(levels, dtype=torch.float32))
    p = counts / levels.shape[1]
    return -(p * torch.log2(p.clamp_min(1e-12))).sum(dim=1)


NORMALISE_WEIGHTS = False  # divide each weight pair by its sum (see the module docstring)


def adaptive_weights(anatomical: torch.Tensor, functional: torch.Tensor) -> dict[str, torch.Tensor]:
    """The data-driven weights of eq. (9) and (11): alpha_i = AG(source i), beta_i = EN(source i), each (N,)."""
    alpha = average_gradient(anatomical), average_gradient(functional)
    beta = entropy(anatomical), entropy(functional)
    if NORMALISE_WEIGHTS:
        alpha = tuple(a / (alpha[0] + alpha[1]).clamp_min(1e-12) for a in alpha)
        beta = tuple(b / (beta[0] + beta[1]).clamp_min(1e-12) for b in beta)
    return dict(alpha_anatomical=alpha[0], alpha_functional=alpha[1], beta_anatomical=beta[0],
                beta_functional=beta[1])


def compute_loss(model, anatomical: torch.Tensor, functional: torch.Tensor):
    fused = model(anatomical, functional)
    w = adaptive_weights(anatomical, functional)
    ssim_anatomical, ssim_functional = ssim(fused, anatomical), ssim(fused, functional)
    rmi_anatomical = region_mutual_information(anatomical, fused)
    rmi_functional = region_mutual_information(functional, fused)
    structural = w["alpha_anatomical"] * (1 - ssim_anatomical) + w["alpha_functional"] * (1 - ssim_functional)
    regional = w["beta_anatomical"] * rmi_anatomical + w["beta_functional"] * rmi_functional
    loss = (structural + regional).mean()
    logs = dict(loss=loss.item(), ssim_anatomical=ssim_anatomical.mean().item(),
                ssim_functional=ssim_functional.mean().item(), rmi_anatomical=rmi_anatomical.mean().item(),
                rmi_functional=rmi_functional.mean().item(), **{k: v.mean().item() for k, v in w.items()})
    return loss, logs
