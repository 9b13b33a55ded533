"""MMIF-AMIN (Luo & Xu, 2025): invertible dense networks + multi-scale complementary feature extraction.

Data flow (section 3 and the ablations of Table 4; Fig. 2 itself is not in the text we have — docs/models/mmif-amin.md
lists every choice the paper leaves open):

    anatomical ─ lift 3x3 ─ IDN (6 IDBs) ───────────────┐
    functional ─ lift 3x3 ─ IDN (6 IDBs) ───────────────┤ concat ─ 1x1 conv ─ HardSigmoid ─ fused
    [anatomical, functional] ─ MCFEM ───────────────────┘

* IDN: a stack of invertible dense blocks (IDB), each an affine coupling whose three sub-networks are the dense network
  of eq. (1)-(2) and whose scale is eq. (3) with clamp = 2; ``InvertibleDenseNetwork.inverse`` undoes it exactly.
* MCFEM: CBAM (eq. 4-6) on the two source images stacked along channels, then three branches (3x3, 5x5, 7x7
  pre-CNN) that each pass through the same transformer block of three TMUs (eq. 7, 8 heads) and the same post-CNN,
  summed — the cascade of MATR, which the paper says inspired it.
* Transformer tokens are pixels. Attention runs in groups of 8x8 tokens so memory stays linear in the image area:
  TMU 1 within 8x8 windows (local context), TMU 2 within windows shifted by half a window (cross-regional), TMU 3 on
  an 8x8 grid spread over the whole image (global), after the paper's "local / cross-regional / global" description.
  Hence H and W must be multiples of 8 (the registry pads to it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .amin_kernels import HEAD_CHANNELS, accumulate_activate, coupling, grouped_attention
from .threads import worker_pool

FEATURE_CHANNELS = 8        # width of each modality's invertible features (split 4 | 4 by the coupling)
DENSE_GROWTH = 3            # channels each dense layer R_1..R_4 adds (eq. 1)
NUM_IDB = 6                 # invertible dense blocks per IDN (paper, section 3.1)
SCALE_CLAMP = 2.0           # "clamp" of eq. (3)
EMBED_DIM = 16              # MCFEM / transformer width (MATR's, 8 heads of 2 channels)
NUM_HEADS = 8               # section 4.1.2
MLP_RATIO = 4               # ViT / MATR default; the paper does not give it
GROUP = 8                   # attention groups are GROUP x GROUP tokens
BRANCH_KERNELS = (3, 5, 7)  # multi-scale pre-CNN
OUTPUT_CHANNEL_BLOCK = 8     # the dense networks' stacked convolutions are padded to multiples of this
TWO_LANE_MAX_PIXELS = 1024 * 1024  # CPU inference splits into two lanes up to this many pixels per call (measured
                                   # faster up to here; see forward)


def conv(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)


# --- Invertible Dense Network (section 3.1) ----------------------------------------------------------------------

class DenseNetwork(nn.Module):
    """Eq. (1)-(2): R_i = LeakyReLU(W_i * concat(R_0..R_{i-1}) + b_i), i = 1..4;  R_out = W_5 * concat(R_0..R_4) + b_5.

    Without autograd (inference) the same function runs *incrementally*: each feature R_j is convolved once, by the
    column blocks of W_{j+1}..W_5 that read it stacked into one convolution, and added into the pre-activations of
    every later layer. The convolutions then read 4 + 4 x 3 = 16 input channels instead of 4 + 7 + 10 + 13 + 16 = 50
    — a thin convolution's time on a CPU follows its input channels — and no concatenation is made. Equal to the
    dense form up to float32 summation order (tests/fusion/test_fast_paths.py).
    """

    def __init__(self, in_channels: int, out_channels: int, growth: int = DENSE_GROWTH):
        super().__init__()
        self.layers = nn.ModuleList(conv(in_channels + i * growth, growth, 3) for i in range(4))
        self.out = conv(in_channels + 4 * growth, out_channels, 3)
        self.act = nn.LeakyReLU()
        self.in_channels, self.growth = in_channels, growth
        self._incremental: tuple | None = None   # (parameter versions, weights, biases) of the incremental form
        # Start every coupling near the identity (HiNet zero-initialises this layer; a small non-zero scale keeps
        # gradients flowing to W_1..W_4 from the first step).
        with torch.no_grad():
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()

    def forward(self, r0: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():
            return self._forward_incremental(r0)
        features = [r0]
        for layer in self.layers:
            features.append(self.act(layer(torch.cat(features, dim=1))))
        return self.out(torch.cat(features, dim=1))

    def _incremental_weights(self) -> tuple[list[torch.Tensor], torch.Tensor, list[int]]:
        """Per feature R_j (j = 0..4) the stacked weight blocks of every layer that reads it, all biases (added with
        R_0's convolution), and the first accumulator channel each R_j's convolution writes. Each stack is padded
        with leading zero filters to a multiple of OUTPUT_CHANNEL_BLOCK outputs where the accumulator has room (13
        and 10 -> 16, 7 and 4 -> 8): oneDNN's AVX2 convolution blocks output channels by 8, and a 3-channel 3x3
        convolution at 256² takes 1.1 ms for 9-15 outputs, 0.75 ms for 16, 0.47 ms for 8. The padded channels add
        zeros to pre-activations already used. Rebuilt when a parameter changes (training steps and loading bump its
        version)."""
        convs = [*self.layers, self.out]
        versions = tuple((c.weight._version, c.bias._version, c.weight.data_ptr()) for c in convs)
        if self._incremental is not None and self._incremental[0] == versions:
            return self._incremental[1:]
        with torch.no_grad():
            bounds = [0, self.in_channels] + [self.in_channels + j * self.growth for j in range(1, 5)]
            layout = (torch.channels_last if self.out.weight.is_contiguous(memory_format=torch.channels_last)
                      else torch.contiguous_format)
            weights, starts = [], []
            for j in range(5):
                stack = torch.cat([c.weight[:, bounds[j]:bounds[j + 1]] for c in convs[j:]], dim=0)
                first = j * self.growth               # R_j feeds the pre-activations from R_{j+1}'s on
                pad = min(-stack.shape[0] % OUTPUT_CHANNEL_BLOCK, first)
                stack = F.pad(stack, (0, 0, 0, 0, 0, 0, pad, 0))   # zero filters before the first output
                weights.append(stack.contiguous(memory_format=layout))
                starts.append(first - pad)
            bias = torch.cat([c.bias for c in convs])
        self._incremental = (versions, weights, bias, starts)
        return weights, bias, starts

    def _forward_incremental(self, r0: torch.Tensor) -> torch.Tensor:
        weights, bias, starts = self._incremental_weights()
        g = self.growth
        acc = F.conv2d(r0, weights[0], bias, padding=1)    # pre-activations of R_1..R_4 and R_out, from R_0
        update = None
        for j in range(1, 6):
            # one compiled pass: add the previous update into the later layers' pre-activations, activate R_j
            update_start = starts[j - 1]
            feature = accumulate_activate(acc, update, update_start, g if j < 5 else 0, feature_start=(j - 1) * g)
            if feature is None:   # not channels-last float32 on the CPU: PyTorch's operators
                if update is not None:
                    acc[:, update_start:] += update
                feature = self.act(acc[:, (j - 1) * g:j * g]) if j < 5 else None
            if j < 5:
                update = F.conv2d(feature, weights[j], padding=1)
        return acc[:, 4 * g:]


class InvertibleDenseBlock(nn.Module):
    """IDB (Fig. 3): affine coupling with dense sub-networks phi, rho, eta (the HiNet coupling).

    forward:  tem = phi(x2);  y1 = x1 + tem;  y2 = S(y1) * x2 + eta(y1)
    inverse:  x2 = (y2 - eta(y1)) / S(y1);  tem = phi(x2);  x1 = y1 - tem
    with the scaling factor S(y1) = exp(clamp * 2 * (Sigmoid(rho(y1)) - 0.5))  (eq. 3).
    """

    def __init__(self, channels: int = FEATURE_CHANNELS):
        super().__init__()
        self.split = channels // 2
        other = channels - self.split
        self.phi = DenseNetwork(other, self.split)
        self.rho = DenseNetwork(self.split, other)
        self.eta = DenseNetwork(self.split, other)

    def scaling(self, y1: torch.Tensor) -> torch.Tensor:
        return _scale(self.rho(y1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x[:, : self.split], x[:, self.split:]
        y1 = x1 + self.phi(x2)
        rho, eta = self.rho(y1), self.eta(y1)
        if not torch.is_grad_enabled() and self.split * 2 == x.shape[1]:
            # inference: scaling, product, sum and concatenation in one compiled pass where the layout allows
            out = coupling(y1, x, rho, eta, SCALE_CLAMP * 2.0)
            if out is not None:
                return out
        return torch.cat([y1, _scale(rho) * x2 + eta], dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        y1, y2 = y[:, : self.split], y[:, self.split:]
        x2 = (y2 - self.eta(y1)) / self.scaling(y1)
        x1 = y1 - self.phi(x2)
        return torch.cat([x1, x2], dim=1)


def _scale(rho: torch.Tensor) -> torch.Tensor:
    return torch.exp(SCALE_CLAMP * 2.0 * (torch.sigmoid(rho) - 0.5))


class InvertibleDenseNetwork(nn.Module):
    """IDN: NUM_IDB invertible dense blocks; lossless, its inverse recovers the input features."""

    def __init__(self, channels: int = FEATURE_CHANNELS, num_blocks: int = NUM_IDB):
        super().__init__()
        self.blocks = nn.ModuleList(InvertibleDenseBlock(channels) for _ in range(num_blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        for block in reversed(self.blocks):
            y = block.inverse(y)
        return y


# --- CBAM (section 3.2.1) ----------------------------------------------------------------------------------------

class ChannelAttention(nn.Module):
    """Eq. (4): M_c(X) = Sigmoid(MLP(AP(X)) + MLP(MP(X))), one shared MLP (CBAM reduction 16, at least 1 unit)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(conv(channels, hidden, 1, bias=False), nn.ReLU(),
                                 conv(hidden, channels, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mlp(x.mean(dim=(2, 3), keepdim=True)) + self.mlp(x.amax(dim=(2, 3), keepdim=True)))


class SpatialAttention(nn.Module):
    """Eq. (5): M_s(X') = Sigmoid(Conv7x7([AC(X'), MC(X')])), pooling along channels."""

    def __init__(self):
        super().__init__()
        self.conv = conv(2, 1, 7, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)))


