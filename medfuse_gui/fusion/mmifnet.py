"""MMIF-Net: multimodal medical image fusion network based on multi-scale hybrid attention.

J. Liu, Y. Li, X. Sun, X. Wang, H. Luo, 2025 (shared/papers/mmif-net-multiscale-hybrid-attention.txt).

A DenseFuse auto-encoder (Li & Wu 2019) whose encoder ends in a multi-scale layer of three parallel branches (5x5,
3x3, 1x1). Each branch is refined by a hybrid attention module: the paper's bottleneck residual block of three 1x1
convolutions, a self-attention convolution block (Eqs. 1-3) and channel attention fed by global average pooling
(Eq. 4). At inference the two sources are encoded by the same weights, each scale is fused by DenseFuse's l1-norm
strategy, and the three fused scales are concatenated ("cascaded") into the decoder. Training reconstructs single
images (see medfuse_gui/training/losses/mmifnet.py). The paper contradicts itself in places; docs/models/mmif-net.md
lists every reading and deviation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.2               # Sec. 4.1: "batch normalization with a slope of 0.2 and ReLU activation"
BRANCH_KERNELS = (5, 3, 1)      # Sec. 3.1: multi-scale layer, coarse to fine
INIT_STD = 0.01                 # Sec. 4.1: truncated normal, std 0.01, zero bias


class ConvBlock(nn.Sequential):
    """Same-size convolution -> batch norm -> LeakyReLU(0.2). No conv bias: the batch norm's shift replaces it."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding_mode: str = "reflect"):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, padding_mode=padding_mode,
                      bias=False),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
        )


