"""The training loop shared by every network: seeded, checkpointed every epoch, resumable, cancellable.

Checkpoints hold only tensors and plain Python values, so they load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..fusion.runtime import select_device
from ..fusion.registry import (WEIGHTS_DIR, MANIFEST_NAME, get_model_info, manifest, sha256_of, training_stages,
                               _import)
from ..io.errors import MedFuseError
from ..pipeline import Cancelled
from .data import DEFAULT_HARVARD, PatchSampler, read_split
from .losses import LOSSES

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    model: str
    tasks: str = "all"
    epochs: int = 10
    steps_per_epoch: int = 100
    batch_size: int = 8
    patch_size: int = 120
    lr: float = 1e-3
    seed: int = 0
    threads: int = 0                   # 0: torch's default
    device: str | None = None          # None: CUDA when present, else CPU (runtime.select_device)
    data_root: str = str(DEFAULT_HARVARD)
    builder_kwargs: dict = field(default_factory=dict)
    init_weights: str | None = None    # "shipped" (the verified weights/ file) or a .safetensors path: fine-tune it
    freeze_batchnorm: bool = False     # BatchNorm layers use their running statistics (eval mode) while training

    @classmethod
    def from_paper(cls, model: str, **overrides) -> "TrainConfig":
        """Paper defaults from the loss module's TRAINING_DEFAULTS, then explicit overrides (None = keep)."""
        defaults = loss_module(model).TRAINING_DEFAULTS
        config = cls(model=model)
        for key in ("lr", "batch_size", "patch_size", "epochs"):
            if key in defaults:
                setattr(config, key, defaults[key])
        for key, value in overrides.items():
            if value is not None:
                setattr(config, key, value)
        return config


def loss_module(model: str):
    info = get_model_info(model)
    if info.name not in LOSSES:
        raise MedFuseError(f"{info.title} is not a trainable network")
    return importlib.import_module(LOSSES[info.name])


@dataclass
class TrainResult:
    out_dir: Path
    epochs_done: int
    steps_done: int
    wall_time_s: float
    final_loss: float
    weights_file: Path


def _atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def freeze_batchnorm(model: torch.nn.Module) -> int:
    """Put every BatchNorm layer in eval mode: it normalises with its stored running statistics (which stop
    updating) while its affine terms keep training. The network trained is then exactly the function that runs at
    inference; in train mode BatchNorm normalises by each batch's own statistics, and the running averages it is
    evaluated with can differ from them (DILRAN uses one BatchNorm at two depths, docs/models/dilran.md). Returns the
    number of layers frozen."""
    frozen = 0
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()
            frozen += 1
    return frozen


def load_initial_weights(model: torch.nn.Module, model_name: str, source: str) -> dict:
    """Load the weights a fine-tuning run starts from; return their record for the new manifest entry.

    ``source`` is "shipped" (the manifest's file, sha256 verified) or the path of a safetensors file."""
    from ..fusion.runtime import load_weights

    info = get_model_info(model_name)
    if source == "shipped":
        ok, reason = info.availability()
        if not ok:
            raise MedFuseError(f"cannot start from the shipped weights: {reason}")
        load_weights(model, info.weights.path, expected_sha256=info.weights.sha256)
        return dict(info.weights.meta)
    path = Path(source)
    load_weights(model, path, expected_sha256=None)
    return {"file": str(path), "sha256": sha256_of(path)}


def lineage_totals(record: dict) -> tuple[int, float]:
    """(steps, wall seconds) of a weights record including every run it was fine-tuned from."""
    stages = training_stages(record)
    return (sum(int(r.get("steps", 0)) for r in stages), sum(float(r.get("wall_time_s", 0.0)) for r in stages))


