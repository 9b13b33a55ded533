"""DILRAN: Dilated Residual Attention Network with the softmax + nuclear-norm (SFNN) fusion strategy.

Zhou, Xu, Zhang, "An Attention-based Multi-Scale Feature Learning Network for Multimodal Medical Image Fusion",
arXiv:2212.04661 (2022); text in ../shared/papers/dilran.txt. The layers follow the authors' released code
(simonZhou86/dilran, ``model_v5``) wherever it differs from the paper, so that their trained weights load and
reproduce their outputs; docs/models/dilran.md lists every difference.

Pipeline (paper Fig. 1): feature extractor on each source -> fixed fusion rule on the two feature maps ->
reconstructor. Training (paper Sec. 4.2) drops the fusion rule and trains extractor + reconstructor as an
auto-encoder of single images: ``forward(x) = reconstructor(extractor(x))``.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .threads import blas_threads, worker_pool

WIDTH = 64                  # feature channels throughout (paper Sec. 3.3)
DILATIONS = (1, 3, 5)       # multi-scale dilated convolutions (paper Sec. 3.2)
FUSION_RULES = ("sfnn", "average")
# phi of Eq. 4, applied to the per-channel nuclear norms: "max2" is the released code's (and the goldens');
# "max" is what the paper chose as its "ultimate strategy" (Sec. 4.4: max^2 scored best but looked worse).
SFNN_PHI = ("max", "max2")


def soft_mask(x: torch.Tensor) -> torch.Tensor:
    """Soft mask branch of residual attention (paper Eq. 1, Fig. 2): ReLU(Upsample2(AvgPool2(x))).

    Needs even H and W (the registry pads to a multiple of 2).
    """
    return F.relu(F.interpolate(F.avg_pool2d(x, 2), scale_factor=2.0, mode="nearest"))


def conv3x3(in_channels: int, out_channels: int, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation)


class PyramidAttention(nn.Module):
    """Residual pyramid attention as released: x + soft_mask(x) * (CB1(x) + CB2(x) + CB3(x)) (paper Eq. 2 writes
    (1 + P1(P2(P3(x)))) * C(x); Fig. 4).

    The pyramid blocks CB1, CB2, CB3 are one, two and three 3x3 convolutions (receptive fields 3, 5, 7). As in the
    released code they are ONE shared convolution c, so CB2 = c(c(x)) and CB3 = c(c(c(x))): the chain is computed
    once and each link reused.
    """

    def __init__(self, channels: int = WIDTH):
        super().__init__()
        self.conv = conv3x3(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cb1 = self.conv(x)
        cb2 = self.conv(cb1)
        cb3 = self.conv(cb2)
        return x + soft_mask(x) * (cb1 + cb2 + cb3)


class DILRAN(nn.Module):
    """The DILRAN module (paper Fig. 4): {1,3,5}-dilated 3x3 convolutions, concatenated, reduced by a 1x1
    convolution, then residual pyramid attention.

    BatchNorm is not in the paper; the released code normalises after the 1x1 reduction and again after the
    pyramid attention with the SAME BatchNorm module (shared affine parameters and running statistics), with no
    activation. Kept so that the authors' weights load and behave as trained.
    """

    def __init__(self, channels: int = WIDTH):
        super().__init__()
        self.dilated = nn.ModuleList(conv3x3(channels, channels, d) for d in DILATIONS)
        self.reduce = nn.Conv2d(len(DILATIONS) * channels, channels, 1)
        self.norm = nn.BatchNorm2d(channels)
        self.pyramid = PyramidAttention(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multi_scale = torch.cat([conv(x) for conv in self.dilated], dim=1)
        return self.norm(self.pyramid(self.norm(self.reduce(multi_scale))))


class FeatureExtractor(nn.Module):
    """Paper Sec. 3.3: residual attention with a 1x1 convolution gives a 64-channel shallow feature, DILRAN gives
    the deep feature, and another residual attention joins the two.

    Residual attention here is the released code's x + soft_mask(x) * T(x) (paper Eq. 1 writes (1 + S(x)) * T(x));
    for the shallow stage x is the 1-channel image, broadcast over the 64 channels of T(x).
    """

    def __init__(self, channels: int = WIDTH):
        super().__init__()
        self.shallow_conv = nn.Conv2d(1, channels, 1)
        self.dilran = DILRAN(channels)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        lifted = self.shallow_conv(image)
        if self.dilran.reduce.weight.is_contiguous(memory_format=torch.channels_last):
            # a 1x1 convolution of one channel has no layout to follow (its input and weight strides fit both), so
            # it answers in the default one; every later convolution would then copy its input back (7 x 6 ms at
            # 256x256): one copy here instead
            lifted = lifted.contiguous(memory_format=torch.channels_last)
        shallow = image + soft_mask(image) * lifted
        deep = self.dilran(shallow)
        return shallow + soft_mask(shallow) * deep


class Reconstructor(nn.Module):
    """Paper Sec. 3.5, Fig. 5: three 3x3 convolutions 64 -> 64 -> 32 -> 1, no activations (as released)."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(conv3x3(WIDTH, 64), conv3x3(64, 32), conv3x3(32, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


