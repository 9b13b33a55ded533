"""Training data: the Harvard pairs of ``split.csv``, as registered (anatomical, functional luminance) patches.

Only the ``train`` split is ever read for training; ``test`` is for reporting (``medfuse evaluate``).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import colour, io
from ..io.errors import MedFuseError

TASKS = ("CT-MRI", "PET-MRI", "SPECT-MRI")
DEFAULT_HARVARD = Path(os.environ.get("MEDFUSE_HARVARD",
                                      Path(__file__).resolve().parents[3] / "shared" / "data" / "harvard"))


@dataclass(frozen=True)
class PairRecord:
    task: str
    name: str
    case: str
    split: str
    anatomical: Path
    functional: Path


def read_split(root: Path = DEFAULT_HARVARD, split: str = "train", tasks: tuple[str, ...] | str = TASKS
               ) -> list[PairRecord]:
    """Pairs of one split, from ``split.csv`` (task, file, case, split), in file order."""
    root = Path(root)
    table = root / "split.csv"
    if not table.is_file():
        raise MedFuseError(f"no split.csv in {root} (set MEDFUSE_HARVARD or --data to the Harvard folder)")
    if isinstance(tasks, str):
        tasks = TASKS if tasks == "all" else (tasks,)
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise MedFuseError(f"unknown task {', '.join(sorted(unknown))}; choose from {', '.join(TASKS)} or all")
    records = []
    with open(table, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != split or row["task"] not in tasks:
                continue
            other = row["task"].split("-")[0]
            records.append(PairRecord(row["task"], row["file"], row["case"], row["split"],
                                      root / row["task"] / "MRI" / row["file"], root / row["task"] / other / row["file"]))
    if not records:
        raise MedFuseError(f"no {split} pairs for {', '.join(tasks)} in {table}")
    return records


def load_pair_unit(record: PairRecord) -> tuple[np.ndarray, np.ndarray]:
    """(anatomical gray, functional luminance), float32 [0, 1], as the fusion methods see them."""
    anatomical = io.load(record.anatomical).pixels[0]
    if anatomical.ndim == 3:
        anatomical = colour.to_uint8(colour.luminance(anatomical))
    functional = io.load(record.functional).pixels[0]
    luma = colour.luminance(functional) if functional.ndim == 3 else io.to_unit(functional, (0, 255))
    return io.to_unit(anatomical, (0, 255)), luma.astype(np.float32)


class PatchSampler:
    """Random registered patches with the same flip/rotation applied to both sources.

    Patches that are almost all background (the Harvard slices are ~60 % black) teach nothing, so a patch whose two
    sources are both below 2 % mean intensity is redrawn (up to 10 times).
    """

    def __init__(self, records: list[PairRecord], patch_size: int, seed: int = 0, augment: bool = True):
        self.records = records
        self.patch_size = patch_size
        self.augment = augment
        self.rng = np.random.default_rng(seed)
        pairs = [load_pair_unit(r) for r in records]
        self.anatomical = np.stack([p[0] for p in pairs])
        self.functional = np.stack([p[1] for p in pairs])
        h, w = self.anatomical.shape[1:]
        if patch_size > min(h, w):
            raise MedFuseError(f"patch size {patch_size} exceeds the images ({w}x{h})")

    def __len__(self) -> int:
        return len(self.records)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        p = self.patch_size
        h, w = self.anatomical.shape[1:]
        a_out = np.empty((size, 1, p, p), np.float32)
        b_out = np.empty((size, 1, p, p), np.float32)
        for n in range(size):
            for _ in range(10):
                i = int(self.rng.integers(len(self.records)))
                y = int(self.rng.integers(h - p + 1))
                x = int(self.rng.integers(w - p + 1))
                a = self.anatomical[i, y:y + p, x:x + p]
                b = self.functional[i, y:y + p, x:x + p]
                if max(a.mean(), b.mean()) > 0.02:
                    break
            if self.augment:
                k = int(self.rng.integers(4))
                flip = bool(self.rng.integers(2))
                a, b = np.rot90(a, k), np.rot90(b, k)
                if flip:
                    a, b = a[:, ::-1], b[:, ::-1]
            a_out[n, 0], b_out[n, 0] = a, b
        return a_out, b_out