class DenseBlock(nn.Module):
    """DenseFuse's dense block: each 3x3 layer sees the concatenation of all earlier maps (16 -> 16+3*16 = 64)."""

    def __init__(self, in_channels: int = 16, growth: int = 16, layers: int = 3):
        super().__init__()
        self.layers = nn.ModuleList(ConvBlock(in_channels + i * growth, growth, 3) for i in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class ResidualBottleneck(nn.Module):
    """The paper's "new residual block" (Fig. 3, Table 5): three 1x1 convolutions compress the channels by 4, mix and
    expand them back, added to the identity skip."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        middle = channels // reduction
        self.body = nn.Sequential(
            ConvBlock(channels, middle, 1),
            ConvBlock(middle, middle, 1),
            nn.Conv2d(middle, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.activation = nn.LeakyReLU(LEAKY_SLOPE, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(x + self.body(x))


class SelfAttention(nn.Module):
    """Self-attention convolution block (SACB), Eqs. 1-3, computed on an average-pooled grid.

    h_ij = tanh(f(x_i)^T W_c g(x_j) + b_c), alpha_ji = softmax_i(h_ij), o_j = sum_i alpha_ji h(x_i); o is added to x.
    Scores between all pixels of a 256x256 map would take 65536^2 floats (17 GB); the paper, whose block comes from
    sentence classification, does not say at what resolution it attends. So the block attends between cells of a grid
    pooled by POOL_STRIDE, at most MAX_GRID cells a side (<= 1024 tokens, 4 MB of scores per image at any size), and
    upsamples o bilinearly: global context at 1/8 resolution, local detail stays with the convolutions.
    """

    POOL_STRIDE = 8
    MAX_GRID = 32

    def __init__(self, channels: int, key_channels: int):
        super().__init__()
        self.f = nn.Conv2d(channels, key_channels, 1, bias=False)
        self.g = nn.Conv2d(channels, key_channels, 1, bias=False)
        self.h = nn.Conv2d(channels, channels, 1, bias=False)
        self.w_c = nn.Parameter(torch.empty(key_channels, key_channels))
        self.b_c = nn.Parameter(torch.zeros(()))

    @classmethod
    def grid_size(cls, height: int, width: int) -> tuple[int, int]:
        return (min(math.ceil(height / cls.POOL_STRIDE), cls.MAX_GRID),
                min(math.ceil(width / cls.POOL_STRIDE), cls.MAX_GRID))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, channels, height, width = x.shape
        grid = self.grid_size(height, width)
        pooled = F.adaptive_avg_pool2d(x, grid)
        keys = self.f(pooled).flatten(2)                                # f(x_i): (N, d, L)
        queries = torch.matmul(self.w_c, self.g(pooled).flatten(2))     # W_c g(x_j): (N, d, L)
        scores = torch.tanh(torch.bmm(queries.transpose(1, 2), keys) + self.b_c)   # h_ij stored at [j, i]
        alpha = scores.softmax(dim=-1)                                  # normalised over i for each j
        attended = torch.bmm(self.h(pooled).flatten(2), alpha.transpose(1, 2))      # o_j: (N, C, L)
        attended = attended.reshape(n, channels, *grid)
        return x + F.interpolate(attended, size=(height, width), mode="bilinear", align_corners=False)


class ChannelAttention(nn.Module):
    """Channel weights from global average pooling (Eq. 4), squeeze-and-excitation style: C -> C/4 -> C, sigmoid."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.excitation = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.excitation(x.mean(dim=(2, 3), keepdim=True))


class HybridAttentionBranch(nn.Module):
    """One scale of the multi-scale layer: a k x k convolution (zero padding, as Sec. 3.1 says for the branches)
    refined by the hybrid attention module (residual bottleneck -> self-attention -> channel attention)."""

    def __init__(self, in_channels: int, channels: int, kernel_size: int):
        super().__init__()
        self.conv = ConvBlock(in_channels, channels, kernel_size, padding_mode="zeros")
        self.bottleneck = ResidualBottleneck(channels)
        self.self_attention = SelfAttention(channels, channels // 4)
        self.channel_attention = ChannelAttention(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.channel_attention(self.self_attention(self.bottleneck(self.conv(x))))


def l1_norm_fusion(features_a: torch.Tensor, features_b: torch.Tensor, radius: int = 1) -> torch.Tensor:
    """DenseFuse's l1-norm strategy: activity C_i = ||phi_i(x, y)||_1 over channels, averaged over a (2r+1)^2 window,
    and fused features sum_i w_i phi_i with w_i = C_i / (C_1 + C_2)."""
    activity_a, activity_b = (
        F.avg_pool2d(f.abs().sum(dim=1, keepdim=True), 2 * radius + 1, stride=1, padding=radius,
                     count_include_pad=False)
        for f in (features_a, features_b))
    total = (activity_a + activity_b).clamp_min(torch.finfo(features_a.dtype).tiny)  # both 0 only where both are 0
    return (activity_a * features_a + activity_b * features_b) / total


class MMIFNet(nn.Module):
    """Encoder (C1 + dense block + multi-scale hybrid attention) -> l1-norm fusion per scale -> decoder.

    ``forward(image)`` is the auto-encoder's reconstruction (what training optimises); ``fuse(anatomical,
    functional)`` is the registry's fusion on (N, 1, H, W) tensors in [0, 1]. Full resolution throughout: any H x W.
    """

    def __init__(self, branch_channels: int = 32):
        super().__init__()
        self.encoder = nn.Sequential(ConvBlock(1, 16, 3), DenseBlock(16, 16, 3))   # C1, DC1-DC3: 64 channels
        self.branches = nn.ModuleList(HybridAttentionBranch(64, branch_channels, k) for k in BRANCH_KERNELS)
        self.decoder = nn.Sequential(                                              # DenseFuse's C2-C5
            ConvBlock(len(BRANCH_KERNELS) * branch_channels, 64, 3),
            ConvBlock(64, 32, 3),
            ConvBlock(32, 16, 3),
            nn.Conv2d(16, 1, 3, padding=1, padding_mode="reflect"),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.trunc_normal_(module.weight, std=INIT_STD, a=-2 * INIT_STD, b=2 * INIT_STD)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, SelfAttention):
                nn.init.trunc_normal_(module.w_c, std=INIT_STD, a=-2 * INIT_STD, b=2 * INIT_STD)

    def encode(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Features of each scale (5x5, 3x3, 1x1 branch), each (N, branch_channels, H, W)."""
        features = self.encoder(image)
        return [branch(features) for branch in self.branches]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat(self.encode(image), dim=1))

    def fuse(self, anatomical: torch.Tensor, functional: torch.Tensor) -> torch.Tensor:
        n = anatomical.shape[0]
        scales = self.encode(torch.cat([anatomical, functional]))   # one pass, shared weights
        fused = [l1_norm_fusion(features[:n], features[n:]) for features in scales]
        return self.decoder(torch.cat(fused, dim=1))


def build(**kwargs) -> MMIFNet:
    return MMIFNet(**kwargs)
