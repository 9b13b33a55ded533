"""Mask-optimisation + parallel-attention fusion network.

Di, Liang, Guo, Lian, "Multimodal medical image fusion based on mask optimization and parallel attention mechanism",
J. Measurement Science and Instrumentation 16(1):26-36, 2025 (received 2024); text in
../shared/papers/mask-optimization-parallel-attention.txt. The paper gives no code and no channel widths; every
choice made where it is silent is listed in docs/models/mask-pa.md.

Fusion network (paper Fig. 1): Otsu binary masks of both sources (Sec. 1.1) -> three feature paths (Sec. 1.2):
[MRI, MRI mask] and [functional, functional mask] through four 3x3 conv blocks each, [MRI, functional] through
three -> channel concatenation -> contrast enhancement module (Sec. 1.3.1) -> detail preserving module (Sec. 1.3.2)
-> parallel channel/spatial attention (Sec. 1.3.3) -> reconstruction to one channel.

Decoupling network (Sec. 1.4), training only: two residual fully convolutional branches map the fused image, joined
by the fourth-layer features of the matching mask path, back to each source. It is a submodule so that the training
loop's ``model.parameters()`` optimises it jointly; ``fuse()`` never runs it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PATH_WIDTH = 8                      # channels of each feature path; the trunk carries 3 * PATH_WIDTH = 24
DECOUPLING_WIDTH = 16               # channels inside each decoupling branch
LEAKY_SLOPE = 0.2                   # LReLU slope (paper silent): the usual value in fusion networks
MULTISCALE_KERNELS = (1, 3, 5, 7)   # CEM multiscale layer (Sec. 1.3.1)
CONTRAST_RADIUS = 1                 # r of Eq. 7: local standard deviation over (2r + 1) x (2r + 1) windows
CONTRAST_REDUCTION = 4              # hidden width of the CEM fully connected layers = channels / 4
DETAIL_PATH_DEPTHS = (1, 2, 3)      # DSCBs in the DPM's short, medium and long paths: 6 in all (Sec. 1.3.2)
SPATIAL_KERNEL = 7                  # spatial attention convolution (CBAM's size; paper silent)
DECOUPLING_SEGMENTS = 3             # 1x1 + 3x3 segments per decoupling branch (paper silent)
OTSU_BINS = 256


# --- Otsu binary masks (Sec. 1.1, Eq. 1-6) ------------------------------------------------------------------------

@torch.no_grad()
def otsu_threshold(images: torch.Tensor, bins: int = OTSU_BINS) -> torch.Tensor:
    """Otsu's threshold of each image in a (N, 1, H, W) batch -> (N,), on the images' device.

    Same histogram as ``skimage.filters.threshold_otsu`` on a float image: ``bins`` equal bins over the image's own
    [min, max]; the threshold is the centre of the bin that maximises the between-class variance
    g = w0 * w1 * (mu0 - mu1)^2 (Eq. 6; the weights are counts, not ratios, which does not move the argmax).
    """
    flat = images.detach().flatten(1).float()
    n = flat.shape[0]
    low = flat.amin(dim=1, keepdim=True)
    span = flat.amax(dim=1, keepdim=True) - low
    index = ((flat - low) / span.clamp_min(1e-12) * bins).long().clamp_(0, bins - 1)
    # one bincount over the whole batch (each image offset by its own bins) stays exact and deterministic on CUDA
    offsets = torch.arange(n, device=flat.device)[:, None] * bins
    counts = torch.bincount((index + offsets).flatten(), minlength=n * bins).view(n, bins).float()
    centres = low + span * (torch.arange(bins, device=flat.device, dtype=flat.dtype) + 0.5) / bins

    weight_low = counts.cumsum(1)                                   # pixels at or below each bin
    weight_high = counts.flip(1).cumsum(1).flip(1)                  # pixels at or above each bin
    moment = counts * centres
    mean_low = moment.cumsum(1) / weight_low.clamp_min(1)
    mean_high = moment.flip(1).cumsum(1).flip(1) / weight_high.clamp_min(1)
    between = weight_low[:, :-1] * weight_high[:, 1:] * (mean_low[:, :-1] - mean_high[:, 1:]) ** 2
    best = between.argmax(dim=1, keepdim=True)                      # 0 for a constant image: empty mask
    return centres.gather(1, best)[:, 0].to(images.dtype)


@torch.no_grad()
def otsu_mask(images: torch.Tensor) -> torch.Tensor:
    """Binary mask (1 = above Otsu's threshold) of each (N, 1, H, W) image, in the images' dtype."""
    return (images > otsu_threshold(images)[:, None, None, None]).to(images.dtype)


# --- building blocks ------------------------------------------------------------------------------------------------

def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """Convolution (same size) + LReLU: the paper's "convolutional block"."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
                         nn.LeakyReLU(LEAKY_SLOPE))


