"""Mask-optimisation + parallel-attention network (medfuse_gui.fusion.maskpa): Otsu masks, contract, size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.filters import threshold_otsu

from medfuse_gui import colour, io
from medfuse_gui.fusion import maskpa
from medfuse_gui.fusion.registry import get_model, get_model_info
from medfuse_gui.fusion.runtime import count_parameters, pad_to_multiple


def _unit(path) -> np.ndarray:
    """A Harvard slice as the network sees it: gray in [0, 1], or the luminance of a colour PET/SPECT."""
    pixels = io.load(path).pixels[0]
    if pixels.ndim == 3:
        return np.ascontiguousarray(colour.split_functional(pixels)[0], dtype=np.float32)
    return io.to_unit(pixels, (0, 255))


@pytest.fixture(scope="module")
def harvard_images(spect_unit, pet_pair, ct_pair) -> list[np.ndarray]:
    """MRI, SPECT luminance, PET luminance, CT, MRI of the PET pair: 256x256 float32 [0, 1]."""
    return [*spect_unit, _unit(pet_pair[1]), _unit(ct_pair[1]), _unit(pet_pair[0])]


@pytest.fixture()
def net() -> maskpa.MaskParallelAttentionFusion:
    torch.manual_seed(0)
    return maskpa.build().eval()


def test_otsu_matches_skimage_on_harvard_within_one_bin(harvard_images):
    batch = torch.from_numpy(np.stack(harvard_images))[:, None]
    ours = maskpa.otsu_threshold(batch)               # one batched call: each image gets its own threshold
    for image, threshold in zip(harvard_images, ours.tolist()):
        bin_width = (image.max() - image.min()) / maskpa.OTSU_BINS
        assert abs(threshold - threshold_otsu(image)) <= bin_width


def test_otsu_mask_is_binary_foreground_above_threshold(spect_unit):
    mri = torch.from_numpy(spect_unit[0])[None, None]
    mask = maskpa.otsu_mask(mri)
    assert mask.dtype == mri.dtype and set(mask.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(mask.bool(), mri > maskpa.otsu_threshold(mri)[0])


def test_otsu_of_constant_image_is_empty_mask():
    flat = torch.full((2, 1, 8, 8), 0.3)
    assert maskpa.otsu_mask(flat).sum() == 0


def test_parameter_count(net):
    # Path width 8, trunk 24 = 3 x 8, decoupling width 16; conv params = in * out * k^2 + out.
    # Feature paths: [MRI, mask] 2->8 (152) + 3 x 8->8 (584) = 1,904; [func, mask] 1,904; joint 152 + 2 x 584 = 1,320
    #   -> 5,128.
    # CEM: 4 branches 24->6 with k = 1, 3, 5, 7: 24*6*(1+9+25+49) + 4*6 = 12,120; FC 24->6 (150) + 6->24 (168)
    #   -> 12,438.
    # DPM: entry 24->24 3x3 (5,208); 6 DSCBs x (depthwise 24*9 = 216 + pointwise 24*24+24 = 600); merge 72->24 3x3
    #   (15,576) -> 5,208 + 4,896 + 15,576 = 25,680.
    # Parallel attention: channel 1x1 48->24 (1,176) + 24->24 (600) + 24->24 (600); spatial 7x7 2->1 (99); merge
    #   48->24 3x3 (10,392) -> 12,867.
    # Reconstruction: 24->12 3x3 (2,604) + 12->1 3x3 (109) -> 2,713.
    # Fusion network: 5,128 + 12,438 + 25,680 + 12,867 + 2,713 = 58,826.
    # Decoupling branch: segment 1: 1x1 9->16 (160) + 3x3 16->16 (2,320); segments 2, 3: 1x1 16->16 (272) + 2,320;
    #   output 3x3 16->1 (145) -> 2,480 + 2 x 2,592 + 145 = 7,809; two branches 15,618.
    decoupling = count_parameters(net.decouple_anatomical) + count_parameters(net.decouple_functional)
    assert decoupling == 15_618
    assert count_parameters(net) - decoupling == 58_826
    assert count_parameters(net) == 74_444



def test_each_image_of_a_batch_is_fused_on_its_own(net, spect_unit):
    # Otsu runs per image: fusing a pair alone or beside another pair gives the same result.
    a = torch.from_numpy(spect_unit[0][64:128, 64:128].copy())[None, None]
    b = torch.from_numpy(spect_unit[1][64:128, 64:128].copy())[None, None]
    with torch.inference_mode():
        alone = net.fuse(a, b)
        batched = net.fuse(torch.cat([a, b.flip(-1)]), torch.cat([b, a]))
    torch.testing.assert_close(batched[:1], alone, rtol=1e-5, atol=1e-6)


def test_fuse_does_not_run_the_decoupling_network(net):
    calls = []
    for branch in (net.decouple_anatomical, net.decouple_functional):
        branch.register_forward_hook(lambda *args: calls.append(1))
    a = torch.rand(1, 1, 16, 16)
    with torch.inference_mode():
        net.fuse(a, a)
    assert calls == []
    fused, anatomical_decoupled, functional_decoupled = net(a, a)
    assert len(calls) == 2
    assert fused.shape == anatomical_decoupled.shape == functional_decoupled.shape == a.shape


@pytest.mark.parametrize("size", [(31, 45), (17, 64)])
def test_odd_sizes_through_pad_to_multiple(net, size):
    multiple = get_model_info("mask-pa").pad_multiple
    a, b = torch.rand(1, 1, *size), torch.rand(1, 1, *size)
    (pa, shape), (pb, _) = pad_to_multiple(a, multiple), pad_to_multiple(b, multiple)
    with torch.inference_mode():
        fused = net.fuse(pa, pb)[..., : shape[0], : shape[1]]
    assert fused.shape == a.shape and torch.isfinite(fused).all()


def test_registry_fuser_on_a_real_odd_crop(spect_unit):
    torch.manual_seed(0)
    fuser = get_model("mask-pa", weights=None, device="cpu")   # channels_last, inference_mode, clamping
    a, b = spect_unit[0][40:77, 50:103], spect_unit[1][40:77, 50:103]
    fused = fuser.fuse(a, b)
    assert fused.shape == a.shape and fused.dtype == np.float32 and np.isfinite(fused).all()
    with torch.inference_mode():
        plain = fuser.module.fuse(torch.from_numpy(a.copy())[None, None], torch.from_numpy(b.copy())[None, None])
    np.testing.assert_allclose(fused, plain[0, 0].numpy(), atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(net, spect_unit):
    a = torch.from_numpy(spect_unit[0][:64, :64].copy())[None, None]
    b = torch.from_numpy(spect_unit[1][:64, :64].copy())[None, None]
    with torch.inference_mode():
        on_cpu = net.fuse(a, b)
        on_cuda = net.cuda().fuse(a.cuda(), b.cuda())
    assert on_cuda.device.type == "cuda"
    torch.testing.assert_close(on_cuda.cpu(), on_cpu, rtol=1e-3, atol=1e-3)
