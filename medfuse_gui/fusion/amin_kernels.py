"""MMIF-AMIN's CPU inference kernels, compiled by numba: grouped attention, and the dense networks' accumulate-activate.

Attention. MMIF-AMIN attends over groups of 64 tokens with 8 heads of 2 channels: per 256² slice 302 M scores, each
costing two multiply-adds and one exponential. Done with PyTorch's operators, every score is written to memory, read
back by the softmax, written again and read by the second product (and the flash kernel spends its time on per-block
overhead at this head size), so the attention was ~60 % of the network's time. Here each (group, head) pair is done
in registers and L1: scores, exponentials, their sum and the weighted sum of the values, four rows of queries per
pass over the keys, and the result is written straight into the layout the output projection reads. numba compiles
it (LLVM, AVX2 where present); scores are in log2 units (log2 e folded into the queries) and 2^x is a degree-5
polynomial (~1.5 ulp), written out so LLVM vectorises it.

Numerics: softmax is shift-invariant; each row is shifted by an upper bound of its scores, |q0| max|k0| + |q1| max|k1|
(so no exponential exceeds 1), and by the exact row maximum where that bound exceeds 40 (a looser shift could make
the largest exponential underflow). Equal to ``F.scaled_dot_product_attention`` to ~2e-6 in float32, as the chunked
PyTorch form it replaces (tests/fusion/test_amin_kernels.py).

Dense networks. The incremental dense network (amin.DenseNetwork) adds each convolution's output into a channel slice
of a channels-last accumulator and activates the next 3-channel slice: with PyTorch's operators these are two strided
passes of 3-12 channels per pixel, ~0.6 ms each at 256² (3 ns per element: per-pixel loop overhead), 288 per slice.
One compiled pass per pixel does both: 1.9 -> 0.48 ms for a 13-channel update at 256² (one thread).

Coupling. Each invertible dense block ends with exp(4 (sigmoid(rho) - 1/2)) x2 + eta and a concatenation: six PyTorch
passes over strided 4-channel slices (2.6-3.5 ms at 256²), here one pass (1.1-1.2 ms).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from .threads import worker_pool

LEAKY_SLOPE = np.float32(0.01)          # nn.LeakyReLU's default, as the dense networks use it
HEAD_CHANNELS = 2            # the kernel is written for 2-channel heads (MMIF-AMIN: 16 channels, 8 heads)
MIN_GROUPS_PER_WORKER = 64   # below these a second worker costs more than it saves
MIN_PIXELS_PER_WORKER = 16384
_LOG2E = np.float32(1.4426950408889634)
# 2^r on |r| <= 1/2 as 1 + r (C1 + r (C2 + ...)): a degree-5 fit of the relative error (Lawson's iteration; 1.9e-7
# in float32, ~1.5 ulp), two terms shorter than Cephes' expf, whose Cody-Waite reduction it also saves
_EXP2_COEFFICIENTS = tuple(np.float32(c) for c in (0.693147, 0.24022242, 0.05550734, 0.00967151, 0.00132647))
_LOOSE_SHIFT = np.float32(40.0 * 1.4426950408889634)  # exp(-40), in log2 units: beyond, shift by the exact row max
_MIN_EXPONENT = np.float32(-125.0)       # clamp so 2^n stays a normal float32
_MAX_EXPONENT = np.float32(126.0)
_COUPLING_CHUNK = 512                     # pixels per scratch chunk of the coupling kernel (L1-sized)
_FAST = {"reassoc", "contract", "nsz", "nnan", "ninf"}  # lets LLVM vectorise the sums (order of addition changes)


def _jit(function):
    options = dict(nogil=True, fastmath=_FAST, boundscheck=False, error_model="numpy")
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # no writable cache location (a read-only install): compile once per run instead
        return numba.njit(**options)(function)


@numba.njit(inline="always", fastmath=_FAST)
def _exp2_parts(x):
    """2^x = mantissa * 2^n, |x - n| <= 1/2: returns (mantissa, the float32 bits of 2^n). Inlined by numba
    (inline="always") so that the loops calling it still vectorise."""
    c1, c2, c3, c4, c5 = _EXP2_COEFFICIENTS
    x = max(x, _MIN_EXPONENT)
    n = np.rint(x)      # one rounding instruction (floor(x + 1/2) took an addition more: 54 -> 48 ms)
    r = x - n
    return np.float32(1.0) + r * (c1 + r * (c2 + r * (c3 + r * (c4 + r * c5)))), (np.int32(n) + np.int32(127)) << 23


@numba.njit(inline="always", fastmath=_FAST)
def _row_shift(q0, q1, k0, k1, k0_max, k1_max):
    """An upper bound of the row's scores q0 k0_j + q1 k1_j (so no exponential exceeds 1), or their exact maximum
    where the bound is so loose that every exponential of the row could underflow."""
    shift = abs(q0) * k0_max + abs(q1) * k1_max
    if shift > _LOOSE_SHIFT:
        shift = q0 * k0[0] + q1 * k1[0]
        for j in range(1, k0.shape[0]):
            shift = max(shift, q0 * k0[j] + q1 * k1[j])
    return shift


@_jit
def _attend_groups(qkv, out, heads, scale, first, last):
    """out[g, i, 2h:2h+2] = softmax_j(scale q_gih . k_gjh) v_gjh for groups first..last-1 (qkv: (G, T, 3*2*heads)).

    Scores are in log2 units (log2 e folded into the queries) and exponentiated as 2^x. Four query rows share each
    pass over the keys, written out: the keys are loaded once per four rows and four independent chains hide the
    FMAs' latency (one row per pass: 77 -> 55 ms for 3,072 groups, one thread; eight rows spill AVX2's registers)."""
    tokens = qkv.shape[1]
    dim = heads * 2
    k0 = np.empty(tokens, np.float32)
    k1 = np.empty(tokens, np.float32)
    v0 = np.empty(tokens, np.float32)
    v1 = np.empty(tokens, np.float32)
    mantissas = np.empty((4, tokens), np.float32)        # of four rows' exponentials
    bits = np.empty((4, tokens), np.int32)               # and their powers of two, as float32 bits
    ma, mb, mc, md = mantissas[0], mantissas[1], mantissas[2], mantissas[3]
    ba, bb, bc, bd = bits[0], bits[1], bits[2], bits[3]
    pa, pb, pc, pd = ba.view(np.float32), bb.view(np.float32), bc.view(np.float32), bd.view(np.float32)
    log2_scale = scale * _LOG2E
    for g in range(first, last):
        for h in range(heads):
            qc = 2 * h
            kc = dim + qc
            vc = 2 * dim + qc
            k0_max = np.float32(0.0)
            k1_max = np.float32(0.0)
            for j in range(tokens):
                k0[j] = qkv[g, j, kc]
                k1[j] = qkv[g, j, kc + 1]
                v0[j] = qkv[g, j, vc]
                v1[j] = qkv[g, j, vc + 1]
                k0_max = max(k0_max, abs(k0[j]))
                k1_max = max(k1_max, abs(k1[j]))
            i = 0
            while i + 4 <= tokens:
                a0, a1 = qkv[g, i, qc] * log2_scale, qkv[g, i, qc + 1] * log2_scale
                b0, b1 = qkv[g, i + 1, qc] * log2_scale, qkv[g, i + 1, qc + 1] * log2_scale
                c0, c1 = qkv[g, i + 2, qc] * log2_scale, qkv[g, i + 2, qc + 1] * log2_scale
                d0, d1 = qkv[g, i + 3, qc] * log2_scale, qkv[g, i + 3, qc + 1] * log2_scale
                sa = _row_shift(a0, a1, k0, k1, k0_max, k1_max)
                sb = _row_shift(b0, b1, k0, k1, k0_max, k1_max)
                sc = _row_shift(c0, c1, k0, k1, k0_max, k1_max)
                sd = _row_shift(d0, d1, k0, k1, k0_max, k1_max)
                for j in range(tokens):
                    ma[j], ba[j] = _exp2_parts(a0 * k0[j] + a1 * k1[j] - sa)
                    mb[j], bb[j] = _exp2_parts(b0 * k0[j] + b1 * k1[j] - sb)
                    mc[j], bc[j] = _exp2_parts(c0 * k0[j] + c1 * k1[j] - sc)
                    md[j], bd[j] = _exp2_parts(d0 * k0[j] + d1 * k1[j] - sd)
                ta = oa0 = oa1 = tb = ob0 = ob1 = tc = oc0 = oc1 = td = od0 = od1 = np.float32(0.0)
                for j in range(tokens):
                    ea, eb, ec, ed = ma[j] * pa[j], mb[j] * pb[j], mc[j] * pc[j], md[j] * pd[j]
                    ta += ea
                    oa0 += ea * v0[j]
                    oa1 += ea * v1[j]
                    tb += eb
                    ob0 += eb * v0[j]
                    ob1 += eb * v1[j]
                    tc += ec
                    oc0 += ec * v0[j]
                    oc1 += ec * v1[j]
                    td += ed
                    od0 += ed * v0[j]
                    od1 += ed * v1[j]
                out[g, i, qc], out[g, i, qc + 1] = oa0 / ta, oa1 / ta
                out[g, i + 1, qc], out[g, i + 1, qc + 1] = ob0 / tb, ob1 / tb
                out[g, i + 2, qc], out[g, i + 2, qc + 1] = oc0 / tc, oc1 / tc
                out[g, i + 3, qc], out[g, i + 3, qc + 1] = od0 / td, od1 / td
                i += 4
            while i < tokens:   # the last tokens % 4 rows one at a time (MMIF-AMIN's 64 tokens leave none)
                a0, a1 = qkv[g, i, qc] * log2_scale, qkv[g, i, qc + 1] * log2_scale
                sa = _row_shift(a0, a1, k0, k1, k0_max, k1_max)
                for j in range(tokens):
                    ma[j], ba[j] = _exp2_parts(a0 * k0[j] + a1 * k1[j] - sa)
                ta = oa0 = oa1 = np.float32(0.0)
                for j in range(tokens):
                    ea = ma[j] * pa[j]
                    ta += ea
                    oa0 += ea * v0[j]
                    oa1 += ea * v1[j]
                out[g, i, qc], out[g, i, qc + 1] = oa0 / ta, oa1 / ta
                i += 1


def grouped_attention(qkv: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head self-attention within each group, from the fused q|k|v projection.

    qkv: float32 CPU tensor (groups, tokens, 3 * heads * 2), laid out as ``Linear(dim, 3 * dim)`` writes it (q, k, v,
    each head's 2 channels together). Returns (groups, tokens, heads * 2): the heads concatenated, as the output
    projection reads them. Splits the groups over ``torch.get_num_threads()`` workers (the calling thread's count, so
    MMIF-AMIN's one-thread lanes call it directly).
    """
    groups, tokens, width = qkv.shape
    if width != 3 * heads * HEAD_CHANNELS or qkv.dtype != torch.float32 or qkv.device.type != "cpu":
        raise ValueError(f"grouped_attention takes float32 CPU (G, T, {3 * heads * HEAD_CHANNELS}) tensors, got "
                         f"{qkv.dtype} {qkv.device.type} {tuple(qkv.shape)}")
    source = qkv.detach().contiguous().numpy()
    out = np.empty((groups, tokens, heads * HEAD_CHANNELS), np.float32)
    scale = np.float32(HEAD_CHANNELS ** -0.5)
    _split_over_threads(_attend_groups, groups, MIN_GROUPS_PER_WORKER, source, out, heads, scale)
    return torch.from_numpy(out)