def feature_path(in_channels: int, width: int, depth: int) -> nn.Sequential:
    """One input path of Sec. 1.2: ``depth`` 3x3 conv blocks at ``width`` channels."""
    return nn.Sequential(*(conv_block(in_channels if i == 0 else width, width) for i in range(depth)))


def local_std(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Eq. 7: standard deviation of each channel over the (2r + 1)^2 window centred on every pixel."""
    size = 2 * radius + 1
    padded = F.pad(x, (radius,) * 4, mode="replicate")  # replicate works for any size, reflect needs > r pixels
    mean = F.avg_pool2d(padded, size, stride=1)
    variance = (F.avg_pool2d(padded * padded, size, stride=1) - mean * mean).clamp_min(0.0)
    return torch.sqrt(variance + 1e-6)  # eps: finite gradient in flat regions


class ContrastEnhancement(nn.Module):
    """CEM (Sec. 1.3.1, Fig. 3): multiscale layer, contrast weights, residual.

    features = concat of LReLU(conv_k(x)) for k in 1, 3, 5, 7 (each channels / 4 wide);
    weights  = sigmoid(FC(LReLU(FC(maxpool(local_std(features))))))   one weight per channel;
    output   = x + features * weights.
    """

    def __init__(self, channels: int):
        super().__init__()
        branch = channels // len(MULTISCALE_KERNELS)
        self.multiscale = nn.ModuleList(conv_block(channels, branch, k) for k in MULTISCALE_KERNELS)
        hidden = channels // CONTRAST_REDUCTION
        self.contrast_weights = nn.Sequential(nn.Linear(channels, hidden), nn.LeakyReLU(LEAKY_SLOPE),
                                              nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.cat([conv(x) for conv in self.multiscale], dim=1)
        contrast = local_std(features, CONTRAST_RADIUS).amax(dim=(2, 3))     # contrast map -> max pooling
        weights = self.contrast_weights(contrast)[:, :, None, None]
        return x + features * weights


def depthwise_separable_block(channels: int) -> nn.Sequential:
    """DSCB: depthwise 3x3, pointwise 1x1, LReLU. The depthwise conv has no bias: the pointwise bias absorbs it."""
    return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                         nn.Conv2d(channels, channels, 1), nn.LeakyReLU(LEAKY_SLOPE))


class DetailPreserving(nn.Module):
    """DPM (Sec. 1.3.2, Fig. 4): conv block, then three parallel paths of 1, 2 and 3 DSCBs, each with a skip across
    its own blocks (the short, medium and long skips); the paths are concatenated, a 3x3 conv brings them back to the
    input width, and a skip across all six DSCBs adds the module's input.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.entry = conv_block(channels, channels)
        self.paths = nn.ModuleList(nn.Sequential(*(depthwise_separable_block(channels) for _ in range(depth)))
                                   for depth in DETAIL_PATH_DEPTHS)
        self.merge = nn.Conv2d(len(DETAIL_PATH_DEPTHS) * channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.entry(x)
        return x + self.merge(torch.cat([h + path(h) for path in self.paths], dim=1))


class ParallelAttention(nn.Module):
    """Parallel channel and spatial attention (Sec. 1.3.3, Fig. 5), both on the module's input.

    Channel: [global avg pool, global max pool] -> conv, LReLU, conv, LReLU, conv, sigmoid. The paper's 3x3 convs act
    on a 1x1 pooled map where only their centre tap ever sees data, so they are built as the equivalent 1x1 convs.
    Spatial: [mean, max over channels] -> 7x7 conv -> sigmoid.
    The two reweighted feature maps are concatenated and merged by a 3x3 conv block.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channel = nn.Sequential(nn.Conv2d(2 * channels, channels, 1), nn.LeakyReLU(LEAKY_SLOPE),
                                     nn.Conv2d(channels, channels, 1), nn.LeakyReLU(LEAKY_SLOPE),
                                     nn.Conv2d(channels, channels, 1), nn.Sigmoid())
        self.spatial = nn.Sequential(nn.Conv2d(2, 1, SPATIAL_KERNEL, padding=SPATIAL_KERNEL // 2), nn.Sigmoid())
        self.merge = conv_block(2 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)], dim=1)
        channel_weighted = x * self.channel(pooled)
        pooled_map = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        spatial_weighted = x * self.spatial(pooled_map)
        return self.merge(torch.cat([channel_weighted, spatial_weighted], dim=1))


class DecouplingSegment(nn.Module):
    """One segment of a decoupling branch (Sec. 1.4, Fig. 6): h = LReLU(conv1x1(x)); h + LReLU(conv3x3(h))."""

    def __init__(self, in_channels: int, channels: int):
        super().__init__()
        self.pointwise = conv_block(in_channels, channels, 1)
        self.spatial = conv_block(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pointwise(x)
        return h + self.spatial(h)


class DecouplingBranch(nn.Module):
    """Fused image + a mask path's fourth-layer features -> that path's source image (Sec. 1.4)."""

    def __init__(self, feature_channels: int, width: int = DECOUPLING_WIDTH):
        super().__init__()
        self.segments = nn.Sequential(*(DecouplingSegment(1 + feature_channels if i == 0 else width, width)
                                        for i in range(DECOUPLING_SEGMENTS)))
        self.output = nn.Sequential(nn.Conv2d(width, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, fused: torch.Tensor, path_features: torch.Tensor) -> torch.Tensor:
        return self.output(self.segments(torch.cat([fused, path_features], dim=1)))


# --- the network ----------------------------------------------------------------------------------------------------

class MaskParallelAttentionFusion(nn.Module):
    def __init__(self, path_width: int = PATH_WIDTH, decoupling_width: int = DECOUPLING_WIDTH):
        super().__init__()
        trunk = 3 * path_width
        self.anatomical_path = feature_path(2, path_width, 4)   # [MRI, MRI mask]
        self.functional_path = feature_path(2, path_width, 4)   # [PET/SPECT, its mask]
        self.joint_path = feature_path(2, path_width, 3)        # [MRI, PET/SPECT]
        self.contrast_enhancement = ContrastEnhancement(trunk)
        self.detail_preserving = DetailPreserving(trunk)
        self.parallel_attention = ParallelAttention(trunk)
        self.reconstruction = nn.Sequential(conv_block(trunk, trunk // 2),
                                            nn.Conv2d(trunk // 2, 1, 3, padding=1), nn.Sigmoid())
        self.decouple_anatomical = DecouplingBranch(path_width, decoupling_width)
        self.decouple_functional = DecouplingBranch(path_width, decoupling_width)

    def _fusion(self, anatomical: torch.Tensor, functional: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (fused, anatomical path features, functional path features)."""
        anatomical_features = self.anatomical_path(torch.cat([anatomical, otsu_mask(anatomical)], dim=1))
        functional_features = self.functional_path(torch.cat([functional, otsu_mask(functional)], dim=1))
        joint_features = self.joint_path(torch.cat([anatomical, functional], dim=1))
        x = torch.cat([anatomical_features, functional_features, joint_features], dim=1)
        x = self.parallel_attention(self.detail_preserving(self.contrast_enhancement(x)))
        return self.reconstruction(x), anatomical_features, functional_features

    def fuse(self, anatomical: torch.Tensor, functional: torch.Tensor) -> torch.Tensor:
        """(N,1,H,W) anatomical gray + functional luminance in [0, 1] -> (N,1,H,W) fused in [0, 1]."""
        return self._fusion(anatomical, functional)[0]

    def forward(self, anatomical: torch.Tensor, functional: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass -> (fused, anatomical decoupled from fused, functional decoupled from fused)."""
        fused, anatomical_features, functional_features = self._fusion(anatomical, functional)
        return (fused,
                self.decouple_anatomical(fused, anatomical_features),
                self.decouple_functional(fused, functional_features))


def build(**kwargs) -> MaskParallelAttentionFusion:
    return MaskParallelAttentionFusion(**kwargs)