def code_commit() -> str:
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def train(config: TrainConfig, out_dir: Path, resume: bool = False,
          progress: Callable[[int, int, dict], None] | None = None,
          cancelled: Callable[[], bool] | None = None, max_steps: int | None = None) -> TrainResult:
    """Train ``config.model`` on the train split; checkpoint to ``out_dir`` every epoch.

    ``progress(step, total_steps, logs)`` is called after every step. ``max_steps`` stops early (smoke tests).
    """
    info = get_model_info(config.model)
    losses = loss_module(config.model)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / CHECKPOINT
    if checkpoint_path.exists() and not resume:
        raise MedFuseError(f"{checkpoint_path} exists: pass --resume to continue it, or choose another --out")
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)

    records = read_split(Path(config.data_root), "train", config.tasks)
    sampler = PatchSampler(records, config.patch_size, seed=config.seed)
    device = select_device(config.device)
    model = _import(info.builder)(**{**info.builder_kwargs, **config.builder_kwargs})
    initialised_from = None
    if config.init_weights and not (resume and checkpoint_path.exists()):
        initialised_from = load_initial_weights(model, info.name, config.init_weights)
    model = model.to(device)
    model.train()
    if config.freeze_batchnorm and not freeze_batchnorm(model):
        raise MedFuseError(f"{info.title} has no BatchNorm layers to freeze")
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    epoch, step, wall, history = 0, 0, 0.0, []
    lr_schedule = [[0, config.lr]]     # [first step, learning rate] of every stretch, for the manifest
    if resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        if state["config"]["model"] != info.name:
            raise MedFuseError(f"{checkpoint_path} is a checkpoint of {state['config']['model']}, not {info.name}")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        for group in optimiser.param_groups:  # a resumed run may continue at a new rate (a step decay)
            group["lr"] = config.lr
        sampler.set_state(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        epoch, step, wall, history = state["epoch"], state["step"], state["wall_time_s"], state["history"]
        lr_schedule = [list(x) for x in state.get("lr_schedule", [[0, state["config"]["lr"]]])]
        initialised_from = state.get("initialised_from")
        if bool(state["config"].get("freeze_batchnorm")) != config.freeze_batchnorm:
            raise MedFuseError(f"{checkpoint_path} was trained with freeze_batchnorm="
                               f"{state['config'].get('freeze_batchnorm', False)}: resume it the same way")
        if lr_schedule[-1][1] != config.lr and epoch < config.epochs:
            lr_schedule.append([step, config.lr])
    total_steps = config.epochs * config.steps_per_epoch
    log_path = out_dir / "log.jsonl"
    logs: dict = {}
    while epoch < config.epochs:
        started = time.perf_counter()
        sums: dict[str, float] = {}
        for _ in range(config.steps_per_epoch):
            if cancelled is not None and cancelled():
                raise Cancelled()
            a, b = sampler.batch(config.batch_size)
            loss, logs = losses.compute_loss(model, torch.from_numpy(a).to(device), torch.from_numpy(b).to(device))
            if not torch.isfinite(loss):
                raise MedFuseError(f"training diverged at step {step} (loss {loss.item()}); lower --lr and --resume "
                                   f"from the last checkpoint")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            step += 1
            for key, value in logs.items():
                sums[key] = sums.get(key, 0.0) + float(value)
            if progress is not None:
                progress(step, total_steps, logs)
            if max_steps is not None and step >= max_steps:
                break
        epoch += 1
        wall += time.perf_counter() - started
        means = {k: v / config.steps_per_epoch for k, v in sums.items()}
        history.append(means.get("loss", float("nan")))
        with open(log_path, "a") as handle:
            handle.write(json.dumps({"epoch": epoch, "step": step, "wall_time_s": round(wall, 1), **means}) + "\n")
        _atomic_torch_save({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                            "sampler": sampler.state(), "torch_rng": torch.get_rng_state(), "epoch": epoch,
                            "step": step, "wall_time_s": wall, "history": history, "config": asdict(config),
                            "lr_schedule": lr_schedule, "initialised_from": initialised_from},
                           checkpoint_path)
        if max_steps is not None and step >= max_steps:
            break
    weights = export_weights(model, config, out_dir, epoch, step, wall, history, len(records), lr_schedule, device,
                             initialised_from)
    return TrainResult(out_dir, epoch, step, wall, history[-1] if history else float("nan"), weights)


def export_weights(model, config: TrainConfig, out_dir: Path, epochs: int, steps: int, wall: float,
                   history: list[float], n_pairs: int, lr_schedule: list | None = None,
                   device: torch.device | None = None, initialised_from: dict | None = None) -> Path:
    """Write ``<model>.safetensors`` and ``<model>.json`` (its manifest record) into ``out_dir``."""
    from safetensors.torch import save_file

    info = get_model_info(config.model)
    losses = loss_module(config.model)
    path = out_dir / f"{info.name}.safetensors"
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"model": info.name, "commit": code_commit()})
    record = {
        "file": path.name,
        "sha256": sha256_of(path),
        "training_data": f"Harvard Whole Brain Atlas pairs, split.csv 'train' ({n_pairs} pairs, tasks: {config.tasks})",
        "loss": (losses.__doc__ or "").strip().splitlines()[0],
        "epochs": epochs,
        "steps": steps,
        "batch_size": config.batch_size,
        "patch_size": config.patch_size,
        "lr": config.lr,
        "lr_schedule": lr_schedule or [[0, config.lr]],
        "seed": config.seed,
        "wall_time_s": round(wall, 1),
        "final_loss": history[-1] if history else None,
        "commit": code_commit(),
        "created": time.strftime("%Y-%m-%d"),
        "device": (device or torch.device("cpu")).type,
        "torch": torch.__version__,
    }
    if config.freeze_batchnorm:
        record["batchnorm"] = "frozen: eval-mode running statistics during training"
    if initialised_from is not None:
        record["initialised_from"] = initialised_from   # the whole record of the run this one fine-tuned
        record["total_steps"], total_wall = lineage_totals(record)
        record["total_wall_time_s"] = round(total_wall, 1)
    (out_dir / f"{info.name}.json").write_text(json.dumps(record, indent=2))
    return path


def install_weights(run_dir: Path, model: str, force: bool = False) -> Path:
    """Copy a run's exported weights into ``weights/`` and record them in the manifest."""
    import shutil

    info = get_model_info(model)
    source = Path(run_dir) / f"{info.name}.safetensors"
    record_path = Path(run_dir) / f"{info.name}.json"
    if not source.is_file() or not record_path.is_file():
        raise MedFuseError(f"{run_dir} holds no exported {info.name} weights (train to the end first)")
    record = json.loads(record_path.read_text())
    if sha256_of(source) != record["sha256"]:
        raise MedFuseError(f"{source} does not match its recorded sha256")
    target = WEIGHTS_DIR / source.name
    if target.exists() and not force and sha256_of(target) != record["sha256"]:
        raise MedFuseError(f"{target} exists with other weights (use --force to replace them)")
    WEIGHTS_DIR.mkdir(exist_ok=True)
    shutil.copyfile(source, target)
    manifest_path = WEIGHTS_DIR / MANIFEST_NAME
    data = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"models": {}}
    data.setdefault("models", {})[info.name] = record
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, manifest_path)
    manifest.cache_clear()
    return target
