"""The faster inference formulations (issue 18) against the ones they replaced, on a real test-split Harvard pair.

Equality to the earlier outputs is the contract: each reference is computed here, at test time, by the formulation
that shipped before (PyTorch's fused attention kernel; float32 SVDs), never read from a committed blob.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from medfuse_gui import io, pipeline
from medfuse_gui.demo import volume_demo_paths
from medfuse_gui.fusion import amin, dilran, get_model, runtime


def test_amin_shipped_weights_equal_the_previous_path_on_a_real_pair(spect_unit):
    """256x256 SPECT-MRI 11017 (test split): the runtime's CPU inference (compiled kernels, channels_last) against
    the formulation used before and still used in training (grad enabled: PyTorch's fused attention kernel)."""
    fuser = get_model("mmif-amin", device="cpu")
    anat, func = spect_unit
    assert anat.shape == (256, 256)
    fast = fuser.fuse(anat, func)
    net = fuser.module
    with torch.enable_grad():
        reference = net.fuse(*(torch.from_numpy(x)[None, None] for x in (anat, func))).detach()
    reference = reference.clamp(0, 1)[0, 0].numpy()
    assert np.abs(fast - reference).max() <= 1e-5
    assert np.abs(fast - reference).max() < 1e-3 * np.abs(reference).max()  # and not vacuous: a real image
    assert reference.std() > 0.05


def test_amin_two_lanes_equal_one_lane_and_run_two_branches_beside(spect_unit, monkeypatch):
    """With 2+ threads a 256x256 CPU inference runs the IDNs here and the 3x3 and 5x5 branches in the side lane, then
    the 7x7 branch here with all threads: same output as the one-lane path; the caller's thread count is restored."""
    import threading

    module = get_model("mmif-amin", device="cpu").module
    anat, func = (torch.from_numpy(x)[None, None].contiguous(memory_format=torch.channels_last) for x in spect_unit)
    calls = []
    scale_features = amin.MCFEM.scale_features

    def spy(self, attended, scales):
        calls.append((threading.current_thread().name.startswith("mmif-amin-lane"), tuple(scales),
                      torch.get_num_threads()))
        return scale_features(self, attended, scales)

    monkeypatch.setattr(amin.MCFEM, "scale_features", spy)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with torch.no_grad():
            two = module(anat, func)
            assert torch.get_num_threads() == 2
            assert calls == [(True, (0, 1), 1), (False, (2,), 2)]   # the side lane first: the 7x7 waits for it
            calls.clear()
            monkeypatch.setattr(amin, "TWO_LANE_MAX_PIXELS", 128 * 128)   # 256x256 is now above it: one lane
            one = module(anat, func)
            assert calls == [(False, (0, 1, 2), torch.get_num_threads())]
            calls.clear()
            monkeypatch.setattr(amin, "TWO_LANE_MAX_PIXELS", 256 * 256)
            torch.set_num_threads(1)
            module(anat, func)
            assert calls == [(False, (0, 1, 2), torch.get_num_threads())]
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(two, one, atol=1e-5, rtol=0)
    assert two.std() > 0.05


def _svd_nuclear_norms(maps: torch.Tensor) -> torch.Tensor:
    """The previous formulation: one float32 SVD per map."""
    return torch.linalg.svdvals(maps.float().contiguous()).sum(dim=-1)


def test_gram_nuclear_norms_match_float64_svd_on_real_feature_maps(spect_unit):
    fuser = get_model("dilran-authors", device="cpu")
    anat, _ = spect_unit
    with torch.inference_mode():
        maps = torch.softmax(fuser.module.extractor(torch.from_numpy(anat[64:192, 32:224])[None, None]), dim=1)
    exact = torch.linalg.svdvals(maps.double()).sum(dim=-1)
    fast = dilran.channel_nuclear_norms(maps)
    assert fast.shape == (1, 64) and fast.dtype == torch.float32
    torch.testing.assert_close(fast.double(), exact, rtol=1e-6, atol=0)   # 128 x 192: the Gram of the short side
    torch.testing.assert_close(_svd_nuclear_norms(maps).double(), exact, rtol=1e-5, atol=0)


def test_dilran_equals_the_svd_formulation_on_a_real_pair(spect_unit, monkeypatch):
    fuser = get_model("dilran", device="cpu")
    anat, func = spect_unit
    fast = fuser.fuse(anat, func)
    monkeypatch.setattr(dilran, "channel_nuclear_norms", _svd_nuclear_norms)
    reference = fuser.fuse(anat, func)
    assert np.abs(fast - reference).max() <= 1e-5


def test_a_batch_of_slices_equals_the_slices_one_by_one(spect_unit):
    anat, func = (x[64:192, 64:192] for x in spect_unit)
    stack_a = np.stack([anat, anat.T.copy(), anat[::-1].copy()])
    stack_b = np.stack([func, func.T.copy(), func[::-1].copy()])
    for name in ("mask-pa", "mmif-net", "dilran", "mmif-amin"):
        fuser = get_model(name, device="cpu")
        batched = fuser.fuse(stack_a, stack_b)
        single = np.stack([fuser.fuse(x, y) for x, y in zip(stack_a, stack_b)])
        assert np.abs(batched - single).max() <= 1e-5, name


def test_volume_batch_size_follows_free_memory(monkeypatch):
    cpu = torch.device("cpu")
    per_slice = runtime.ACTIVATION_BYTES_PER_PIXEL["dilran"] * 256 * 256
    monkeypatch.setattr(runtime, "free_memory_bytes", lambda device: int(3.5 * per_slice / runtime.MEMORY_SHARE))
    assert runtime.volume_batch_size("dilran", 256, 256, cpu) == 3
    monkeypatch.setattr(runtime, "free_memory_bytes", lambda device: 0)
    assert runtime.volume_batch_size("dilran", 256, 256, cpu) == 1
    monkeypatch.setattr(runtime, "free_memory_bytes", lambda device: 1 << 50)
    assert runtime.volume_batch_size("dilran", 256, 256, cpu) == runtime.MAX_BATCH_CPU
    assert runtime.volume_batch_size("dilran", 256, 256, torch.device("cuda")) == runtime.MAX_BATCH


def test_fuse_volume_in_batches_equals_slice_by_slice(monkeypatch):
    anatomical, functional = (io.load(p) for p in volume_demo_paths())
    pair = pipeline.make_pair(anatomical, functional)
    fuser = get_model("mask-pa", device="cpu")
    monkeypatch.setattr(fuser, "batch_size_for", lambda rows, cols: 2)
    calls = []
    slices = range(95, 98)                      # 3 slices: a batch of 2, then 1
    volume = pipeline.fuse_volume(pair, fuser, slices=slices, progress=lambda done, total: calls.append(done))
    assert calls == [2, 3]
    for out, index in zip(volume, slices):
        alone = pipeline.fuse_inputs(pipeline.slice_inputs(pair, index), fuser, index).fused_rgb_uint8()
        assert np.abs(out.astype(int) - alone).max() <= 1      # float equality to 1e-5, then uint8 rounding
    assert volume.std() > 5


def test_warm_up_returns_a_ready_fuser():
    fuser = runtime.warm_up("mask-pa", device="cpu")
    assert isinstance(fuser, runtime.NetworkFuser) and ("mask-pa", "cpu") in runtime._WARM
    out = fuser.fuse(np.zeros((24, 24), np.float32), np.ones((24, 24), np.float32))
    assert out.shape == (24, 24)


def test_amin_incremental_dense_network_equals_the_dense_form(spect_unit):
    """The three dense networks of the shipped MMIF-AMIN's first block, fed their real input features from SPECT-MRI
    11017 at 256² and upsampled to 512² (channels_last, as the runtime runs them): the incremental inference form
    equals eq. (1)-(2) with concatenations to 1e-5, and follows a parameter update (no stale weights). The whole
    network's equality (all 36 dense networks) is the test above."""
    fuser = get_model("mmif-amin", device="cpu")
    net = fuser.module
    anat, _ = spect_unit
    features = net.lift_anatomical(torch.from_numpy(anat)[None, None].contiguous(
        memory_format=torch.channels_last)).detach()
    dense_nets = [m for m in net.modules() if isinstance(m, amin.DenseNetwork)]
    assert len(dense_nets) == 36
    block = net.idn_anatomical.blocks[0]
    for size in (256, 512):
        x = F.interpolate(features, size=(size, size), mode="bilinear")
        r0 = x[:, block.split:].contiguous(memory_format=torch.channels_last)
        for dense in (block.phi, block.rho, block.eta):
            with torch.enable_grad():
                expected = dense(r0).detach()
            with torch.inference_mode():
                got = dense(r0)
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
            assert expected.abs().max() > 1e-2   # not vacuous
    dense = block.phi
    with torch.no_grad():
        dense.layers[2].weight.add_(0.05)
    with torch.enable_grad():
        expected = dense(r0).detach()
    with torch.inference_mode():
        torch.testing.assert_close(dense(r0), expected, atol=1e-5, rtol=0)


def test_amin_flop_count_includes_the_side_lane(monkeypatch):
    """bench models' GFLOP column counts every operation, whichever lane would run it."""
    module = get_model("mmif-amin", device="cpu").module
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        counted = runtime.measure_flops(module, 64)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(amin, "TWO_LANE_MAX_PIXELS", 0)
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        module.fuse(torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64))
    assert counted == counter.get_total_flops() > 0