_EIG_LOCK = threading.Lock()


def _chunk_nuclear_norms(maps: np.ndarray) -> np.ndarray:
    """(k, h, w) float32 maps -> (k,) nuclear norms through float64 Gram matrices of the smaller side (NumPy releases
    the GIL in both the stacked product and the eigensolver)."""
    m = maps.astype(np.float64)
    if m.shape[1] > m.shape[2]:
        m = m.transpose(0, 2, 1)
    eigenvalues = np.linalg.eigvalsh(np.matmul(m, m.transpose(0, 2, 1)))
    return np.sqrt(np.clip(eigenvalues, 0.0, None)).sum(axis=-1)


def _nuclear_norms_cpu(maps: torch.Tensor) -> torch.Tensor:
    """Nuclear norms of (k, h, w) float32 CPU maps, the batch split over as many Python workers as torch has threads,
    each running NumPy's OpenBLAS LAPACK single-threaded. Measured on 2 cores for 128 maps of 256x256: OpenBLAS's
    dsyevd 133 ms against 178 ms for torch's (MKL) two at a time, and the Gram products need no float64 copy of the
    whole batch first: 238 -> ~180 ms in all (docs/performance.md). MKL's or OpenBLAS's own threading gained nothing
    here and, with both cores busy, was 3-40x slower; OpenBLAS threads inside two workers ran 2.5x slower."""
    arrays = maps.numpy()
    workers = min(torch.get_num_threads(), len(arrays))
    with _EIG_LOCK, blas_threads(1):     # OpenBLAS's thread count is process-wide: limits must not interleave
        if workers <= 1:
            norms = _chunk_nuclear_norms(arrays)
        else:
            pool = worker_pool("medfuse-eig", workers)
            norms = np.concatenate(list(pool.map(_chunk_nuclear_norms, np.array_split(arrays, workers))))
    return torch.from_numpy(norms)