@_jit
def _accumulate_activate(acc, update, start, feature_start, growth, feature, first, last):
    """acc[p, start:] += update[p]; feature[p] = LeakyReLU(acc[p, feature_start:feature_start + growth]) for pixels
    first..last-1."""
    # flat arrays and unsigned offsets: numba adds no negative-index wraparound, so the short rows vectorise (2x)
    channels = np.uint64(acc.shape[1])
    width = np.uint64(update.shape[1])
    growth = np.uint64(growth)
    flat_acc = acc.reshape(-1)
    flat_update = update.reshape(-1)
    flat_feature = feature.reshape(-1)
    for p in range(np.uint64(first), np.uint64(last)):
        row = p * channels + np.uint64(start)
        for c in range(width):
            flat_acc[row + c] += flat_update[p * width + c]
        source = p * channels + np.uint64(feature_start)
        for c in range(growth):
            x = flat_acc[source + c]
            flat_feature[p * growth + c] = x if x >= 0 else x * LEAKY_SLOPE


def accumulate_activate(acc: torch.Tensor, update: torch.Tensor | None, start: int, growth: int,
                        feature_start: int | None = None) -> torch.Tensor | None:
    """In place: ``acc[:, start:] += update`` (``update`` None: nothing added), then return
    ``LeakyReLU(acc[:, feature_start:feature_start + growth])`` (``feature_start`` defaults to ``start``) — for
    channels-last float32 CPU tensors of one layout; None when they are not (the caller then uses PyTorch's
    operators)."""
    feature_start = start if feature_start is None else feature_start
    n, channels, h, w = acc.shape
    width = 0 if update is None else update.shape[1]
    if (update is not None and start + width != channels) or not 0 <= feature_start <= channels - growth:
        # the kernel does no bounds checks: refuse what would write outside acc or feature
        raise ValueError(f"accumulate_activate: update of {width} channels at {start}, feature of {growth} at "
                         f"{feature_start}, for an accumulator of {channels}")
    tensors = (acc,) if update is None else (acc, update)
    if any(t.dtype != torch.float32 or t.device.type != "cpu" or t.shape[0] != n or t.shape[2:] != acc.shape[2:]
           or not t.is_contiguous(memory_format=torch.channels_last) for t in tensors):
        return None
    pixels = acc.detach().permute(0, 2, 3, 1).numpy().reshape(n * h * w, channels)
    added = (np.empty((n * h * w, 0), np.float32) if update is None else
             update.detach().permute(0, 2, 3, 1).numpy().reshape(n * h * w, update.shape[1]))
    feature = torch.empty((n, growth, h, w), memory_format=torch.channels_last)
    features = feature.permute(0, 2, 3, 1).numpy().reshape(n * h * w, growth)
    if pixels.ctypes.data != acc.data_ptr():   # reshape had to copy (odd strides): the sums would be lost
        return None
    _split_over_threads(_accumulate_activate, n * h * w, MIN_PIXELS_PER_WORKER, pixels, added, start, feature_start,
                        growth, features)
    return feature