def test_every_convolution_reads_channels_last_on_cpu(spect_unit):
    """The CPU runtime runs networks channels-last; a convolution fed the default layout copies its input first
    (DILRAN's 1-channel 1x1 lift answered in the default layout: 7 copies of 6 ms per 256x256 slice). Inputs of 1-2
    channels are exempt (ambiguous strides, and tiny)."""
    anat, func = (x[64:192, 64:192] for x in spect_unit)
    for name in ("mask-pa", "mmif-net", "dilran", "mmif-amin"):
        fuser = get_model(name, device="cpu")
        default_layout = []

        def check(module, inputs, name=name):
            x = inputs[0]
            if x.shape[1] > 2 and not x.is_contiguous(memory_format=torch.channels_last):
                default_layout.append((name, tuple(x.shape)))

        hooks = [m.register_forward_pre_hook(check) for m in fuser.module.modules() if isinstance(m, torch.nn.Conv2d)]
        try:
            fuser.fuse(anat, func)
        finally:
            for hook in hooks:
                hook.remove()
        assert default_layout == [], default_layout


def test_channel_softmax_of_channels_last_equals_softmax_over_dim_1():
    torch.manual_seed(0)
    x = torch.randn(2, 64, 16, 24)
    fast = dilran.channel_softmax(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(fast, torch.softmax(x, dim=1), atol=1e-7, rtol=0)
    assert torch.equal(dilran.channel_softmax(x), torch.softmax(x, dim=1))   # the default layout: the same call


def test_blas_is_single_threaded_only_inside_the_limit():
    from threadpoolctl import threadpool_info

    from medfuse_gui.fusion.threads import blas_threads

    def blas_threads_now():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads_now()
    assert before, "NumPy's BLAS not found by threadpoolctl"
    with blas_threads(1):
        assert set(blas_threads_now().values()) == {1}
    assert blas_threads_now() == before


def test_amin_incremental_dense_network_in_the_default_layout_equals_the_dense_form():
    """Outside channels-last (PyTorch's operators instead of the compiled accumulate) the padded weight stacks give
    the same function too."""
    torch.manual_seed(5)
    dense = amin.DenseNetwork(4, 4)
    with torch.no_grad():
        dense.out.weight.normal_(0, 0.2)
    r0 = torch.randn(2, 4, 24, 32)
    with torch.enable_grad():
        expected = dense(r0).detach()
    with torch.inference_mode():
        got = dense(r0)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert [w.shape[0] for w in dense._incremental_weights()[0]] == [16, 16, 16, 8, 8]
