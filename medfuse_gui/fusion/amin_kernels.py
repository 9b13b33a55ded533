"""MMIF-AMIN's CPU inference kernels, compiled by numba: grouped attention, and the dense networks' accumulate-activate.

Attention. MMIF-AMIN attends over groups of 64 tokens with 8 heads of 2 channels: per 256² slice 302 M scores, each
costing two multiply-adds and one exponential. Done with PyTorch's operators, every score is written to memory, read
back by the softmax, written again and read by the second product (and the flash kernel spends its time on per-block
overhead at this head size), so the attention was ~60 % of the network's time. Here each (group, head) pair is done
in registers and L1: scores, exponentials, their sum and the weighted sum of the values, one row of queries at a
time, and the result is written straight into the layout the output projection reads. numba compiles it (LLVM, AVX2
where present); the exponential is Cephes' single-precision polynomial (~1 ulp), written out so LLVM vectorises it.

Numerics: softmax is shift-invariant; each row is shifted by an upper bound of its scores, |q0| max|k0| + |q1| max|k1|
(so no exponential exceeds 1), and by the exact row maximum where that bound exceeds 40 (a looser shift could make
the largest exponential underflow). Equal to ``F.scaled_dot_product_attention`` to ~2e-6 in float32, as the chunked
PyTorch form it replaces (tests/fusion/test_amin_kernels.py).

Dense networks. The incremental dense network (amin.DenseNetwork) adds each convolution's output into a channel slice
of a channels-last accumulator and activates the next 3-channel slice: with PyTorch's operators these are two strided
passes of 3-12 channels per pixel, ~0.6 ms each at 256² (3 ns per element: per-pixel loop overhead), 288 per slice.
One compiled pass per pixel does both: 1.9 -> 0.48 ms for a 13-channel update at 256² (one thread).
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
_LN2_HI = np.float32(0.693359375)        # ln 2 split in two (Cody-Waite) so n * ln2 is exact for |n| <= 128
_LN2_LO = np.float32(-2.12194440e-4)
_LOOSE_SHIFT = np.float32(40.0)          # beyond this, shift by the exact row maximum
_MIN_EXPONENT = np.float32(-87.0)        # exp(-87) is the smallest normal float32; clamp so 2^n stays normal
_FAST = {"reassoc", "contract", "nsz", "nnan", "ninf"}  # lets LLVM vectorise the sums (order of addition changes)


def _jit(function):
    options = dict(nogil=True, fastmath=_FAST, boundscheck=False, error_model="numpy")
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # no writable cache location (a read-only install): compile once per run instead
        return numba.njit(**options)(function)


@_jit
def _attend_groups(qkv, out, heads, scale, first, last):
    """out[g, i, 2h:2h+2] = softmax_j(scale q_gih . k_gjh) v_gjh for groups first..last-1 (qkv: (G, T, 3*2*heads))."""
    tokens = qkv.shape[1]
    dim = heads * 2
    k0 = np.empty(tokens, np.float32)
    k1 = np.empty(tokens, np.float32)
    v0 = np.empty(tokens, np.float32)
    v1 = np.empty(tokens, np.float32)
    scores = np.empty(tokens, np.float32)
    exponent_bits = np.empty(tokens, np.int32)
    powers_of_two = exponent_bits.view(np.float32)
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
            for i in range(tokens):
                q0 = qkv[g, i, qc] * scale
                q1 = qkv[g, i, qc + 1] * scale
                for j in range(tokens):
                    scores[j] = q0 * k0[j] + q1 * k1[j]
                shift = abs(q0) * k0_max + abs(q1) * k1_max
                if shift > _LOOSE_SHIFT:
                    shift = scores[0]
                    for j in range(1, tokens):
                        shift = max(shift, scores[j])
                for j in range(tokens):
                    # exp(x) = 2^n exp(r), |r| <= ln2 / 2 (Cephes expf)
                    x = max(scores[j] - shift, _MIN_EXPONENT)
                    n = np.floor(x * _LOG2E + np.float32(0.5))
                    r = x - n * _LN2_HI - n * _LN2_LO
                    p = np.float32(1.9875691500e-4)
                    p = p * r + np.float32(1.3981999507e-3)
                    p = p * r + np.float32(8.3334519073e-3)
                    p = p * r + np.float32(4.1665795894e-2)
                    p = p * r + np.float32(1.6666665459e-1)
                    p = p * r + np.float32(5.0000001201e-1)
                    scores[j] = p * r * r + r + np.float32(1.0)
                    exponent_bits[j] = (np.int32(n) + np.int32(127)) << 23
                total = np.float32(0.0)
                out0 = np.float32(0.0)
                out1 = np.float32(0.0)
                for j in range(tokens):
                    e = scores[j] * powers_of_two[j]
                    total += e
                    out0 += e * v0[j]
                    out1 += e * v1[j]
                out[g, i, qc] = out0 / total
                out[g, i, qc + 1] = out1 / total


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
def _accumulate_activate(acc, update, start, growth, feature, first, last):
    """acc[p, start:] += update[p]; feature[p] = LeakyReLU(acc[p, start:start + growth]) for pixels first..last-1."""
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
        for c in range(growth):
            x = flat_acc[row + c]
            flat_feature[p * growth + c] = x if x >= 0 else x * LEAKY_SLOPE


def accumulate_activate(acc: torch.Tensor, update: torch.Tensor | None, start: int, growth: int) -> torch.Tensor | None:
    """In place: ``acc[:, start:] += update`` (``update`` None: nothing added), then return
    ``LeakyReLU(acc[:, start:start + growth])`` — for channels-last float32 CPU tensors of one layout; None when they
    are not (the caller then uses PyTorch's operators)."""
    n, channels, h, w = acc.shape
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
    _split_over_threads(_accumulate_activate, n * h * w, MIN_PIXELS_PER_WORKER, pixels, added, start, growth, features)
    return feature


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
