"""The training loop: train split only, seeded, checkpointed and resumable, exported weights verified by hash."""

from __future__ import annotations

import json

import numpy as np
import torch
import pytest

from medfuse_gui import evaluation
from medfuse_gui.fusion import get_model, get_model_info, registry
from medfuse_gui.io.errors import MedFuseError
from medfuse_gui.training import loop
from medfuse_gui.training.data import PatchSampler, read_split

SMOKE = dict(tasks="SPECT-MRI", epochs=2, steps_per_epoch=1, batch_size=2, patch_size=32, lr=1e-4, seed=3)


def test_train_and_test_splits_share_no_case(shared):
    train = read_split(split="train")
    test = read_split(split="test")
    assert len(train) == 129 + 175 + 224 and len(test) == 35 + 94 + 47
    assert not {(r.task, r.case) for r in train} & {(r.task, r.case) for r in test}


def test_patches_are_seeded_registered_and_not_background(shared):
    records = read_split(split="train", tasks="CT-MRI")[:6]
    first = PatchSampler(records, 64, seed=7).batch(4)
    again = PatchSampler(records, 64, seed=7).batch(4)
    np.testing.assert_array_equal(first[0], again[0])
    other = PatchSampler(records, 64, seed=8).batch(4)
    assert not np.array_equal(first[0], other[0])
    a, b = first
    assert a.shape == b.shape == (4, 1, 64, 64)
    assert np.all(np.maximum(a.mean(axis=(1, 2, 3)), b.mean(axis=(1, 2, 3))) > 0.02)


def test_train_resume_export_install(tmp_path, monkeypatch, shared):
    config = loop.TrainConfig(model="mask-pa", **SMOKE)
    result = loop.train(config, tmp_path / "run")
    assert result.epochs_done == 2 and result.steps_done == 2
    lines = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    with pytest.raises(MedFuseError, match="--resume"):
        loop.train(config, tmp_path / "run")
    first_lr = config.lr
    config.epochs, config.lr = 3, first_lr / 10    # a step decay: the resumed stretch runs at the new rate
    resumed = loop.train(config, tmp_path / "run", resume=True)
    assert resumed.epochs_done == 3 and resumed.steps_done == 3
    checkpoint = torch.load(tmp_path / "run" / loop.CHECKPOINT, map_location="cpu", weights_only=True)
    assert [g["lr"] for g in checkpoint["optimiser"]["param_groups"]] == [first_lr / 10]
    record = json.loads((tmp_path / "run" / "mask-pa.json").read_text())
    assert record["lr_schedule"] == [[0, first_lr], [2, first_lr / 10]] and record["device"] == "cpu"
    assert record["epochs"] == 3 and record["sha256"] == registry.sha256_of(resumed.weights_file)
    assert "SPECT-MRI" in record["training_data"] and record["loss"]

    fuser = get_model("mask-pa", weights=resumed.weights_file)
    out = fuser.fuse(np.random.default_rng(0).random((40, 44), dtype=np.float32),
                     np.random.default_rng(1).random((40, 44), dtype=np.float32))
    assert out.shape == (40, 44) and np.isfinite(out).all()

    # install into a private weights folder: the registry then offers the method, and verifies the hash on load
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setattr(loop, "WEIGHTS_DIR", tmp_path / "weights")
    registry.manifest.cache_clear()
    try:
        loop.install_weights(tmp_path / "run", "mask-pa")
        assert get_model_info("mask-pa").availability() == (True, "")
        get_model("mask-pa")
        target = tmp_path / "weights" / "mask-pa.safetensors"
        target.write_bytes(target.read_bytes()[:-8] + b"\0" * 8)
        with pytest.raises(registry.WeightsError, match="sha256"):
            get_model("mask-pa")
        target.unlink()
        assert get_model_info("mask-pa").availability()[0] is False
        assert "missing" in get_model_info("mask-pa").availability()[1]
    finally:
        registry.manifest.cache_clear()


def test_fine_tune_shipped_weights_with_frozen_batchnorm(tmp_path, monkeypatch, shared):
    """--init-weights shipped --freeze-bn: starts from the verified file, trains every parameter but leaves the
    BatchNorm statistics as they were, and records the run it started from in the new manifest record."""
    shipped = get_model("mmif-net").module.state_dict()
    config = loop.TrainConfig(model="mmif-net", init_weights="shipped", freeze_batchnorm=True,
                              **{**SMOKE, "epochs": 1, "lr": 1e-3})
    result = loop.train(config, tmp_path / "run")
    tuned = get_model("mmif-net", weights=result.weights_file).module.state_dict()
    statistics = [k for k in shipped if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    learned = [k for k in shipped if k not in statistics]
    assert statistics and learned
    for key in statistics:
        torch.testing.assert_close(tuned[key], shipped[key], rtol=0, atol=0)
    assert any(not torch.equal(tuned[k], shipped[k]) for k in learned if k.endswith("weight"))
    record = json.loads((tmp_path / "run" / "mmif-net.json").read_text())
    parent = get_model_info("mmif-net").weights.meta
    assert record["initialised_from"]["sha256"] == parent["sha256"]
    assert record["batchnorm"].startswith("frozen")
    assert record["total_steps"] == 1 + loop.lineage_totals(parent)[0]

    # installed, the results page's training table lists both runs, oldest first
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setattr(loop, "WEIGHTS_DIR", tmp_path / "weights")
    registry.manifest.cache_clear()
    try:
        loop.install_weights(tmp_path / "run", "mmif-net")
        row = [line for line in evaluation.training_markdown(["mmif-net"]).splitlines() if "| MMIF-Net |" in line]
        earlier = " then ".join(evaluation._stage_text(stage)[0] for stage in registry.training_stages(parent))
        assert len(row) == 1 and f"| {earlier} then 1 (BatchNorm frozen) |" in row[0]
    finally:
        registry.manifest.cache_clear()

    # a resumed run must keep the BatchNorm mode it was trained with
    config.epochs, config.freeze_batchnorm = 2, False
    with pytest.raises(MedFuseError, match="freeze_batchnorm"):
        loop.train(config, tmp_path / "run", resume=True)


def test_freeze_batchnorm_refuses_a_network_without_batchnorm(tmp_path, shared):
    config = loop.TrainConfig(model="mask-pa", freeze_batchnorm=True, **SMOKE)
    with pytest.raises(MedFuseError, match="no BatchNorm"):
        loop.train(config, tmp_path / "run")
