"""How MI (and Q^AB/F, VIF) respond to simple fused images: weighted averages, the maximum, the average plus a
fraction of a grey level of noise (train split only; docs/metrics.md, "Reading MI").

Run: python docs/analysis/mi_sensitivity.py   (about a minute)
"""

from __future__ import annotations

import numpy as np

from medfuse_gui import metrics
from medfuse_gui.evaluation import _spread, load_inputs
from medfuse_gui.training.data import TASKS, read_split

PAIRS_PER_TASK = 8
NAMES = ["MI", "Qabf", "VIF"]


def candidates(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    images = {f"{w:g} A + {1 - w:g} B": w * a + (1 - w) * b for w in (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0)}
    images["maximum"] = np.maximum(a, b)
    for sigma in (0.5, 1.0, 2.0):  # grey levels of the 0..255 scale
        images[f"average + N(0, {sigma:g} grey level)"] = np.clip((a + b) / 2 + rng.normal(0, sigma / 255, a.shape),
                                                                  0, 1)
    return images


def main() -> None:
    records = read_split(split="train")
    rng = np.random.default_rng(0)
    print(f"| train split, mean of {PAIRS_PER_TASK} pairs (A = anatomical, B = functional) | task | "
          + " | ".join(NAMES) + " |")
    print("|---|---|" + "---|" * len(NAMES))
    for task in TASKS:
        rows: dict[str, list[dict[str, float]]] = {}
        for record in _spread([r for r in records if r.task == task], PAIRS_PER_TASK):
            x = load_inputs(record)
            a, b = x.anatomical, x.functional_luma
            for name, fused in candidates(a, b, rng).items():
                rows.setdefault(name, []).append(metrics.compute(a * 255, b * 255, fused * 255, metrics=NAMES))
        for name, values in rows.items():
            print(f"| {name} | {task} | " + " | ".join(f"{np.mean([v[k] for v in values]):.3f}" for k in NAMES) + " |")


if __name__ == "__main__":
    main()
