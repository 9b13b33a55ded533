"""MMIF-AMIN network: contract of the registry, invertibility of the IDN, locality of the three TMUs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medfuse_gui.fusion import amin
from medfuse_gui.fusion.runtime import count_parameters, pad_to_multiple


@pytest.fixture(scope="module")
def net() -> amin.MMIFAMIN:
    torch.manual_seed(0)
    return amin.build().eval()


def test_parameter_count_matches_the_architecture(net):
    # lift 3x3 conv 1->8, two of them:                      2 x (1*8*9 + 8)                              =    160
    # dense network 4->4, growth 3 (eq. 1-2): (4*3*9+3) + (7*3*9+3) + (10*3*9+3) + (13*3*9+3) + (16*4*9+4)
    #                                        = 111 + 192 + 273 + 354 + 580                                  =  1,510
    # IDB = phi + rho + eta = 3 x 1,510 = 4,530; IDN = 6 IDBs = 27,180; two IDNs                           = 54,360
    # CBAM(2): MLP 2->1->2 without bias 2 + 2, spatial 7x7 conv 2->1 without bias 98                        =    102
    # branches 2->16 at 3x3, 5x5, 7x7: 2*16*(9+25+49) + 3*16                                                =  2,704
    # TMU(16): 2 LayerNorms 64 + qkv 16*48+48 + proj 16*16+16 + MLP 16*64+64 + 64*16+16 = 64+816+272+2,128
    #          = 3,280; TMB = 3 TMUs                                                                        =  9,840
    # post-CNN 3x3 16->16: 16*16*9 + 16                                                                     =  2,320
    # reconstruction 1x1 conv (8+8+16)->1: 32 + 1                                                           =     33
    # total 160 + 54,360 + 102 + 2,704 + 9,840 + 2,320 + 33                                                 = 69,519
    assert count_parameters(net) == 69_519




def test_channels_last_gives_the_same_result():
    torch.manual_seed(2)
    net = amin.build().eval()
    a, b = torch.rand(1, 1, 32, 48), torch.rand(1, 1, 32, 48)
    with torch.inference_mode():
        reference = net.fuse(a, b)
        net = net.to(memory_format=torch.channels_last)
        cl = net.fuse(a.contiguous(memory_format=torch.channels_last), b.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(cl, reference, atol=1e-5, rtol=0)


def test_odd_sizes_through_pad_to_multiple(net):
    a, b = torch.rand(1, 1, 37, 45), torch.rand(1, 1, 37, 45)
    pa, size = pad_to_multiple(a, 8)
    pb, _ = pad_to_multiple(b, 8)
    assert pa.shape[-2:] == (40, 48)
    with torch.inference_mode():
        fused = net.fuse(pa, pb)[..., : size[0], : size[1]]
    assert fused.shape == (1, 1, 37, 45) and torch.isfinite(fused).all()


def test_sizes_off_the_multiple_are_refused_clearly(net):
    with pytest.raises(ValueError, match="multiples of 8"):
        net.fuse(torch.rand(1, 1, 36, 40), torch.rand(1, 1, 36, 40))


def test_real_spect_pair(net, spect_unit):
    anat, func = (torch.from_numpy(np.ascontiguousarray(x[96:160, 96:160]))[None, None] for x in spect_unit)
    with torch.inference_mode():
        fused = net.fuse(anat, func)
    assert fused.shape == (1, 1, 64, 64) and torch.isfinite(fused).all()
    assert 0 <= float(fused.min()) and float(fused.max()) <= 1


def _randomise_couplings(idn: amin.InvertibleDenseNetwork) -> None:
    """Undo the near-identity initialisation so that every coupling really transforms its input."""
    with torch.no_grad():
        for block in idn.blocks:
            for sub in (block.phi, block.rho, block.eta):
                sub.out.weight.mul_(10)
                sub.out.bias.normal_(0, 0.1)


def test_idn_is_exactly_invertible():
    torch.manual_seed(3)
    idn = amin.InvertibleDenseNetwork()
    _randomise_couplings(idn)
    x = torch.randn(1, amin.FEATURE_CHANNELS, 16, 16)
    with torch.no_grad():
        y = idn(x)
        assert (y - x).abs().max() > 1  # a real transformation, not the identity
        torch.testing.assert_close(idn.inverse(y), x, atol=2e-5, rtol=0)  # float32 rounding only
        idn64, x64 = idn.double(), x.double()
        torch.testing.assert_close(idn64.inverse(idn64(x64)), x64, atol=1e-10, rtol=0)


def test_scaling_factor_is_eq3_with_clamp_2():
    torch.manual_seed(4)
    block = amin.InvertibleDenseBlock()
    y1 = torch.randn(1, block.split, 8, 8)
    with torch.no_grad():
        block.rho.out.bias.fill_(100.0)  # Sigmoid -> 1: S = exp(2 * 2 * 0.5) = e^2
        assert torch.allclose(block.scaling(y1), torch.full_like(y1, np.e ** 2))
        block.rho.out.bias.fill_(-100.0)  # Sigmoid -> 0: S = e^-2
        assert torch.allclose(block.scaling(y1), torch.full_like(y1, np.e ** -2))


@pytest.mark.parametrize("mode", ["window", "grid"])
def test_partition_round_trip(mode):
    tokens = torch.randn(2, 16, 24, 5)
    assert torch.equal(amin.unpartition(amin.partition(tokens, mode), mode, tokens.shape), tokens)


def _reach(unit: amin.TransformerUnit, y: int, x: int) -> torch.Tensor:
    """Pixels of a 32x32 map whose output changes when the input at (y, x) changes."""
    torch.manual_seed(5)
    features = torch.randn(1, amin.EMBED_DIM, 32, 32)
    moved = features.clone()
    moved[..., y, x] += 5 * torch.randn(amin.EMBED_DIM)  # not a constant: LayerNorm would remove it
    with torch.no_grad():
        return (unit(moved) - unit(features)).abs().amax(dim=1)[0] > 1e-6


def test_tmus_are_local_cross_regional_and_global():
    units = amin.TransformerBlock()
    window, shifted, grid = (_reach(u, 10, 10) for u in units)
    # local: exactly the 8x8 window holding (10, 10)
    expected = torch.zeros(32, 32, dtype=torch.bool)
    expected[8:16, 8:16] = True
    assert torch.equal(window, expected)
    # cross-regional: the window offset by 4 pixels, which straddles four of the first unit's windows
    expected = torch.zeros(32, 32, dtype=torch.bool)
    expected[4:12, 4:12] = True
    assert torch.equal(shifted, expected)
    # global: the pixels at the same offset in every 4x4 cell of the 8x8 grid, spread over the whole image
    expected = torch.zeros(32, 32, dtype=torch.bool)
    expected[2::4, 2::4] = True
    assert torch.equal(grid, expected)
