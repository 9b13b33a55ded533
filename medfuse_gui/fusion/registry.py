"""One registry of fusion methods, in the style of torchvision's ``list_models`` / ``get_model``.

Each entry says how to build the method, what it expects (input contract), which paper it implements, and for networks
which weights file (with its sha256) to load. Networks are imported lazily so that listing methods — the GUI's model
selector, ``medfuse methods`` — never imports torch.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from ..io.errors import MedFuseError

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
MANIFEST_NAME = "manifest.json"


class WeightsError(MedFuseError):
    """Weights are missing, corrupt (hash mismatch) or do not fit the network."""


class UnknownMethodError(MedFuseError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Fuser(Protocol):
    """A fusion method: gray anatomical + functional luminance -> fused luminance.

    Inputs are float32 arrays in [0, 1], shaped (H, W) or a stack (N, H, W); the output has the input's shape, float32
    in [0, 1].
    """

    name: str

    def fuse(self, anatomical: np.ndarray, functional: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Paper:
    title: str
    authors: str
    venue: str
    file: str = ""  # the text in ../shared/papers this implementation follows

    def cite(self) -> str:
        return f"{self.authors}, \"{self.title}\", {self.venue}"


@dataclass(frozen=True)
class WeightsEntry:
    """A weights file in ``weights/`` and its manifest record (sha256, training data, loss, epochs, commit, ...)."""

    file: str
    sha256: str
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / self.file


@dataclass(frozen=True)
class MethodInfo:
    name: str                       # registry key, lower-case: "average", "dilran"
    title: str                      # shown to users: "DILRAN"
    kind: str                       # "classic" or "network"
    summary: str
    builder: str                    # "module:function" (imported on first use)
    input_contract: str = "anatomical gray and functional luminance (BT.601 Y), float32 in [0, 1], any H x W"
    colour_space: str = "ycbcr"     # how the functional colour is split/merged around this method
    paper: Paper | None = None
    pad_multiple: int = 1           # networks: inputs are reflect-padded to a multiple of this, output cropped back
    paper_params: int | None = None         # as printed in the paper, for comparison with ours
    paper_gflops: float | None = None       # as printed in the paper at 256x256
    builder_kwargs: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    short_title: str = ""           # for narrow places (loupe cells): "GFF"; empty when ``title`` is short already
    typical_ms: float | None = None  # per 256x256 slice, 2-core CPU (docs/performance.md): the loupe's order until timed

    @property
    def label(self) -> str:
        return self.short_title or self.title

    @property
    def weights(self) -> WeightsEntry | None:
        return manifest().get(self.name)

    @property
    def caveat(self) -> str:
        """A known limitation of the shipped weights, from their manifest record ("" when none is recorded)."""
        entry = self.weights
        return str(entry.meta.get("caveat", "")) if entry is not None else ""

    def availability(self) -> tuple[bool, str]:
        """(usable, reason shown to users when not)."""
        if self.kind != "network":
            return True, ""
        entry = self.weights
        if entry is None:
            return False, f"no trained weights for {self.title} in weights/{MANIFEST_NAME}"
        if not entry.path.is_file():
            return False, f"weights file weights/{entry.file} is missing"
        return True, ""


_REGISTRY: dict[str, MethodInfo] = {}


def register(info: MethodInfo) -> MethodInfo:
    if info.name in _REGISTRY:
        raise ValueError(f"method {info.name!r} registered twice")
    _REGISTRY[info.name] = info
    return info


def unregister(name: str) -> None:
    """Remove a method (plug-ins and tests that register temporary methods)."""
    _ensure_catalogue()
    _REGISTRY.pop(name, None)


def _ensure_catalogue() -> None:
    importlib.import_module("medfuse_gui.fusion.catalogue")  # registers on first import only


def list_models(kind: str | None = None, available_only: bool = False) -> list[str]:
    """Names of registered methods, classic first then networks, each group in registration order."""
    _ensure_catalogue()
    infos = [i for i in _REGISTRY.values() if kind is None or i.kind == kind]
    infos.sort(key=lambda i: i.kind != "classic")
    if available_only:
        infos = [i for i in infos if i.availability()[0]]
    return [i.name for i in infos]


def get_model_info(name: str) -> MethodInfo:
    _ensure_catalogue()
    key = name.strip().lower()
    if key not in _REGISTRY:
        raise UnknownMethodError(f"unknown fusion method {name!r}; known: {', '.join(list_models())}")
    return _REGISTRY[key]


def _import(ref: str) -> Callable[..., Any]:
    module_name, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def get_model(name: str, weights: str | Path | None = "default", device: str | None = None) -> Fuser:
    """Build a ready-to-use fuser.

    ``weights``: "default" loads the manifest's verified file; a path loads that safetensors file (hash not checked
    against the manifest); None builds a network with random initialisation (tests, training).
    ``device``: "cpu", "cuda", "cuda:1"; None picks CUDA when available.
    """
    info = get_model_info(name)
    builder = _import(info.builder)
    if info.kind == "classic":
        return builder(**info.builder_kwargs)
    from .runtime import NetworkFuser, load_weights, select_device  # torch only from here on

    module = builder(**info.builder_kwargs)
    if weights == "default":
        ok, reason = info.availability()
        if not ok:
            raise WeightsError(reason)
        load_weights(module, info.weights.path, expected_sha256=info.weights.sha256)
    elif weights is not None:
        load_weights(module, Path(weights), expected_sha256=None)
    return NetworkFuser(info, module, select_device(device))


def training_stages(record: dict) -> list[dict]:
    """A weights record and the records of the runs it was fine-tuned from (``initialised_from``), oldest first."""
    parent = record.get("initialised_from")
    return (training_stages(parent) if isinstance(parent, dict) else []) + [record]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def manifest() -> dict[str, WeightsEntry]:
    """Weights entries keyed by method name, read from ``weights/manifest.json`` ({} when absent)."""
    path = WEIGHTS_DIR / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {name: WeightsEntry(file=rec["file"], sha256=rec["sha256"], meta=rec)
                for name, rec in data.get("models", {}).items()}
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): reinstall MedFuse or "
                           "restore the file") from None
    except (OSError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
        raise WeightsError(f"{path} is not a valid weights manifest (each model needs a file and a sha256): "
                           "reinstall MedFuse or restore the file") from None
