"""Why the auto-encoder networks lose MI against plain averaging (train split only; docs/models.md, issue 5).

MI(F, A) + MI(F, B) on 256 grey levels is sensitive to reconstruction noise well below what the eye sees. This
script separates the two causes for DILRAN and MMIF-Net, on 6 evenly spread train pairs per task:

- the fusion rule itself, applied exactly to the pixels (DILRAN's SFNN weight w as a pixel blend w A + (1 - w) B;
  MMIF-Net's l1-norm rule with 3x3-mean intensities as activities);
- the auto-encoder's fidelity, I(A; decoder(encoder(A))) against H(A).

Run: python docs/analysis/mi_decomposition.py   (about a minute on one core)
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import uniform_filter

from medfuse_gui import metrics
from medfuse_gui.evaluation import _spread, load_inputs
from medfuse_gui.fusion import get_model
from medfuse_gui.fusion.dilran import sfnn_weights
from medfuse_gui.training.data import TASKS, read_split


def mutual_information(a: np.ndarray, b: np.ndarray, fused: np.ndarray) -> float:
    return metrics.compute(a * 255, b * 255, fused * 255, metrics=["MI"])["MI"]


def information(source: np.ndarray, image: np.ndarray) -> float:
    """I(source; image) in bits (the MI metric is a two-term sum, hence the half)."""
    return mutual_information(source, source, image) / 2


def tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).float()[None, None]


@torch.no_grad()
def rows_for(record, dilran, mmifnet) -> dict[str, float]:
    x = load_inputs(record)
    a, b = x.anatomical, x.functional_luma
    ta, tb = tensor(a), tensor(b)
    fa, fb = dilran.extractor(ta), dilran.extractor(tb)
    w1, w2 = sfnn_weights(fa, fb, dilran.phi)
    w = float(w1)
    clamp = lambda t: t[0, 0].clamp(0, 1).numpy()  # noqa: E731 - as the runtime clamps
    activity_a, activity_b = uniform_filter(a, 3) + 1e-9, uniform_filter(b, 3) + 1e-9
    return {
        "H(A)": information(a, a), "H(B)": information(b, b),
        "MI average": mutual_information(a, b, (a + b) / 2),
        "SFNN weight of A": w,
        "MI SFNN blend of pixels": mutual_information(a, b, w * a + (1 - w) * b),
        "MI dilran": mutual_information(a, b, clamp(dilran.reconstructor(w1 * fa + w2 * fb))),
        "dilran I(A;recon A)": information(a, clamp(dilran(ta))),
        "dilran I(B;recon B)": information(b, clamp(dilran(tb))),
        "MI l1 rule on pixels": mutual_information(
            a, b, (activity_a * a + activity_b * b) / (activity_a + activity_b)),
        "MI mmif-net": mutual_information(a, b, clamp(mmifnet.fuse(ta, tb))),
        "mmif-net I(A;recon A)": information(a, clamp(mmifnet(ta))),
        "mmif-net I(B;recon B)": information(b, clamp(mmifnet(tb))),
    }


def main() -> None:
    torch.set_num_threads(1)
    dilran, mmifnet = get_model("dilran").module, get_model("mmif-net").module
    records = read_split(split="train")
    table = {task: [rows_for(r, dilran, mmifnet) for r in _spread([r for r in records if r.task == task], 6)]
             for task in TASKS}
    keys = list(next(iter(table.values()))[0])
    print("| train split, mean of 6 pairs | " + " | ".join(TASKS) + " |")
    print("|---|" + "---|" * len(TASKS))
    for key in keys:
        print(f"| {key} | " + " | ".join(f"{np.mean([row[key] for row in table[t]]):.2f}" for t in TASKS) + " |")


if __name__ == "__main__":
    main()