class CBAM(nn.Module):
    """Eq. (6): CBAM(X) = M_s(M_c(X) X) (M_c(X) X)."""

    def __init__(self, channels: int):
        super().__init__()
        self.channel = ChannelAttention(channels)
        self.spatial = SpatialAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.channel(x) * x
        return self.spatial(x) * x


# --- Transformer block (section 3.2.2) ---------------------------------------------------------------------------

def partition(tokens: torch.Tensor, mode: str) -> torch.Tensor:
    """(B, H, W, C) -> (B * groups, GROUP * GROUP, C). "window": contiguous GROUP x GROUP tiles; "grid": GROUP x GROUP
    tokens spaced H/GROUP and W/GROUP apart, spanning the whole image (MaxViT's block / grid partitions)."""
    b, h, w, c = tokens.shape
    if mode == "window":
        x = tokens.reshape(b, h // GROUP, GROUP, w // GROUP, GROUP, c).permute(0, 1, 3, 2, 4, 5)
    else:
        x = tokens.reshape(b, GROUP, h // GROUP, GROUP, w // GROUP, c).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(-1, GROUP * GROUP, c)


def unpartition(groups: torch.Tensor, mode: str, shape: torch.Size) -> torch.Tensor:
    b, h, w, c = shape
    if mode == "window":
        x = groups.reshape(b, h // GROUP, w // GROUP, GROUP, GROUP, c).permute(0, 1, 3, 2, 4, 5)
    else:
        x = groups.reshape(b, h // GROUP, w // GROUP, GROUP, GROUP, c).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, h, w, c)


class MultiHeadSelfAttention(nn.Module):
    """MSAM: multi-head self-attention within each token group."""

    def __init__(self, dim: int = EMBED_DIM, num_heads: int = NUM_HEADS):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups, tokens, dim = x.shape
        qkv = self.qkv(x)
        if (x.device.type == "cpu" and not torch.is_grad_enabled() and x.dtype == torch.float32
                and dim == self.num_heads * HEAD_CHANNELS):
            # CPU inference: one compiled pass per (group, head), no score ever written to memory
            return self.proj(grouped_attention(qkv, self.num_heads))
        # training and CUDA: PyTorch's fused kernel (autograd; never materialises all scores)
        q, k, v = qkv.reshape(groups, tokens, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(groups, tokens, dim))


class TransformerUnit(nn.Module):
    """TMU, eq. (7): Z = X + MSAM(LN(X));  TMU(X) = Z + MLP(LN(Z)), tokens = pixels grouped by ``mode``.

    mode "window": 8x8 tiles; "shifted": 8x8 tiles offset by 4 pixels (the image is reflect-padded by 4 on every side
    so the offset tiles cover it, then cropped back); "grid": 8x8 tokens spread over the whole image.
    """

    def __init__(self, mode: str, dim: int = EMBED_DIM, num_heads: int = NUM_HEADS, mlp_ratio: int = MLP_RATIO):
        super().__init__()
        self.mode = mode
        self.norm1 = nn.LayerNorm(dim)
        self.attention = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def attend(self, tokens: torch.Tensor) -> torch.Tensor:
        """MSAM over (B, H, W, C) tokens, grouped according to the unit's mode."""
        if self.mode == "shifted":
            shift = GROUP // 2
            padded = F.pad(tokens.permute(0, 3, 1, 2), (shift, shift, shift, shift), mode="reflect")
            padded = padded.permute(0, 2, 3, 1)
            out = unpartition(self.attention(partition(padded, "window")), "window", padded.shape)
            return out[:, shift:-shift, shift:-shift]
        return unpartition(self.attention(partition(tokens, self.mode)), self.mode, tokens.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.permute(0, 2, 3, 1)  # (B, H, W, C): free when x is channels_last
        tokens = tokens + self.attend(self.norm1(tokens))
        tokens = tokens + self.mlp(self.norm2(tokens))
        return tokens.permute(0, 3, 1, 2)


class TransformerBlock(nn.Sequential):
    """TMB: three TMUs — local, cross-regional, global (section 3.2.2)."""

    def __init__(self, dim: int = EMBED_DIM):
        super().__init__(*(TransformerUnit(mode, dim) for mode in ("window", "shifted", "grid")))


# --- MCFEM (section 3.2) -----------------------------------------------------------------------------------------

class MCFEM(nn.Module):
    """Multi-scale complementary feature extraction on the two source images stacked along channels.

    CBAM, then for each kernel size k: pre-CNN (k x k conv) -> TMB -> post-CNN (3x3 conv); the three scales summed.
    The TMB and the post-CNN are shared by the branches, as in MATR.
    """

    def __init__(self, in_channels: int = 2, dim: int = EMBED_DIM):
        super().__init__()
        self.cbam = CBAM(in_channels)
        self.branches = nn.ModuleList(nn.Sequential(conv(in_channels, dim, k), nn.LeakyReLU()) for k in BRANCH_KERNELS)
        self.transformer = TransformerBlock(dim)
        self.post = nn.Sequential(conv(dim, dim, 3), nn.LeakyReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        small, *larger = self.scale_features(self.cbam(x), range(len(self.branches)))
        for features in larger:
            small = small + features
        return small

    def scale_features(self, attended: torch.Tensor, scales) -> list[torch.Tensor]:
        """post-CNN(TMB(pre-CNN_k(attended))) for the branches ``scales`` (indices into BRANCH_KERNELS). The branches
        share the TMB and post-CNN: they run as one batch (same result, fewer, larger kernels)."""
        scales = list(scales)
        batch = torch.cat([self.branches[i](attended) for i in scales], dim=0)
        return list(self.post(self.transformer(batch)).unflatten(0, (len(scales), -1)))


# --- the network -------------------------------------------------------------------------------------------------

class MMIFAMIN(nn.Module):
    """Two IDNs (unique features per modality) + MCFEM (complementary features) + 1x1 conv + HardSigmoid."""

    def __init__(self):
        super().__init__()
        # R_0 of eq. (1): the IDN needs several channels to split; a 3x3 conv lifts each gray image to them.
        self.lift_anatomical = conv(1, FEATURE_CHANNELS, 3)
        self.lift_functional = conv(1, FEATURE_CHANNELS, 3)
        self.idn_anatomical = InvertibleDenseNetwork()
        self.idn_functional = InvertibleDenseNetwork()
        self.mcfem = MCFEM()
        self.reconstruction = nn.Sequential(conv(2 * FEATURE_CHANNELS + EMBED_DIM, 1, 1), nn.Hardsigmoid())

    def forward(self, anatomical: torch.Tensor, functional: torch.Tensor) -> torch.Tensor:
        h, w = anatomical.shape[-2:]
        if h % GROUP or w % GROUP:
            raise ValueError(f"MMIF-AMIN needs H and W multiples of {GROUP} (got {h}x{w}); pad the inputs first")
        if _two_lanes(anatomical):
            return self._forward_two_lanes(anatomical, functional)
        unique_anatomical = self.idn_anatomical(self.lift_anatomical(anatomical))
        unique_functional = self.idn_functional(self.lift_functional(functional))
        complementary = self.mcfem(torch.cat([anatomical, functional], dim=1))
        return self.reconstruction(torch.cat([unique_anatomical, unique_functional, complementary], dim=1))

    def _forward_two_lanes(self, anatomical: torch.Tensor, functional: torch.Tensor) -> torch.Tensor:
        """The same function, its five independent chains of about equal work (two IDNs, three MCFEM branches) on two
        CPU lanes of half the threads each: the IDNs here, the 3x3 and 5x5 branches in a side thread, then the 7x7
        branch with all threads. Its hundreds of small kernels scale poorly across threads; one thread per lane keeps
        both cores busy without OpenMP sync (docs/performance-mmif-amin.md, "two lanes")."""
        threads = torch.get_num_threads()
        attended = self.mcfem.cbam(torch.cat([anatomical, functional], dim=1))
        side = worker_pool("mmif-amin-lane", 1).submit(_run_in_lane, threads - threads // 2, self.mcfem.scale_features,
                                                       attended, (0, 1))
        torch.set_num_threads(threads // 2)
        try:
            unique_anatomical = self.idn_anatomical(self.lift_anatomical(anatomical))
            unique_functional = self.idn_functional(self.lift_functional(functional))
        finally:
            torch.set_num_threads(threads)
            small, medium = side.result()
        (large,) = self.mcfem.scale_features(attended, (2,))
        complementary = small + medium + large
        return self.reconstruction(torch.cat([unique_anatomical, unique_functional, complementary], dim=1))

    def fuse(self, anatomical: torch.Tensor, functional: torch.Tensor) -> torch.Tensor:
        return self(anatomical, functional)


def _two_lanes(x: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and not torch.is_grad_enabled() and torch.get_num_threads() >= 2
            and x.shape[0] * x.shape[-2] * x.shape[-1] <= TWO_LANE_MAX_PIXELS)


def _run_in_lane(threads: int, function, *args):
    # torch's thread count and grad mode are per thread: set both in the side thread for each call
    torch.set_num_threads(threads)
    with torch.no_grad():
        return function(*args)


def build(**kwargs) -> MMIFAMIN:
    if kwargs:
        raise TypeError(f"MMIF-AMIN takes no build options, got {sorted(kwargs)}")
    return MMIFAMIN()