@_jit
def _couple(y1, x, rho, eta, out, factor, first, last):
    """Pixels first..last-1 of (pixels, channels) views: out[:, :c] = y1;
    out[:, c:] = exp(factor (sigmoid(rho) - 1/2)) x[:, c:] + eta. The exponentials go through chunks of contiguous
    scratch (2^x as mantissa times power of two, whose bits need a float32 view of an int32 array)."""
    channels = y1.shape[1]
    size = _COUPLING_CHUNK * channels
    r = np.empty(size, np.float32)
    m1 = np.empty(size, np.float32)
    b1 = np.empty(size, np.int32)
    m2 = np.empty(size, np.float32)
    b2 = np.empty(size, np.int32)
    p1 = b1.view(np.float32)
    p2 = b2.view(np.float32)
    scale_log2 = np.float32(factor) * _LOG2E
    for start in range(first, last, _COUPLING_CHUNK):
        count = min(_COUPLING_CHUNK, last - start)
        for k in range(count):
            for c in range(channels):
                out[start + k, c] = y1[start + k, c]
                r[k * channels + c] = rho[start + k, c]
        total = count * channels
        for i in range(total):      # e^-rho (bounded so that 2^n stays finite; sigmoid is then 0 to float32)
            m1[i], b1[i] = _exp2_parts(min(-r[i] * _LOG2E, _MAX_EXPONENT))
        for i in range(total):
            sigmoid = np.float32(1.0) / (np.float32(1.0) + m1[i] * p1[i])
            m2[i], b2[i] = _exp2_parts(scale_log2 * (sigmoid - np.float32(0.5)))
        for k in range(count):
            for c in range(channels):
                i = k * channels + c
                out[start + k, channels + c] = m2[i] * p2[i] * x[start + k, channels + c] + eta[start + k, c]


