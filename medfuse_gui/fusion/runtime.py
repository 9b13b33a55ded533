"""Running networks: device choice, verified weights, padding to the network's multiple, batched inference."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .registry import MethodInfo, WeightsError, sha256_of


def select_device(preferred: str | None = None) -> torch.device:
    """CUDA when present (or asked for), else CPU. ``MEDFUSE_DEVICE`` overrides the automatic choice."""
    preferred = preferred or os.environ.get("MEDFUSE_DEVICE") or None
    if preferred:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise WeightsError(f"device {preferred} was asked for but CUDA is not available on this machine")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_label(device: torch.device | None = None) -> str:
    device = device or select_device()
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"


def load_weights(module: nn.Module, path: Path, expected_sha256: str | None) -> None:
    """Load a safetensors state dict after checking its sha256 (safetensors never executes code, unlike pickle)."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing")
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise WeightsError(f"weights file {path.name} is corrupt or was replaced: sha256 {actual[:12]}... does not "
                               f"match the manifest's {expected_sha256[:12]}...")
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:
        raise WeightsError(f"weights file {path.name} is not a readable safetensors file ({exc})") from exc
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise WeightsError(f"weights file {path.name} does not fit the network: missing {list(missing)[:4]}, "
                           f"unexpected {list(unexpected)[:4]}")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the last two dims up to a multiple (replicate when the image is too small to reflect)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


class NetworkFuser:
    """Wraps a network module that implements ``fuse(anat, func)`` on (N,1,H,W) tensors in [0, 1]."""

    def __init__(self, info: MethodInfo, module: nn.Module, device: torch.device, batch_size: int = 4):
        self.info = info
        self.name = info.name
        self.device = device
        self.batch_size = batch_size
        self.module = module.to(device).eval()
        if device.type == "cpu":
            self.module = self.module.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def fuse(self, anatomical: np.ndarray, functional: np.ndarray) -> np.ndarray:
        a = np.asarray(anatomical, dtype=np.float32)
        b = np.asarray(functional, dtype=np.float32)
        if a.shape != b.shape:
            raise ValueError(f"{self.name}: shapes differ {a.shape} vs {b.shape}")
        single = a.ndim == 2
        if single:
            a, b = a[None], b[None]
        outputs = []
        for start in range(0, a.shape[0], self.batch_size):
            ta = torch.from_numpy(np.ascontiguousarray(a[start:start + self.batch_size]))[:, None].to(self.device)
            tb = torch.from_numpy(np.ascontiguousarray(b[start:start + self.batch_size]))[:, None].to(self.device)
            ta, size = pad_to_multiple(ta, self.info.pad_multiple)
            tb, _ = pad_to_multiple(tb, self.info.pad_multiple)
            if self.device.type == "cpu":
                ta = ta.contiguous(memory_format=torch.channels_last)
                tb = tb.contiguous(memory_format=torch.channels_last)
            fused = self.module.fuse(ta, tb)[:, 0, : size[0], : size[1]]
            outputs.append(fused.clamp(0.0, 1.0).float().cpu().numpy())
        out = np.concatenate(outputs, axis=0)
        if not np.all(np.isfinite(out)):
            raise FloatingPointError(f"{self.name} produced NaN/Inf")
        return out[0] if single else out


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def measure_flops(module: nn.Module, size: int = 256) -> int:
    """FLOPs of one fusion at size x size counted by torch's FlopCounterMode (1 MAC = 2 FLOPs)."""
    from torch.utils.flop_counter import FlopCounterMode

    module = module.eval()
    a = torch.rand(1, 1, size, size)
    b = torch.rand(1, 1, size, size)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        module.fuse(a, b)
    return int(counter.get_total_flops())
