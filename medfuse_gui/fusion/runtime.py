"""Running networks: device choice, verified weights, padding to the network's multiple, batched inference, thread
count under load (threads.py), batch size from free memory, warm-up."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .registry import MethodInfo, WeightsError, sha256_of
from .threads import POLICY

# Peak bytes per input pixel of one slice in a forward call (both sources, activations, DILRAN's float64 Gram
# matrices), from the rise in peak RSS while fusing the 197x233x189 demo in batches of 16 (mask-pa: 1.8 KB), with a
# margin. Unknown networks get the largest.
ACTIVATION_BYTES_PER_PIXEL = {"mmif-amin": 10_000, "dilran": 12_000, "dilran-authors": 12_000, "mmif-net": 6_000,
                              "mask-pa": 3_000}
MEMORY_SHARE = 0.25         # of the free memory one batch may take (the GUI, the volumes and the OS need the rest)
MAX_BATCH = 16              # CUDA: many slices per call keep the device busy
MAX_BATCH_CPU = 4           # CPU: batches of 16 were no faster per slice than 4 (2 cores) and took 4x the memory


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


def free_memory_bytes(device: torch.device) -> int:
    """Memory a batch may still use: CUDA's free device memory, else the kernel's MemAvailable (Linux)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 << 30  # not Linux: assume 2 GiB free


def volume_batch_size(name: str, height: int, width: int, device: torch.device) -> int:
    """Slices per forward call for a volume: as many as MEMORY_SHARE of the free memory holds, 1..MAX_BATCH."""
    per_slice = ACTIVATION_BYTES_PER_PIXEL.get(name, max(ACTIVATION_BYTES_PER_PIXEL.values())) * height * width
    cap = MAX_BATCH if device.type == "cuda" else MAX_BATCH_CPU
    return int(max(1, min(cap, free_memory_bytes(device) * MEMORY_SHARE // per_slice)))


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

    def __init__(self, info: MethodInfo, module: nn.Module, device: torch.device, batch_size: int | None = None):
        self.info = info
        self.name = info.name
        self.device = device
        self.batch_size = batch_size
        self.module = module.to(device).eval()
        if device.type == "cpu":
            self.module = self.module.to(memory_format=torch.channels_last)
            POLICY.prime()

    def batch_size_for(self, height: int, width: int) -> int:
        """Slices per forward call for a stack of ``height`` x ``width`` slices (pipeline.fuse_volume)."""
        return volume_batch_size(self.name, height, width, self.device)

    @torch.inference_mode()
    def fuse(self, anatomical: np.ndarray, functional: np.ndarray, adapt_threads: bool = True) -> np.ndarray:
        """Fuse one (H, W) slice or an (N, H, W) stack of [0, 1] floats; ``adapt_threads=False`` leaves torch's thread
        count alone (a warm-up in another thread must not move the process-wide policy's ceiling)."""
        a = np.asarray(anatomical, dtype=np.float32)
        b = np.asarray(functional, dtype=np.float32)
        if a.shape != b.shape:
            raise ValueError(f"{self.name}: shapes differ {a.shape} vs {b.shape}")
        single = a.ndim == 2
        if single:
            a, b = a[None], b[None]
        outputs = []
        step = self.batch_size or self.batch_size_for(*a.shape[-2:])
        for start in range(0, a.shape[0], step):
            if self.device.type == "cpu" and adapt_threads:
                POLICY.apply()  # between batches too: a volume takes long enough for the load to change
            ta = torch.from_numpy(np.ascontiguousarray(a[start:start + step]))[:, None].to(self.device)
            tb = torch.from_numpy(np.ascontiguousarray(b[start:start + step]))[:, None].to(self.device)
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


_WARM: set[tuple[str, str]] = set()


def warm_up(name: str, device: str | None = None) -> NetworkFuser:
    """Load a network's verified weights and run one tiny forward pass, so that the first real fusion pays only its
    own inference (the one-off costs — weights, kernel selection, allocator growth, the thread policy's first load
    sample — are paid here). Returns the fuser; calling again for the same network and device skips the forward."""
    from .registry import get_model

    fuser = get_model(name, device=device)
    if not isinstance(fuser, NetworkFuser):
        return fuser
    key = (fuser.name, str(fuser.device))
    if key not in _WARM:
        warm(fuser)
        _WARM.add(key)
    return fuser


def warm(fuser: NetworkFuser, shape: tuple[int, int] = (16, 16)) -> NetworkFuser:
    """One forward pass on a ``shape`` slice (padded to the network's multiple). A tiny one pays the calling
    thread's one-off costs; one at the size the user will see also makes the convolution kernels for that size
    (oneDNN's primitive cache is process-wide: a first DILRAN call at 256² otherwise cost ~0.4 s more than the next,
    docs/performance.md)."""
    h, w = (max(int(v), fuser.info.pad_multiple, 1) for v in shape)
    ramp = np.linspace(0.0, 1.0, h * w, dtype=np.float32).reshape(h, w)
    fuser.fuse(ramp, ramp[::-1].copy(), adapt_threads=False)
    return fuser


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def measure_flops(module: nn.Module, size: int = 256) -> int:
    """FLOPs of one fusion at size x size counted by torch's FlopCounterMode (1 MAC = 2 FLOPs)."""
    from torch.utils.flop_counter import FlopCounterMode

    module = module.eval()
    a = torch.rand(1, 1, size, size)
    b = torch.rand(1, 1, size, size)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # one lane (amin's side lane would run outside the counter, which sees this thread only)
    try:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            module.fuse(a, b)
    finally:
        torch.set_num_threads(threads)
    return int(counter.get_total_flops())