def coupling(y1: torch.Tensor, x: torch.Tensor, rho: torch.Tensor, eta: torch.Tensor,
             factor: float) -> torch.Tensor | None:
    """The invertible dense block's output ``cat([y1, exp(factor (sigmoid(rho) - 1/2)) * x[:, c:] + eta])`` in one
    pass (PyTorch: sigmoid, subtract, multiply, exp, multiply, add and the concatenation, each a pass over strided
    4-channel slices). Channels-last float32 CPU tensors (``rho`` and ``eta`` may be channel slices of one); None
    otherwise (the caller then uses PyTorch's operators)."""
    n, c, h, w = y1.shape
    tensors = (y1, x, rho, eta)
    if (any(t.dtype != torch.float32 or t.device.type != "cpu" or t.shape[0] != n or t.shape[2:] != y1.shape[2:]
            or t.stride(1) != 1 or t.stride(2) != w * t.stride(3) or t.stride(0) != h * w * t.stride(3)
            for t in tensors) or x.shape[1] != 2 * c or rho.shape[1] != c or eta.shape[1] != c):
        return None
    out = torch.empty((n, 2 * c, h, w), memory_format=torch.channels_last)
    views = [_pixel_rows(t) for t in (y1, x, rho, eta, out)]
    _split_over_threads(_couple, n * h * w, MIN_PIXELS_PER_WORKER, *views, np.float32(factor))
    return out


def _pixel_rows(t: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) channels-last tensor, possibly a channel slice of a wider one -> (N*H*W, C) numpy view."""
    n, c, h, w = t.shape
    return np.lib.stride_tricks.as_strided(t.detach().permute(0, 2, 3, 1).numpy(), shape=(n * h * w, c),
                                           strides=(t.stride(3) * 4, 4))


def _split_over_threads(kernel, count: int, min_per_worker: int, *args) -> None:
    """kernel(*args, first, last) over 0..count-1, split over the calling thread's torch thread count (so MMIF-AMIN's
    one-thread lanes run it in place); the kernels release the GIL."""
    workers = max(1, min(torch.get_num_threads(), count // min_per_worker))
    bounds = [count * w // workers for w in range(workers + 1)]
    side = [worker_pool("mmif-amin-kernels", workers - 1).submit(kernel, *args, bounds[w], bounds[w + 1])
            for w in range(1, workers)]
    kernel(*args, bounds[0], bounds[1])
    for future in side:
        future.result()
