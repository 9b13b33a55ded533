"""DILRAN: registry contract, the SFNN rule by hand, and fidelity to the authors' released code and weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from medfuse_gui import io
from medfuse_gui.fusion import dilran, get_model
from medfuse_gui.fusion.registry import WEIGHTS_DIR, get_model_info
from medfuse_gui.fusion.runtime import count_parameters, pad_to_multiple

AUTHORS_WEIGHTS = WEIGHTS_DIR / "dilran-authors.safetensors"
GOLDEN_PAIRS = ("16009.png", "33015.png", "33020.png")


@pytest.fixture(scope="module")
def net() -> dilran.DILRANFusion:
    torch.manual_seed(0)
    return dilran.build().eval()


@pytest.fixture(scope="module")
def reference(shared):
    return shared / "reference" / "dilran"


@pytest.fixture(scope="module")
def authors_state(reference) -> dict[str, torch.Tensor]:
    # weights_only=True: never unpickle arbitrary objects from a downloaded checkpoint
    state = torch.load(reference / "last.pt", map_location="cpu", weights_only=True)
    return dilran.convert_authors_state_dict(state)


def authors_model(state: dict[str, torch.Tensor], fusion_rule: str) -> dilran.DILRANFusion:
    model = dilran.build(fusion_rule=fusion_rule)
    model.load_state_dict(state, strict=True)
    return model.eval()


def test_parameter_count_matches_the_architecture(net):
    # shallow 1x1 conv 1->64:                      1*64 + 64                          =     128
    # dilated 3x3 convs 64->64, d = 1, 3, 5:       3 x (64*64*9 + 64) = 3 x 36,928    = 110,784
    # 1x1 reduction 192->64:                       192*64 + 64                        =  12,352
    # BatchNorm(64), one module used twice:        64 + 64                            =     128
    # pyramid attention, ONE shared 3x3 conv:      64*64*9 + 64                       =  36,928
    # reconstructor 3x3 64->64, 64->32, 32->1:     36,928 + 18,464 + 289              =  55,681
    # total                                                                           = 216,001
    assert count_parameters(net) == 216_001



def test_odd_sizes_go_through_pad_to_multiple(net):
    # AvgPool2 + nearest Upsample2 in every soft mask need even sizes: the registry pads to a multiple of 2
    assert get_model_info("dilran").pad_multiple == 2
    a, b = torch.rand(1, 1, 33, 47), torch.rand(1, 1, 33, 47)
    pa, size = pad_to_multiple(a, 2)
    pb, _ = pad_to_multiple(b, 2)
    with torch.inference_mode():
        fused = net.fuse(pa, pb)[..., : size[0], : size[1]]
    assert fused.shape == (1, 1, 33, 47) and torch.isfinite(fused).all()


def test_sfnn_weights_by_hand():
    # Two channels, 2x2 maps. Logits +-ln 3 in channel 0 against 0 in channel 1 give the softmax maps
    #   S0 = [[3/4, 1/4], [1/4, 3/4]], S1 = 1 - S0 = [[1/4, 3/4], [3/4, 1/4]]:
    #   singular values |a + b| = 1 and |a - b| = 1/2 for both, so the nuclear norms are 1.5, max 1.5.
    # All-zero logits give S0 = S1 = 1/2 everywhere: rank 1, singular value 1, max nuclear norm 1.
    # w1 = 1.5^2 / (1.5^2 + 1^2) = 9/13 (phi = max^2), w2 = 4/13.
    ln3 = math.log(3.0)
    f1 = torch.tensor([[[ln3, -ln3], [-ln3, ln3]], [[0.0, 0.0], [0.0, 0.0]]])[None]
    f2 = torch.zeros(1, 2, 2, 2)
    norms = dilran.channel_nuclear_norms(torch.softmax(f1, dim=1))
    torch.testing.assert_close(norms, torch.tensor([[1.5, 1.5]]))
    # weights are per image of the batch: the second pair swaps the sources
    w1, w2 = dilran.sfnn_weights(torch.cat([f1, f2]), torch.cat([f2, f1]))
    torch.testing.assert_close(w1.flatten(), torch.tensor([9 / 13, 4 / 13]))
    torch.testing.assert_close(w2.flatten(), torch.tensor([4 / 13, 9 / 13]))
    # phi = max, the paper's final choice (Sec. 4.4): w1 = 1.5 / (1.5 + 1) = 3/5
    w1, _ = dilran.sfnn_weights(f1, f2, phi="max")
    torch.testing.assert_close(w1.flatten(), torch.tensor([3 / 5]))
    with pytest.raises(ValueError, match="phi"):
        dilran.sfnn_weights(f1, f2, phi="mean")


def test_sfnn_leaves_the_thread_count_alone(net):
    threads = torch.get_num_threads()
    with torch.inference_mode():
        net.fuse(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16))
    assert torch.get_num_threads() == threads


def test_converter_maps_every_used_key_and_drops_the_unused(reference, authors_state, net):
    raw = torch.load(reference / "last.pt", map_location="cpu", weights_only=True)
    unused = [k for k in raw if k.startswith(("fe.conv_id.", "fe.conv2.", "fe.bnorm.", "fe.fe.dilran.bnorm."))]
    assert len(raw) - len(unused) == len(authors_state)
    assert set(authors_state) == set(net.state_dict())
    with pytest.raises(KeyError):
        dilran.convert_authors_state_dict({**raw, "fe.extra.weight": torch.zeros(1)})


def read_unit(path) -> torch.Tensor:
    """8-bit gray PNG / 255 as (1, 1, H, W), as the goldens were made."""
    return torch.from_numpy(io.load(path).pixels[0].astype(np.float32) / 255)[None, None]


@pytest.mark.parametrize("name", GOLDEN_PAIRS)
def test_authors_weights_reproduce_their_code(name, shared, reference, authors_state):
    golden = np.load(reference / "golden.npz")
    ct = read_unit(shared / "data" / "harvard" / "CT-MRI" / "CT" / name)
    mri = read_unit(shared / "data" / "harvard" / "CT-MRI" / "MRI" / name)
    sfnn, average = authors_model(authors_state, "sfnn"), authors_model(authors_state, "average")
    with torch.inference_mode():
        # fuse() = reconstructor(fuse_features(extractor(a), extractor(b))): extract each source once for all three
        f_ct, f_mri = sfnn.extractor(ct), sfnn.extractor(mri)
        outputs = {"SFNN": sfnn.reconstructor(sfnn.fuse_features(f_ct, f_mri)),
                   "average": average.reconstructor(average.fuse_features(f_ct, f_mri)),
                   "recon_ct": sfnn.reconstructor(f_ct)}
    for rule, output in outputs.items():
        np.testing.assert_allclose(output[0, 0].numpy(), golden[f"{name}:{rule}"], rtol=0, atol=1e-4, err_msg=rule)


def test_registry_entries_choose_their_sfnn_rule(shared, reference):
    """`dilran-authors` runs the released code's SFNN-max^2 and reproduces its golden through the registry (the
    runtime clamps to [0, 1]); our `dilran` runs SFNN-max, the paper's final choice (Sec. 4.4)."""
    assert get_model("dilran").module.phi == "max"
    authors = get_model("dilran-authors", device="cpu")
    assert authors.module.phi == "max2"
    name = GOLDEN_PAIRS[0]
    golden = np.load(reference / "golden.npz")[f"{name}:SFNN"]
    ct = read_unit(shared / "data" / "harvard" / "CT-MRI" / "CT" / name)[0, 0].numpy()
    mri = read_unit(shared / "data" / "harvard" / "CT-MRI" / "MRI" / name)[0, 0].numpy()
    np.testing.assert_allclose(authors.fuse(mri, ct), np.clip(golden, 0, 1), rtol=0, atol=1e-4)


def test_shipped_weights_are_the_converted_authors_weights(authors_state, spect_unit):
    shipped = load_file(str(AUTHORS_WEIGHTS))
    assert shipped.keys() == authors_state.keys()
    assert all(torch.equal(shipped[k], authors_state[k]) for k in shipped)
    # and they load through the registry's runtime (strict keys, channels_last, padding, clamping)
    fuser = get_model("dilran", weights=AUTHORS_WEIGHTS, device="cpu")
    anat, func = (x[60:161, 70:153] for x in spect_unit)           # odd 101 x 83 crop
    fused = fuser.fuse(anat, func)
    assert fused.shape == (101, 83) and fused.dtype == np.float32
    assert np.isfinite(fused).all() and fused.min() >= 0 and fused.max() <= 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(net):
    a, b = torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.inference_mode():
        cpu = net.fuse(a, b)
        cuda = net.to("cuda").fuse(a.cuda(), b.cuda()).cpu()
    net.to("cpu")
    torch.testing.assert_close(cuda, cpu, rtol=1e-3, atol=1e-4)
