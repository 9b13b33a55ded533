"""The registry, torchvision-style: every registered network builds, runs on tiny CPU inputs of awkward sizes,
is deterministic in eval mode, and is listed with its paper and input contract; weights are verified."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medfuse_gui import fusion
from medfuse_gui.fusion import registry

NETWORKS = fusion.list_models(kind="network")


def test_listing_order_and_metadata():
    names = fusion.list_models()
    assert names[:5] == ["average", "maximum", "laplacian", "dwt", "gff"]
    assert set(NETWORKS) >= {"mmif-amin", "dilran", "mmif-net", "mask-pa"}
    for name in NETWORKS:
        info = fusion.get_model_info(name)
        assert info.paper is not None and info.paper.file and info.input_contract
        assert info.builder.startswith("medfuse_gui.fusion.")
    assert fusion.get_model_info("  DILRAN ").name == "dilran"


@pytest.mark.parametrize("name", NETWORKS)
def test_every_network_on_tiny_odd_inputs(name):
    fuser = fusion.get_model(name, weights=None, device="cpu")  # random init: shape/range/determinism only
    rng = np.random.default_rng(0)
    a = rng.random((37, 45), dtype=np.float32)
    b = rng.random((37, 45), dtype=np.float32)
    out = fuser.fuse(a, b)
    assert out.shape == (37, 45) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(out, fuser.fuse(a, b))
    stack = fuser.fuse(np.stack([a, a]), np.stack([b, b]))
    np.testing.assert_allclose(stack[1], out, atol=1e-5)


def test_available_networks_load_verified_weights():
    for name in fusion.list_models(kind="network", available_only=True):
        entry = fusion.get_model_info(name).weights
        assert registry.sha256_of(entry.path) == entry.sha256
        for key in ("training_data", "loss", "epochs", "commit"):
            assert key in entry.meta, (name, key)


def test_corrupt_or_missing_weights_are_refused_with_a_reason(tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    weights.mkdir()
    source = fusion.get_model_info("dilran-authors").weights
    (weights / source.file).write_bytes(source.path.read_bytes()[:-16] + b"\0" * 16)
    (weights / "manifest.json").write_text(json.dumps({"models": {"dilran-authors": {
        "file": source.file, "sha256": source.sha256}}}))
    monkeypatch.setattr(registry, "WEIGHTS_DIR", weights)
    registry.manifest.cache_clear()
    try:
        with pytest.raises(fusion.WeightsError, match="corrupt or was replaced"):
            fusion.get_model("dilran-authors")
        ok, reason = fusion.get_model_info("mmif-amin").availability()
        assert not ok and "no trained weights" in reason
        with pytest.raises(fusion.WeightsError, match="no trained weights"):
            fusion.get_model("mmif-amin")
    finally:
        registry.manifest.cache_clear()