def channel_softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the channels of (N, C, H, W). In channels-last memory the channels are the innermost axis:
    softmax along it directly, as the last dimension (3 ms at 2x64x256x256, against 25 ms for ``dim=1``, which first
    copies the tensor to the default layout). Same function, float32 rounding apart."""
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return x.permute(0, 2, 3, 1).softmax(dim=-1).permute(0, 3, 1, 2)
    return torch.softmax(x, dim=1)


def channel_nuclear_norms(maps: torch.Tensor) -> torch.Tensor:
    """Nuclear norm (sum of singular values) of every (H, W) channel map: (N, C, H, W) -> (N, C), float32.

    Singular values only: sigma_i = sqrt(lambda_i(S S^T)), the eigenvalues of each map's Gram matrix over its smaller
    side, in float64 so the small singular values survive the squaring (their error is ~sqrt(eps64) sigma_max = 1e-8
    sigma_max; float32 SVD's is ~1e-6). Half the cost of one float32 SVD per map; on CPU the symmetric eigensolver
    also splits over cores (see _nuclear_norms_cpu). docs/models/dilran.md, docs/performance.md.
    """
    n, c, h, w = maps.shape
    if maps.device.type == "cpu":
        flat = maps.detach().to(torch.float32).reshape(n * c, h, w).contiguous()
        return _nuclear_norms_cpu(flat).reshape(n, c).to(torch.float32)
    m = maps.detach().to(torch.float64).reshape(n * c, h, w)
    if h > w:
        m = m.transpose(1, 2)
    eig = torch.linalg.eigvalsh(torch.bmm(m, m.transpose(1, 2)))
    return eig.clamp_min(0.0).sqrt().sum(dim=-1).reshape(n, c).to(torch.float32)


def sfnn_weights(f1: torch.Tensor, f2: torch.Tensor, phi: str = "max2") -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's Softmax Feature Weighted Strategy ("SFNN", Eqs. 3-5), per image: (N,1,1,1) weights.

    S = softmax over channels (Eq. 3); n_c = ||S_c||_* per channel; phi = max over channels ("max"), or its square
    ("max2", the released code's choice, "SFNN-max^2" of the paper's Table 1): W1 = phi1 / (phi1 + phi2), W2 = 1 - W1.
    """
    if phi not in SFNN_PHI:
        raise ValueError(f"phi must be one of {SFNN_PHI}, not {phi!r}")
    n = f1.shape[0]
    largest = channel_nuclear_norms(channel_softmax(torch.cat([f1, f2]))).amax(dim=1)  # both sources at once
    phi1, phi2 = largest[:n], largest[n:]
    if phi == "max2":
        phi1, phi2 = phi1.square(), phi2.square()
    w1 = (phi1 / (phi1 + phi2)).to(f1.dtype).view(-1, 1, 1, 1)
    return w1, 1.0 - w1


class DILRANFusion(nn.Module):
    """Feature extractor + fixed fusion rule + reconstructor.

    ``forward`` is the training auto-encoder (one image in, its reconstruction out); ``fuse`` is inference.
    """

    def __init__(self, fusion_rule: str = "sfnn", phi: str = "max2"):
        super().__init__()
        if fusion_rule not in FUSION_RULES:
            raise ValueError(f"fusion_rule must be one of {FUSION_RULES}, not {fusion_rule!r}")
        if phi not in SFNN_PHI:
            raise ValueError(f"phi must be one of {SFNN_PHI}, not {phi!r}")
        self.fusion_rule = fusion_rule
        self.phi = phi
        self.extractor = FeatureExtractor()
        self.reconstructor = Reconstructor()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.reconstructor(self.extractor(image))

    def fuse_features(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        if self.fusion_rule == "average":
            return (f1 + f2) / 2
        w1, w2 = sfnn_weights(f1, f2, self.phi)
        return w1 * f1 + w2 * f2

    def fuse(self, anatomical: torch.Tensor, functional: torch.Tensor) -> torch.Tensor:
        fused = self.fuse_features(self.extractor(anatomical), self.extractor(functional))
        return self.reconstructor(fused)


def build(fusion_rule: str = "sfnn", phi: str = "max2") -> DILRANFusion:
    return DILRANFusion(fusion_rule=fusion_rule, phi=phi)


# --- the authors' released weights ------------------------------------------------------------------------------

# Their key prefix -> ours. ``fe`` is their MSFuNet, ``fe.fe`` its FE_V1, ``fe.fe.dilran`` its DILRAN_V1.
_AUTHORS_PREFIXES = {
    "fe.conv1.": "extractor.shallow_conv.",
    "fe.fe.convd1.": "extractor.dilran.dilated.0.",
    "fe.fe.convd2.": "extractor.dilran.dilated.1.",
    "fe.fe.convd3.": "extractor.dilran.dilated.2.",
    "fe.fe.reduce.": "extractor.dilran.reduce.",
    "fe.fe.bnorm1.": "extractor.dilran.norm.",
    "fe.fe.dilran.conv_d.": "extractor.dilran.pyramid.conv.",
    "recon.recon_conv.": "reconstructor.layers.",
}
# Built in their __init__ but never called by their forward pass: no gradient ever reached them, so they hold
# their initial values and carry no information.
_AUTHORS_UNUSED = ("fe.conv_id.", "fe.conv2.", "fe.bnorm.", "fe.fe.dilran.bnorm.")


def convert_authors_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the authors' ``last.pt`` state dict (load it with ``torch.load(..., weights_only=True)``) to this
    module's keys, dropping their unused layers. Raises KeyError on any key it does not know."""
    converted: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if key.startswith(_AUTHORS_UNUSED):
            continue
        prefix = next((p for p in _AUTHORS_PREFIXES if key.startswith(p)), None)
        if prefix is None:
            raise KeyError(f"unexpected key in the authors' DILRAN state dict: {key}")
        converted[_AUTHORS_PREFIXES[prefix] + key[len(prefix):]] = tensor.detach().clone().contiguous()
    return converted
