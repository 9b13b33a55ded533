"""MMIF-AMIN's compiled CPU attention kernel against PyTorch's scaled_dot_product_attention computed in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from medfuse_gui.fusion import amin
from medfuse_gui.fusion.amin_kernels import accumulate_activate, coupling, grouped_attention

HEADS = amin.NUM_HEADS


def reference(qkv: torch.Tensor) -> torch.Tensor:
    groups, tokens, width = qkv.shape
    q, k, v = qkv.double().reshape(groups, tokens, 3, HEADS, 2).permute(2, 0, 3, 1, 4)
    return F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(groups, tokens, 2 * HEADS)


@pytest.mark.parametrize("groups, scale", [(1, 1.0), (37, 3.0), (300, 1.0)])
def test_equals_float64_attention(groups, scale):
    torch.manual_seed(groups)
    qkv = torch.randn(groups, 64, 6 * HEADS) * scale
    out = grouped_attention(qkv, HEADS)
    assert out.shape == (groups, 64, 2 * HEADS) and out.dtype == torch.float32
    torch.testing.assert_close(out.double(), reference(qkv), atol=1e-5, rtol=0)


def test_scores_too_large_for_the_bound_shift_use_the_row_maximum():
    # scores up to ~1e3: shifting by |q0| max|k0| + |q1| max|k1| could underflow every exponential of a row
    torch.manual_seed(1)
    qkv = torch.randn(20, 64, 6 * HEADS) * 25
    out = grouped_attention(qkv, HEADS)
    assert torch.isfinite(out).all()
    # float32 scores of ~1e3 carry ~1e-4 of rounding in the exponent: as accurate as PyTorch's float32 kernel
    q, k, v = qkv.reshape(20, 64, 3, HEADS, 2).permute(2, 0, 3, 1, 4)
    torch_float32 = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(20, 64, 2 * HEADS)
    exact = reference(qkv)
    assert (out.double() - exact).abs().max() <= 2 * (torch_float32.double() - exact).abs().max() + 1e-6
    assert (out.double() - exact).abs().max() < 1e-2


def test_one_token_and_uniform_keys_give_hand_computed_values():
    qkv = torch.zeros(2, 5, 6 * HEADS)
    qkv[..., :2 * HEADS] = torch.randn(2, 5, 2 * HEADS)          # any queries; keys all zero: uniform weights
    qkv[..., 4 * HEADS:] = torch.arange(5.0)[None, :, None]      # values 0..4 on every channel
    assert torch.allclose(grouped_attention(qkv, HEADS), torch.full((2, 5, 2 * HEADS), 2.0), atol=1e-6)
    single = torch.randn(3, 1, 6 * HEADS)                         # softmax over one key is 1: the output is v
    torch.testing.assert_close(grouped_attention(single, HEADS), single[..., 4 * HEADS:], atol=0, rtol=3e-7)


def test_split_over_workers_is_bitwise_the_one_thread_result():
    torch.manual_seed(2)
    qkv = torch.randn(512, 64, 6 * HEADS)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = grouped_attention(qkv, HEADS)
        torch.set_num_threads(4)
        split = grouped_attention(qkv, HEADS)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, split)


@pytest.mark.parametrize("bad", [torch.zeros(2, 64, 47), torch.zeros(2, 64, 48, dtype=torch.float64)])
def test_rejects_other_layouts(bad):
    with pytest.raises(ValueError, match="grouped_attention"):
        grouped_attention(bad, HEADS)


def test_network_uses_it_only_for_cpu_inference(monkeypatch):
    calls = []
    monkeypatch.setattr(amin, "grouped_attention", lambda qkv, heads: calls.append(qkv.shape) or
                        grouped_attention(qkv, heads))
    attention = amin.MultiHeadSelfAttention().eval()
    x = torch.randn(4, 64, amin.EMBED_DIM)
    with torch.no_grad():
        fast = attention(x)
    assert calls == [(4, 64, 3 * amin.EMBED_DIM)]
    slow = attention(x)                      # grad enabled (training): PyTorch's fused kernel
    assert len(calls) == 1
    torch.testing.assert_close(fast, slow.detach(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("start, width, growth", [(0, 0, 3), (3, 13, 3), (9, 7, 3), (12, 4, 0)])
def test_accumulate_activate_equals_add_then_leaky_relu(start, width, growth):
    torch.manual_seed(start)
    acc = torch.randn(2, 16, 24, 40).contiguous(memory_format=torch.channels_last)
    update = None if width == 0 else torch.randn(2, width, 24, 40).contiguous(memory_format=torch.channels_last)
    expected_acc = acc.clone()
    if update is not None:
        expected_acc[:, start:] += update
    expected_feature = F.leaky_relu(expected_acc[:, start:start + growth])
    feature = accumulate_activate(acc, update, start, growth)
    assert torch.equal(acc, expected_acc)                       # in place, exactly: one float32 addition each
    assert torch.equal(feature, expected_feature)
    assert feature.is_contiguous(memory_format=torch.channels_last)


def test_accumulate_activate_declines_other_layouts():
    acc = torch.randn(1, 16, 8, 8)                               # default (NCHW) layout: PyTorch's operators instead
    before = acc.clone()
    assert accumulate_activate(acc, torch.randn(1, 13, 8, 8), 3, 3) is None
    assert torch.equal(acc, before)                              # and nothing was added


def test_accumulate_activate_split_over_workers_is_bitwise_the_one_thread_result():
    torch.manual_seed(3)
    acc = torch.randn(1, 16, 256, 256).contiguous(memory_format=torch.channels_last)
    update = torch.randn(1, 10, 256, 256).contiguous(memory_format=torch.channels_last)
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 4):                                     # 65,536 pixels: four workers of 16,384
            torch.set_num_threads(count)
            target = acc.clone()
            results.append((accumulate_activate(target, update, 6, 3), target))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])
    torch.testing.assert_close(results[0][1][:, 6:], acc[:, 6:] + update, atol=0, rtol=0)


@pytest.mark.parametrize("start, feature_start, width, growth", [(0, 3, 16, 3), (8, 9, 8, 3), (8, 12, 8, 0)])
def test_accumulate_activate_reads_the_feature_from_its_own_offset(start, feature_start, width, growth):
    """The dense networks pad their stacked convolutions with leading zero filters (13 -> 16 and 7 -> 8 outputs):
    the update then starts before the feature that is activated."""
    torch.manual_seed(feature_start)
    acc = torch.randn(1, 16, 12, 20).contiguous(memory_format=torch.channels_last)
    update = torch.randn(1, width, 12, 20).contiguous(memory_format=torch.channels_last)
    expected_acc = acc.clone()
    expected_acc[:, start:] += update
    feature = accumulate_activate(acc, update, start, growth, feature_start=feature_start)
    assert torch.equal(acc, expected_acc)
    assert torch.equal(feature, F.leaky_relu(expected_acc[:, feature_start:feature_start + growth]))


def test_accumulate_activate_refuses_offsets_outside_the_accumulator():
    acc = torch.randn(1, 16, 8, 8).contiguous(memory_format=torch.channels_last)
    update = torch.randn(1, 13, 8, 8).contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="update of 13 channels at 0"):
        accumulate_activate(acc, update, 0, 3)
    with pytest.raises(ValueError, match="feature of 3 at 14"):
        accumulate_activate(acc, None, 0, 3, feature_start=14)


def _coupling_inputs(n=2, h=24, w=40):
    torch.manual_seed(11)
    x = torch.randn(n, 8, h, w).contiguous(memory_format=torch.channels_last)
    y1 = torch.randn(n, 4, h, w).contiguous(memory_format=torch.channels_last)
    rho_acc, eta_acc = (3 * torch.randn(n, 16, h, w).contiguous(memory_format=torch.channels_last) for _ in range(2))
    rho_acc[0, 12, 0, 0], rho_acc[0, 13, 0, 0], rho_acc[-1, 14, 3, 5] = 300.0, -300.0, 0.0   # saturated and zero
    return y1, x, rho_acc[:, 12:], eta_acc[:, 12:]               # the dense networks' outputs are such slices


def test_coupling_equals_the_pytorch_formula():
    """cat([y1, exp(4 (sigmoid(rho) - 1/2)) x2 + eta]) of eq. 3 with clamp 2, to float32 rounding of its terms."""
    y1, x, rho, eta = _coupling_inputs()
    scale = torch.exp(4.0 * (torch.sigmoid(rho.double()) - 0.5))
    expected = torch.cat([y1.double(), scale * x[:, 4:].double() + eta.double()], dim=1)
    out = coupling(y1, x, rho, eta, 4.0)
    assert out.is_contiguous(memory_format=torch.channels_last) and out.shape == x.shape
    assert torch.equal(out[:, :4], y1)
    magnitude = (scale * x[:, 4:].double()).abs() + eta.double().abs()
    assert ((out[:, 4:].double() - expected[:, 4:]).abs() / magnitude).max() < 2e-6
    assert torch.isfinite(out).all()


def test_coupling_split_over_workers_is_bitwise_the_one_thread_result():
    y1, x, rho, eta = _coupling_inputs(1, 256, 256)            # 65,536 pixels: four workers of 16,384
    threads = torch.get_num_threads()
    try:
        results = []
        for count in (1, 4):
            torch.set_num_threads(count)
            results.append(coupling(y1, x, rho, eta, 4.0))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(results[0], results[1])


def test_coupling_declines_other_layouts():
    y1, x, rho, eta = _coupling_inputs()
    assert coupling(y1.contiguous(), x.contiguous(), rho.contiguous(), eta.contiguous(), 4.0) is None
    assert coupling(y1, x[:, :6], rho, eta, 4.0) is None           # x must hold both halves
