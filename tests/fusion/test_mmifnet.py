"""MMIF-Net (medfuse_gui.fusion.mmifnet): contract, architecture as built, l1-norm fusion rule, bounded attention."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from medfuse_gui import colour
from medfuse_gui.fusion import get_model, get_model_info
from medfuse_gui.fusion.mmifnet import SelfAttention, build, l1_norm_fusion
from medfuse_gui.fusion.runtime import count_parameters, pad_to_multiple


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build().eval()


def _pair(h: int, w: int, n: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, h, w, generator=generator), torch.rand(n, 1, h, w, generator=generator)


def test_parameter_count_matches_the_architecture(model):
    # ConvBlock = conv without bias (BN follows) + BN (2 per channel): in*out*k*k + 2*out.
    # Encoder:  C1 1*16*9+32 = 176; DC1 16*16*9+32 = 2336; DC2 32*16*9+32 = 4640; DC3 48*16*9+32 = 6944 -> 14,096.
    # Branch (width 32): conv 64*32*k*k + 64 -> 51,264 (5x5), 18,496 (3x3), 2,112 (1x1);
    #   bottleneck 32*8+16 + 8*8+16 + 8*32+64 = 672; self-attention f 32*8 + g 32*8 + h 32*32 + W_c 8*8 + b_c 1 = 1,601;
    #   channel attention 32*8+8 + 8*32+32 = 552 -> 2,825 per branch -> 54,089 + 21,321 + 4,937 = 80,347.
    # Decoder:  C2 96*64*9+128 = 55,424; C3 64*32*9+64 = 18,496; C4 32*16*9+32 = 4,640; C5 16*1*9+1 = 145 -> 78,705.
    # Total 14,096 + 80,347 + 78,705 = 173,148 (the paper's Table 5: 0.16 M).
    assert count_parameters(model) == 173_148



def test_registry_fuses_real_data_into_unit_range(spect_unit):
    anat, luma = (x[100:145, 90:127] for x in spect_unit)       # odd 45 x 37 crop of the SPECT-MRI pair
    torch.manual_seed(0)
    fuser = get_model("mmif-net", weights=None, device="cpu")   # channels_last + inference_mode, as the app runs it
    fused = fuser.fuse(anat, luma)
    assert fused.shape == anat.shape and fused.dtype == np.float32
    assert np.isfinite(fused).all() and fused.min() >= 0.0 and fused.max() <= 1.0



@pytest.mark.parametrize("size", [(33, 47), (5, 9)])
def test_odd_sizes_through_pad_to_multiple(model, size):
    a, b = _pair(*size)
    multiple = get_model_info("mmif-net").pad_multiple
    padded_a, original = pad_to_multiple(a, multiple)
    padded_b, _ = pad_to_multiple(b, multiple)
    with torch.inference_mode():
        fused = model.fuse(padded_a, padded_b)[..., : original[0], : original[1]]
    assert fused.shape == (1, 1, *size) and torch.isfinite(fused).all()


def test_fusion_is_symmetric_in_its_sources(model):
    a, b = _pair(32, 24)
    with torch.inference_mode():
        torch.testing.assert_close(model.fuse(a, b), model.fuse(b, a), rtol=1e-5, atol=1e-6)


def test_fusing_an_image_with_itself_is_its_reconstruction(model):
    a, _ = _pair(32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(model.fuse(a, a), model(a), rtol=1e-5, atol=1e-6)


def test_l1_norm_fusion_follows_densefuse():
    generator = torch.Generator().manual_seed(1)
    phi_a = torch.randn(1, 3, 6, 7, generator=generator)
    phi_b = torch.randn(1, 3, 6, 7, generator=generator)
    fused = l1_norm_fusion(phi_a, phi_b)
    # By hand at interior pixel (2, 3): activity = l1-norm over channels, mean over the 3x3 window (r = 1).
    c_a = phi_a.abs().sum(1)[0, 1:4, 2:5].mean()
    c_b = phi_b.abs().sum(1)[0, 1:4, 2:5].mean()
    expected = (c_a * phi_a[0, :, 2, 3] + c_b * phi_b[0, :, 2, 3]) / (c_a + c_b)
    torch.testing.assert_close(fused[0, :, 2, 3], expected)
    # A silent source gives all the weight to the other one, and two silent sources fuse to zero (no 0/0).
    torch.testing.assert_close(l1_norm_fusion(phi_a, torch.zeros_like(phi_a)), phi_a)
    assert torch.equal(l1_norm_fusion(torch.zeros_like(phi_a), torch.zeros_like(phi_a)), torch.zeros_like(phi_a))


def test_self_attention_grid_is_bounded_at_any_size():
    assert SelfAttention.grid_size(120, 120) == (15, 15)     # training patches: one token per 8x8 cell
    assert SelfAttention.grid_size(256, 256) == (32, 32)     # the Harvard slices: 1024 tokens
    assert SelfAttention.grid_size(2048, 100) == (32, 13)    # larger images: capped at 32 cells a side
    assert SelfAttention.grid_size(5, 9) == (1, 2)
    block = SelfAttention(4, 2).eval()
    with torch.inference_mode():
        assert block(torch.rand(1, 4, 300, 200)).shape == (1, 4, 300, 200)


def test_self_attention_follows_equations_1_to_3():
    torch.manual_seed(0)
    block = SelfAttention(4, 2)
    with torch.no_grad():
        block.w_c.normal_()
        block.b_c.fill_(0.3)
        for conv in (block.f, block.g, block.h):
            conv.weight.normal_()
    x = torch.rand(1, 4, 24, 16)
    pooled = F.adaptive_avg_pool2d(x, (3, 2)).flatten(2)[0]      # (C, L): 6 tokens
    f = block.f.weight[:, :, 0, 0] @ pooled
    g = block.g.weight[:, :, 0, 0] @ pooled
    h = block.h.weight[:, :, 0, 0] @ pooled
    tokens = pooled.shape[1]
    o = torch.zeros_like(pooled)
    for j in range(tokens):
        h_ij = torch.stack([torch.tanh(f[:, i] @ block.w_c @ g[:, j] + block.b_c) for i in range(tokens)])  # Eq. 2
        alpha = torch.exp(h_ij) / torch.exp(h_ij).sum()                                                    # Eq. 1
        o[:, j] = sum(alpha[i] * h[:, i] for i in range(tokens))                                           # Eq. 3
    expected = x + F.interpolate(o.reshape(1, 4, 3, 2), size=(24, 16), mode="bilinear", align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)


def test_yiq_and_ycbcr_give_the_same_rgb_when_the_luminance_is_replaced(spect_pair):
    # The registry declares colour_space="yiq" (the paper's NTSC); both spaces share BT.601's Y row, and both inverses
    # map a change of Y to an equal change of R, G and B, so the fused RGB is the same either way.
    from medfuse_gui import io

    rgb = io.load(spect_pair[1]).pixels[0]
    anat = io.to_unit(io.load(spect_pair[0]).pixels[0], (0, 255))
    y_yiq, iq = colour.rgb_to_luma_chroma(rgb, "yiq")
    y_ycc, cbcr = colour.rgb_to_luma_chroma(rgb, "ycbcr")
    np.testing.assert_allclose(y_yiq, y_ycc, atol=1e-6)
    np.testing.assert_allclose(colour.merge(anat, iq, "yiq"), colour.merge(anat, cbcr, "ycbcr"), atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda(model):
    a, b = _pair(32, 32)
    cuda_model = build().eval().cuda()
    cuda_model.load_state_dict(model.state_dict())
    with torch.inference_mode():
        fused = cuda_model.fuse(a.cuda(), b.cuda())
        torch.testing.assert_close(fused.cpu(), model.fuse(a, b), rtol=1e-3, atol=1e-4)
